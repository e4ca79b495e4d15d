//! The invariants checked after every step, the naive models they are compared with (fed from
//! the committed events, not from the actors' states), and the checks that a command's row
//! effects agree with the state its events produce.

use super::system::{FOUNDER_CAP, REFERRAL_BOOST, System, Touched};
use pzo_actors::effect::Effect;
use pzo_actors::leaderboard::BoardState;
use pzo_actors::lobby::LobbyState;
use pzo_actors::player::PlayerState;
use pzo_actors::waitlist::WaitlistState;
use pzo_protocol::model::{GameStatus, PlayerStats, WaitlistStatus};
use pzo_protocol::{BALANCE_MAX, EntryId, EventData, Timestamp, UserId};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A failed invariant, as a sentence.
pub type Check = Result<(), String>;

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

/// What the committed events say the state must be, kept independently of the actors.
#[derive(Debug, Default)]
pub struct Model {
    /// Sum of `TRANSACTION_COMPLETED` amounts per player and currency.
    ledger: HashMap<UserId, BTreeMap<String, i64>>,
    /// Items added minus items removed per player and item.
    items: HashMap<UserId, BTreeMap<String, i64>>,
    /// Games completed and best score per player, from `GAME_FINISHED`.
    stats: HashMap<UserId, PlayerStats>,
    /// The waiting entries in queue order: appended on join, moved up by referrals.
    queue: Vec<EntryId>,
    /// Best score and when it was first reached, per player, this season.
    board: HashMap<UserId, (i64, Timestamp)>,
    /// Log entries already observed.
    seen: usize,
    /// Also check that no player holds more of an item than its `max_stack` (off by default:
    /// the rules do not enforce it, see the report in the file's doc comment).
    pub strict_stacks: bool,
}

impl Model {
    /// Folds the events committed since the last call.
    pub fn observe(&mut self, sys: &System) -> Check {
        while self.seen < sys.log.len() {
            let event = &sys.log[self.seen].event;
            ensure!(
                event.seq == self.seen as u64 + 1,
                "seq {} at log position {}: seqs must be 1, 2, 3, ...",
                event.seq,
                self.seen
            );
            self.seen += 1;
            self.fold(&event.data, event.at)?;
        }
        Ok(())
    }

    fn fold(&mut self, data: &EventData, at: Timestamp) -> Check {
        match data {
            EventData::TransactionCompleted(e) => {
                let t = &e.transaction;
                let sum = self.ledger.entry(t.user_id).or_default().entry(t.currency_id.clone()).or_default();
                *sum += t.amount;
                ensure!(
                    t.balance_after == *sum,
                    "transaction {} says balance {} but the ledger sums to {sum}",
                    t.id,
                    t.balance_after
                );
                ensure!((0..=BALANCE_MAX).contains(sum), "ledger of {} {} is {sum}", t.user_id, t.currency_id);
            }
            EventData::ItemAdded(e) | EventData::ItemRemoved(e) => {
                let held = self.items.entry(e.user_id).or_default().entry(e.item_id.clone()).or_default();
                *held += if matches!(data, EventData::ItemAdded(_)) { e.quantity } else { -e.quantity };
                ensure!(
                    e.total == *held,
                    "{} of {} total {} but adds minus removes is {held}",
                    e.item_id,
                    e.user_id,
                    e.total
                );
                ensure!((0..=BALANCE_MAX).contains(held), "{} holds {held} {}", e.user_id, e.item_id);
            }
            EventData::GameFinished(e) => {
                for r in &e.results {
                    let stats = self.stats.entry(r.user_id).or_default();
                    stats.games_completed += 1;
                    stats.best_score = stats.best_score.max(r.score);
                    let best = self.board.entry(r.user_id).or_insert((r.score, at));
                    if r.score > best.0 {
                        *best = (r.score, at);
                    }
                }
            }
            EventData::LeaderboardReset(_) => self.board.clear(),
            EventData::WaitlistAdded(e) => {
                self.queue.push(e.entry.id);
                let referrer = e.entry.referred_by.and_then(|r| self.queue.iter().position(|id| *id == r));
                let expected = if referrer.is_some() { REFERRAL_BOOST } else { 0 };
                ensure!(
                    e.referrer_moved_places == expected,
                    "referrer moved {} places, expected {expected}",
                    e.referrer_moved_places
                );
                if let Some(pos) = referrer {
                    let id = self.queue.remove(pos);
                    self.queue.insert(pos.saturating_sub(REFERRAL_BOOST as usize), id);
                }
            }
            EventData::WaitlistStatusUpdated(e) => {
                if e.reason == "admission wave" {
                    ensure!(
                        self.queue.first() == Some(&e.entry_id),
                        "a wave admitted {} before the head of the queue",
                        e.entry_id
                    );
                }
                self.queue.retain(|id| *id != e.entry_id);
            }
            EventData::WaitlistRemoved(e) => self.queue.retain(|id| *id != e.entry_id),
            _ => {}
        }
        Ok(())
    }
}

