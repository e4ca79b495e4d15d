// The realtime socket: authenticates, sends typed ops and answers each with its typed reply (a
// promise per request id), delivers typed events by type, and after a lost connection
// reconnects with exponential backoff and resumes from the last `seq` it saw, missing nothing.

import { PzoConnectionError, PzoError, PzoProtocolError, PzoTimeoutError } from "./errors.js";
import {
  EVENT_TYPES,
  JSON_SUBPROTOCOL,
  OP_REPLY_TYPES,
  RESUME_EVENTS_MAX,
  type ErrorBody,
  type EventOf,
  type EventType,
  type OpArgs,
  type OpName,
  type OpReplies,
  type PzoEvent,
  type Relay,
  type ReplyErrorFrame,
  type ReplyOkFrame,
  type SessionReply,
  type SocketEndpoint,
} from "./generated/protocol.js";
import type { Validate } from "./http.js";
import { isObject, parseJson, stringifyJson } from "./json.js";

/** A handler whose parameter is checked bivariantly, so DOM, undici and `ws` sockets all fit. */
type Handler<E> = { bivarianceHack(event: E): void }["bivarianceHack"];

/** What the client needs of a WebSocket: the browser API, which `ws` also offers. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: Handler<unknown> | null;
  onmessage: Handler<{ data: unknown }> | null;
  onclose: Handler<{ code: number; reason: string }> | null;
  onerror: Handler<unknown> | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/** A WebSocket constructor: the global one of browsers and Node 22+, or `ws`'s. */
export type WebSocketConstructor = new (url: string, protocols: string[]) => WebSocketLike;

/** The socket paths of the operations table (`GET /ws`, `GET /admin/ws`). */
export const SOCKET_PATHS = { player: "/ws", admin: "/admin/ws" } as const satisfies Record<
  "player" | "admin",
  SocketEndpoint extends `GET ${infer Path}` ? Path : never
>;

export type SocketState = "idle" | "connecting" | "open" | "reconnecting" | "closed";

/** A change of the socket's state; reconnections say which attempt and after what delay. */
export interface StateChange {
  readonly state: SocketState;
  readonly attempt?: number;
  readonly delayMs?: number;
  readonly error?: Error;
}

export interface BackoffOptions {
  /** Delay before the first reconnection attempt. */
  readonly initialMs: number;
  /** Largest delay between two attempts. */
  readonly maxMs: number;
  /** Growth of the delay per failed attempt. */
  readonly factor: number;
  /** Spread each delay over [delay/2, delay] so many clients do not reconnect in step. */
  readonly jitter: boolean;
  /** Attempts in a row before the socket gives up and closes. */
  readonly attemptsMax: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialMs: 250, maxMs: 10_000, factor: 2, jitter: true, attemptsMax: 50 };

/** The delay before reconnection attempt `attempt` (1-based). */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const exponent = Math.max(0, attempt - 1);
  const delay = Math.min(options.maxMs, options.initialMs * options.factor ** exponent);
  return Math.round(options.jitter ? delay / 2 + (random() * delay) / 2 : delay);
}

export interface SocketOptions {
  /** `ws(s)://host/ws`, or the server's `http(s)://host` (the socket path is added). */
  readonly url: string;
  /** The token to authenticate with, read at every (re)connection. */
  readonly token: () => string | undefined;
  /** Connect to the admin console socket (`/admin/ws`) instead of the player socket. */
  readonly admin?: boolean;
  /** A WebSocket constructor; by default the global one, else the `ws` package's. */
  readonly WebSocket?: WebSocketConstructor;
  /** Reconnect after a lost connection (default true). */
  readonly reconnect?: boolean;
  readonly backoff?: Partial<BackoffOptions>;
  /** How long a request waits for its reply, including while reconnecting (default 10 s). */
  readonly requestTimeoutMs?: number;
  /** Ping this often and reconnect when a ping goes unanswered (default 20 s; 0 disables). */
  readonly heartbeatMs?: number;
  /** Resume from this `seq` on the first connection too (e.g. one saved before a restart). */
  readonly resumeFromSeq?: number;
  /** Called with every reply's data, event and relay and its generated type name. */
  readonly validate?: Validate;
}

