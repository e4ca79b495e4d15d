// The server the integration tests talk to: they start nothing themselves, they read
// PZO_URL and PZO_ADMIN_TOKEN (scripts/ts-client-test.sh starts a server and sets both).

export interface ServerEnv {
  readonly url: string;
  readonly adminToken: string;
}

export const SKIP_REASON =
  "PZO_URL and PZO_ADMIN_TOKEN are not set: start pzo-server and export both (scripts/ts-client-test.sh does)";

/** The server under test, or undefined when the environment names none. */
export function serverEnv(): ServerEnv | undefined {
  const url = process.env["PZO_URL"];
  const adminToken = process.env["PZO_ADMIN_TOKEN"];
  if (url === undefined || url === "" || adminToken === undefined || adminToken === "") return undefined;
  return { url, adminToken };
}

/** A unique suffix so reruns against the same server never collide. */
export function unique(): string {
  return `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
}