/// Every invariant over the whole state. A finished or closed lobby never changes again, so
/// it is checked when it ends (it is touched then) and in the final check, not every time.
pub fn all(sys: &System, model: &Model) -> Check {
    for registration in &sys.registrations {
        player(sys, model, registration.user_id)?;
    }
    for id in &sys.active {
        lobby(sys, &sys.lobbies[id])?;
    }
    waitlist(sys, model)?;
    board(sys, model)
}

/// Every invariant, every lobby included.
pub fn all_final(sys: &System, model: &Model) -> Check {
    for id in &sys.lobby_ids {
        lobby(sys, &sys.lobbies[id])?;
    }
    all(sys, model)
}

/// The invariants over what one step touched: state changes only there. Open and started
/// lobbies are few and span players and the waitlist, so they are always checked.
pub fn touched(sys: &System, model: &Model, touched: &Touched) -> Check {
    for user in &touched.players {
        player(sys, model, *user)?;
    }
    for id in touched.lobbies.iter().chain(&sys.active) {
        lobby(sys, &sys.lobbies[id])?;
    }
    if touched.waitlist {
        waitlist(sys, model)?;
    }
    if touched.board {
        board(sys, model)?;
    }
    Ok(())
}

fn player(sys: &System, model: &Model, user: UserId) -> Check {
    let shell = &sys.players[&user];
    let s = &shell.state;
    for currency in sys.catalog.currencies.keys() {
        let ledger = model.ledger.get(&user).and_then(|m| m.get(currency)).copied().unwrap_or(0);
        ensure!(
            s.balance(currency) == ledger,
            "{user} has {} {currency} but its ledger sums to {ledger}",
            s.balance(currency)
        );
    }
    for (currency, balance) in &s.balances {
        ensure!((0..=BALANCE_MAX).contains(balance), "{user} has balance {balance} {currency}");
    }
    for (item, quantity) in &s.inventory {
        ensure!((1..=BALANCE_MAX).contains(quantity), "{user} holds {quantity} {item} (zero rows are dropped)");
        let max_stack = sys.catalog.items.get(item).map_or(0, |d| d.max_stack);
        ensure!(
            !model.strict_stacks || *quantity <= max_stack,
            "{user} holds {quantity} {item}, above its max_stack {max_stack}"
        );
    }
    for item in sys.catalog.items.keys() {
        let held = model.items.get(&user).and_then(|m| m.get(item)).copied().unwrap_or(0);
        ensure!(s.quantity(item) == held, "{user} holds {} {item} but its item events sum to {held}", s.quantity(item));
    }
    stats(sys, model, user, s)?;
    for id in s.achievements.keys() {
        let def = &sys.catalog.achievements[id];
        let current = s.condition_value(def.condition.kind);
        ensure!(current >= def.condition.threshold, "{user} has {id} with {current} < {}", def.condition.threshold);
    }
    for id in s.cosmetics.keys() {
        if let Some(required) = &sys.catalog.cosmetics[id].required_achievement {
            ensure!(s.achievements.contains_key(required), "{user} owns {id} without {required}");
        }
    }
    game_of(sys, user, s, shell.inbox.is_empty())
}

/// Stats lag behind while notices are queued, never ahead; with none queued they are equal.
fn stats(sys: &System, model: &Model, user: UserId, s: &PlayerState) -> Check {
    let expected = model.stats.get(&user).copied().unwrap_or_default();
    let settled = sys.players[&user].inbox.is_empty();
    ensure!(s.stats.games_completed <= expected.games_completed, "{user} counts more games than finished");
    ensure!(s.stats.best_score <= expected.best_score, "{user} has a best score above any result");
    ensure!(!settled || s.stats == expected, "{user} has stats {:?}, its results say {expected:?}", s.stats);
    let entry = sys.waitlist.by_user.get(&user).and_then(|id| sys.waitlist.entries.get(id));
    let founder = entry.and_then(|e| e.founder_number);
    ensure!(
        s.founder_number.is_none() || s.founder_number == founder,
        "{user} thinks it is founder {:?}, its entry says {founder:?}",
        s.founder_number
    );
    ensure!(!settled || s.founder_number == founder, "{user} missed its founder number {founder:?}");
    Ok(())
}

/// A player's game is a lobby that holds it; with its notices delivered, an open or started one.
fn game_of(sys: &System, user: UserId, s: &PlayerState, settled: bool) -> Check {
    let Some(game_id) = s.current_game else { return Ok(()) };
    let lobby = sys.lobbies.get(&game_id).ok_or_else(|| format!("{user} is in unknown game {game_id}"))?;
    if lobby.status.is_active() {
        ensure!(lobby.is_member(user), "{user} thinks it is in {game_id}, which does not list it");
    } else {
        ensure!(!settled, "{user} is stuck in {} game {game_id} with no notice on its way", lobby.status.as_str());
    }
    Ok(())
}

