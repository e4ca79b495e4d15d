//! The seeded workload: one step at a time, drawn from the seed and the current state, across
//! every service (users, waitlist, games, inventory, currency, achievements, cosmetics,
//! leaderboard), with bad input, idempotent retries, and late, duplicate and stale notices.

use super::rng::Rng;
use super::system::{BOARD_ID, Caller, System};
use pzo_protocol::model::{GameResult, WaitlistStatus};
use pzo_protocol::request::*;
use pzo_protocol::{AMOUNT_MAX, AmountInput, BALANCE_MAX, GameId, Request, UserId};
use std::collections::VecDeque;

/// Keyed requests remembered for retries.
const KEYED_HISTORY_MAX: usize = 256;
/// Share of grants and deposits that go, as large as allowed, to the first player: about
/// 9,000 of them reach the 2^53-1 ceiling, so long runs cross it.
const WHALE_PER_MILLE: u32 = 150;

/// The player who collects the largest grants.
fn whale(sys: &System) -> UserId {
    sys.registrations[0].user_id
}

/// One step of the simulation.
#[derive(Debug, Clone)]
pub enum Step {
    Register,
    /// A request; `late` limits how many queued notices the player actor has seen when it runs.
    Send {
        caller: Caller,
        request: Request,
        late: Option<usize>,
    },
    /// An earlier keyed request sent again, unchanged or changed under the same key.
    Retry {
        caller: Caller,
        request: Request,
        altered: bool,
    },
    /// Delivers queued notices to a player.
    Deliver {
        user: UserId,
        count: usize,
    },
    /// Delivers an already applied notice again (a duplicate, arriving after newer ones).
    Redeliver {
        user: UserId,
        back: usize,
    },
}

/// The kinds of step and their weights (per mille, roughly).
const WEIGHTS: &[(Kind, u32)] = &[
    (Kind::Register, 30),
    (Kind::Preferences, 30),
    (Kind::WaitlistJoin, 55),
    (Kind::WaitlistRemove, 5),
    (Kind::WaitlistAdmit, 30),
    (Kind::WaitlistSetStatus, 10),
    (Kind::GameCreate, 45),
    (Kind::GameJoin, 110),
    (Kind::GameLeave, 35),
    (Kind::GameStart, 35),
    (Kind::GameFinish, 40),
    (Kind::GameClose, 8),
    (Kind::ItemAdd, 55),
    (Kind::ItemRemove, 45),
    (Kind::Deposit, 75),
    (Kind::Withdraw, 55),
    (Kind::Achievement, 40),
    (Kind::Cosmetic, 40),
    (Kind::LeaderboardReset, 3),
    (Kind::Retry, 60),
    (Kind::Deliver, 60),
    (Kind::Redeliver, 30),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Register,
    Preferences,
    WaitlistJoin,
    WaitlistRemove,
    WaitlistAdmit,
    WaitlistSetStatus,
    GameCreate,
    GameJoin,
    GameLeave,
    GameStart,
    GameFinish,
    GameClose,
    ItemAdd,
    ItemRemove,
    Deposit,
    Withdraw,
    Achievement,
    Cosmetic,
    LeaderboardReset,
    Retry,
    Deliver,
    Redeliver,
}

/// Draws steps from a seed.
pub struct Workload {
    pub rng: Rng,
    players_max: usize,
    keys: u64,
    games: u64,
    keyed: VecDeque<(Caller, Request)>,
    weights: Vec<u32>,
}

const ITEMS: &[&str] = &["potion", "sword_basic", "elixir", "shield_wood"];
const CURRENCIES: &[&str] = &["gold", "gems"];
const ACHIEVEMENTS: &[&str] = &["first_game", "veteran", "high_scorer", "founder"];
const COSMETICS: &[&str] = &["founder_cape", "golden_helm", "neon_trail"];

impl Workload {
    pub fn new(seed: u64, players_max: usize) -> Self {
        Self {
            rng: Rng::new(seed ^ 0xA076_1D64_78BD_642F),
            players_max,
            keys: 0,
            games: 0,
            keyed: VecDeque::new(),
            weights: WEIGHTS.iter().map(|(_, w)| *w).collect(),
        }
    }

    /// The next step for the current state.
    pub fn next(&mut self, sys: &System) -> Step {
        // A few players first, so that every service has someone to serve.
        if sys.registrations.len() < 4 {
            return Step::Register;
        }
        loop {
            let kind = WEIGHTS[self.rng.weighted(&self.weights)].0;
            if let Some(step) = self.draw(kind, sys) {
                return step;
            }
        }
    }

