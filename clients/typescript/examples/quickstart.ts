// Quick start: register, get admitted, create a game over the socket and print every event.
// Run against a server: PZO_URL=http://127.0.0.1:8080 PZO_ADMIN_TOKEN=... npm run example
import { PzoClient } from "../src/index.js";

const url = process.env["PZO_URL"] ?? "http://127.0.0.1:8080";
const client = new PzoClient({ url });
const { user } = await client.http.register({ email: `player-${Date.now()}@example.com`, password: "correct horse battery", display_name: "Quickstart" });
client.socket.onEvent((event) => { console.log(event.seq, event.type, JSON.stringify(event.data)); });
await client.socket.connect();
const { entry } = await client.socket.request("waitlist.join");
// Admission normally comes in waves; an operator admits this player at once.
await new PzoClient({ url, token: process.env["PZO_ADMIN_TOKEN"] ?? "" }).http.setWaitlistStatus({ entry_id: entry.id, status: "admitted" });
const joined = client.socket.waitFor("GAME_JOINED");
const { game } = await client.socket.request("games.create", { name: `${user.display_name}'s lobby`, max_players: 4 });
console.log(`joined ${game.name} (${(await joined).data.player_count} player)`);
client.close();
