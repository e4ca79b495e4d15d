// Client behaviour without a server: exact JSON, backoff, URLs, the HTTP envelope, and the
// socket's request ids, typed events, reconnection and resume against a fake socket server.

import assert from "node:assert/strict";
import { beforeEach, describe, test } from "node:test";
import { PzoClient } from "../src/client.js";
import { PzoConnectionError, PzoError, PzoProtocolError, PzoTimeoutError, isFundsDetails } from "../src/errors.js";
import {
  BALANCE_MAX,
  EVENT_DATA_TYPES,
  HTTP_REPLY_TYPES,
  OP_ARGS_TYPES,
  OP_REPLY_TYPES,
  type PzoEvent,
  type SessionReply,
} from "../src/generated/protocol.js";
import { parseJson, stringifyJson } from "../src/json.js";
import { PzoSocket, backoffDelay, socketUrl, type StateChange } from "../src/socket.js";
import { FakeWebSocket, fakeFetch, type SentFrame } from "./fakes.js";
import { ShapeChecker } from "./shape.js";

const USER = "6f1c1d4e-8a59-4a53-9b7e-2b8f0f3f2a10";
const GAME = "0b7e54e4-58cf-4a4b-8d2c-5b9c8f4a7e21";

function session(lastSeq: number): SessionReply {
  return { user_id: USER, role: "player", last_seq: lastSeq };
}

function joined(seq: number): PzoEvent {
  return {
    seq,
    type: "GAME_JOINED",
    at: "2026-01-01T00:00:00Z",
    data: { game_id: GAME, user_id: USER, display_name: "Ada", player_count: 2 },
  };
}

function deposited(seq: number, amount: number): PzoEvent {
  return {
    seq,
    type: "CURRENCY_DEPOSITED",
    at: "2026-01-01T00:00:00Z",
    data: { user_id: USER, currency_id: "gold", amount, balance_after: amount, transaction_id: GAME },
  };
}

const nextTick = (ms = 0): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await nextTick(2);
  }
}

function socket(options: Partial<ConstructorParameters<typeof PzoSocket>[0]> = {}): PzoSocket {
  return new PzoSocket({
    url: "http://127.0.0.1:1",
    token: () => "player-token",
    WebSocket: FakeWebSocket,
    heartbeatMs: 0,
    requestTimeoutMs: 500,
    backoff: { initialMs: 5, maxMs: 40, jitter: false, attemptsMax: 10 },
    ...options,
  });
}

describe("exact JSON", () => {
  test("integers up to 2^53-1 round-trip; past it they are refused both ways", () => {
    assert.equal(BALANCE_MAX, Number.MAX_SAFE_INTEGER);
    assert.deepEqual(parseJson(`{"balance":${BALANCE_MAX}}`), { balance: BALANCE_MAX });
    assert.throws(() => parseJson('{"balance":9007199254740993}'), PzoProtocolError);
    assert.throws(() => stringifyJson({ amount: 2 ** 53 }), RangeError);
    assert.throws(() => stringifyJson({ amount: Number.NaN }), RangeError);
    assert.equal(stringifyJson({ amount: BALANCE_MAX }), `{"amount":${BALANCE_MAX}}`);
    assert.throws(() => parseJson("{not json"), PzoProtocolError);
  });
});

