// Against a real server (PZO_URL, PZO_ADMIN_TOKEN): ops through the typed client, with every
// reply, event and relay checked at run time against the generated types, exact amounts, and a
// socket that loses its network, reconnects with backoff and resumes without missing an event.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { PzoClient } from "../src/client.js";
import { PzoError, isFundsDetails, isProgressDetails } from "../src/errors.js";
import {
  AMOUNT_MAX,
  EVENT_TYPES,
  HTTP_REPLY_TYPES,
  OP_REPLY_TYPES,
  type AuthReply,
  type EntryReply,
  type Game,
  type PzoEvent,
  type Relay,
} from "../src/generated/protocol.js";
import type { StateChange } from "../src/socket.js";
import { SKIP_REASON, serverEnv, unique } from "./env.js";
import { DropProxy } from "./proxy.js";
import { everyOpSuite } from "./every-op.js";
import { ShapeLog } from "./shape.js";

const env = serverEnv();
const PASSWORD = "correct horse battery";

/** Expects a refusal with this code and answers it. */
async function refusal(promise: Promise<unknown>, code: string): Promise<PzoError> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  assert.ok(outcome instanceof PzoError, `expected ${code}, got ${String(outcome)}`);
  assert.equal(outcome.code, code);
  return outcome;
}

