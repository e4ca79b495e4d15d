//! Property tests of the waitlist rules against a naive model, and replay of their events.

use super::*;
use proptest::prelude::*;

fn at() -> Timestamp {
    chrono::DateTime::from_timestamp(1_700_000_000, 0).expect("valid instant")
}

fn id(n: u32) -> uuid::Uuid {
    uuid::Uuid::from_u128(u128::from(n) + 1)
}

#[derive(Debug, Clone)]
enum Cmd {
    Join,
    JoinReferred(usize),
    Remove(usize),
    Admit(usize),
}

fn cmd() -> impl Strategy<Value = Cmd> {
    prop_oneof![
        4 => Just(Cmd::Join),
        1 => (0usize..50).prop_map(Cmd::JoinReferred),
        1 => (0usize..50).prop_map(Cmd::Remove),
        1 => (0usize..5).prop_map(Cmd::Admit),
    ]
}

const CONFIG: WaitlistConfig = WaitlistConfig { founder_cap: 7, referral_boost: 3 };

proptest! {
    #[test]
    fn positions_match_a_naive_model_and_replay(cmds in proptest::collection::vec(cmd(), 0..150)) {
        let mut state = WaitlistState::new(CONFIG);
        let mut log = Vec::new();
        // The model: waiting entries in queue order.
        let mut model: Vec<EntryId> = Vec::new();
        let mut users = 0u32;
        let mut founders = Vec::new();
        for cmd in cmds {
            let events = match cmd {
                Cmd::Join | Cmd::JoinReferred(_) => {
                    users += 1;
                    let code = format!("code{users}");
                    let referral = match cmd {
                        Cmd::JoinReferred(i) if users > 1 => Some(format!("code{}", 1 + i as u32 % (users - 1))),
                        _ => None,
                    };
                    let outcome = join(&state, id(users), id(10_000 + users), code, referral.as_deref(), at())
                        .expect("fresh users and known codes join");
                    model.push(id(10_000 + users));
                    if let Some(referrer) = outcome.reply.referred_by {
                        if let Some(pos) = model.iter().position(|e| *e == referrer) {
                            let target = pos.saturating_sub(CONFIG.referral_boost as usize);
                            model.remove(pos);
                            model.insert(target, referrer);
                        }
                    }
                    outcome.events
                }
                Cmd::Remove(i) if !state.join_order.is_empty() => {
                    let entry = state.join_order[i % state.join_order.len()];
                    model.retain(|e| *e != entry);
                    remove(&state, entry, None, "test", at()).expect("known entry").events
                }
                Cmd::Admit(n) => {
                    let outcome = admit(&state, n, None, at());
                    for admitted in &outcome.reply {
                        prop_assert_eq!(Some(admitted), model.first());
                        model.remove(0);
                    }
                    for event in &outcome.events {
                        if let EventData::Season0Joined(j) = &event.data {
                            if let Some(n) = j.founder_number { founders.push(n); }
                        }
                    }
                    outcome.events
                }
                Cmd::Remove(_) => Vec::new(),
            };
            for event in events {
                state.apply(&event.data);
                log.push(event.data);
            }
            prop_assert_eq!(state.waiting_count() as usize, model.len());
            for (i, entry) in model.iter().enumerate() {
                prop_assert_eq!(state.position(&state.entries[entry]), Some(i as u64 + 1));
            }
        }
        let expected: Vec<u32> = (1..=founders.len() as u32).collect();
        prop_assert_eq!(founders, expected);
        let mut replayed = WaitlistState::new(CONFIG);
        for event in &log {
            replayed.apply(event);
        }
        prop_assert_eq!(replayed.entries, state.entries);
    }
}

/// A group request of the property below: a user number (low numbers repeat, so duplicates
/// occur) and, maybe, the number of the user whose code it uses (a known code or an unknown one).
fn group_request() -> impl Strategy<Value = (u32, Option<u32>)> {
    (0u32..12, proptest::option::of(0u32..14))
}

proptest! {
    /// Joins decided together answer, write and emit exactly what joining them one by one would.
    #[test]
    fn joins_decided_together_equal_joins_one_by_one(
        before in proptest::collection::vec(group_request(), 0..8),
        group in proptest::collection::vec(group_request(), 1..10),
    ) {
        let code = |user: u32| format!("code{user}");
        let entry = |n: usize| id(1_000 + u32::try_from(n).expect("small"));
        let mut state = WaitlistState::new(CONFIG);
        for (n, (user, referral)) in before.iter().enumerate() {
            let referral = referral.map(code);
            if let Ok(outcome) = join(&state, id(*user), entry(n), code(*user), referral.as_deref(), at()) {
                for event in &outcome.events {
                    state.apply(&event.data);
                }
            }
        }
        let codes: Vec<String> = group.iter().map(|(user, _)| code(*user)).collect();
        let referrals: Vec<Option<String>> = group.iter().map(|(_, referral)| referral.map(code)).collect();
        let requests: Vec<JoinRequest<'_>> = group
            .iter()
            .enumerate()
            .map(|(n, (user, _))| JoinRequest {
                user_id: id(*user),
                entry_id: entry(100 + n),
                referral_code: &codes[n],
                referred_with: referrals[n].as_deref(),
            })
            .collect();
        let together = join_many(&state, &requests, at());
        let mut one_by_one = state.clone();
        for (request, decided) in requests.iter().zip(&together) {
            let alone = join(&one_by_one, request.user_id, request.entry_id, request.referral_code.to_owned(),
                request.referred_with, at());
            prop_assert_eq!(format!("{alone:?}"), format!("{decided:?}"));
            if let Ok(outcome) = alone {
                for event in &outcome.events {
                    one_by_one.apply(&event.data);
                }
            }
        }
    }
}
