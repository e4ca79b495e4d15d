// End-to-end test of the admin console (GET /admin) in Debian's headless Chromium, driven by
// playwright-core (no bundled browser). Run by scripts/admin-browser-test.sh, which starts a
// server on a fresh database and sets:
//   PZO_URL              the server's base URL (http://127.0.0.1:<port>)
//   PZO_ADMIN_TOKEN      its admin token
//   PZO_CHROMIUM         the browser binary (default /usr/bin/chromium)
//   PZO_BROWSER_OUTPUT   where screenshots go (default ./output)
//   PZO_DOCS_SCREENSHOT  optional: a second path the final screenshot is copied to
//
// The story: three players register and join the waitlist; the operator opens /admin, logs in
// with the admin token and sees the live stats move while the players connect and act (their
// sockets update preferences, the admin deposits gold to them); the operator filters the event
// tail to SEASON0_JOINED, admits a wave of three with a click (confirming the dialog) and sees
// the three SEASON0_JOINED events arrive. The whole run is bounded well under 90 s.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, mkdir, rm, copyFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { randomBytes } from "node:crypto";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
const BASE = (process.env.PZO_URL || "").replace(/\/+$/, "");
const ADMIN_TOKEN = process.env.PZO_ADMIN_TOKEN || "";
const CHROMIUM = process.env.PZO_CHROMIUM || "/usr/bin/chromium";
const OUTPUT = process.env.PZO_BROWSER_OUTPUT || path.join(here, "output");
const DOCS_SCREENSHOT = process.env.PZO_DOCS_SCREENSHOT || "";

const PLAYERS = 3;
const TEST_TIMEOUT_MS = 85_000;
const STEP_TIMEOUT_MS = 20_000;
const HTTP_TIMEOUT_MS = 10_000;
// Chromium flags for a root user in a container: no sandbox, no GPU, no background traffic.
// Playwright adds --headless and its own --user-data-dir (the fresh folder given below).
const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];

// ---------- HTTP helpers ----------
async function api(method, route, { body, token } = {}) {
  const headers = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(BASE + route, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { throw new Error(`${method} ${route}: ${res.status}, not JSON: ${text.slice(0, 200)}`); }
  if (!res.ok || json.ok !== true) {
    throw new Error(`${method} ${route}: ${res.status} ${JSON.stringify(json.error ?? json).slice(0, 300)}`);
  }
  return json.data;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` (returning a truthy value when satisfied) until `timeoutMs`; answers the value. */
async function eventually(what, check, timeoutMs = STEP_TIMEOUT_MS, everyMs = 200) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
      last = undefined;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ": " + last.message : ""}`);
    }
    await sleep(everyMs);
  }
}

/** Background load: the admin deposits gold to the players over HTTP until stopped. */
function startDeposits(userIds) {
  const state = { stop: false, ok: 0, failed: 0, lastError: null };
  const worker = async (w) => {
    let i = w;
    while (!state.stop) {
      const user_id = userIds[i++ % userIds.length];
      try {
        await api("POST", "/currency/deposit", { token: ADMIN_TOKEN, body: { user_id, currency_id: "gold", amount: 1 + (i % 7) } });
        state.ok++;
      } catch (e) {
        state.failed++;
        state.lastError = e.message;
        await sleep(100);
      }
      await sleep(15);
    }
  };
  state.done = Promise.all([0, 1, 2, 3].map(worker));
  return state;
}

// ---------- the simulated players' client, run inside a second browser page ----------
// Opens one socket per player (subprotocol pzo.v1.json, auth as the first frame), then each
// player updates its preferences a few times a second. Received event types are recorded.
function playersClient({ wsBase, tokens }) {
  const players = tokens.map((token, n) => ({ n, token, ws: null, authed: false, events: [], errors: [], sent: 0 }));
  window.__players = players;
  let timer = null;
  const opened = players.map((p) => new Promise((resolve, reject) => {
    const ws = new WebSocket(wsBase + "/ws", "pzo.v1.json");
    p.ws = ws;
    ws.onopen = () => ws.send(JSON.stringify({ id: 1, op: "auth", args: { token: p.token } }));
    ws.onmessage = (m) => {
      let msg;
      try { msg = JSON.parse(m.data); } catch { return; }
      if (msg.event) { p.events.push(msg.event.type); return; }
      if (msg.re === 1 && !p.authed) {
        if (msg.ok) { p.authed = true; resolve(); } else reject(new Error("player auth refused: " + JSON.stringify(msg.error)));
        return;
      }
      if (msg.ok === false) p.errors.push(msg.error && msg.error.code);
    };
    ws.onclose = (ev) => { if (!p.authed) reject(new Error("player socket closed before auth: " + ev.code)); };
  }));
  window.__stopPlayers = () => { clearInterval(timer); players.forEach((p) => p.ws && p.ws.close(1000, "done")); };
  return Promise.all(opened).then(() => {
    let id = 2;
    timer = setInterval(() => {
      for (const p of players) {
        if (p.ws.readyState !== WebSocket.OPEN) continue;
        p.sent++;
        p.ws.send(JSON.stringify({ id: id++, op: "users.update_preferences",
          args: { preferences: { music_volume: (p.sent * 7 + p.n * 13) % 101, sound_enabled: p.sent % 2 === 0 } } }));
      }
    }, 150);
    return players.length;
  });
}