/** Most requests that may wait for a (re)connection; more fail at once. */
export const QUEUED_REQUESTS_MAX = 1024;
/** Event seqs remembered to drop the duplicates a resume may overlap with live pushes. */
export const SEEN_SEQS_MAX = 4096;
/** Most `events.resume` pages read after one reconnection (each holds RESUME_EVENTS_MAX events). */
export const RESUME_PAGES_MAX = 1000;
const REQUEST_TIMEOUT_MS_DEFAULT = 10_000;
const HEARTBEAT_MS_DEFAULT = 20_000;
const CLOSE_NORMAL = 1000;
/** A client-chosen close code for "dropping this connection to reconnect". */
const CLOSE_RECONNECT = 4000;

/** The args parameter of `request(op, args)`: optional when every field of the args is. */
export type ArgsOf<K extends OpName> = Record<string, never> extends OpArgs[K]
  ? [args?: OpArgs[K]]
  : [args: OpArgs[K]];

type Unsubscribe = () => void;

interface Waiting {
  readonly op: OpName;
  readonly args: unknown;
  readonly resolve: (data: unknown) => void;
  readonly reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

function isEventOf<T extends EventType>(event: PzoEvent, type: T): event is EventOf<T> {
  return event.type === type;
}

function isEventType(value: unknown): value is EventType {
  return typeof value === "string" && (EVENT_TYPES as readonly string[]).includes(value);
}

function isErrorBody(value: unknown): value is ErrorBody {
  return isObject(value) && typeof value["code"] === "string" && typeof value["message"] === "string";
}

/** The socket URL for a server base URL (`http://host` -> `ws://host/ws`). */
export function socketUrl(base: string, admin = false): string {
  const url = new URL(base);
  if (url.protocol === "http:") url.protocol = "ws:";
  if (url.protocol === "https:") url.protocol = "wss:";
  if (url.pathname === "/" || url.pathname === "") url.pathname = admin ? SOCKET_PATHS.admin : SOCKET_PATHS.player;
  return url.toString();
}

async function defaultWebSocket(): Promise<WebSocketConstructor> {
  const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (global !== undefined) return global;
  // Node 20 has no global WebSocket without a flag: use the `ws` package.
  const ws = await import("ws");
  return ws.default;
}

/**
 * One realtime connection. `connect()` opens and authenticates it; `request(op, args)` answers
 * the op's typed reply; `on(type, handler)` receives events of one type. After a lost connection
 * it reconnects with exponential backoff and resumes from the last `seq` it saw (`events.resume`),
 * delivering the missed events in order before the live ones, each once.
 */
export class PzoSocket {
  readonly #options: SocketOptions;
  readonly #backoff: BackoffOptions;
  readonly #url: string;
  readonly #timeoutMs: number;
  #ws: WebSocketLike | undefined;
  #state: SocketState = "idle";
  #wanted = false;
  #session: SessionReply | undefined;
  /** The `seq` to resume from: the newest event seen (undefined before the first connection). */
  #cursor: number | undefined;
  #seen = new Set<number>();
  #seenOrder: number[] = [];
  #nextId = 1;
  #attempt = 0;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #resuming = false;
  #buffered: PzoEvent[] = [];
  readonly #pending = new Map<number, Waiting>();
  #queue: Waiting[] = [];
  #connectWaiters: { resolve: (session: SessionReply) => void; reject: (error: Error) => void }[] = [];
  readonly #eventListeners = new Map<EventType, Set<(event: PzoEvent) => void>>();
  readonly #anyEventListeners = new Set<(event: PzoEvent) => void>();
  readonly #relayListeners = new Set<(relay: Relay) => void>();
  readonly #stateListeners = new Set<(change: StateChange) => void>();
  readonly #unsolicitedListeners = new Set<(frame: ReplyOkFrame | ReplyErrorFrame) => void>();
  readonly #errorListeners = new Set<(error: Error) => void>();
  #WebSocket: WebSocketConstructor | undefined;

