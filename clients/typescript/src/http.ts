// The HTTP side of the client: one typed method per endpoint of the operations table, each
// answering the envelope's `data` or throwing the envelope's typed error.

import { PzoError, PzoProtocolError } from "./errors.js";
import {
  HTTP_REPLY_TYPES,
  type AddItemArgs,
  type AdmitReply,
  type AuthReply,
  type CreateGameArgs,
  type CurrencyGetArgs,
  type DepositArgs,
  type EntryReply,
  type ErrorBody,
  type FinishGameArgs,
  type GamesListArgs,
  type HttpBodies,
  type HttpEndpoint,
  type HttpRawEndpoint,
  type HttpRawReplies,
  type HttpReplies,
  type LeaderboardGetArgs,
  type LoginArgs,
  type Meta,
  type OwnerArgs,
  type Page,
  type PreferencesPatch,
  type RegisterArgs,
  type RemoveItemArgs,
  type SetEntryStatusArgs,
  type UnlockCosmeticArgs,
  type WaitlistJoinArgs,
  type WaitlistListArgs,
  type WithdrawArgs,
} from "./generated/protocol.js";
import { isObject, parseJson, stringifyJson } from "./json.js";

/** What the client needs of `fetch` (the global one fits; tests may inject their own). */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body: string | null },
) => Promise<{ status: number; text(): Promise<string> }>;

/** Query parameters; `undefined` and `null` values are left out. */
export type Query = Readonly<Record<string, string | number | boolean | null | undefined>>;

/** Where a typed value came from, for `validate` hooks (the generated type's name). */
export type Validate = (typeName: string, value: unknown) => void;

export interface HttpOptions {
  /** `http(s)://host:port` of the server. */
  readonly baseUrl: string;
  /** The bearer token for each call (read per call, so a login takes effect at once). */
  readonly token: () => string | undefined;
  /** Called with each token that register or login hands out. */
  readonly adoptToken?: (token: string) => void;
  readonly fetch?: FetchLike;
  /** Called with every answer's `data` and its generated type name (e.g. a shape check in tests). */
  readonly validate?: Validate;
}

/** Per-call options of {@link PzoHttp.call}. */
export interface CallOptions<E extends HttpEndpoint> {
  /** Values of the `{param}`s in the endpoint's path. */
  readonly path?: Readonly<Record<string, string>>;
  readonly query?: Query;
  readonly body?: E extends keyof HttpBodies ? HttpBodies[E] : never;
  /** Sent as `X-Request-Id` (the server echoes it in `meta.request_id`). */
  readonly requestId?: string;
}

/** An answer with its envelope metadata. */
export interface Answer<T> {
  readonly data: T;
  readonly meta: Meta;
  readonly status: number;
}

function isErrorBody(value: unknown): value is ErrorBody {
  return isObject(value) && typeof value["code"] === "string" && typeof value["message"] === "string";
}

function isMeta(value: unknown): value is Meta {
  return isObject(value) && typeof value["request_id"] === "string";
}

function splitEndpoint(endpoint: string): [method: string, template: string] {
  const space = endpoint.indexOf(" ");
  return [endpoint.slice(0, space), endpoint.slice(space + 1)];
}

/** Typed HTTP calls. Each method names its endpoint in its doc comment. */
export class PzoHttp {
  readonly #options: HttpOptions;
  readonly #fetch: FetchLike;

  constructor(options: HttpOptions) {
    this.#options = options;
    this.#fetch = options.fetch ?? ((url, init) => fetch(url, init));
  }