describe("the run-time shape check against the generated types", () => {
  const checker = new ShapeChecker();

  test("accepts exact shapes and names every mismatch", () => {
    assert.deepEqual(checker.check("PzoEvent", joined(3)), []);
    assert.deepEqual(checker.check("SessionReply", session(1)), []);
    const extra = { ...session(1), surprise: true };
    assert.deepEqual(checker.check("SessionReply", extra), ["SessionReply.surprise: not in the generated type"]);
    assert.deepEqual(checker.check("SessionReply", { user_id: USER, role: "player" }), ["SessionReply.last_seq: missing"]);
    assert.equal(checker.check("PzoEvent", { ...joined(3), type: "GAME_EXPLODED" }).length, 1);
    assert.equal(checker.check("Cosmetic", { id: "c", name: "C", price: null, required_achievement: null, owned: true, unlocked_at: null }).length, 0);
    assert.equal(checker.check("Cosmetic", { id: "c", name: "C", price: { currency_id: "gold" }, required_achievement: null, owned: true, unlocked_at: null }).length, 1);
    assert.deepEqual(checker.check("ErrorDetails", {}), []);
    assert.deepEqual(checker.check("WithdrawArgs", { currency_id: "gold", amount: 5 }), [], "optional args may be left out");
    assert.equal(checker.check("Pong", { server_time_ms: 2 ** 60 }).length, 1, "inexact integers are mismatches");
  });

  test("knows every type the client names at run time", () => {
    for (const name of [...Object.values(OP_REPLY_TYPES), ...Object.values(OP_ARGS_TYPES), ...Object.values(HTTP_REPLY_TYPES), ...Object.values(EVENT_DATA_TYPES)]) {
      assert.ok(checker.has(name), name);
    }
  });
});

describe("backoff and URLs", () => {
  test("delays double from the initial delay up to the cap; jitter stays within [d/2, d]", () => {
    const options = { initialMs: 100, maxMs: 1000, factor: 2, jitter: false, attemptsMax: 10 };
    assert.deepEqual([1, 2, 3, 4, 5, 6].map((attempt) => backoffDelay(attempt, options)), [100, 200, 400, 800, 1000, 1000]);
    const jittered = { ...options, jitter: true };
    assert.equal(backoffDelay(3, jittered, () => 0), 200);
    assert.equal(backoffDelay(3, jittered, () => 1), 400);
  });

  test("socket URLs come from the server URL", () => {
    assert.equal(socketUrl("http://127.0.0.1:8080"), "ws://127.0.0.1:8080/ws");
    assert.equal(socketUrl("https://pzo.example/", true), "wss://pzo.example/admin/ws");
    assert.equal(socketUrl("ws://127.0.0.1:9/custom"), "ws://127.0.0.1:9/custom");
  });
});

describe("HTTP", () => {
  test("fills path parameters, leaves out empty query values and sends the bearer token", async () => {
    const { fetch, calls } = fakeFetch(200, {
      ok: true,
      data: { games: [], next_cursor: null },
      meta: { request_id: "r1", docs: "/docs#get-games" },
    });
    const client = new PzoClient({ url: "http://127.0.0.1:1", token: "t0k", fetch });
    const page = await client.http.listGames({ status: "open", limit: 5 });
    assert.deepEqual(page, { games: [], next_cursor: null });
    const call = calls[0];
    assert.ok(call);
    assert.equal(call.url, "http://127.0.0.1:1/games?status=open&limit=5");
    assert.equal(call.method, "GET");
    assert.equal(call.headers["authorization"], "Bearer t0k");
    assert.equal(call.body, null);
    await client.http.getWaitlistEntry("a/b");
    assert.equal(calls[1]?.url, "http://127.0.0.1:1/waitlist/a%2Fb");
  });

  test("a refusal throws PzoError with the typed details and the request id", async () => {
    const error = {
      code: "INSUFFICIENT_FUNDS",
      message: "The balance is lower than the amount.",
      status: 409,
      retryable: false,
      details: { currency_id: "gold", balance: 5, required: 7 },
      docs: "/docs/errors#INSUFFICIENT_FUNDS",
    };
    const { fetch, calls } = fakeFetch(409, { ok: false, error, meta: { request_id: "r9" } });
    const client = new PzoClient({ url: "http://127.0.0.1:1", token: "t", fetch });
    const refusal = await client.http.withdraw({ currency_id: "gold", amount: 7 }).then(
      () => assert.fail("the withdrawal should be refused"),
      (thrown: unknown) => thrown,
    );
    assert.ok(refusal instanceof PzoError);
    assert.equal(refusal.code, "INSUFFICIENT_FUNDS");
    assert.equal(refusal.requestId, "r9");
    assert.ok(isFundsDetails(refusal.details));
    assert.equal(refusal.details.required, 7);
    assert.equal(calls[0]?.body, '{"currency_id":"gold","amount":7}');
  });

  test("register adopts the token; an answer outside the envelope is a protocol error", async () => {
    const auth = {
      user: { id: USER, display_name: "Ada", created_at: "2026-01-01T00:00:00Z", email: null, preferences: null, season0: null },
      token: "fresh",
      expires_at: "2026-02-01T00:00:00Z",
    };
    const { fetch } = fakeFetch(201, { ok: true, data: auth, meta: { request_id: "r" } });
    const client = new PzoClient({ url: "http://127.0.0.1:1", fetch });
    await client.http.register({ email: "a@b.c", password: "long enough", display_name: "Ada" });
    assert.equal(client.token, "fresh");
    const broken = new PzoClient({ url: "http://127.0.0.1:1", fetch: fakeFetch(502, "<html>bad gateway</html>").fetch });
    await assert.rejects(broken.http.health(), PzoProtocolError);
  });

  test("an amount past 2^53-1 is refused before anything is sent", async () => {
    const { fetch, calls } = fakeFetch(200, {});
    const client = new PzoClient({ url: "http://127.0.0.1:1", token: "t", fetch });
    await assert.rejects(client.http.deposit({ user_id: USER, currency_id: "gold", amount: 2 ** 53 }), RangeError);
    assert.equal(calls.length, 0);
  });
});