    fn draw(&mut self, kind: Kind, sys: &System) -> Option<Step> {
        let step = match kind {
            // Removed players never come back, so newcomers replace them: the population of
            // players not removed stays near `players_max` however long the run.
            Kind::Register if self.live_players(sys) < self.players_max => Step::Register,
            Kind::Register => return None,
            Kind::Retry => return self.retry(),
            Kind::Deliver => {
                let user = self.any_player(sys);
                Step::Deliver { user, count: 1 + self.rng.below(3) }
            }
            Kind::Redeliver => Step::Redeliver { user: self.any_player(sys), back: self.rng.below(8) },
            _ => {
                let (caller, request) = self.request(kind, sys)?;
                if super::system::idempotency_key(&request).is_some() {
                    self.remember(caller, &request);
                }
                let late = self.rng.chance(60).then(|| self.rng.below(2));
                Step::Send { caller, request, late }
            }
        };
        Some(step)
    }

    fn remember(&mut self, caller: Caller, request: &Request) {
        if self.keyed.len() == KEYED_HISTORY_MAX {
            self.keyed.pop_front();
        }
        self.keyed.push_back((caller, request.clone()));
    }

    fn retry(&mut self) -> Option<Step> {
        let (caller, request) = self.keyed.get(self.rng.below(self.keyed.len().max(1)))?.clone();
        let altered = self.rng.chance(300);
        let request = if altered { alter(request) } else { request };
        Some(Step::Retry { caller, request, altered })
    }

    fn request(&mut self, kind: Kind, sys: &System) -> Option<(Caller, Request)> {
        let me = self.any_player(sys);
        let request = match kind {
            Kind::Preferences => return Some((Caller::Player(me), self.preferences())),
            Kind::WaitlistJoin => {
                let referral_code = match self.rng.below(100) {
                    0..=39 => self.entry(sys).map(|e| sys.waitlist.entries[&e].referral_code.clone()),
                    40..=44 => Some("not-a-code".to_owned()),
                    _ => None,
                };
                let idempotency_key = self.rng.chance(200).then(|| self.key());
                return Some((
                    Caller::Player(me),
                    Request::WaitlistJoin(WaitlistJoinArgs { referral_code, idempotency_key }),
                ));
            }
            Kind::WaitlistRemove => {
                let id = self.entry(sys)?;
                let owner = sys.waitlist.entries[&id].user_id;
                let caller = match self.rng.below(10) {
                    0..=6 => Caller::Player(owner),
                    7 | 8 => Caller::Admin,
                    _ => Caller::Player(me),
                };
                return Some((caller, Request::WaitlistRemove(IdArgs { id })));
            }
            Kind::WaitlistAdmit => {
                let count = match self.rng.below(20) {
                    0 => 0,
                    1 => 25,
                    _ => self.rng.range(1, 5),
                };
                Request::WaitlistAdmit(AdmitArgs { count })
            }
            Kind::WaitlistSetStatus => {
                let entry_id = self.entry(sys)?;
                let status =
                    [WaitlistStatus::Waiting, WaitlistStatus::Admitted, WaitlistStatus::Removed][self.rng.below(3)];
                Request::WaitlistSetStatus(SetEntryStatusArgs { entry_id, status })
            }
            Kind::GameCreate => return Some((Caller::Player(self.free_player(sys)), self.create_game())),
            Kind::GameJoin => {
                let game_id = self.game(sys, 850);
                return Some((
                    Caller::Player(self.free_player(sys)),
                    Request::GamesJoin(GameActionArgs { game_id, idempotency_key: None }),
                ));
            }
            Kind::GameLeave => {
                let (user, game_id) = match self.member(sys) {
                    Some(found) if self.rng.chance(850) => found,
                    _ => (me, self.game(sys, 500)),
                };
                return Some((
                    Caller::Player(user),
                    Request::GamesLeave(GameActionArgs { game_id, idempotency_key: None }),
                ));
            }
            Kind::GameStart => {
                let game_id = self.game(sys, 950);
                let caller = match (sys.lobbies.get(&game_id), self.rng.below(10)) {
                    (Some(lobby), 0..=6) => lobby.host_id,
                    (Some(lobby), 7 | 8) => self.rng.pick(&lobby.members).map_or(me, |m| m.user_id),
                    _ => me,
                };
                return Some((
                    Caller::Player(caller),
                    Request::GamesStart(GameActionArgs { game_id, idempotency_key: None }),
                ));
            }
            Kind::GameFinish => {
                let game_id = self.game(sys, 900);
                Request::GamesFinish(FinishGameArgs { game_id, results: self.results(sys, game_id, me) })
            }
            Kind::GameClose => Request::GamesClose(GameIdArgs { game_id: self.game(sys, 900) }),
            Kind::ItemAdd if self.rng.chance(WHALE_PER_MILLE) => Request::InventoryAdd(AddItemArgs {
                user_id: whale(sys),
                item_id: "potion".to_owned(),
                quantity: AmountInput::from(AMOUNT_MAX),
                idempotency_key: None,
            }),
            Kind::ItemAdd => {
                let user_id = if self.rng.chance(10) { uuid::Uuid::from_u128(7) } else { me };
                Request::InventoryAdd(AddItemArgs {
                    user_id,
                    item_id: self.slug(ITEMS),
                    quantity: self.amount(4),
                    idempotency_key: self.maybe_key(),
                })
            }
            Kind::ItemRemove => {
                let (caller, user_id) = self.owner_or_admin(me);
                let request = Request::InventoryRemove(RemoveItemArgs {
                    item_id: self.slug(ITEMS),
                    quantity: self.amount(3),
                    user_id,
                    idempotency_key: self.maybe_key(),
                });
                return Some((caller, request));
            }
            Kind::Deposit if self.rng.chance(WHALE_PER_MILLE) => Request::CurrencyDeposit(DepositArgs {
                user_id: whale(sys),
                currency_id: "gold".to_owned(),
                amount: AmountInput::from(AMOUNT_MAX),
                idempotency_key: None,
            }),
            Kind::Deposit => Request::CurrencyDeposit(DepositArgs {
                user_id: me,
                currency_id: self.slug(CURRENCIES),
                amount: self.amount(600),
                idempotency_key: self.maybe_key(),
            }),
            Kind::Withdraw => {
                let (caller, user_id) = self.owner_or_admin(me);
                let request = Request::CurrencyWithdraw(WithdrawArgs {
                    currency_id: self.slug(CURRENCIES),
                    amount: self.amount(300),
                    user_id,
                    idempotency_key: self.maybe_key(),
                });
                return Some((caller, request));
            }
            Kind::Achievement => {
                let achievement_id = self.slug(ACHIEVEMENTS);
                return Some((
                    Caller::Player(me),
                    Request::AchievementsUnlock(UnlockAchievementArgs { achievement_id, idempotency_key: None }),
                ));
            }
            Kind::Cosmetic => {
                let args = UnlockCosmeticArgs { cosmetic_id: self.slug(COSMETICS), idempotency_key: self.maybe_key() };
                return Some((Caller::Player(me), Request::CosmeticsUnlock(args)));
            }
            Kind::LeaderboardReset => {
                let leaderboard_id = if self.rng.chance(900) { BOARD_ID.to_owned() } else { "nope".to_owned() };
                Request::LeaderboardReset(LeaderboardIdArgs { leaderboard_id })
            }
            Kind::Register | Kind::Retry | Kind::Deliver | Kind::Redeliver => return None,
        };
        Some((Caller::Admin, request))
    }