  #url(template: string, path: Readonly<Record<string, string>> = {}, query: Query = {}): string {
    const filled = template.replace(/\{(\w+)\}/g, (_match, name: string) => {
      const value = path[name];
      if (value === undefined) throw new TypeError(`missing path parameter ${name} of ${template}`);
      return encodeURIComponent(value);
    });
    const url = new URL(filled, this.#options.baseUrl);
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && value !== null) url.searchParams.set(key, String(value));
    }
    return url.toString();
  }

  async #send(endpoint: string, options: CallOptions<HttpEndpoint>, accept: string) {
    const [method, template] = splitEndpoint(endpoint);
    const headers: Record<string, string> = { accept };
    const token = this.#options.token();
    if (token !== undefined) headers["authorization"] = `Bearer ${token}`;
    if (options.requestId !== undefined) headers["x-request-id"] = options.requestId;
    let body: string | null = null;
    if (options.body !== undefined) {
      headers["content-type"] = "application/json";
      body = stringifyJson(options.body);
    }
    const response = await this.#fetch(this.#url(template, options.path, options.query), { method, headers, body });
    return { status: response.status, text: await response.text() };
  }

  /** Calls one enveloped endpoint and answers its `data` with the envelope's metadata. */
  async answer<E extends HttpEndpoint>(endpoint: E, options: CallOptions<E> = {}): Promise<Answer<HttpReplies[E]>> {
    const { status, text } = await this.#send(endpoint, options, "application/json");
    const envelope = parseJson(text);
    if (!isObject(envelope) || typeof envelope["ok"] !== "boolean" || !isMeta(envelope["meta"])) {
      throw new PzoProtocolError(`${endpoint} answered ${status} without the envelope: ${text.slice(0, 120)}`);
    }
    const meta = envelope["meta"];
    if (envelope["ok"]) {
      const data = envelope["data"];
      this.#options.validate?.(HTTP_REPLY_TYPES[endpoint], data);
      // The server's types are the generated ones; `validate` can check the shape at run time.
      return { data: data as HttpReplies[E], meta, status };
    }
    const error = envelope["error"];
    if (!isErrorBody(error)) throw new PzoProtocolError(`${endpoint} answered ${status} with a malformed error`);
    this.#options.validate?.("ErrorBody", error);
    throw new PzoError(error, meta.request_id);
  }

  /** Calls one enveloped endpoint and answers its `data`. */
  async call<E extends HttpEndpoint>(endpoint: E, options: CallOptions<E> = {}): Promise<HttpReplies[E]> {
    return (await this.answer(endpoint, options)).data;
  }

  /** Calls an endpoint that answers outside the envelope (metrics text, HTML pages, OpenAPI). */
  async raw<E extends HttpRawEndpoint>(endpoint: E): Promise<HttpRawReplies[E]> {
    const { status, text } = await this.#send(endpoint, {}, "*/*");
    if (status >= 400) throw new PzoProtocolError(`${endpoint} answered ${status}`);
    if (endpoint === "GET /openapi.json") {
      // A document, not protocol data: its int64 schema bounds may pass 2^53, so parse it plainly.
      let document: unknown;
      try {
        document = JSON.parse(text);
      } catch {
        throw new PzoProtocolError("/openapi.json is not JSON");
      }
      if (!isObject(document) || typeof document["openapi"] !== "string") {
        throw new PzoProtocolError("/openapi.json is not an OpenAPI document");
      }
      this.#options.validate?.("OpenApiDocument", document);
      return document as HttpRawReplies[E];
    }
    return text as HttpRawReplies[E];
  }

  #adopt(reply: AuthReply): AuthReply {
    this.#options.adoptToken?.(reply.token);
    return reply;
  }

  // ---- User ----

  /** `POST /users/register` (201). The returned token is used for later calls and the socket. */
  async register(args: RegisterArgs): Promise<AuthReply> {
    return this.#adopt(await this.call("POST /users/register", { body: args }));
  }
  /** `POST /users/login`. The returned token is used for later calls and the socket. */
  async login(args: LoginArgs): Promise<AuthReply> {
    return this.#adopt(await this.call("POST /users/login", { body: args }));
  }
  /** `GET /users`: public profiles, paginated. */
  listUsers(page: Page = {}) {
    return this.call("GET /users", { query: page });
  }
  /** `GET /users/{id}`: a profile (self and admins also see email, preferences, season0). */
  getUser(id: string) {
    return this.call("GET /users/{id}", { path: { id } });
  }
  /** `PATCH /users/{id}`: a partial update of one's preferences. */
  updatePreferences(id: string, preferences: PreferencesPatch) {
    return this.call("PATCH /users/{id}", { path: { id }, body: { preferences } });
  }

  // ---- Waitlist ----

  /** `POST /waitlist` (201): join the Season 0 waitlist. */
  joinWaitlist(args: WaitlistJoinArgs = {}) {
    return this.call("POST /waitlist", { body: args });
  }
  /** `GET /waitlist` (admin): entries in order, filtered by status. */
  listWaitlist(args: WaitlistListArgs = {}) {
    return this.call("GET /waitlist", { query: args });
  }
  /** `GET /waitlist/status`: one's own entry, position and the counts. */
  waitlistStatus() {
    return this.call("GET /waitlist/status");
  }
  /** `POST /waitlist/status` `{admit: n}` (admin): admits the next `count` waiting players. */
  async admit(count: number): Promise<AdmitReply> {
    const reply = await this.call("POST /waitlist/status", { body: { admit: count } });
    if (!("admitted" in reply)) throw new PzoProtocolError("an admission wave answered without `admitted`");
    return reply;
  }
  /** `POST /waitlist/status` `{entry_id, status}` (admin): sets one entry's status. */
  async setWaitlistStatus(args: SetEntryStatusArgs): Promise<EntryReply> {
    const reply = await this.call("POST /waitlist/status", { body: args });
    if (!("entry" in reply)) throw new PzoProtocolError("a status change answered without `entry`");
    return reply;
  }
  /** `GET /waitlist/{id}`: one entry with its live position (owner or admin). */
  getWaitlistEntry(id: string) {
    return this.call("GET /waitlist/{id}", { path: { id } });
  }
  /** `DELETE /waitlist/{id}`: removes an entry (owner or admin). */
  removeWaitlistEntry(id: string) {
    return this.call("DELETE /waitlist/{id}", { path: { id } });
  }

  // ---- Game ----

  /** `GET /games`: lobbies, filtered by status. */
  listGames(args: GamesListArgs = {}) {
    return this.call("GET /games", { query: args });
  }
  /** `POST /games` (201): creates a lobby; the caller is its host and first member. */
  createGame(args: CreateGameArgs) {
    return this.call("POST /games", { body: args });
  }
  /** `GET /games/{id}`: one lobby with its players. */
  getGame(id: string) {
    return this.call("GET /games/{id}", { path: { id } });
  }
  /** `POST /games/join`. */
  joinGame(gameId: string) {
    return this.call("POST /games/join", { body: { game_id: gameId } });
  }
  /** `POST /games/leave`. */
  leaveGame(gameId: string) {
    return this.call("POST /games/leave", { body: { game_id: gameId } });
  }
  /** `POST /games/start` (host). */
  startGame(gameId: string) {
    return this.call("POST /games/start", { body: { game_id: gameId } });
  }
  /** `POST /games/finish` (admin/service): records the results. */
  finishGame(args: FinishGameArgs) {
    return this.call("POST /games/finish", { body: args });
  }
  /** `POST /games/close` (admin): closes an open lobby. */
  closeGame(gameId: string) {
    return this.call("POST /games/close", { body: { game_id: gameId } });
  }

  // ---- Inventory ----

  /** `GET /inventory`: own items (admin: `{user_id}`). */
  inventory(args: OwnerArgs = {}) {
    return this.call("GET /inventory", { query: args });
  }
  /** `GET /inventory/{item_id}`: an item definition and the quantity held. */
  item(itemId: string, args: OwnerArgs = {}) {
    return this.call("GET /inventory/{item_id}", { path: { item_id: itemId }, query: args });
  }
  /** `POST /inventory/add` (admin/service). */
  addItem(args: AddItemArgs) {
    return this.call("POST /inventory/add", { body: args });
  }
  /** `POST /inventory/remove`. */
  removeItem(args: RemoveItemArgs) {
    return this.call("POST /inventory/remove", { body: args });
  }

  // ---- Currency ----

  /** `GET /currency`: own balances (admin: `{user_id}`). */
  balances(args: OwnerArgs = {}) {
    return this.call("GET /currency", { query: args });
  }
  /** `GET /currency/{currency_id}`: the balance and recent transactions, paginated. */
  currency(currencyId: string, args: Omit<CurrencyGetArgs, "currency_id"> = {}) {
    return this.call("GET /currency/{currency_id}", { path: { currency_id: currencyId }, query: args });
  }
  /** `POST /currency/deposit` (admin/service). */
  deposit(args: DepositArgs) {
    return this.call("POST /currency/deposit", { body: args });
  }
  /** `POST /currency/withdraw`: never overdraws, even under concurrent withdrawals. */
  withdraw(args: WithdrawArgs) {
    return this.call("POST /currency/withdraw", { body: args });
  }

  // ---- Leaderboard ----

  /** `GET /leaderboard`: the boards. */
  leaderboards() {
    return this.call("GET /leaderboard");
  }
  /** `GET /leaderboard/{id}`: ranked entries (`limit`, `cursor`, `around: "me"`, `season`). */
  leaderboard(id: string, args: Omit<LeaderboardGetArgs, "id"> = {}) {
    return this.call("GET /leaderboard/{id}", { path: { id }, query: args });
  }
  /** `POST /leaderboard/reset` (admin): archives the season and starts a new one. */
  resetLeaderboard(leaderboardId: string) {
    return this.call("POST /leaderboard/reset", { body: { leaderboard_id: leaderboardId } });
  }

  // ---- Achievement ----

  /** `GET /achievements`: the catalog with own progress. */
  achievements() {
    return this.call("GET /achievements");
  }
  /** `GET /achievements/{id}`. */
  achievement(id: string) {
    return this.call("GET /achievements/{id}", { path: { id } });
  }
  /** `POST /achievements/unlock`: checks the condition. */
  unlockAchievement(achievementId: string) {
    return this.call("POST /achievements/unlock", { body: { achievement_id: achievementId } });
  }

  // ---- Cosmetic ----

  /** `GET /cosmetics`: the catalog with owned flags. */
  cosmetics() {
    return this.call("GET /cosmetics");
  }
  /** `GET /cosmetics/{id}`. */
  cosmetic(id: string) {
    return this.call("GET /cosmetics/{id}", { path: { id } });
  }
  /** `POST /cosmetics/unlock`: pays the price and checks the achievement, atomically. */
  unlockCosmetic(args: UnlockCosmeticArgs) {
    return this.call("POST /cosmetics/unlock", { body: args });
  }

  // ---- Events ----

  /** `GET /events?since_seq=`: the events the caller may see after `sinceSeq`. */
  events(sinceSeq: number) {
    return this.call("GET /events", { query: { since_seq: sinceSeq } });
  }

  // ---- Ops ----

  /** `GET /health`: liveness. */
  health() {
    return this.call("GET /health");
  }
  /** `GET /ready`: readiness (database, migrations, journal); refused with 503 otherwise. */
  ready() {
    return this.call("GET /ready");
  }
  /** `GET /slo`: the SLO contract with live compliance. */
  slo() {
    return this.call("GET /slo");
  }
  /** `GET /metrics`: Prometheus text. */
  metrics() {
    return this.raw("GET /metrics");
  }
  /** `GET /openapi.json`: the OpenAPI 3.1 document. */
  openapi() {
    return this.raw("GET /openapi.json");
  }
  /** `GET /docs`: the API reference page (HTML). */
  docs() {
    return this.raw("GET /docs");
  }
  /** `GET /docs/errors`: the error code page (HTML). */
  docsErrors() {
    return this.raw("GET /docs/errors");
  }
  /** `GET /admin`: the admin console page (HTML). */
  adminPage() {
    return this.raw("GET /admin");
  }
}

