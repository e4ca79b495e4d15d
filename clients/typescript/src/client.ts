// `PzoClient`: one server, one token, typed HTTP calls (`client.http`) and the realtime socket
// (`client.socket`) sharing that token.

import { PzoHttp, type FetchLike, type Validate } from "./http.js";
import { PzoSocket, type SocketOptions, type WebSocketConstructor } from "./socket.js";

export interface PzoClientOptions {
  /** The server, e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  /** A player or admin token; `http.register` and `http.login` set it too. */
  readonly token?: string;
  /** Where the socket connects, when not the server's `/ws` (e.g. through a proxy). */
  readonly socketUrl?: string;
  readonly fetch?: FetchLike;
  readonly WebSocket?: WebSocketConstructor;
  /** Socket settings: admin socket, reconnection backoff, timeouts, heartbeat, resume point. */
  readonly socket?: Omit<SocketOptions, "url" | "token" | "WebSocket" | "validate">;
  /** Called with every answer, event and relay and its generated type name (shape checks). */
  readonly validate?: Validate;
}

/**
 * A client of one PZO server.
 *
 * ```ts
 * const client = new PzoClient({ url: "http://127.0.0.1:8080" });
 * await client.http.register({ email, password, display_name });
 * await client.socket.connect();
 * client.socket.on("GAME_JOINED", (event) => console.log(event.data.display_name));
 * ```
 */
export class PzoClient {
  /** One typed method per HTTP endpoint. */
  readonly http: PzoHttp;
  /** The realtime socket (connect it with `socket.connect()`). */
  readonly socket: PzoSocket;
  #token: string | undefined;

  constructor(options: PzoClientOptions) {
    this.#token = options.token;
    const token = (): string | undefined => this.#token;
    this.http = new PzoHttp({
      baseUrl: options.url,
      token,
      adoptToken: (value) => {
        this.#token = value;
      },
      ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
      ...(options.validate === undefined ? {} : { validate: options.validate }),
    });
    this.socket = new PzoSocket({
      ...options.socket,
      url: options.socketUrl ?? options.url,
      token,
      ...(options.WebSocket === undefined ? {} : { WebSocket: options.WebSocket }),
      ...(options.validate === undefined ? {} : { validate: options.validate }),
    });
  }

  /** The token calls and the socket authenticate with. */
  get token(): string | undefined {
    return this.#token;
  }

  set token(value: string | undefined) {
    this.#token = value;
  }

  /** Closes the socket. */
  close(): void {
    this.socket.close();
  }
}
