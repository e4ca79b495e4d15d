//! Stable-Rust fuzzing of the wire decoders, for CI (cargo-fuzz needs nightly): the same three
//! targets as `fuzz/fuzz_targets/` (JSON client frames, bincode client and server frames, HTTP
//! bodies), driven by a seeded generator over random bytes, mutations and truncations of valid
//! frames (one per op, encoded in both codecs) and forged length prefixes.
//!
//! Each target runs `PZO_FUZZ_ITERATIONS` inputs (default 200,000) or `PZO_FUZZ_SECONDS`
//! (default 5) whichever ends first, prints its executions, and fails on the first panic with
//! the seed, the iteration and the input. `PZO_FUZZ_SEED` changes the seed (default: fixed).
//!
//! Memory: a bincode length prefix is read before the bytes it announces, so a decoder without
//! a limit reserves whatever a frame claims (`vec![0; 2^44]` aborts the process with "memory
//! allocation failed": no `catch_unwind` can catch that). `forged_length_prefixes_never_reserve_memory`
//! decodes forged prefixes in a child process whose address space is capped (`ulimit -v`), so a
//! lost limit fails this test instead of killing the test binary.
//!
//! Run: `cargo test -p pzo-protocol --release --test decode_fuzz -- --nocapture`

use pzo_protocol::event::{GameJoined, Season0Joined};
use pzo_protocol::limits::RESUME_EVENTS_MAX;
use pzo_protocol::model::Preferences;
use pzo_protocol::reply::{EventsPage, Pong};
use pzo_protocol::request::*;
use pzo_protocol::validate::{Amount, DisplayName, Email, IdempotencyKey, Password, apply_preferences};
use pzo_protocol::{AmountInput, ApiError, ClientFrame, ErrorCode, Event, EventData, Reply, Request, ServerFrame};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

const ITERATIONS_DEFAULT: u64 = 200_000;
const SECONDS_DEFAULT: u64 = 5;
const SEED_DEFAULT: u64 = 0x00F0_220F_5EED;
/// Largest random input, in bytes (a frame may be 64 KiB; decoders fail long before that).
const INPUT_BYTES_MAX: usize = 4096;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.trim().replace('_', "").parse().ok()).unwrap_or(default)
}

/// splitmix64: the same seed gives the same inputs everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next()) * n.max(1) as u128) >> 64) as usize
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

const U: &str = "\"5f0d6a4e-8a8e-4b67-9a55-2f5d3c1e0b11\"";