/**
 * The method of {@link PzoHttp} for each endpoint of the operations table. `satisfies` makes the
 * build fail when the generated table gains an endpoint the client has no method for.
 */
export const HTTP_METHODS = {
  "POST /users/register": "register",
  "POST /users/login": "login",
  "GET /users": "listUsers",
  "GET /users/{id}": "getUser",
  "PATCH /users/{id}": "updatePreferences",
  "POST /waitlist": "joinWaitlist",
  "GET /waitlist": "listWaitlist",
  "GET /waitlist/status": "waitlistStatus",
  "POST /waitlist/status": "admit",
  "GET /waitlist/{id}": "getWaitlistEntry",
  "DELETE /waitlist/{id}": "removeWaitlistEntry",
  "GET /games": "listGames",
  "POST /games": "createGame",
  "GET /games/{id}": "getGame",
  "POST /games/join": "joinGame",
  "POST /games/leave": "leaveGame",
  "POST /games/start": "startGame",
  "POST /games/finish": "finishGame",
  "POST /games/close": "closeGame",
  "GET /inventory": "inventory",
  "GET /inventory/{item_id}": "item",
  "POST /inventory/add": "addItem",
  "POST /inventory/remove": "removeItem",
  "GET /currency": "balances",
  "GET /currency/{currency_id}": "currency",
  "POST /currency/deposit": "deposit",
  "POST /currency/withdraw": "withdraw",
  "GET /leaderboard": "leaderboards",
  "GET /leaderboard/{id}": "leaderboard",
  "POST /leaderboard/reset": "resetLeaderboard",
  "GET /achievements": "achievements",
  "GET /achievements/{id}": "achievement",
  "POST /achievements/unlock": "unlockAchievement",
  "GET /cosmetics": "cosmetics",
  "GET /cosmetics/{id}": "cosmetic",
  "POST /cosmetics/unlock": "unlockCosmetic",
  "GET /events": "events",
  "GET /health": "health",
  "GET /ready": "ready",
  "GET /slo": "slo",
  "GET /metrics": "metrics",
  "GET /openapi.json": "openapi",
  "GET /docs": "docs",
  "GET /docs/errors": "docsErrors",
  "GET /admin": "adminPage",
} as const satisfies Record<HttpEndpoint | HttpRawEndpoint, keyof PzoHttp>;
