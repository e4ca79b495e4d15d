// A TCP proxy in front of the server that can cut every connection and refuse new ones, so a
// test can take the network away from a socket and give it back.

import net from "node:net";

export class DropProxy {
  readonly #server: net.Server;
  readonly #target: { host: string; port: number };
  readonly #live = new Set<net.Socket>();
  #refusing = false;
  /** Connections refused while refusing. */
  refused = 0;

  private constructor(target: { host: string; port: number }) {
    this.#target = target;
    this.#server = net.createServer((client) => {
      if (this.#refusing) {
        this.refused += 1;
        client.destroy();
        return;
      }
      const upstream = net.connect(this.#target.port, this.#target.host);
      this.#live.add(client);
      this.#live.add(upstream);
      const close = (): void => {
        client.destroy();
        upstream.destroy();
        this.#live.delete(client);
        this.#live.delete(upstream);
      };
      client.on("error", close).on("close", close);
      upstream.on("error", close).on("close", close);
      client.pipe(upstream);
      upstream.pipe(client);
    });
  }

  /** Starts a proxy to the server at `url` on a free local port. */
  static async start(url: string): Promise<DropProxy> {
    const target = new URL(url);
    const proxy = new DropProxy({ host: target.hostname, port: Number(target.port || 80) });
    await new Promise<void>((resolve) => proxy.#server.listen(0, "127.0.0.1", resolve));
    return proxy;
  }

  /** `http://127.0.0.1:<port>` of the proxy. */
  get url(): string {
    const address = this.#server.address();
    if (address === null || typeof address === "string") throw new Error("the proxy is not listening");
    return `http://127.0.0.1:${address.port}`;
  }

  /** Cuts every live connection (as a lost network would) and refuses new ones until `restore()`. */
  cut(): void {
    this.#refusing = true;
    for (const socket of this.#live) socket.destroy();
    this.#live.clear();
  }

  /** Accepts connections again. */
  restore(): void {
    this.#refusing = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => { resolve(); }));
  }
}
