//! In-memory ranking benchmark of the pure rules: a leaderboard with 1,000,000 players (score
//! submissions per second, `around=me` and top-page p99) and a waitlist with 100,000 waiting
//! entries (position p99, one admission wave of 10,000).
//!
//! Run: `cargo run --release -p pzo-actors --example ranking_bench`

use pzo_actors::leaderboard::{self, BestScore, BoardState};
use pzo_actors::waitlist::{self, WaitlistConfig, WaitlistState};
use std::time::{Duration, Instant};

const BOARD_PLAYERS: u128 = 1_000_000;
const WAITING_ENTRIES: u32 = 100_000;
const QUERIES: usize = 100_000;

fn p99(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() * 99 / 100]
}

/// A small deterministic generator so runs are comparable.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn board() {
    let at = |secs: i64| chrono::DateTime::from_timestamp(1_700_000_000 + secs, 0).expect("instant");
    let mut board = BoardState::new("season0".into(), "Season 0".into(), 1);
    let mut rng = 0x9E37_79B9_7F4A_7C15_u64;
    let started = Instant::now();
    for i in 0..BOARD_PLAYERS {
        let score = (next(&mut rng) % 1_000_000) as i64;
        board.record(uuid::Uuid::from_u128(i + 1), BestScore { score, achieved_at: at(i as i64) });
    }
    let build = started.elapsed();
    let started = Instant::now();
    let mut applied = 0u64;
    for i in 0..QUERIES as u128 {
        let user = uuid::Uuid::from_u128(next(&mut rng) as u128 % BOARD_PLAYERS + 1);
        let score = (next(&mut rng) % 2_000_000) as i64;
        for (u, best) in leaderboard::submit(&board, &[(user, score)], at((BOARD_PLAYERS + i) as i64)).reply {
            board.record(u, best);
            applied += 1;
        }
    }
    let submit_rate = QUERIES as f64 / started.elapsed().as_secs_f64();
    let mut around = Vec::with_capacity(QUERIES);
    let mut top = Vec::with_capacity(QUERIES);
    for _ in 0..QUERIES {
        let user = uuid::Uuid::from_u128(next(&mut rng) as u128 % BOARD_PLAYERS + 1);
        let t = Instant::now();
        let (_, rows) = board.around(user, 50);
        let me = board.rank_of(user);
        around.push(t.elapsed());
        assert!(me.is_some() && rows.len() == 50);
        let t = Instant::now();
        let rows = board.page(0, 50);
        top.push(t.elapsed());
        assert_eq!(rows.len(), 50);
    }
    println!("leaderboard: {BOARD_PLAYERS} players built in {build:.2?}");
    println!("  score submissions: {submit_rate:.0}/s ({applied} improved of {QUERIES})");
    println!("  around=me (50 rows + own rank) p99: {:.1?}", p99(around));
    println!("  top page (50 rows) p99: {:.1?}", p99(top));
}

fn queue() {
    let at = chrono::DateTime::from_timestamp(1_700_000_000, 0).expect("instant");
    let mut state = WaitlistState::new(WaitlistConfig { founder_cap: 1000, referral_boost: 10 });
    let started = Instant::now();
    for i in 0..WAITING_ENTRIES {
        let (user, entry) =
            (uuid::Uuid::from_u128(u128::from(i) + 1), uuid::Uuid::from_u128((u128::from(i) + 1) << 64));
        let referral = (i % 10 == 9).then(|| format!("c{}", i / 2));
        let outcome = waitlist::join(&state, user, entry, format!("c{i}"), referral.as_deref(), at).expect("join");
        for event in &outcome.events {
            state.apply(&event.data);
        }
    }
    let build = started.elapsed();
    let mut rng = 7u64;
    let ids: Vec<_> = state.join_order.clone();
    let mut positions = Vec::with_capacity(QUERIES);
    for _ in 0..QUERIES {
        let id = ids[(next(&mut rng) % ids.len() as u64) as usize];
        let t = Instant::now();
        let position = state.position(&state.entries[&id]);
        positions.push(t.elapsed());
        assert!(position.is_some());
    }
    let started = Instant::now();
    let outcome = waitlist::admit(&state, 10_000, None, at);
    for event in &outcome.events {
        state.apply(&event.data);
    }
    let wave = started.elapsed();
    println!("waitlist: {WAITING_ENTRIES} joins (10% with referrals) in {build:.2?}");
    println!("  position p99: {:.1?}", p99(positions));
    println!("  admission wave of 10,000 (rules + apply, no database): {wave:.2?}");
}

fn main() {
    board();
    queue();
}