describe("the TypeScript client against a real server", { skip: env === undefined ? SKIP_REASON : false }, () => {
  const server = env ?? { url: "http://127.0.0.1:9", adminToken: "" };
  const shapes = new ShapeLog();
  const validate = shapes.validate;
  const suffix = unique();
  const admin = new PzoClient({ url: server.url, token: server.adminToken, validate, socket: { admin: true } });
  const ada = new PzoClient({ url: server.url, validate });
  const bob = new PzoClient({ url: server.url, validate });
  const adaEvents: PzoEvent[] = [];
  let adaAuth: AuthReply;
  let bobAuth: AuthReply;
  let adaEntry: EntryReply;
  let game: Game;
  let proxy: DropProxy | undefined;

  before(async () => {
    const ready = await admin.http.ready();
    assert.equal(ready.database && ready.migrations && ready.journal, true);
  });

  after(async () => {
    ada.close();
    bob.close();
    admin.close();
    await proxy?.close();
  });

  test("register two players over HTTP; a second registration of an email is EMAIL_TAKEN", async () => {
    adaAuth = await ada.http.register({ email: `ada-${suffix}@pzo.test`, password: PASSWORD, display_name: "Ada" });
    bobAuth = await bob.http.register({ email: `bob-${suffix}@pzo.test`, password: PASSWORD, display_name: "Bob" });
    assert.equal(ada.token, adaAuth.token);
    assert.equal(adaAuth.user.email, `ada-${suffix}@pzo.test`);
    assert.equal((await ada.http.getUser(adaAuth.user.id)).user.season0?.admitted, false);
    const taken = await refusal(
      bob.http.register({ email: `ADA-${suffix}@pzo.test`, password: PASSWORD, display_name: "Ada2" }),
      "EMAIL_TAKEN",
    );
    assert.equal(taken.status, 409);
    assert.equal(bob.token, bobAuth.token, "a refused registration keeps the token");
  });

  test("sockets authenticate with the players' tokens", async () => {
    ada.socket.onEvent((event) => adaEvents.push(event));
    const [adaSession, bobSession] = await Promise.all([ada.socket.connect(), bob.socket.connect()]);
    assert.equal(adaSession.user_id, adaAuth.user.id);
    assert.equal(bobSession.user_id, bobAuth.user.id);
    assert.equal(adaSession.role, "player");
    const pong = await ada.socket.request("ping");
    assert.ok(Number.isSafeInteger(pong.server_time_ms));
  });

  test("join the waitlist (socket and HTTP); admission by the admin pushes SEASON0_JOINED", async () => {
    adaEntry = await ada.socket.request("waitlist.join");
    const bobEntry = await bob.http.joinWaitlist();
    assert.equal(adaEntry.entry.status, "waiting");
    assert.equal(adaEntry.entry.user_id, adaAuth.user.id);
    await refusal(ada.socket.request("waitlist.join"), "ALREADY_ON_WAITLIST");
    await refusal(ada.socket.request("games.create", { name: "too early", max_players: 2 }), "NOT_ADMITTED");

    const adaJoined = ada.socket.waitFor("SEASON0_JOINED");
    const bobJoined = bob.socket.waitFor("SEASON0_JOINED");
    for (const entry of [adaEntry.entry, bobEntry.entry]) {
      const admitted = await admin.http.setWaitlistStatus({ entry_id: entry.id, status: "admitted" });
      assert.equal(admitted.entry.status, "admitted");
    }
    const joined = await adaJoined;
    assert.equal(joined.data.user_id, adaAuth.user.id);
    assert.equal(joined.data.entry_id, adaEntry.entry.id);
    assert.equal((await bobJoined).data.user_id, bobAuth.user.id);
  });

  test("create and join a game over the socket; GAME_JOINED narrows by type", async () => {
    const bobJoinedSeenByAda = ada.socket.waitFor("GAME_JOINED", (event) => event.data.user_id === bobAuth.user.id);
    const created = await ada.socket.request("games.create", { name: `Lobby ${suffix}`, max_players: 4 });
    game = created.game;
    assert.equal(game.host_id, adaAuth.user.id);
    assert.equal(game.status, "open");
    assert.equal(game.min_players, 2);
    const joined = await bob.socket.request("games.join", { game_id: game.id });
    assert.equal(joined.game.player_count, 2);

    const seq = (await bobJoinedSeenByAda).seq;
    // The same event as every listener of `onEvent` sees it: a PzoEvent, narrowed by `type`.
    const event = adaEvents.find((e) => e.seq === seq);
    assert.ok(event !== undefined);
    switch (event.type) {
      case "GAME_JOINED":
        // `event.data` is GameJoined here: the union narrowed on `type`.
        assert.equal(event.data.game_id, game.id);
        assert.equal(event.data.display_name, "Bob");
        assert.equal(event.data.player_count, 2);
        break;
      default:
        assert.fail(`expected GAME_JOINED, got ${event.type}`);
    }
    const types = adaEvents.map((e) => e.type);
    assert.ok(types.includes("GAME_CREATED"), `Ada saw ${types.join(", ")}`);
    await refusal(bob.socket.request("games.start", { game_id: game.id }), "NOT_HOST");
  });

  test("games.send relays text and bytes to the other members", async () => {
    const relays: Relay[] = [];
    const off = bob.socket.onRelay((relay) => relays.push(relay));
    const text = await ada.socket.request("games.send", { game_id: game.id, payload: "hello" });
    const bytes = await ada.socket.request("games.send", { game_id: game.id, payload: [1, 2, 255] });
    assert.equal(text.delivered, 1);
    assert.equal(bytes.delivered, 1);
    for (let i = 0; i < 100 && relays.length < 2; i += 1) await new Promise((resolve) => setTimeout(resolve, 10));
    off();
    assert.deepEqual(
      relays.map((r) => [r.from, r.game_id, r.payload]),
      [
        [adaAuth.user.id, game.id, "hello"],
        [adaAuth.user.id, game.id, [1, 2, 255]],
      ],
    );
  });

  test("admin deposits over HTTP, the player withdraws over the socket, and balances stay exact", async () => {
    const user_id = adaAuth.user.id;
    const key = `deposit-${suffix}`;
    const depositSeen = ada.socket.waitFor("CURRENCY_DEPOSITED", (e) => e.data.amount === AMOUNT_MAX);
    const first = await admin.http.deposit({ user_id, currency_id: "gold", amount: AMOUNT_MAX, idempotency_key: key });
    assert.equal(first.balance, AMOUNT_MAX);
    assert.equal(first.transaction.kind, "deposit");
    const again = await admin.http.deposit({ user_id, currency_id: "gold", amount: AMOUNT_MAX, idempotency_key: key });
    assert.equal(again.transaction.id, first.transaction.id, "a retry with the same key answers the first answer");
    await refusal(
      admin.http.deposit({ user_id, currency_id: "gold", amount: 5, idempotency_key: key }),
      "IDEMPOTENCY_KEY_REUSED",
    );
    assert.equal((await depositSeen).data.transaction_id, first.transaction.id);
    const second = await admin.http.deposit({ user_id, currency_id: "gold", amount: 876_543_210 });
    assert.equal(second.balance, AMOUNT_MAX + 876_543_210);

    const withdrawnSeen = ada.socket.waitFor("CURRENCY_WITHDRAWN");
    const withdrawal = await ada.socket.request("currency.withdraw", {
      currency_id: "gold",
      amount: 123_456_789_012,
      idempotency_key: `withdraw-${suffix}`,
    });
    const expected = AMOUNT_MAX + 876_543_210 - 123_456_789_012;
    assert.equal(withdrawal.balance, expected);
    assert.equal(withdrawal.transaction.amount, -123_456_789_012);
    assert.equal(withdrawal.transaction.kind, "withdrawal");
    assert.equal((await withdrawnSeen).data.balance_after, expected);
    const balances = await ada.socket.request("currency.list");
    const gold = balances.balances.find((b) => b.currency_id === "gold");
    assert.equal(gold?.balance, expected);
    assert.ok(Number.isSafeInteger(expected));

    const tooMuch = await refusal(ada.socket.request("currency.withdraw", { currency_id: "gold", amount: AMOUNT_MAX }), "INSUFFICIENT_FUNDS");
    assert.ok(isFundsDetails(tooMuch.details));
    assert.equal(tooMuch.details.balance, expected);
    assert.equal(tooMuch.details.required, AMOUNT_MAX);
    await refusal(ada.socket.request("currency.withdraw", { currency_id: "gold", amount: AMOUNT_MAX + 1 }), "AMOUNT_OUT_OF_RANGE");
    await assert.rejects(ada.socket.request("currency.withdraw", { currency_id: "gold", amount: 2 ** 53 }), RangeError);
    assert.equal((await ada.http.currency("gold")).balance, expected, "nothing moved after the refusals");
  });

  test("a socket that loses its network reconnects with backoff and resumes the missed events", async () => {
    proxy = await DropProxy.start(server.url);
    const viaProxy = new PzoClient({
      url: server.url,
      socketUrl: proxy.url,
      token: adaAuth.token,
      validate,
      socket: { heartbeatMs: 0, backoff: { initialMs: 50, maxMs: 400, jitter: false } },
    });
    try {
      const changes: StateChange[] = [];
      viaProxy.socket.onState((change) => changes.push(change));
      const seen: PzoEvent[] = [];
      viaProxy.socket.onEvent((event) => seen.push(event));
      await viaProxy.socket.connect();
      const before = viaProxy.socket.lastSeq ?? 0;

      proxy.cut();
      const deadline = Date.now() + 5000;
      while (changes.filter((c) => c.state === "reconnecting").length < 3 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      // While the socket is away, events happen for its player.
      const missed = await admin.http.deposit({ user_id: adaAuth.user.id, currency_id: "gems", amount: 42 });
      const stored = await ada.http.events(before);
      assert.ok(stored.events.some((e) => e.type === "CURRENCY_DEPOSITED" && e.data.transaction_id === missed.transaction.id));
      const resumed = viaProxy.socket.waitFor(
        "CURRENCY_DEPOSITED",
        (e) => e.data.transaction_id === missed.transaction.id,
        10_000,
      );
      proxy.restore();
      const event = await resumed;
      assert.ok(event.seq > before);
      // Resumed events are delivered before the socket reports itself open again.
      assert.equal((await viaProxy.socket.connect()).user_id, adaAuth.user.id);
      assert.equal(viaProxy.socket.state, "open");
      assert.ok((viaProxy.socket.lastSeq ?? 0) >= event.seq);

      const attempts = changes.filter((c) => c.state === "reconnecting");
      assert.ok(attempts.length >= 3, `attempts: ${JSON.stringify(attempts)}`);
      assert.deepEqual(attempts.slice(0, 3).map((c) => c.delayMs), [50, 100, 200]);
      assert.ok(proxy.refused >= 2, "the attempts met a refusing network");
      const seqs = seen.map((e) => e.seq);
      assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), "events arrive in seq order");
      assert.equal(new Set(seqs).size, seqs.length, "each event arrives once");
    } finally {
      viaProxy.close();
    }
  });

  test("events.resume (socket) and GET /events (HTTP) answer the typed history", async () => {
    const page = await ada.socket.request("events.resume", { since_seq: 0 });
    const types = new Set(page.events.map((e) => e.type));
    for (const type of ["SEASON0_JOINED", "GAME_CREATED", "GAME_JOINED", "CURRENCY_DEPOSITED", "CURRENCY_WITHDRAWN"] as const) {
      assert.ok(types.has(type), `resume lacks ${type}: ${[...types].join(", ")}`);
    }
    for (const event of page.events) assert.ok(EVENT_TYPES.includes(event.type));
    const seqs = page.events.map((e) => e.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
    assert.ok(page.next_seq >= (seqs.at(-1) ?? 0));
    const http = await ada.http.events(0);
    assert.deepEqual(http.events.map((e) => e.seq).slice(0, seqs.length), seqs);
  });

  test("a game to the leaderboard, achievements and a paid cosmetic", async () => {
    const subscribed = await ada.socket.request("leaderboard.subscribe", { id: "season0" });
    assert.deepEqual(subscribed, { leaderboard_id: "season0", subscribed: true });
    const started = await ada.socket.request("games.start", { game_id: game.id });
    assert.equal(started.game.status, "started");

    const finishedSeen = ada.socket.waitFor("GAME_FINISHED", (e) => e.data.game_id === game.id);
    const boardSeen = ada.socket.waitFor("LEADERBOARD_UPDATED");
    const finished = await admin.http.finishGame({
      game_id: game.id,
      results: [
        { user_id: adaAuth.user.id, score: 1200 },
        { user_id: bobAuth.user.id, score: 300 },
      ],
    });
    assert.equal(finished.game.status, "finished");
    assert.deepEqual((await finishedSeen).data.results.map((r) => r.score), [1200, 300]);
    assert.equal((await boardSeen).data.leaderboard_id, "season0");

    const unlocked = await ada.socket.request("achievements.unlock", { achievement_id: "first_game" });
    assert.equal(unlocked.achievement.unlocked, true);
    const notYet = await refusal(bob.socket.request("achievements.unlock", { achievement_id: "veteran" }), "CONDITIONS_NOT_MET");
    assert.ok(isProgressDetails(notYet.details));
    assert.deepEqual(notYet.details, { current: 1, required: 10 });

    const before = (await ada.http.currency("gold")).balance;
    const helm = await ada.socket.request("cosmetics.unlock", { cosmetic_id: "golden_helm", idempotency_key: `helm-${suffix}` });
    assert.equal(helm.cosmetic.owned, true);
    assert.equal(helm.transaction?.amount, -500);
    assert.equal((await ada.http.currency("gold")).balance, before - 500);
    await refusal(ada.socket.request("cosmetics.unlock", { cosmetic_id: "golden_helm" }), "ALREADY_UNLOCKED");

    const board = await ada.socket.request("leaderboard.get", { id: "season0", around: "me" });
    assert.ok(board.me !== null, "Ada has a rank");
    assert.equal(board.me.score, 1200);
    assert.equal(board.me.user_id, adaAuth.user.id);
  });

  test("every HTTP endpoint answers its generated type", async () => {
    const adaId = adaAuth.user.id;
    assert.equal((await ada.http.getUser(adaId)).user.email, `ada-${suffix}@pzo.test`);
    assert.equal((await ada.http.getUser(bobAuth.user.id)).user.email, null, "other players' emails stay private");
    assert.ok((await ada.http.listUsers({ limit: 2 })).users.length <= 2);
    const prefs = await ada.http.updatePreferences(adaId, { music_volume: 40, locale: "fr" });
    assert.equal(prefs.user.preferences?.music_volume, 40);
    await refusal(ada.http.updatePreferences(adaId, { music_volume: 150 }), "VALIDATION_FAILED");
    const loggedIn = ada.socket.waitFor("USER_LOGGED_IN");
    const login = await ada.http.login({ email: `ada-${suffix}@pzo.test`, password: PASSWORD });
    assert.equal(login.user.id, adaId);
    assert.equal((await loggedIn).data.user_id, adaId);
    await refusal(ada.http.login({ email: `ada-${suffix}@pzo.test`, password: "wrong password" }), "INVALID_CREDENTIALS");

    const status = await ada.http.waitlistStatus();
    assert.equal(status.entry?.status, "admitted");
    assert.equal((await ada.http.getWaitlistEntry(adaEntry.entry.id)).entry.id, adaEntry.entry.id);
    assert.ok((await admin.http.listWaitlist({ status: "admitted", limit: 200 })).entries.length >= 1);
    await refusal(ada.http.listWaitlist(), "FORBIDDEN");

    const cy = new PzoClient({ url: server.url, validate });
    const cyAuth = await cy.http.register({ email: `cy-${suffix}@pzo.test`, password: PASSWORD, display_name: "Cy" });
    const cyEntry = await cy.http.joinWaitlist();
    const wave = await admin.http.admit(1000);
    assert.ok(wave.admitted.some((e) => e.user_id === cyAuth.user.id));
    assert.equal((await cy.http.removeWaitlistEntry(cyEntry.entry.id)).entry.status, "removed");

    assert.ok((await ada.http.listGames({ status: "finished" })).games.some((g) => g.id === game.id));
    assert.equal((await ada.http.getGame(game.id)).game.status, "finished");
    const lobby = await bob.http.createGame({ name: `Solo ${suffix}`, max_players: 2 });
    assert.equal((await bob.http.leaveGame(lobby.game.id)).game.status, "closed");
    const other = await bob.http.createGame({ name: `Closed ${suffix}`, max_players: 3, min_players: 3 });
    await refusal(ada.http.joinGame(lobby.game.id), "GAME_NOT_OPEN");
    await refusal(bob.http.startGame(other.game.id), "NOT_ENOUGH_PLAYERS");
    assert.equal((await admin.http.closeGame(other.game.id)).game.status, "closed");

    const added = await admin.http.addItem({ user_id: adaId, item_id: "potion", quantity: 3 });
    assert.equal(added.quantity, 3);
    assert.equal((await ada.http.removeItem({ item_id: "potion", quantity: 1 })).quantity, 2);
    assert.equal((await ada.http.item("potion")).quantity, 2);
    assert.ok((await ada.http.inventory()).items.some((i) => i.item_id === "potion" && i.quantity === 2));
    assert.ok((await admin.http.balances({ user_id: adaId })).balances.some((b) => b.currency_id === "gems" && b.balance === 42));
    assert.equal((await ada.http.balances()).user_id, adaId);
    assert.ok((await ada.http.currency("gold", { limit: 2 })).transactions.length <= 2);
    const wd = await ada.http.withdraw({ currency_id: "gems", amount: 2 });
    assert.equal(wd.balance, 40);
    await refusal(ada.http.deposit({ user_id: adaId, currency_id: "gold", amount: 1 }), "FORBIDDEN");

    assert.ok((await ada.http.leaderboards()).leaderboards.some((b) => b.id === "season0"));
    assert.equal((await ada.http.leaderboard("season0", { around: "me" })).me?.score, 1200);
    assert.ok((await ada.http.achievements()).achievements.some((a) => a.id === "first_game" && a.unlocked));
    const progress = (await ada.http.achievement("high_scorer")).achievement.progress;
    assert.equal(progress.current, progress.target, "a best score of 1200 meets the 1000 target");
    assert.equal((await ada.http.unlockAchievement("high_scorer")).achievement.unlocked, true);
    assert.ok((await ada.http.cosmetics()).cosmetics.some((c) => c.id === "golden_helm" && c.owned));
    assert.equal((await ada.http.cosmetic("neon_trail")).cosmetic.required_achievement, "high_scorer");
    const cape = await refusal(ada.http.unlockCosmetic({ cosmetic_id: "founder_cape" }), "ACHIEVEMENT_REQUIRED");
    assert.deepEqual(cape.details, { achievement_id: "founder" });

    const resetSeen = ada.socket.waitFor("LEADERBOARD_RESET");
    const reset = await admin.http.resetLeaderboard("season0");
    assert.equal(reset.season, reset.archived_season + 1);
    assert.equal((await resetSeen).data.season, reset.season);

    assert.equal((await ada.http.health()).status, "ok");
    assert.ok((await ada.http.slo()).operations.length > 10);
    assert.match(await ada.http.metrics(), /^# (HELP|TYPE) /m);
    assert.match((await ada.http.openapi()).openapi, /^3\.1/);
    assert.match(await ada.http.docs(), /<html/i);
    assert.match(await ada.http.docsErrors(), /INSUFFICIENT_FUNDS/);
    assert.match(await ada.http.adminPage(), /<html/i);
    await refusal(ada.http.getGame("00000000-0000-0000-0000-000000000000"), "NOT_FOUND");
    cy.close();
  });

  test("the admin socket inspects, streams stats and kicks; a kicked player reconnects", async () => {
    const session = await admin.socket.connect();
    assert.equal(session.role, "admin");
    const inspected = await admin.socket.request("players.inspect", { user_id: adaAuth.user.id });
    assert.equal(inspected.user.id, adaAuth.user.id);
    assert.ok(inspected.achievements.includes("first_game"));
    const stats = await admin.socket.request("stats.subscribe");
    assert.ok(stats.sockets >= 2);
    assert.deepEqual(await admin.socket.request("events.tail", { types: ["GAME_JOINED"] }), { ok: true });
    await refusal(ada.socket.request("players.kick", { user_id: bobAuth.user.id }), "FORBIDDEN");

    const states: StateChange[] = [];
    bob.socket.onState((change) => states.push(change));
    const kicked = await admin.socket.request("players.kick", { user_id: bobAuth.user.id, reason: "test" });
    assert.ok(kicked.sockets_closed >= 1);
    const deadline = Date.now() + 5000;
    while (!(states.some((s) => s.state === "reconnecting") && bob.socket.state === "open") && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(bob.socket.state, "open", `states: ${JSON.stringify(states)}`);
    assert.equal((await bob.socket.request("users.get", { id: bobAuth.user.id })).user.display_name, "Bob");
  });

  test("every reply, event and relay matched its generated type", () => {
    assert.deepEqual(shapes.problems, []);
    const checked = [...shapes.checked.keys()];
    for (const name of ["PzoEvent", "Relay", "ErrorBody", "GameReply", "TransactionReply", "EventsPage", "SessionReply"]) {
      assert.ok(checked.includes(name), `no ${name} was checked: ${checked.join(", ")}`);
    }
    const replyTypes = new Set<string>([...Object.values(OP_REPLY_TYPES), ...Object.values(HTTP_REPLY_TYPES)]);
    const covered = [...replyTypes].filter((name) => checked.includes(name));
    assert.ok(covered.length >= 25, `reply types checked: ${covered.join(", ")}`);
  });
});

// Every socket op, after the suite above so the two never race on shared server state.
everyOpSuite();