  constructor(options: SocketOptions) {
    this.#options = options;
    this.#backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.#url = socketUrl(options.url, options.admin ?? false);
    this.#timeoutMs = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS_DEFAULT;
    this.#cursor = options.resumeFromSeq;
    this.#WebSocket = options.WebSocket;
  }

  /** The current state. */
  get state(): SocketState {
    return this.#state;
  }

  /** The answer to the latest `auth`: who this socket is, and the newest `seq` at that time. */
  get session(): SessionReply | undefined {
    return this.#session;
  }

  /** The newest event `seq` seen; a reconnection resumes after it. Save it to resume after a restart. */
  get lastSeq(): number | undefined {
    return this.#cursor;
  }

  /** Opens and authenticates the socket (retrying with backoff); answers the session. */
  connect(): Promise<SessionReply> {
    if (this.#state === "open" && this.#session !== undefined) return Promise.resolve(this.#session);
    const opened = new Promise<SessionReply>((resolve, reject) => {
      this.#connectWaiters.push({ resolve, reject });
    });
    if (!this.#wanted) {
      this.#wanted = true;
      this.#attempt = 0;
      this.#setState({ state: "connecting" });
      void this.#open();
    }
    return opened;
  }

  /** Closes the socket for good; waiting requests fail with `PzoConnectionError`. */
  close(): void {
    this.#wanted = false;
    const ws = this.#ws;
    this.#teardown(new PzoConnectionError("the socket was closed by the client"));
    ws?.close(CLOSE_NORMAL, "closed by the client");
    this.#setState({ state: "closed" });
  }

  /** Drops the current connection and reconnects (with backoff), resuming from the last seq. */
  reconnect(): void {
    this.#ws?.close(CLOSE_RECONNECT, "reconnecting");
  }

  /**
   * Sends an op and answers its typed reply. While (re)connecting, the request waits for the
   * connection (up to the request timeout). A request in flight when the connection drops fails
   * with `PzoConnectionError`: retry writes with the same `idempotency_key`.
   */
  request<K extends OpName>(op: K, ...rest: ArgsOf<K>): Promise<OpReplies[K]> {
    const args: unknown = rest[0] ?? {};
    return new Promise<OpReplies[K]>((resolve, reject) => {
      // The reply's shape is the generated type of this op; `validate` can check it at run time.
      const waiting: Waiting = { op, args, resolve: (data) => { resolve(data as OpReplies[K]); }, reject, timer: undefined };
      waiting.timer = setTimeout(() => {
        this.#forget(waiting);
        reject(new PzoTimeoutError(`${op}: no reply within ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
      if (this.#state === "open") {
        this.#transmit(waiting);
      } else if (!this.#wanted) {
        this.#settle(waiting, new PzoConnectionError(`${op}: the socket is not connected (call connect() first)`));
      } else if (this.#queue.length >= QUEUED_REQUESTS_MAX) {
        this.#settle(waiting, new PzoConnectionError(`${op}: ${QUEUED_REQUESTS_MAX} requests already wait for the connection`));
      } else {
        this.#queue.push(waiting);
      }
    });
  }

  /** Receives every event of one type; `event.data` is that type's payload. */
  on<T extends EventType>(type: T, handler: (event: EventOf<T>) => void): Unsubscribe {
    const wrapped = (event: PzoEvent): void => {
      if (isEventOf(event, type)) handler(event);
    };
    let listeners = this.#eventListeners.get(type);
    if (listeners === undefined) {
      listeners = new Set();
      this.#eventListeners.set(type, listeners);
    }
    listeners.add(wrapped);
    return () => listeners.delete(wrapped);
  }

  /** Receives every event; `switch (event.type)` narrows `event.data`. */
  onEvent(handler: (event: PzoEvent) => void): Unsubscribe {
    return this.#subscribe(this.#anyEventListeners, handler);
  }

  /** Receives game messages relayed by other members of one's lobby (`games.send`). */
  onRelay(handler: (relay: Relay) => void): Unsubscribe {
    return this.#subscribe(this.#relayListeners, handler);
  }

  /** Receives state changes: connecting, open, reconnecting (attempt, delay), closed (error). */
  onState(handler: (change: StateChange) => void): Unsubscribe {
    return this.#subscribe(this.#stateListeners, handler);
  }

  /** Receives replies no request waits for: `stats.subscribe` snapshots, errors of id-less frames. */
  onUnsolicited(handler: (frame: ReplyOkFrame | ReplyErrorFrame) => void): Unsubscribe {
    return this.#subscribe(this.#unsolicitedListeners, handler);
  }

  /** Receives problems no request owns: frames outside the contract, unknown event types. */
  onError(handler: (error: Error) => void): Unsubscribe {
    return this.#subscribe(this.#errorListeners, handler);
  }

  /** Waits for the next event of one type that passes `predicate`. Subscribe before acting. */
  waitFor<T extends EventType>(
    type: T,
    predicate: (event: EventOf<T>) => boolean = () => true,
    timeoutMs: number = this.#timeoutMs,
  ): Promise<EventOf<T>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new PzoTimeoutError(`no ${type} event within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.on(type, (event) => {
        if (!predicate(event)) return;
        clearTimeout(timer);
        off();
        resolve(event);
      });
    });
  }

  #subscribe<T>(set: Set<T>, handler: T): Unsubscribe {
    set.add(handler);
    return () => set.delete(handler);
  }

  #emit<T>(set: ReadonlySet<(value: T) => void>, value: T): void {
    for (const handler of [...set]) handler(value);
  }

  #setState(change: StateChange): void {
    this.#state = change.state;
    this.#emit(this.#stateListeners, change);
  }

  #report(error: Error): void {
    this.#emit(this.#errorListeners, error);
  }

  async #open(): Promise<void> {
    const token = this.#options.token();
    if (token === undefined) {
      this.#fail(new PzoConnectionError("no token to authenticate with: register or log in first"));
      return;
    }
    let Constructor: WebSocketConstructor;
    try {
      Constructor = this.#WebSocket ?? (await defaultWebSocket());
      this.#WebSocket = Constructor;
    } catch (error) {
      this.#fail(error instanceof Error ? error : new PzoConnectionError(String(error)));
      return;
    }
    if (!this.#wanted) return; // closed while loading the WebSocket implementation
    let ws: WebSocketLike;
    try {
      ws = new Constructor(this.#url, [JSON_SUBPROTOCOL]);
    } catch (error) {
      this.#fail(error instanceof Error ? error : new PzoConnectionError(String(error)));
      return;
    }
    this.#ws = ws;
    ws.onopen = () => {
      if (this.#ws === ws) void this.#authenticate(ws, token);
    };
    ws.onmessage = (event) => {
      if (this.#ws === ws) this.#onMessage(event.data);
    };
    ws.onclose = (event) => {
      if (this.#ws === ws) this.#onClose(`${event.code}${event.reason === "" ? "" : ` ${event.reason}`}`);
    };
    ws.onerror = () => {
      // The close event that follows every error drives the reconnection.
    };
  }

  async #authenticate(ws: WebSocketLike, token: string): Promise<void> {
    const resume = this.#cursor !== undefined;
    // Live pushes that race the resume are held back and merged in seq order afterwards.
    this.#resuming = resume;
    this.#buffered = [];
    try {
      const session = await this.#call("auth", { token });
      this.#session = session;
      if (resume) {
        await this.#resume();
      } else {
        this.#cursor = Math.max(this.#cursor ?? 0, session.last_seq);
      }
      if (this.#ws !== ws) return;
      this.#attempt = 0;
      this.#setState({ state: "open" });
      this.#startHeartbeat();
      const waiters = this.#connectWaiters;
      this.#connectWaiters = [];
      for (const waiter of waiters) waiter.resolve(session);
      const queued = this.#queue;
      this.#queue = [];
      for (const waiting of queued) this.#transmit(waiting);
    } catch (error) {
      if (this.#ws !== ws) return;
      if (error instanceof PzoError && !error.retryable) {
        // A refused token will be refused again: stop rather than retry forever.
        const refused = error;
        this.#wanted = false;
        this.#teardown(refused);
        ws.close(CLOSE_NORMAL, "authentication refused");
        this.#setState({ state: "closed", error: refused });
        return;
      }
      ws.close(CLOSE_RECONNECT, "authentication failed");
    }
  }

  async #resume(): Promise<void> {
    try {
      let since = this.#cursor ?? 0;
      for (let page = 0; page < RESUME_PAGES_MAX; page += 1) {
        const reply = await this.#call("events.resume", { since_seq: since });
        for (const event of reply.events) this.#deliver(event);
        if (!reply.more || reply.events.length === 0) return;
        since = reply.next_seq;
      }
      this.#report(new PzoProtocolError(`resume stopped after ${RESUME_PAGES_MAX} pages of ${RESUME_EVENTS_MAX}`));
    } finally {
      this.#resuming = false;
      const held = this.#buffered.sort((a, b) => a.seq - b.seq);
      this.#buffered = [];
      for (const event of held) this.#deliver(event);
    }
  }

  /** Sends an op now, whatever the state (authentication and resume run before `open`). */
  #call<K extends OpName>(op: K, args: OpArgs[K]): Promise<OpReplies[K]> {
    return new Promise<OpReplies[K]>((resolve, reject) => {
      const waiting: Waiting = { op, args, resolve: (data) => { resolve(data as OpReplies[K]); }, reject, timer: undefined };
      waiting.timer = setTimeout(() => {
        this.#forget(waiting);
        reject(new PzoTimeoutError(`${op}: no reply within ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
      this.#transmit(waiting);
    });
  }

  #transmit(waiting: Waiting): void {
    const ws = this.#ws;
    if (ws === undefined) {
      this.#settle(waiting, new PzoConnectionError(`${waiting.op}: the socket is not connected`));
      return;
    }
    const id = this.#nextId;
    // Request ids are u32 on the wire.
    this.#nextId = id >= 0xffff_ffff ? 1 : id + 1;
    let text: string;
    try {
      text = stringifyJson({ id, op: waiting.op, args: waiting.args });
    } catch (error) {
      this.#settle(waiting, error instanceof Error ? error : new RangeError(String(error)));
      return;
    }
    this.#pending.set(id, waiting);
    ws.send(text);
  }

  #settle(waiting: Waiting, error: Error): void {
    this.#forget(waiting);
    waiting.reject(error);
  }

  #forget(waiting: Waiting): void {
    clearTimeout(waiting.timer);
    this.#queue = this.#queue.filter((queued) => queued !== waiting);
    for (const [id, pending] of this.#pending) {
      if (pending === waiting) this.#pending.delete(id);
    }
  }

  #onMessage(data: unknown): void {
    if (typeof data !== "string") {
      this.#report(new PzoProtocolError("a binary frame arrived on a JSON socket"));
      return;
    }
    let frame: unknown;
    try {
      frame = parseJson(data);
    } catch (error) {
      this.#report(error instanceof Error ? error : new PzoProtocolError(String(error)));
      return;
    }
    if (!isObject(frame)) {
      this.#report(new PzoProtocolError(`a frame that is not an object: ${data.slice(0, 120)}`));
    } else if ("event" in frame) {
      this.#onEvent(frame["event"]);
    } else if ("relay" in frame) {
      this.#options.validate?.("Relay", frame["relay"]);
      // Relay frames carry the generated `Relay` shape; `validate` can check it at run time.
      this.#emit(this.#relayListeners, frame["relay"] as Relay);
    } else if (typeof frame["ok"] === "boolean") {
      this.#onReply(frame);
    } else {
      this.#report(new PzoProtocolError(`a frame of no known kind: ${data.slice(0, 120)}`));
    }
  }

  #onReply(frame: Record<string, unknown>): void {
    const re = frame["re"];
    const waiting = typeof re === "number" ? this.#pending.get(re) : undefined;
    if (waiting === undefined || typeof re !== "number") {
      this.#emit(this.#unsolicitedListeners, frame as ReplyOkFrame | ReplyErrorFrame);
      return;
    }
    this.#pending.delete(re);
    clearTimeout(waiting.timer);
    if (frame["ok"] === true) {
      this.#options.validate?.(OP_REPLY_TYPES[waiting.op], frame["data"]);
      waiting.resolve(frame["data"]);
      return;
    }
    const error = frame["error"];
    if (isErrorBody(error)) {
      this.#options.validate?.("ErrorBody", error);
      waiting.reject(new PzoError(error));
    } else {
      waiting.reject(new PzoProtocolError(`${waiting.op}: a refusal without an error object`));
    }
  }

  #onEvent(value: unknown): void {
    this.#options.validate?.("PzoEvent", value);
    if (!isObject(value) || typeof value["seq"] !== "number" || typeof value["at"] !== "string" || !("data" in value)) {
      this.#report(new PzoProtocolError("an event frame without seq, type, at and data"));
      return;
    }
    if (!isEventType(value["type"])) {
      // A newer server's event type: remember its seq so a resume does not fetch it again.
      this.#remember(value["seq"]);
      this.#report(new PzoProtocolError(`an event of unknown type ${String(value["type"])}`));
      return;
    }
    // `type` is a known event type and the rest of the shape was checked above.
    const event = value as PzoEvent;
    if (this.#resuming) {
      this.#buffered.push(event);
    } else {
      this.#deliver(event);
    }
  }

  /** Delivers an event once, whichever way (live or resumed) it came first. */
  #deliver(event: PzoEvent): void {
    if (this.#seen.has(event.seq)) return;
    this.#remember(event.seq);
    const listeners = this.#eventListeners.get(event.type);
    if (listeners !== undefined) this.#emit(listeners, event);
    this.#emit(this.#anyEventListeners, event);
  }

  #remember(seq: number): void {
    this.#seen.add(seq);
    this.#seenOrder.push(seq);
    if (this.#seenOrder.length > SEEN_SEQS_MAX) {
      const oldest = this.#seenOrder.shift();
      if (oldest !== undefined) this.#seen.delete(oldest);
    }
    this.#cursor = Math.max(this.#cursor ?? 0, seq);
  }

  #startHeartbeat(): void {
    clearInterval(this.#heartbeat);
    const every = this.#options.heartbeatMs ?? HEARTBEAT_MS_DEFAULT;
    if (every <= 0) return;
    this.#heartbeat = setInterval(() => {
      if (this.#state !== "open") return;
      this.request("ping").catch((error: unknown) => {
        if (error instanceof PzoTimeoutError) this.reconnect();
      });
    }, every);
  }

  /** Fails every waiting request and forgets the connection. */
  #teardown(error: Error): void {
    clearTimeout(this.#reconnectTimer);
    clearInterval(this.#heartbeat);
    this.#ws = undefined;
    // Pushes held back during an unfinished resume are dropped: the next resume fetches them,
    // and delivering them now would move the cursor past events not yet resumed.
    this.#resuming = false;
    this.#buffered = [];
    for (const waiting of [...this.#pending.values()]) this.#settle(waiting, error);
    if (!this.#wanted) {
      for (const waiting of [...this.#queue]) this.#settle(waiting, error);
      const waiters = this.#connectWaiters;
      this.#connectWaiters = [];
      for (const waiter of waiters) waiter.reject(error);
    }
  }

  #fail(error: Error): void {
    this.#wanted = false;
    this.#teardown(error);
    this.#setState({ state: "closed", error });
  }

  #onClose(reason: string): void {
    this.#teardown(new PzoConnectionError(`the connection closed (${reason}) before the reply came`));
    if (!this.#wanted) return;
    if (this.#options.reconnect === false) {
      this.#fail(new PzoConnectionError(`the connection closed (${reason})`));
      return;
    }
    this.#attempt += 1;
    if (this.#attempt > this.#backoff.attemptsMax) {
      this.#fail(new PzoConnectionError(`gave up after ${this.#backoff.attemptsMax} reconnection attempts (${reason})`));
      return;
    }
    const delayMs = backoffDelay(this.#attempt, this.#backoff);
    this.#setState({ state: "reconnecting", attempt: this.#attempt, delayMs });
    this.#reconnectTimer = setTimeout(() => {
      if (this.#wanted) void this.#open();
    }, delayMs);
  }
}
