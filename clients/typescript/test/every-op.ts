// Every socket op of the generated `Op` union, sent through the typed client against a real
// server with valid args built from earlier replies, each success reply checked exactly against
// its generated type. `EXERCISED` lists every op: adding an op to the protocol without adding it
// here fails to compile, and the run fails unless every listed op was really sent and answered.
//
// Registered from server.test.ts (after its suite) so the two never race on shared state such as
// waitlist admission waves and leaderboard resets.

import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { PzoClient } from "../src/client.js";
import { OP_NAMES, OP_REPLY_TYPES, type Op, type OpName, type OpReplies } from "../src/generated/protocol.js";
import type { ArgsOf, PzoSocket } from "../src/socket.js";
import { SKIP_REASON, serverEnv, unique } from "./env.js";
import { ShapeChecker } from "./shape.js";

/** Every op of the generated union; a missing or unknown key is a compile error. */
const EXERCISED = {
  "auth": true,
  "ping": true,
  "events.resume": true,
  "users.register": true,
  "users.login": true,
  "users.list": true,
  "users.get": true,
  "users.update_preferences": true,
  "waitlist.join": true,
  "waitlist.get": true,
  "waitlist.remove": true,
  "waitlist.status": true,
  "waitlist.list": true,
  "waitlist.admit": true,
  "waitlist.set_status": true,
  "waitlist.auto": true,
  "games.list": true,
  "games.create": true,
  "games.get": true,
  "games.join": true,
  "games.leave": true,
  "games.start": true,
  "games.send": true,
  "games.finish": true,
  "games.close": true,
  "inventory.list": true,
  "inventory.get": true,
  "inventory.add": true,
  "inventory.remove": true,
  "currency.list": true,
  "currency.get": true,
  "currency.deposit": true,
  "currency.withdraw": true,
  "leaderboard.list": true,
  "leaderboard.get": true,
  "leaderboard.subscribe": true,
  "leaderboard.reset": true,
  "achievements.list": true,
  "achievements.get": true,
  "achievements.unlock": true,
  "cosmetics.list": true,
  "cosmetics.get": true,
  "cosmetics.unlock": true,
  "players.kick": true,
  "players.inspect": true,
  "stats.subscribe": true,
  "events.tail": true,
} as const satisfies Record<Op["op"], true>;

const PASSWORD = "correct horse battery";