fn lobby(sys: &System, lobby: &LobbyState) -> Check {
    let id = lobby.id;
    let members: BTreeSet<UserId> = lobby.member_ids().into_iter().collect();
    ensure!(members.len() == lobby.members.len(), "game {id} lists a member twice");
    match lobby.status {
        GameStatus::Open | GameStatus::Started => {
            ensure!(!members.is_empty(), "active game {id} has no member");
            ensure!(
                members.len() as u32 <= lobby.max_players,
                "game {id} has {} of {} seats",
                members.len(),
                lobby.max_players
            );
            ensure!(members.contains(&lobby.host_id), "the host of game {id} is not a member");
            ensure!(
                lobby.status == GameStatus::Open || lobby.started_at.is_some(),
                "started game {id} has no start time"
            );
            for user in &members {
                let current = sys.players[user].state.current_game;
                ensure!(current == Some(id), "{user} is a member of {id} but its current game is {current:?}");
                let admitted = sys
                    .waitlist
                    .by_user
                    .get(user)
                    .is_some_and(|e| sys.waitlist.entries[e].status == WaitlistStatus::Admitted);
                ensure!(admitted, "{user} plays in {id} without an admitted waitlist entry");
            }
        }
        GameStatus::Closed => ensure!(members.is_empty(), "closed game {id} still has members"),
        GameStatus::Finished => {
            ensure!(lobby.finished_at.is_some(), "finished game {id} has no finish time");
            for r in &lobby.results {
                ensure!(members.contains(&r.user_id), "game {id} scored non-member {}", r.user_id);
            }
        }
    }
    Ok(())
}

fn waitlist(sys: &System, model: &Model) -> Check {
    let w = &sys.waitlist;
    let queue: Vec<EntryId> = w.waiting(0, w.queue.len()).into_iter().map(|e| e.id).collect();
    ensure!(queue == model.queue, "queue order {queue:?} differs from the naive model {:?}", model.queue);
    let mut positions = Vec::new();
    let (mut admitted, mut founders) = (0u64, Vec::new());
    for entry in w.entries.values() {
        let position = w.position(entry);
        ensure!(
            (entry.status == WaitlistStatus::Waiting) == position.is_some(),
            "entry {} ({:?}) has position {position:?}",
            entry.id,
            entry.status
        );
        positions.extend(position);
        admitted += u64::from(entry.status == WaitlistStatus::Admitted);
        ensure!(
            entry.status != WaitlistStatus::Admitted || entry.admitted_at.is_some(),
            "admitted entry {} has no admission time",
            entry.id
        );
        if let Some(n) = entry.founder_number {
            founders.push((n, entry.admitted_at));
        } else if entry.admitted_at.is_some() {
            ensure!(
                w.founders_assigned == FOUNDER_CAP,
                "entry {} was admitted without a founder number before the cap",
                entry.id
            );
        }
    }
    positions.sort_unstable();
    ensure!(
        positions.iter().copied().eq(1..=queue.len() as u64),
        "waiting positions {positions:?} are not 1..={}",
        queue.len()
    );
    ensure!(admitted == w.admitted_count, "{admitted} admitted entries, counter says {}", w.admitted_count);
    founders.sort_unstable();
    let numbers: Vec<u32> = founders.iter().map(|f| f.0).collect();
    ensure!(
        numbers.iter().copied().eq(1..=w.founders_assigned),
        "founder numbers {numbers:?} are not 1..={}",
        w.founders_assigned
    );
    ensure!(w.founders_assigned <= FOUNDER_CAP, "{} founders past the cap", w.founders_assigned);
    ensure!(founders.windows(2).all(|f| f[0].1 <= f[1].1), "founder numbers are not in admission order");
    ensure!(
        w.by_user.len() == w.entries.len() && w.by_code.len() == w.entries.len(),
        "waitlist indexes disagree with its entries"
    );
    Ok(())
}