/// Valid args of every op (path ids become fields, as on the socket).
fn sample_args(op: &str) -> String {
    match op {
        "auth" => r#"{"token":"t0k3n"}"#.to_owned(),
        "events.resume" => r#"{"since_seq":7}"#.to_owned(),
        "users.register" => r#"{"email":"a@b.co","password":"pw123456","display_name":"Ann"}"#.to_owned(),
        "users.login" => r#"{"email":"a@b.co","password":"pw123456"}"#.to_owned(),
        "users.list" | "games.list" => r#"{"limit":5,"cursor":"abc"}"#.to_owned(),
        "waitlist.list" => r#"{"status":"waiting","limit":5}"#.to_owned(),
        "users.get" | "waitlist.get" | "waitlist.remove" | "games.get" => format!(r#"{{"id":{U}}}"#),
        "users.update_preferences" => {
            r#"{"preferences":{"locale":"pt-BR","music_volume":3,"sound_enabled":false,"show_on_leaderboard":true}}"#
                .to_owned()
        }
        "waitlist.join" => r#"{"referral_code":"abc","idempotency_key":"k1"}"#.to_owned(),
        "waitlist.admit" => r#"{"count":10}"#.to_owned(),
        "waitlist.set_status" => format!(r#"{{"entry_id":{U},"status":"admitted"}}"#),
        "waitlist.auto" => r#"{"enabled":true,"wave":100,"interval_ms":5000}"#.to_owned(),
        "games.create" => r#"{"name":"g","max_players":4,"min_players":2}"#.to_owned(),
        "games.join" | "games.leave" | "games.start" | "games.close" => format!(r#"{{"game_id":{U}}}"#),
        "games.send" => format!(r#"{{"game_id":{U},"payload":[1,2,3]}}"#),
        "games.finish" => format!(r#"{{"game_id":{U},"results":[{{"user_id":{U},"score":5}}]}}"#),
        "inventory.list" | "currency.list" => format!(r#"{{"user_id":{U}}}"#),
        "inventory.get" => r#"{"item_id":"potion"}"#.to_owned(),
        "inventory.add" => format!(r#"{{"user_id":{U},"item_id":"potion","quantity":2,"idempotency_key":"k"}}"#),
        "inventory.remove" => r#"{"item_id":"potion","quantity":1}"#.to_owned(),
        "currency.get" => r#"{"currency_id":"gold","limit":3}"#.to_owned(),
        "currency.deposit" => format!(r#"{{"user_id":{U},"currency_id":"gold","amount":1000000000000}}"#),
        "currency.withdraw" => r#"{"currency_id":"gold","amount":9,"idempotency_key":"w"}"#.to_owned(),
        "leaderboard.get" => r#"{"id":"season0","around":"me","season":2}"#.to_owned(),
        "leaderboard.subscribe" | "achievements.get" | "cosmetics.get" => r#"{"id":"x"}"#.to_owned(),
        "leaderboard.reset" => r#"{"leaderboard_id":"season0"}"#.to_owned(),
        "achievements.unlock" => r#"{"achievement_id":"first_game"}"#.to_owned(),
        "cosmetics.unlock" => r#"{"cosmetic_id":"golden_helm","idempotency_key":"c"}"#.to_owned(),
        "players.kick" => format!(r#"{{"user_id":{U},"reason":"spam"}}"#),
        "players.inspect" => format!(r#"{{"user_id":{U}}}"#),
        "events.tail" => r#"{"types":["GAME_JOINED"]}"#.to_owned(),
        _ => "{}".to_owned(),
    }
}

/// One valid frame per op, plus a text relay.
fn valid_frames() -> Vec<ClientFrame> {
    let mut frames: Vec<ClientFrame> = Request::ALL_NAMES
        .iter()
        .enumerate()
        .map(|(i, op)| {
            let text = format!(r#"{{"id":{i},"op":"{op}","args":{}}}"#, sample_args(op));
            ClientFrame::decode_json(&text).unwrap_or_else(|e| panic!("the sample of {op} must decode: {e}"))
        })
        .collect();
    let game_id = uuid::Uuid::from_u128(9);
    let payload = RelayPayload::Text("hello".into());
    frames.push(ClientFrame { id: 99, request: Request::GamesSend(SendArgs { game_id, payload }) });
    frames
}

fn valid_server_frames() -> Vec<ServerFrame> {
    let at = chrono::DateTime::from_timestamp(1_700_000_000, 0).expect("instant");
    let user = uuid::Uuid::from_u128(7);
    let joined =
        EventData::GameJoined(GameJoined { game_id: user, user_id: user, display_name: "A".into(), player_count: 2 });
    let event = Event { seq: 3, at, data: joined };
    let page = EventsPage { events: vec![event.clone(); 3], next_seq: 4, more: true };
    vec![
        ServerFrame::Reply { re: 2, result: Ok(Reply::Pong(Pong { server_time_ms: 5 })) },
        ServerFrame::Reply { re: 3, result: Ok(Reply::Events(page)) },
        ServerFrame::Reply { re: 4, result: Err(ApiError::new(ErrorCode::GAME_FULL).body()) },
        ServerFrame::Error { error: ApiError::validation("x", "y").body() },
        ServerFrame::Event(Arc::new(event)),
        ServerFrame::Relay(Arc::new(pzo_protocol::codec::Relay {
            game_id: user,
            from: user,
            payload: RelayPayload::Binary(vec![1, 2, 3].into()),
        })),
    ]
}

/// A bincode varint announcing `len` bytes: the marker for u64 and its little-endian value.
fn forged_length(len: u64) -> Vec<u8> {
    let mut bytes = vec![0xFD];
    bytes.extend_from_slice(&len.to_le_bytes());
    bytes
}

const INTERESTING_BYTES: &[u8] = &[0, 1, 0x7F, 0x80, 0xFA, 0xFB, 0xFC, 0xFD, 0xFE, 0xFF];
const JSON_TOKENS: &[&str] = &[
    "null",
    "true",
    "[]",
    "{}",
    "\"\"",
    "-1",
    "0",
    "1e40",
    "-1e40",
    "1.5",
    "9223372036854775808",
    "340282366920938463463374607431768211456",
    "\"\\ud800\"",
    "\"\\u0000\"",
    "[[[[[[[[[[",
    "\"op\"",
    "\"args\"",
    "\"idempotency_key\"",
    U,
];

/// One mutation of a valid input: bit flips, interesting bytes, insertions, deletions,
/// truncations, splices, repeats and forged length prefixes.
fn mutate(rng: &mut Rng, input: &[u8], corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(9) {
            0 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] ^= 1 << rng.below(8);
            }
            1 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] = INTERESTING_BYTES[rng.below(INTERESTING_BYTES.len())];
            }
            2 => {
                let n = 1 + rng.below(8);
                let bytes = rng.bytes(n);
                out.splice(at..at, bytes);
            }
            3 => {
                let end = (at + 1 + rng.below(16)).min(out.len());
                out.drain(at.min(end)..end);
            }
            4 => out.truncate(at),
            5 => {
                let other = &corpus[rng.below(corpus.len())];
                let from = rng.below(other.len() + 1);
                out.truncate(at);
                out.extend_from_slice(&other[from..]);
            }
            6 => {
                let len = [1u64 << 31, 1 << 44, u64::MAX, u64::from(u32::MAX), 65_537][rng.below(5)];
                out.splice(at..at, forged_length(len));
            }
            7 => {
                let token = JSON_TOKENS[rng.below(JSON_TOKENS.len())].as_bytes();
                out.splice(at..at, token.iter().copied());
            }
            _ => {
                let end = (at + 1 + rng.below(32)).min(out.len());
                let chunk = out[at.min(end)..end].to_vec();
                for _ in 0..1 + rng.below(64) {
                    out.splice(at..at, chunk.iter().copied());
                }
            }
        }
    }
    out.truncate(INPUT_BYTES_MAX * 4);
    out
}

/// The next input: random bytes, a valid input, or a mutation of one.
fn next_input(rng: &mut Rng, corpus: &[Vec<u8>]) -> Vec<u8> {
    match rng.below(10) {
        0 => {
            let n = rng.below(INPUT_BYTES_MAX);
            rng.bytes(n)
        }
        1 => corpus[rng.below(corpus.len())].clone(),
        _ => {
            let base = rng.below(corpus.len());
            mutate(rng, &corpus[base], corpus)
        }
    }
}

/// Runs a target over seeded inputs; fails on the first panic with the input.
fn fuzz(name: &str, corpus: &[Vec<u8>], target: impl Fn(&[u8])) -> u64 {
    let seed = env_u64("PZO_FUZZ_SEED", SEED_DEFAULT) ^ pzo_hash(name);
    let (iterations, budget) = (
        env_u64("PZO_FUZZ_ITERATIONS", ITERATIONS_DEFAULT),
        Duration::from_secs(env_u64("PZO_FUZZ_SECONDS", SECONDS_DEFAULT)),
    );
    let mut rng = Rng(seed);
    let started = Instant::now();
    let mut executions = 0;
    for input in corpus {
        run_one(name, seed, executions, input, &target);
        executions += 1;
    }
    while executions < iterations && started.elapsed() < budget {
        let input = next_input(&mut rng, corpus);
        run_one(name, seed, executions, &input, &target);
        executions += 1;
    }
    let elapsed = started.elapsed();
    println!(
        "{name}: {executions} executions in {elapsed:.2?} ({:.0}/s), seed {seed:#x}",
        executions as f64 / elapsed.as_secs_f64().max(1e-9)
    );
    executions
}

fn run_one(name: &str, seed: u64, iteration: u64, input: &[u8], target: &impl Fn(&[u8])) {
    if catch_unwind(AssertUnwindSafe(|| target(input))).is_err() {
        panic!(
            "{name} panicked (seed {seed:#x}, iteration {iteration}) on {} bytes: {:?}\n  as text: {}",
            input.len(),
            input,
            String::from_utf8_lossy(input)
        );
    }
}

/// A stable name hash, so each target has its own input stream.
fn pzo_hash(text: &str) -> u64 {
    text.bytes().fold(0xCBF2_9CE4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01B3))
}

fn decode_json_target(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let Ok(frame) = ClientFrame::decode_json(&text) else { return };
    let first = frame.encode_json();
    let again = ClientFrame::decode_json(&first).expect("an encoded frame decodes");
    assert_eq!(again.encode_json(), first, "JSON encoding is not a fixpoint");
    assert_eq!(ClientFrame::decode_bincode(&frame.encode_bincode()).as_ref(), Ok(&frame), "bincode round trip");
}

fn decode_bincode_target(bytes: &[u8]) {
    if let Ok(frame) = ClientFrame::decode_bincode(bytes) {
        assert_eq!(ClientFrame::decode_bincode(&frame.encode_bincode()).as_ref(), Ok(&frame), "client round trip");
    }
    if let Some(frame) = ServerFrame::decode_bincode(bytes) {
        // Bytes, not values: stats frames carry f64 and NaN != NaN.
        let encoded = frame.encode_bincode();
        let again = ServerFrame::decode_bincode(&encoded).expect("an encoded server frame decodes");
        assert_eq!(again.encode_bincode(), encoded, "server round trip");
        let _ = frame.encode_json();
    }
}

fn parse<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    serde_json::from_slice(bytes).ok()
}

fn amount(input: AmountInput) {
    if let Ok(amount) = Amount::parse(input) {
        assert!((1..=pzo_protocol::AMOUNT_MAX).contains(&amount.get()));
    }
}

fn key(raw: Option<&String>) {
    let _ = IdempotencyKey::parse(raw.map(String::as_str));
}

fn http_bodies_target(bytes: &[u8]) {
    if let Some(a) = parse::<RegisterArgs>(bytes) {
        let _ = (Email::parse(&a.email).map(|e| e.normalized()), Password::parse(&a.password));
        let _ = DisplayName::parse(&a.display_name);
    }
    if let Some(a) = parse::<LoginArgs>(bytes) {
        let _ = Email::parse(&a.email);
    }
    let _ = parse::<CreateGameArgs>(bytes);
    if let Some(a) = parse::<DepositArgs>(bytes) {
        amount(a.amount);
        key(a.idempotency_key.as_ref());
    }
    if let Some(a) = parse::<WithdrawArgs>(bytes) {
        amount(a.amount);
        key(a.idempotency_key.as_ref());
    }
    if let Some(a) = parse::<AddItemArgs>(bytes) {
        amount(a.quantity);
        key(a.idempotency_key.as_ref());
    }
    if let Some(a) = parse::<RemoveItemArgs>(bytes) {
        amount(a.quantity);
        key(a.idempotency_key.as_ref());
    }
    let _ = parse::<FinishGameArgs>(bytes);
    if let Some(a) = parse::<UnlockCosmeticArgs>(bytes) {
        key(a.idempotency_key.as_ref());
    }
    if let Some(a) = parse::<WaitlistJoinArgs>(bytes) {
        key(a.idempotency_key.as_ref());
    }
    let _ = parse::<SendArgs>(bytes).map(|a| a.payload.len());
    if let Some(a) = parse::<UpdatePreferencesArgs>(bytes) {
        let _ = apply_preferences(&Preferences::default(), &a.preferences);
    }
    let _ = parse::<AdmitArgs>(bytes);
    let _ = parse::<SetEntryStatusArgs>(bytes);
    let _ = parse::<GameIdArgs>(bytes);
    let _ = parse::<LeaderboardIdArgs>(bytes);
    let _ = parse::<UnlockAchievementArgs>(bytes);
    if let Some(a) = parse::<AmountInput>(bytes) {
        amount(a);
    }
}

#[test]
fn json_frames_never_panic() {
    let corpus: Vec<Vec<u8>> = valid_frames().iter().map(|f| f.encode_json().into_bytes()).collect();
    assert!(fuzz("decode_json_frame", &corpus, decode_json_target) > 0);
}

#[test]
fn bincode_frames_never_panic() {
    let mut corpus: Vec<Vec<u8>> = valid_frames().iter().map(ClientFrame::encode_bincode).collect();
    corpus.extend(valid_server_frames().iter().map(ServerFrame::encode_bincode));
    assert!(fuzz("decode_bincode_frame", &corpus, decode_bincode_target) > 0);
}

#[test]
fn http_bodies_never_panic() {
    let corpus: Vec<Vec<u8>> = Request::ALL_NAMES.iter().map(|op| sample_args(op).into_bytes()).collect();
    assert!(fuzz("http_bodies", &corpus, http_bodies_target) > 0);
}

/// Frames whose first string announces `len` bytes it does not carry: `auth` (op 0, a token)
/// and `users.register` (op 3, an email), for client frames; and a server reply's error message.
fn forged_frames() -> Vec<Vec<u8>> {
    let lengths = [1u64 << 20, 1 << 26, 1 << 31, 1 << 40, 1 << 44, 1 << 62, u64::MAX];
    let mut frames = Vec::new();
    for len in lengths {
        for op in [0u8, 3] {
            let mut frame = vec![42, op];
            frame.extend(forged_length(len));
            frame.extend_from_slice(b"short");
            frames.push(frame);
        }
        // ServerFrame::Error { error: ErrorBody { code, message, .. } }: variant 1, code 0, message.
        let mut frame = vec![1, 0];
        frame.extend(forged_length(len));
        frames.push(frame);
    }
    frames
}

/// Set in the child process of `forged_length_prefixes_never_reserve_memory`.
const CHILD_ENV: &str = "PZO_DECODE_FUZZ_CHILD";
const CHILD_DONE: &str = "forged frames refused";
/// The child's address space: enough for the test harness, far below what a forged prefix claims.
const CHILD_ADDRESS_SPACE_KIB: u64 = 1024 * 1024;

#[test]
fn forged_length_prefixes_never_reserve_memory() {
    if std::env::var_os(CHILD_ENV).is_some() {
        for frame in forged_frames() {
            assert!(ClientFrame::decode_bincode(&frame).is_err(), "a forged frame decoded: {frame:?}");
            let _ = ServerFrame::decode_bincode(&frame);
        }
        println!("{CHILD_DONE}");
        return;
    }
    if !cfg!(unix) {
        return;
    }
    let exe = std::env::current_exe().expect("the test binary's path");
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {CHILD_ADDRESS_SPACE_KIB} && exec \"$0\" \"$@\""))
        .arg(exe)
        .args(["--exact", "forged_length_prefixes_never_reserve_memory", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .output()
        .expect("sh runs the child");
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(
        output.status.success() && stdout.contains(CHILD_DONE),
        "decoding forged length prefixes failed in a child capped at {CHILD_ADDRESS_SPACE_KIB} KiB ({}): the bincode \
         decoder reserves what a length prefix claims; decode with `standard().with_limit::<N>()`.\n\
         stdout: {stdout}\nstderr: {stderr}",
        output.status
    );
}

/// A full `events.resume` page is a legitimate server frame: it must decode (the harness and
/// the API tests read server frames with `ServerFrame::decode_bincode`).
#[test]
fn a_full_resume_page_decodes() {
    let at = chrono::DateTime::from_timestamp(1_700_000_000, 0).expect("instant");
    let user = uuid::Uuid::from_u128(7);
    let joined = EventData::Season0Joined(Season0Joined {
        user_id: user,
        entry_id: user,
        founder_number: Some(1),
        admitted_at: at,
    });
    let events = vec![Event { seq: 1, at, data: joined }; RESUME_EVENTS_MAX as usize];
    let frame =
        ServerFrame::Reply { re: 1, result: Ok(Reply::Events(EventsPage { events, next_seq: 1001, more: true })) };
    let bytes = frame.encode_bincode();
    assert!(
        ServerFrame::decode_bincode(&bytes).as_ref() == Some(&frame),
        "a resume page of {RESUME_EVENTS_MAX} events ({} bytes) does not decode",
        bytes.len()
    );
}