export function everyOpSuite(): void {
  const env = serverEnv();
  describe("every socket op through the TypeScript client", { skip: env === undefined ? SKIP_REASON : false }, () => {
    const server = env ?? { url: "http://127.0.0.1:9", adminToken: "" };
    const checker = new ShapeChecker();
    const suffix = unique();
    const sent = new Set<OpName>();
    const clients: PzoClient[] = [];
    /** Every payload the clients validated, with its mismatches (`auth` is sent by `connect()`). */
    const validated: { typeName: string; problems: string[] }[] = [];
    const validate = (typeName: string, value: unknown): void => {
      validated.push({ typeName, problems: checker.check(typeName, value) });
    };

    function client(token?: string, admin = false): PzoClient {
      const made = new PzoClient({ url: server.url, validate, ...(token === undefined ? {} : { token }), socket: { admin } });
      clients.push(made);
      return made;
    }

    /** Sends one op, records it, and checks its success reply against the generated type. */
    async function send<K extends OpName>(socket: PzoSocket, op: K, ...rest: ArgsOf<K>): Promise<OpReplies[K]> {
      const data = await socket.request(op, ...rest);
      assert.deepEqual(checker.check(OP_REPLY_TYPES[op], data), [], `${op} answers ${OP_REPLY_TYPES[op]}`);
      sent.add(op);
      return data;
    }

    after(() => {
      for (const made of clients) made.close();
    });

    test("player and admin ops, each answered with its generated reply type", async () => {
      const dee = client();
      const deeEmail = `dee-${suffix}@pzo.test`;
      const deeAuth = await dee.http.register({ email: deeEmail, password: PASSWORD, display_name: "Dee" });
      const deeId = deeAuth.user.id;
      // `auth` cannot be sent twice on one socket (BAD_REQUEST "already authenticated"): the
      // client's connect() sends it, and the validate hook checks its SessionReply.
      const before = validated.length;
      const session = await dee.socket.connect();
      assert.equal(session.user_id, deeId);
      const sessions = validated.slice(before).filter((v) => v.typeName === OP_REPLY_TYPES.auth);
      assert.equal(sessions.length, 1, "connect() sent auth and its reply was checked");
      assert.deepEqual(sessions[0]?.problems, [], "auth answers SessionReply");
      sent.add("auth");
      const admin = client(server.adminToken, true);
      assert.equal((await admin.socket.connect()).role, "admin");
      const p = dee.socket;
      const a = admin.socket;

      // Session and users.
      assert.ok(Number.isSafeInteger((await send(p, "ping")).server_time_ms));
      await send(p, "events.resume", { since_seq: 0 });
      const eveAuth = await send(p, "users.register", { email: `eve-${suffix}@pzo.test`, password: PASSWORD, display_name: "Eve" });
      const rayAuth = await send(p, "users.register", { email: `ray-${suffix}@pzo.test`, password: PASSWORD, display_name: "Ray" });
      assert.equal((await send(p, "users.login", { email: deeEmail, password: PASSWORD })).user.id, deeId);
      assert.ok((await send(p, "users.list", { limit: 2 })).users.length <= 2);
      assert.equal((await send(p, "users.get", { id: deeId })).user.id, deeId);
      const prefs = await send(p, "users.update_preferences", { preferences: { music_volume: 30 } });
      assert.equal(prefs.user.preferences?.music_volume, 30);

      const eve = client(eveAuth.token);
      const ray = client(rayAuth.token);
      await Promise.all([eve.socket.connect(), ray.socket.connect()]);
      const e = eve.socket;
      const r = ray.socket;

      // Waitlist.
      const deeEntry = (await send(p, "waitlist.join")).entry;
      const eveEntry = (await send(e, "waitlist.join", { idempotency_key: `eve-join-${suffix}` })).entry;
      const rayEntry = (await send(r, "waitlist.join")).entry;
      assert.equal((await send(p, "waitlist.get", { id: deeEntry.id })).entry.id, deeEntry.id);
      assert.equal((await send(p, "waitlist.status")).entry?.id, deeEntry.id);
      assert.equal((await send(r, "waitlist.remove", { id: rayEntry.id })).entry.status, "removed");
      const waiting = await send(a, "waitlist.list", { status: "waiting", limit: 200 });
      assert.ok(waiting.entries.some((entry) => entry.id === deeEntry.id));
      const set = await send(a, "waitlist.set_status", { entry_id: deeEntry.id, status: "admitted" });
      assert.equal(set.entry.status, "admitted");
      const wave = await send(a, "waitlist.admit", { count: 1000 });
      assert.ok(wave.admitted.some((entry) => entry.id === eveEntry.id));
      // Reading the capacity-aware admission settings ({} changes nothing).
      const auto = await send(a, "waitlist.auto", {});
      assert.equal(typeof auto.enabled, "boolean");
      assert.ok(auto.wave >= 1 && auto.interval_ms >= 100);

      // Games.
      await send(p, "games.list", { status: "open", limit: 10 });
      const game = (await send(p, "games.create", { name: `Every ${suffix}`, max_players: 4 })).game;
      assert.equal((await send(p, "games.get", { id: game.id })).game.id, game.id);
      assert.equal((await send(e, "games.join", { game_id: game.id })).game.player_count, 2);
      assert.equal((await send(p, "games.send", { game_id: game.id, payload: "hi" })).delivered, 1);
      assert.equal((await send(p, "games.start", { game_id: game.id })).game.status, "started");
      const finished = await send(a, "games.finish", {
        game_id: game.id,
        results: [
          { user_id: deeId, score: 900 },
          { user_id: eveAuth.user.id, score: 100 },
        ],
      });
      assert.equal(finished.game.status, "finished");
      const solo = (await send(e, "games.create", { name: `Solo ${suffix}`, max_players: 2 })).game;
      assert.equal((await send(e, "games.leave", { game_id: solo.id })).game.status, "closed");
      const closing = (await send(e, "games.create", { name: `Closing ${suffix}`, max_players: 2 })).game;
      assert.equal((await send(a, "games.close", { game_id: closing.id })).game.status, "closed");

      // Inventory.
      assert.equal((await send(a, "inventory.add", { user_id: deeId, item_id: "potion", quantity: 3 })).quantity, 3);
      assert.ok((await send(p, "inventory.list")).items.some((item) => item.item_id === "potion"));
      assert.equal((await send(p, "inventory.get", { item_id: "potion" })).quantity, 3);
      assert.equal((await send(p, "inventory.remove", { item_id: "potion", quantity: 1 })).quantity, 2);

      // Currency.
      const deposit = await send(a, "currency.deposit", { user_id: deeId, currency_id: "gold", amount: 1000 });
      assert.equal(deposit.balance, 1000);
      assert.ok((await send(p, "currency.list")).balances.some((b) => b.currency_id === "gold" && b.balance === 1000));
      assert.equal((await send(p, "currency.get", { currency_id: "gold", limit: 5 })).balance, 1000);
      assert.equal((await send(p, "currency.withdraw", { currency_id: "gold", amount: 10 })).balance, 990);

      // Leaderboards, achievements, cosmetics.
      assert.ok((await send(p, "leaderboard.list")).leaderboards.some((b) => b.id === "season0"));
      await send(p, "leaderboard.get", { id: "season0", around: "me" });
      assert.equal((await send(p, "leaderboard.subscribe", { id: "season0" })).subscribed, true);
      assert.ok((await send(p, "achievements.list")).achievements.length > 0);
      assert.equal((await send(p, "achievements.get", { id: "first_game" })).achievement.id, "first_game");
      assert.equal((await send(p, "achievements.unlock", { achievement_id: "first_game" })).achievement.unlocked, true);
      assert.ok((await send(p, "cosmetics.list")).cosmetics.length > 0);
      assert.equal((await send(p, "cosmetics.get", { id: "golden_helm" })).cosmetic.id, "golden_helm");
      const helm = await send(p, "cosmetics.unlock", { cosmetic_id: "golden_helm", idempotency_key: `helm-${suffix}` });
      assert.equal(helm.cosmetic.owned, true);

      // Admin console.
      const reset = await send(a, "leaderboard.reset", { leaderboard_id: "season0" });
      assert.equal(reset.season, reset.archived_season + 1);
      const inspected = await send(a, "players.inspect", { user_id: deeId });
      assert.equal(inspected.user.id, deeId);
      assert.ok(inspected.cosmetics.includes("golden_helm"));
      assert.ok((await send(a, "stats.subscribe")).sockets >= 1);
      assert.deepEqual(await send(a, "events.tail", { types: ["GAME_JOINED"] }), { ok: true });
      assert.ok((await send(a, "players.kick", { user_id: rayAuth.user.id, reason: "every-op test" })).sockets_closed >= 0);
    });

    test("every op of the generated union was sent and answered", () => {
      assert.deepEqual(validated.flatMap((v) => v.problems), [], "every validated payload fits its type");
      const listed = Object.keys(EXERCISED).sort();
      assert.deepEqual([...OP_NAMES].sort(), listed, "EXERCISED lists exactly the generated ops");
      assert.deepEqual([...sent].sort(), listed, "each listed op was sent and answered its generated type");
    });
  });
}