    fn live_players(&self, sys: &System) -> usize {
        let w = &sys.waitlist;
        let removed = w.entries.len() as u64 - w.admitted_count - w.waiting_count();
        sys.registrations.len() - removed as usize
    }

    /// Mostly one of the newest `players_max` players (the live population), sometimes anyone.
    fn any_player(&mut self, sys: &System) -> UserId {
        let n = sys.registrations.len();
        if n > self.players_max && self.rng.chance(900) {
            return sys.registrations[n - 1 - self.rng.below(self.players_max)].user_id;
        }
        self.any_player_ever(sys)
    }

    fn any_player_ever(&mut self, sys: &System) -> UserId {
        self.rng.pick(&sys.registrations).expect("players are registered first").user_id
    }

    /// Mostly an admitted player in no game: the ones that can create and join games.
    fn free_player(&mut self, sys: &System) -> UserId {
        for _ in 0..6 {
            let user = self.any_player(sys);
            let admitted = sys
                .waitlist
                .by_user
                .get(&user)
                .is_some_and(|id| sys.waitlist.entries[id].status == WaitlistStatus::Admitted);
            if admitted && sys.players[&user].state.current_game.is_none() {
                return user;
            }
        }
        self.any_player(sys)
    }

    /// An open or started game with probability `active_per_mille`, else any game or an unknown id.
    fn game(&mut self, sys: &System, active_per_mille: u32) -> GameId {
        if !sys.active.is_empty() && self.rng.chance(active_per_mille) {
            let n = self.rng.below(sys.active.len());
            return *sys.active.iter().nth(n).expect("n < len");
        }
        match self.rng.pick(&sys.lobby_ids) {
            Some(id) if self.rng.chance(900) => *id,
            _ => uuid::Uuid::from_u128(u128::from(self.rng.next_u64())),
        }
    }

    /// A member of an active game, with that game.
    fn member(&mut self, sys: &System) -> Option<(UserId, GameId)> {
        let n = self.rng.below(sys.active.len().max(1));
        let game_id = *sys.active.iter().nth(n)?;
        let member = self.rng.pick(&sys.lobbies[&game_id].members)?;
        Some((member.user_id, game_id))
    }

    fn entry(&mut self, sys: &System) -> Option<uuid::Uuid> {
        self.rng.pick(&sys.waitlist.join_order).copied()
    }

