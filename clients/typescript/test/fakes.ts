// In-process stand-ins for a socket server and an HTTP server, for tests that need no real one.

import type { OpName, PzoEvent } from "../src/generated/protocol.js";
import type { FetchLike } from "../src/http.js";
import type { WebSocketLike } from "../src/socket.js";

/** A request frame as the fake server receives it. */
export interface SentFrame {
  readonly id: number;
  readonly op: OpName;
  readonly args: Record<string, unknown>;
}

type Answer = (frame: SentFrame, socket: FakeWebSocket) => void;

/**
 * A fake WebSocket whose "server" is a function answering each request frame. It opens on the
 * next tick; `drop()` closes it as a lost connection would.
 */
export class FakeWebSocket implements WebSocketLike {
  static instances: FakeWebSocket[] = [];
  static answer: Answer = () => undefined;
  /** While true, new connections close at once (the server is unreachable). */
  static refusing = false;

  readyState = 0;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  readonly sent: SentFrame[] = [];
  readonly url: string;
  readonly protocols: string[];

  constructor(url: string, protocols: string[]) {
    this.url = url;
    this.protocols = protocols;
    FakeWebSocket.instances.push(this);
    setTimeout(() => {
      if (FakeWebSocket.refusing) {
        this.drop(1006, "refused");
        return;
      }
      this.readyState = 1;
      this.onopen?.({});
    }, 0);
  }

  static reset(answer: Answer): void {
    FakeWebSocket.instances = [];
    FakeWebSocket.answer = answer;
    FakeWebSocket.refusing = false;
  }

  static latest(): FakeWebSocket {
    const socket = FakeWebSocket.instances.at(-1);
    if (socket === undefined) throw new Error("no socket was opened");
    return socket;
  }

  send(data: string): void {
    const frame = JSON.parse(data) as SentFrame;
    this.sent.push(frame);
    FakeWebSocket.answer(frame, this);
  }

  close(code = 1000, reason = ""): void {
    this.drop(code, reason);
  }

  /** Closes as the network or the server would. */
  drop(code = 1006, reason = ""): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    setTimeout(() => this.onclose?.({ code, reason }), 0);
  }

  /** Sends a frame to the client. */
  push(frame: unknown): void {
    if (this.readyState === 1) this.onmessage?.({ data: JSON.stringify(frame) });
  }

  reply(re: number, data: unknown): void {
    this.push({ re, ok: true, data });
  }

  event(event: PzoEvent): void {
    this.push({ event });
  }
}

/** One HTTP call as the fake fetch saw it. */
export interface SeenCall {
  readonly url: string;
  readonly method: string;
  readonly headers: Record<string, string>;
  readonly body: string | null;
}

/** A fetch that answers every call with one status and body, and remembers the calls. */
export function fakeFetch(status: number, body: unknown): { fetch: FetchLike; calls: SeenCall[] } {
  const calls: SeenCall[] = [];
  const fetch: FetchLike = (url, init) => {
    calls.push({ url, ...init });
    return Promise.resolve({ status, text: () => Promise.resolve(typeof body === "string" ? body : JSON.stringify(body)) });
  };
  return { fetch, calls };
}
