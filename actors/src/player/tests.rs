//! Property tests of the player rules: random command sequences keep every balance and
//! quantity in range, the ledger explains every balance, and replaying events rebuilds state.

use super::*;
use crate::world::SeededIds;
use proptest::prelude::*;

fn catalog() -> Catalog {
    Catalog::parse(include_str!("../../../catalog/season0.json")).expect("the shipped catalog is valid")
}

fn fresh() -> PlayerState {
    let at = chrono::DateTime::from_timestamp(1_700_000_000, 0).expect("valid instant");
    PlayerState::new(uuid::Uuid::nil(), "p@x.io".into(), "P".into(), at)
}

#[derive(Debug, Clone)]
enum Cmd {
    Deposit(&'static str, i64),
    Withdraw(&'static str, i64),
    Add(&'static str, i64),
    Remove(&'static str, i64),
    Cosmetic(&'static str),
    Achievement(&'static str),
    Finish(i64),
}

fn cmd() -> impl Strategy<Value = Cmd> {
    let currency = prop_oneof![Just("gold"), Just("gems")];
    let item = prop_oneof![Just("potion"), Just("sword_basic")];
    prop_oneof![
        (currency.clone(), -5i64..2000).prop_map(|(c, a)| Cmd::Deposit(c, a)),
        (currency, -5i64..2000).prop_map(|(c, a)| Cmd::Withdraw(c, a)),
        (item.clone(), -2i64..20).prop_map(|(i, q)| Cmd::Add(i, q)),
        (item, -2i64..20).prop_map(|(i, q)| Cmd::Remove(i, q)),
        prop_oneof![Just("golden_helm"), Just("neon_trail"), Just("founder_cape")].prop_map(Cmd::Cosmetic),
        prop_oneof![Just("first_game"), Just("high_scorer"), Just("veteran")].prop_map(Cmd::Achievement),
        (0i64..3000).prop_map(Cmd::Finish),
    ]
}

fn run(state: &PlayerState, catalog: &Catalog, cmd: &Cmd, world: &mut World<'_>) -> Option<Vec<EventData>> {
    let amount = |a: i64| Amount::new_checked(a);
    let outcome = match cmd {
        Cmd::Deposit(c, a) => amount(*a).and_then(|a| deposit(state, catalog, c, a, world).ok()),
        Cmd::Withdraw(c, a) => amount(*a).and_then(|a| withdraw(state, catalog, c, a, world).ok()),
        Cmd::Add(i, q) => amount(*q).and_then(|q| add_item(state, catalog, i, q).ok()),
        Cmd::Remove(i, q) => amount(*q).and_then(|q| remove_item(state, catalog, i, q).ok()),
        Cmd::Cosmetic(id) => unlock_cosmetic(state, catalog, id, world).ok(),
        Cmd::Achievement(id) => unlock_achievement(state, catalog, id, world).ok(),
        Cmd::Finish(score) => {
            let finished = GameFinished {
                game_id: uuid::Uuid::nil(),
                results: vec![GameResult { user_id: state.user_id, score: *score }],
                finished_at: world.now,
            };
            return Some(vec![EventData::GameFinished(finished)]);
        }
    }?;
    Some(outcome.events.into_iter().map(|e| e.data).collect())
}

proptest! {
    #[test]
    fn random_commands_keep_invariants_and_replay(cmds in proptest::collection::vec(cmd(), 0..120)) {
        let catalog = catalog();
        let mut ids = SeededIds::new(7);
        let mut state = fresh();
        let mut log: Vec<EventData> = Vec::new();
        let mut ledger: BTreeMap<String, i64> = BTreeMap::new();
        for cmd in &cmds {
            let mut world = World { now: state.created_at, ids: &mut ids };
            if let Some(events) = run(&state, &catalog, cmd, &mut world) {
                for event in events {
                    if let EventData::TransactionCompleted(t) = &event {
                        *ledger.entry(t.transaction.currency_id.clone()).or_default() += t.transaction.amount;
                    }
                    state.apply(&event);
                    log.push(event);
                }
            }
            prop_assert!(state.balances.values().all(|b| (0..=BALANCE_MAX).contains(b)));
            prop_assert!(state.inventory.values().all(|q| *q > 0));
            for (currency, balance) in &state.balances {
                prop_assert_eq!(ledger.get(currency).copied().unwrap_or(0), *balance);
            }
        }
        let mut replayed = fresh();
        for event in &log {
            replayed.apply(event);
        }
        prop_assert_eq!(replayed, state);
    }
}