test("admin console: login, live stats, tail filter, admit a wave with a click", { timeout: TEST_TIMEOUT_MS }, async (t) => {
  assert.ok(BASE, "PZO_URL is not set (run scripts/admin-browser-test.sh)");
  assert.ok(ADMIN_TOKEN, "PZO_ADMIN_TOKEN is not set (run scripts/admin-browser-test.sh)");
  const started = Date.now();
  const step = (name) => t.diagnostic(`${((Date.now() - started) / 1000).toFixed(1)} s: ${name}`);
  await mkdir(OUTPUT, { recursive: true });

  // ---- three players register and join the waitlist ----
  step("registering players");
  const suffix = randomBytes(4).toString("hex");
  const names = ["Ada", "Bob", "Cy", "Dee", "Eve"].slice(0, PLAYERS);
  const players = [];
  for (const name of names) {
    const auth = await api("POST", "/users/register", {
      body: { email: `${name.toLowerCase()}-${suffix}@pzo.test`, password: `browser-test-${suffix}-pw`, display_name: name },
    });
    assert.ok(auth.token && auth.user && auth.user.id, "register answers a token and a user");
    const joined = await api("POST", "/waitlist", { token: auth.token, body: {} });
    assert.equal(joined.entry.status, "waiting");
    players.push({ name, id: auth.user.id, token: auth.token });
  }
  const playerIds = players.map((p) => p.id);

  const profile = await mkdtemp(path.join(tmpdir(), "pzo-chromium-"));
  let context;
  let page;
  let deposits;
  const pageErrors = [];
  try {
    step(`launching ${CHROMIUM}`);
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1440, height: 1000 },
      timeout: 30_000,
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(STEP_TIMEOUT_MS);
    page.on("pageerror", (e) => pageErrors.push(String(e)));
    page.on("console", (m) => {
      // A failed load is reported by the response handler below, with its URL.
      if (m.type() === "error" && !/^Failed to load resource/.test(m.text())) pageErrors.push("console: " + m.text());
    });
    page.on("response", (r) => {
      // The browser's own favicon probe may 404; anything else the page loads must not fail.
      if (r.status() >= 400 && new URL(r.url()).pathname !== "/favicon.ico") pageErrors.push(`${r.status()} ${r.url()}`);
    });
    const dialogs = [];
    page.on("dialog", (d) => { dialogs.push(d.message()); d.accept().catch(() => {}); });

    // ---- open /admin and log in ----
    step("opening /admin");
    const response = await page.goto(BASE + "/admin", { waitUntil: "load" });
    assert.equal(response.status(), 200, "GET /admin answers 200");
    assert.equal(await page.locator("#status").textContent(), "disconnected");
    assert.equal(await page.locator("#admit-submit").isDisabled(), true, "actions are disabled before login");
    await page.fill("#token", ADMIN_TOKEN);
    await page.click("#login");
    await page.locator("#status", { hasText: /^connected$/ }).waitFor();
    assert.ok(!page.url().includes(ADMIN_TOKEN), "the token never goes into the URL");
    assert.equal(await page.evaluate(() => sessionStorage.length), 0, "the token is not stored unless asked");
    assert.equal(await page.inputValue("#token"), "", "the token field is cleared after login");

    // The first stats snapshot arrives within about a second.
    const readStats = () => page.evaluate(() => ({
      sockets: document.getElementById("stat-sockets").textContent,
      players: document.getElementById("stat-players").textContent,
      eps: document.getElementById("stat-events-per-sec").textContent,
    }));
    const num = (s) => Number(String(s).replace(/,/g, ""));
    const baseline = await eventually("the first stats snapshot", async () => {
      const s = await readStats();
      return Number.isFinite(num(s.sockets)) && Number.isFinite(num(s.players)) && Number.isFinite(num(s.eps)) ? s : null;
    });
    step(`baseline stats ${JSON.stringify(baseline)}`);

    // ---- the players connect and act; the stats must move ----
    step("players connect and act");
    const playersPage = await context.newPage();
    playersPage.on("pageerror", (e) => pageErrors.push("players page: " + String(e)));
    await playersPage.goto(BASE + "/health");
    const connected = await playersPage.evaluate(playersClient, {
      wsBase: BASE.replace(/^http/, "ws"),
      tokens: players.map((p) => p.token),
    });
    assert.equal(connected, PLAYERS);
    deposits = startDeposits(playerIds);

    const moved = await eventually("the live stats to show the players and their events", async () => {
      const s = await readStats();
      const ok = num(s.players) >= num(baseline.players) + PLAYERS
        && num(s.sockets) >= num(baseline.sockets) + PLAYERS
        && num(s.eps) > 0 && s.eps !== baseline.eps;
      return ok ? s : null;
    });
    step(`stats moved to ${JSON.stringify(moved)}`);
    assert.ok(deposits.ok > 0, `deposits went through (last error: ${deposits.lastError})`);

    // The unfiltered tail shows the players' activity.
    await eventually("deposits and preference updates in the unfiltered tail", async () =>
      (await page.locator('#tail .event-row[data-type="CURRENCY_DEPOSITED"]').count()) > 0
      && (await page.locator('#tail .event-row[data-type="USER_PREFERENCES_UPDATED"]').count()) > 0);

    // ---- filter the tail to SEASON0_JOINED ----
    step("filtering the tail");
    await page.fill("#tail-types", "SEASON0_JOINED");
    await page.click("#tail-apply");
    await page.locator("#tail-info", { hasText: "tail active" }).waitFor();
    assert.match(await page.locator("#tail-info").textContent(), /types: SEASON0_JOINED/);
    const otherRows = page.locator('#tail .event-row:not([data-type="SEASON0_JOINED"])');
    assert.equal(await otherRows.count(), 0, "the filter clears the rows of other types");
    // The load goes on; none of it may show up in the filtered tail.
    const depositsBefore = deposits.ok;
    await eventually("more deposits while filtered", () => deposits.ok >= depositsBefore + 10);
    assert.equal(await otherRows.count(), 0, "filtered out events do not appear");

    // ---- admit a wave of three with a click ----
    step("admitting a wave");
    await page.fill("#admit-count", String(PLAYERS));
    await page.click("#admit-submit");
    const joinedRows = page.locator('#tail .event-row[data-type="SEASON0_JOINED"]');
    await eventually(`${PLAYERS} SEASON0_JOINED rows in the tail`, async () => (await joinedRows.count()) >= PLAYERS);
    step("SEASON0_JOINED rows arrived");
    assert.equal(await joinedRows.count(), PLAYERS, "exactly the admitted players joined");
    assert.equal(await otherRows.count(), 0, "still only SEASON0_JOINED rows");
    assert.equal(dialogs.length, 1, "the admit asked for confirmation once");
    assert.match(dialogs[0], new RegExp(`Admit the next ${PLAYERS} waiting player`));
    await page.locator("#action-result.ok", { hasText: "waitlist.admit: ok" }).waitFor();
    assert.match(await page.locator("#action-result").textContent(), new RegExp(`"count": ${PLAYERS}`));
    const rowsText = await joinedRows.allTextContents();
    for (const p of players) {
      assert.ok(rowsText.some((r) => r.includes(p.id)), `a SEASON0_JOINED row names ${p.name} (${p.id})`);
    }
    // Each player's own socket got its SEASON0_JOINED too.
    await eventually("SEASON0_JOINED on every player's socket", () => playersPage.evaluate(
      () => window.__players.every((p) => p.events.includes("SEASON0_JOINED"))));
    step("the players saw their SEASON0_JOINED");

    // Let the chart gather more of the load, then take the picture (longer for the docs copy).
    await sleep(DOCS_SCREENSHOT ? 20_000 : 3000);
    const shot = path.join(OUTPUT, "admin-console.png");
    await page.screenshot({ path: shot, fullPage: true });
    step(`screenshot saved to ${shot}`);
    if (DOCS_SCREENSHOT) {
      await copyFile(shot, DOCS_SCREENSHOT);
      step(`screenshot copied to ${DOCS_SCREENSHOT}`);
    }
    deposits.stop = true;
    await deposits.done;
    await playersPage.evaluate(() => window.__stopPlayers());
    const playerErrors = await playersPage.evaluate(() => window.__players.flatMap((p) => p.errors));
    assert.deepEqual(playerErrors, [], "the players' requests all succeeded");
    assert.deepEqual(pageErrors, [], "no script errors in the pages");
    step(`done: ${deposits.ok} deposits, ${deposits.failed} failed`);
  } catch (e) {
    if (page) {
      const failShot = path.join(OUTPUT, "admin-console-failure.png");
      await page.screenshot({ path: failShot, fullPage: true }).catch(() => {});
      t.diagnostic(`failure screenshot: ${failShot}`);
      t.diagnostic(`page errors: ${JSON.stringify(pageErrors)}`);
    }
    throw e;
  } finally {
    if (deposits) { deposits.stop = true; await deposits.done.catch(() => {}); }
    if (context) await context.close().catch(() => {});
    await rm(profile, { recursive: true, force: true });
  }
});