describe("socket", () => {
  let events: PzoEvent[];
  let resumes: SentFrame[];
  let lastSeq: number;
  let backlog: PzoEvent[];

  beforeEach(() => {
    events = [];
    resumes = [];
    lastSeq = 10;
    backlog = [];
    FakeWebSocket.reset((frame, ws) => {
      switch (frame.op) {
        case "auth":
          if (frame.args["token"] === "bad") {
            ws.push({ re: frame.id, ok: false, error: { code: "UNAUTHENTICATED", message: "no", status: 401, retryable: false, details: {}, docs: "/docs/errors#UNAUTHENTICATED" } });
          } else {
            ws.reply(frame.id, session(lastSeq));
          }
          return;
        case "events.resume":
          resumes.push(frame);
          ws.reply(frame.id, { events: backlog, next_seq: backlog.at(-1)?.seq ?? frame.args["since_seq"], more: false });
          return;
        case "users.get":
          ws.reply(frame.id, { user: { id: USER, display_name: "Ada", created_at: "2026-01-01T00:00:00Z", email: null, preferences: null, season0: null } });
          return;
        case "currency.withdraw":
          ws.push({ re: frame.id, ok: false, error: { code: "INSUFFICIENT_FUNDS", message: "low", status: 409, retryable: false, details: { currency_id: "gold", balance: 1, required: 2 }, docs: "/docs/errors#INSUFFICIENT_FUNDS" } });
          return;
        case "ping":
          return; // never answered: the timeout test
        default:
          ws.reply(frame.id, { ok: true });
      }
    });
  });

  test("authenticates first, answers each request by id, and narrows events by type", async () => {
    const s = socket();
    const session = await s.connect();
    assert.equal(session.last_seq, 10);
    const ws = FakeWebSocket.latest();
    assert.deepEqual(ws.protocols, ["pzo.v1.json"]);
    assert.equal(ws.url, "ws://127.0.0.1:1/ws");
    assert.deepEqual(ws.sent[0], { id: 1, op: "auth", args: { token: "player-token" } });

    const [user, refusal] = await Promise.allSettled([
      s.request("users.get", { id: USER }),
      s.request("currency.withdraw", { currency_id: "gold", amount: 2 }),
    ]);
    assert.equal(user.status === "fulfilled" ? user.value.user.display_name : "refused", "Ada");
    assert.ok(refusal.status === "rejected" && refusal.reason instanceof PzoError);
    assert.equal(refusal.reason.code, "INSUFFICIENT_FUNDS");

    const names: string[] = [];
    s.on("GAME_JOINED", (event) => names.push(event.data.display_name));
    s.onEvent((event) => {
      switch (event.type) {
        case "GAME_JOINED":
          events.push(event);
          break;
        case "CURRENCY_DEPOSITED":
          assert.equal(typeof event.data.balance_after, "number");
          events.push(event);
          break;
        default:
          break;
      }
    });
    ws.event(joined(11));
    ws.event(joined(11)); // a duplicate push is delivered once
    ws.event(deposited(12, 5));
    assert.deepEqual(names, ["Ada"]);
    assert.deepEqual(events.map((e) => e.seq), [11, 12]);
    assert.equal(s.lastSeq, 12);
    s.close();
    assert.equal(s.state, "closed");
  });

  test("reconnects with growing delays and resumes from the last seq, in order, each event once", async () => {
    const s = socket();
    const changes: StateChange[] = [];
    s.onState((change) => changes.push(change));
    s.onEvent((event) => events.push(event));
    await s.connect();
    FakeWebSocket.latest().event(joined(11));

    // The connection drops; the server is unreachable until the fourth attempt.
    FakeWebSocket.refusing = true;
    const inFlight = s.request("ping"); // never answered by the fake server
    FakeWebSocket.latest().drop();
    await assert.rejects(inFlight, PzoConnectionError);
    const queued = s.request("users.get", { id: USER });
    await until(() => changes.filter((c) => c.state === "reconnecting").length >= 4, "four attempts");
    backlog = [deposited(12, 7), deposited(13, 8)];
    lastSeq = 20;
    FakeWebSocket.refusing = false;
    await until(() => s.state === "open", "the reconnection");

    const attempts = changes.filter((c) => c.state === "reconnecting");
    assert.deepEqual(attempts.slice(0, 4).map((c) => c.attempt), [1, 2, 3, 4]);
    assert.deepEqual(attempts.slice(0, 4).map((c) => c.delayMs), [5, 10, 20, 40]);
    assert.equal(resumes.length, 1);
    assert.deepEqual(resumes[0]?.args, { since_seq: 11 });
    assert.equal((await queued).user.id, USER);
    assert.deepEqual(events.map((e) => e.seq), [11, 12, 13]);
    assert.equal(s.lastSeq, 13);
    s.close();
  });

  test("live pushes that race the resume are merged after it without duplicates", async () => {
    const s = socket();
    s.onEvent((event) => events.push(event));
    await s.connect();
    FakeWebSocket.latest().event(joined(11));
    backlog = [deposited(12, 1), deposited(13, 2)];
    const answer = FakeWebSocket.answer;
    FakeWebSocket.answer = (frame, ws) => {
      if (frame.op === "events.resume") {
        ws.event(deposited(14, 3)); // live, before the resume's answer
        ws.event(deposited(13, 2)); // also in the resume's page
      }
      answer(frame, ws);
    };
    s.reconnect();
    await until(() => events.length === 4, "the resumed and live events");
    assert.deepEqual(events.map((e) => e.seq), [11, 12, 13, 14]);
    s.close();
  });

  test("a refused token closes the socket instead of retrying", async () => {
    const s = socket({ token: () => "bad" });
    await assert.rejects(s.connect(), (error: unknown) => error instanceof PzoError && error.code === "UNAUTHENTICATED");
    assert.equal(s.state, "closed");
    await nextTick(30);
    assert.equal(FakeWebSocket.instances.length, 1);
  });

  test("requests time out, fail when not connected, and refuse inexact numbers", async () => {
    const s = socket({ requestTimeoutMs: 30 });
    await assert.rejects(s.request("ping"), PzoConnectionError);
    await s.connect();
    await assert.rejects(s.request("ping"), PzoTimeoutError);
    const sent = FakeWebSocket.latest().sent.length;
    await assert.rejects(s.request("currency.withdraw", { currency_id: "gold", amount: 2 ** 60 }), RangeError);
    assert.equal(FakeWebSocket.latest().sent.length, sent);
    const waiting = s.waitFor("GAME_JOINED", (event) => event.data.player_count === 2, 200);
    FakeWebSocket.latest().event(joined(30));
    assert.equal((await waiting).seq, 30);
    s.close();
  });
});