fn board(sys: &System, model: &Model) -> Check {
    let b = &sys.board;
    ensure!(
        b.best.len() == model.board.len(),
        "board has {} players, results name {}",
        b.best.len(),
        model.board.len()
    );
    let mut sorted: Vec<(Reverse<i64>, Timestamp, UserId)> = Vec::with_capacity(b.best.len());
    for (user, best) in &b.best {
        let expected = model.board.get(user).copied();
        ensure!(expected == Some((best.score, best.achieved_at)), "{user} best {best:?} but results say {expected:?}");
        sorted.push((Reverse(best.score), best.achieved_at, *user));
        let all_time = model.stats.get(user).map_or(0, |s| s.best_score);
        ensure!(best.score <= all_time, "{user} season best {} above its best result {all_time}", best.score);
    }
    sorted.sort_unstable();
    let page = b.page(0, sorted.len());
    ensure!(page.len() == sorted.len(), "board pages {} of {} rows", page.len(), sorted.len());
    for (i, (row, key)) in page.iter().zip(&sorted).enumerate() {
        ensure!(
            row.rank == i as u64 + 1 && row.user_id == key.2 && row.score == key.0.0,
            "rank {} is {row:?}, a sort says {key:?}",
            i + 1
        );
        ensure!(
            b.rank_of(row.user_id).map(|r| r.rank) == Some(row.rank),
            "rank_of({}) disagrees with the page",
            row.user_id
        );
    }
    Ok(())
}

/// The rows a player command writes agree with the state its events produce.
pub fn effects_match_player(effects: &[Effect], s: &PlayerState) {
    for effect in effects {
        match effect {
            Effect::SetBalance { currency_id, balance, .. } => {
                assert_eq!(s.balance(currency_id), *balance, "balance row and events disagree on {currency_id}");
            }
            Effect::InsertTransaction(t) => {
                assert_eq!(s.balance(&t.currency_id), t.balance_after, "transaction row and balance disagree");
            }
            Effect::SetInventory { item_id, quantity, .. } => {
                assert_eq!(s.quantity(item_id), *quantity, "inventory row and events disagree on {item_id}");
            }
            Effect::SetPreferences { preferences, .. } => assert_eq!(&s.preferences, preferences),
            Effect::InsertPlayerAchievement { achievement_id, .. } => {
                assert!(s.achievements.contains_key(achievement_id))
            }
            Effect::InsertPlayerCosmetic { cosmetic_id, .. } => assert!(s.cosmetics.contains_key(cosmetic_id)),
            other => panic!("a player command wrote {other:?}"),
        }
    }
}

/// The rows a lobby command writes agree with the lobby's next state.
pub fn effects_match_lobby(effects: &[Effect], lobby: &LobbyState) {
    for effect in effects {
        match effect {
            Effect::UpdateGame { id, status, host_id, started_at, finished_at } => {
                assert_eq!(
                    (*id, *status, *host_id),
                    (lobby.id, lobby.status, lobby.host_id),
                    "game row and lobby disagree"
                );
                assert_eq!((*started_at, *finished_at), (lobby.started_at, lobby.finished_at), "game row times");
            }
            Effect::InsertGame { id, host_id, .. } => assert_eq!((*id, *host_id), (lobby.id, lobby.host_id)),
            Effect::InsertGamePlayer { user_id, .. } => {
                assert!(lobby.is_member(*user_id), "seated {user_id} is not a member")
            }
            Effect::GamePlayerLeft { user_id, .. } => {
                assert!(!lobby.is_member(*user_id), "{user_id} left but is a member")
            }
            Effect::GamePlayerScore { user_id, score, .. } => {
                assert!(
                    lobby.results.iter().any(|r| r.user_id == *user_id && r.score == *score),
                    "score row of {user_id}"
                );
            }
            Effect::StatsGameCompleted { user_id, .. } => assert!(lobby.is_member(*user_id)),
            other => panic!("a lobby command wrote {other:?}"),
        }
    }
}

/// The rows a waitlist command writes agree with the queue after its events.
pub fn effects_match_waitlist(effects: &[Effect], w: &WaitlistState) {
    for effect in effects {
        match effect {
            Effect::InsertWaitlistEntry { id, user_id, join_seq, referral_code, referred_by, .. } => {
                let e = &w.entries[id];
                assert_eq!(
                    (e.user_id, e.join_seq, &e.referral_code, e.referred_by),
                    (*user_id, *join_seq, referral_code, *referred_by)
                );
            }
            Effect::WaitlistStatusChange { entry_id, to, founder_number, .. } => {
                let e = &w.entries[entry_id];
                assert_eq!((e.status, e.founder_number), (*to, *founder_number), "status row of entry {entry_id}");
            }
            Effect::InsertReferral { referrer, referred, .. } => {
                assert_eq!(w.entries[referred].referred_by, Some(*referrer));
            }
            other => panic!("a waitlist command wrote {other:?}"),
        }
    }
}

/// The best-score rows agree with the board.
pub fn effects_match_board(effects: &[Effect], b: &BoardState) {
    for effect in effects {
        match effect {
            Effect::UpsertBestScore { user_id, score, at, season, .. } => {
                let best = b.best[user_id];
                assert_eq!(
                    (best.score, best.achieved_at, b.season),
                    (*score, *at, *season),
                    "best-score row of {user_id}"
                );
            }
            other => panic!("a board command wrote {other:?}"),
        }
    }
}