    fn results(&mut self, sys: &System, game_id: GameId, outsider: UserId) -> Vec<GameResult> {
        let Some(lobby) = sys.lobbies.get(&game_id) else { return Vec::new() };
        let mut results = Vec::new();
        for member in &lobby.members {
            if self.rng.chance(750) {
                let score = match self.rng.below(100) {
                    // Coarse scores: ties across players and with a player's own best.
                    0..=39 => 100 * self.rng.range(0, 12),
                    40..=69 => self.rng.range(0, 900),
                    70..=94 => self.rng.range(900, 2000),
                    95..=97 => BALANCE_MAX,
                    _ => -1 - self.rng.range(0, 5),
                };
                results.push(GameResult { user_id: member.user_id, score });
            }
        }
        match self.rng.below(40) {
            0 => results.push(GameResult { user_id: outsider, score: 10 }),
            1 if !results.is_empty() => results.push(results[0]),
            _ => {}
        }
        results
    }

    fn preferences(&mut self) -> Request {
        let locales = ["en", "pt-BR", "fr", "de_DE", "x", "toolonglocale-abcdefghi"];
        let preferences = PreferencesPatch {
            locale: self.rng.chance(500).then(|| (*self.rng.pick(&locales).expect("non-empty")).to_owned()),
            sound_enabled: self.rng.chance(300).then(|| self.rng.chance(500)),
            music_volume: self.rng.chance(500).then(|| self.rng.range(-2, 104)),
            show_on_leaderboard: self.rng.chance(300).then(|| self.rng.chance(500)),
        };
        Request::UsersUpdatePreferences(UpdatePreferencesArgs { id: None, preferences, idempotency_key: None })
    }

    fn create_game(&mut self) -> Request {
        self.games += 1;
        let name = if self.rng.chance(20) { "   ".to_owned() } else { format!("game {}", self.games) };
        let max_players = match self.rng.below(40) {
            0 => 1,
            1 => 65,
            _ => self.rng.range(2, 6),
        };
        let min_players = match self.rng.below(10) {
            0..=5 => None,
            6 => Some(max_players + 1),
            _ => Some(self.rng.range(2, max_players.max(2))),
        };
        Request::GamesCreate(CreateGameArgs { name, max_players, min_players, idempotency_key: None })
    }

    /// The caller of an owner op: the player itself, or the admin naming it.
    fn owner_or_admin(&mut self, me: UserId) -> (Caller, Option<UserId>) {
        match self.rng.below(10) {
            0 => (Caller::Admin, Some(me)),
            1 => (Caller::Player(me), Some(me)),
            _ => (Caller::Player(me), None),
        }
    }

    fn slug(&mut self, known: &[&str]) -> String {
        if self.rng.chance(25) { "nope".to_owned() } else { (*self.rng.pick(known).expect("non-empty")).to_owned() }
    }

    /// Mostly `1..=typical`, sometimes the largest amount, sometimes out of range.
    fn amount(&mut self, typical: i64) -> AmountInput {
        match self.rng.below(1000) {
            0..=19 => AmountInput::from(AMOUNT_MAX),
            20..=24 => AmountInput::from(0),
            25..=27 => AmountInput::from(-3),
            28..=29 => AmountInput(i128::from(AMOUNT_MAX) + 1),
            _ => AmountInput::from(self.rng.range(1, typical)),
        }
    }

    fn key(&mut self) -> String {
        self.keys += 1;
        format!("key-{}", self.keys)
    }

    fn maybe_key(&mut self) -> Option<String> {
        match self.rng.below(100) {
            0 => Some("bad key".to_owned()),
            1..=40 => Some(self.key()),
            _ => None,
        }
    }
}

/// The same key with a different payload.
fn alter(request: Request) -> Request {
    let bump = |a: AmountInput| AmountInput(a.0.saturating_add(1));
    match request {
        Request::InventoryAdd(mut a) => {
            a.quantity = bump(a.quantity);
            Request::InventoryAdd(a)
        }
        Request::InventoryRemove(mut a) => {
            a.quantity = bump(a.quantity);
            Request::InventoryRemove(a)
        }
        Request::CurrencyDeposit(mut a) => {
            a.amount = bump(a.amount);
            Request::CurrencyDeposit(a)
        }
        Request::CurrencyWithdraw(a) => {
            // Another op under the same key is a different payload too.
            Request::InventoryRemove(RemoveItemArgs {
                item_id: "potion".to_owned(),
                quantity: a.amount,
                user_id: a.user_id,
                idempotency_key: a.idempotency_key,
            })
        }
        Request::CosmeticsUnlock(mut a) => {
            a.cosmetic_id.push('x');
            Request::CosmeticsUnlock(a)
        }
        other => other,
    }
}
