//! The waitlist's state and pure rules: join (with referrals), remove, admit in waves with
//! founder numbers, and live positions in O(log n) from an order-statistics tree.
//!
//! Order: entries wait in join order, except that a referral moves the referrer up
//! `referral_boost` places among the waiting entries (never past admitted ones, which are no
//! longer in the queue). The queue is rebuilt at start by replaying the stored waitlist events.

use crate::effect::{Effect, EventDraft, Outcome};
use crate::ostree::OrderStatTree;
use pzo_protocol::error::{ApiError, ErrorCode};
use pzo_protocol::event::*;
use pzo_protocol::model::{WaitlistEntry, WaitlistStatus};
use pzo_protocol::{EntryId, EventData, Timestamp, UserId};
use std::collections::{HashMap, HashSet};

/// Gap between the queue keys of consecutive joins; moves bisect it.
const QUEUE_KEY_SPACING: u64 = 1 << 32;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryState {
    pub id: EntryId,
    pub user_id: UserId,
    pub join_seq: i64,
    pub queue_key: u64,
    pub referral_code: String,
    pub referred_by: Option<EntryId>,
    pub status: WaitlistStatus,
    pub founder_number: Option<u32>,
    pub joined_at: Timestamp,
    pub admitted_at: Option<Timestamp>,
}

/// The whole waitlist, owned by the waitlist actor.
#[derive(Debug, Clone)]
pub struct WaitlistState {
    pub entries: HashMap<EntryId, EntryState>,
    pub by_user: HashMap<UserId, EntryId>,
    pub by_code: HashMap<String, EntryId>,
    /// Waiting entries by (queue key, id).
    pub queue: OrderStatTree<(u64, EntryId)>,
    /// Entries in join order, for the admin listing.
    pub join_order: Vec<EntryId>,
    pub next_join_seq: i64,
    pub founders_assigned: u32,
    pub admitted_count: u64,
    pub founder_cap: u32,
    pub referral_boost: u32,
}

/// Settings of the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitlistConfig {
    pub founder_cap: u32,
    pub referral_boost: u32,
}

impl WaitlistState {
    pub fn new(config: WaitlistConfig) -> Self {
        Self {
            entries: HashMap::new(),
            by_user: HashMap::new(),
            by_code: HashMap::new(),
            queue: OrderStatTree::new(),
            join_order: Vec::new(),
            next_join_seq: 1,
            founders_assigned: 0,
            admitted_count: 0,
            founder_cap: config.founder_cap,
            referral_boost: config.referral_boost,
        }
    }

    /// 1-based position among waiting entries.
    pub fn position(&self, entry: &EntryState) -> Option<u64> {
        (entry.status == WaitlistStatus::Waiting)
            .then(|| u64::try_from(self.queue.rank(&(entry.queue_key, entry.id))).unwrap_or(u64::MAX) + 1)
    }

    pub fn waiting_count(&self) -> u64 {
        u64::try_from(self.queue.len()).unwrap_or(u64::MAX)
    }

    pub fn view(&self, entry: &EntryState) -> WaitlistEntry {
        WaitlistEntry {
            id: entry.id,
            user_id: entry.user_id,
            status: entry.status,
            position: self.position(entry),
            joined_at: entry.joined_at,
            referral_code: entry.referral_code.clone(),
            referred_by: entry.referred_by,
            founder_number: entry.founder_number,
            admitted_at: entry.admitted_at,
        }
    }

    /// Folds one committed waitlist event into the state (also how it is rebuilt at start).
    pub fn apply(&mut self, event: &EventData) {
        match event {
            EventData::WaitlistAdded(e) => self.apply_added(e),
            EventData::WaitlistStatusUpdated(e) => self.apply_status(e.entry_id, e.to, e.founder_number, None),
            EventData::Season0Joined(e) => {
                if let Some(entry) = self.entries.get_mut(&e.entry_id) {
                    entry.admitted_at = Some(e.admitted_at);
                }
            }
            EventData::WaitlistRemoved(e) => self.apply_status(e.entry_id, WaitlistStatus::Removed, None, None),
            _ => {}
        }
    }

    fn apply_added(&mut self, added: &WaitlistAdded) {
        let view = &added.entry;
        let join_seq = self.next_join_seq;
        self.next_join_seq += 1;
        let queue_key = u64::try_from(join_seq).unwrap_or(0).saturating_mul(QUEUE_KEY_SPACING);
        let entry = EntryState {
            id: view.id,
            user_id: view.user_id,
            join_seq,
            queue_key,
            referral_code: view.referral_code.clone(),
            referred_by: view.referred_by,
            status: WaitlistStatus::Waiting,
            founder_number: None,
            joined_at: view.joined_at,
            admitted_at: None,
        };
        self.queue.insert((queue_key, entry.id));
        self.by_user.insert(entry.user_id, entry.id);
        self.by_code.insert(entry.referral_code.clone(), entry.id);
        self.join_order.push(entry.id);
        self.entries.insert(entry.id, entry);
        if let Some(referrer) = view.referred_by {
            self.move_up(referrer, added.referrer_moved_places);
        }
    }

    fn apply_status(&mut self, entry_id: EntryId, to: WaitlistStatus, founder: Option<u32>, _at: Option<Timestamp>) {
        let Some(entry) = self.entries.get_mut(&entry_id) else { return };
        if entry.status == WaitlistStatus::Waiting && to != WaitlistStatus::Waiting {
            self.queue.remove(&(entry.queue_key, entry.id));
        }
        if to == WaitlistStatus::Admitted && entry.status != WaitlistStatus::Admitted {
            self.admitted_count += 1;
            if founder.is_some() {
                self.founders_assigned += 1;
            }
            entry.founder_number = founder;
        }
        if entry.status == WaitlistStatus::Admitted && to == WaitlistStatus::Removed {
            self.admitted_count = self.admitted_count.saturating_sub(1);
        }
        entry.status = to;
    }

    /// Moves a waiting entry up `places` places (fewer when near the front).
    fn move_up(&mut self, entry_id: EntryId, places: u32) {
        let Some(entry) = self.entries.get(&entry_id) else { return };
        if entry.status != WaitlistStatus::Waiting || places == 0 {
            return;
        }
        let key = (entry.queue_key, entry.id);
        let rank = self.queue.rank(&key);
        let target = rank.saturating_sub(places as usize);
        if target == rank {
            return;
        }
        let Some(&(ahead_key, _)) = self.queue.select(target) else { return };
        let before_key = if target == 0 { 0 } else { self.queue.select(target - 1).map_or(0, |k| k.0) };
        if ahead_key - before_key < 2 {
            self.respace();
            return self.move_up(entry_id, places);
        }
        let new_key = before_key + (ahead_key - before_key) / 2;
        self.queue.remove(&key);
        self.queue.insert((new_key, entry_id));
        if let Some(entry) = self.entries.get_mut(&entry_id) {
            entry.queue_key = new_key;
        }
    }

    /// Gives the waiting entries evenly spaced keys again, keeping their order.
    fn respace(&mut self) {
        let order: Vec<EntryId> = self.queue.range(0, self.queue.len()).into_iter().map(|k| k.1).collect();
        self.queue.clear();
        for (i, id) in order.into_iter().enumerate() {
            let key = (i as u64 + 1).saturating_mul(QUEUE_KEY_SPACING);
            self.queue.insert((key, id));
            if let Some(entry) = self.entries.get_mut(&id) {
                entry.queue_key = key;
            }
        }
    }

    /// The waiting entries in queue order, from position `start` (0-based).
    pub fn waiting(&self, start: usize, count: usize) -> Vec<&EntryState> {
        self.queue.range(start, count).into_iter().filter_map(|k| self.entries.get(&k.1)).collect()
    }
}

/// Adds a player to the queue.
pub fn join(
    state: &WaitlistState,
    user_id: UserId,
    entry_id: EntryId,
    referral_code: String,
    referred_with: Option<&str>,
    now: Timestamp,
) -> Result<Outcome<WaitlistEntry>, ApiError> {
    let request = JoinRequest { user_id, entry_id, referral_code: &referral_code, referred_with };
    join_after(state, &Joined::default(), request, now)
}

/// One player asking to join.
#[derive(Debug, Clone, Copy)]
pub struct JoinRequest<'a> {
    pub user_id: UserId,
    pub entry_id: EntryId,
    pub referral_code: &'a str,
    pub referred_with: Option<&'a str>,
}

/// Entries decided in this group but not yet in the state: what a later join of the same
/// group must see (its user, its code, the queue grown by them).
#[derive(Debug, Default)]
struct Joined {
    users: HashSet<UserId>,
    /// code -> (entry, user)
    codes: HashMap<String, (EntryId, UserId)>,
    count: u64,
}

/// Joins decided together, each against the state as the ones before it leave it: the same
/// answers, effects and events as joining them one by one, so they can commit as one command.
pub fn join_many(
    state: &WaitlistState,
    requests: &[JoinRequest<'_>],
    now: Timestamp,
) -> Vec<Result<Outcome<WaitlistEntry>, ApiError>> {
    let mut joined = Joined::default();
    requests
        .iter()
        .map(|request| {
            let outcome = join_after(state, &joined, *request, now)?;
            joined.users.insert(request.user_id);
            joined.codes.insert(request.referral_code.to_owned(), (request.entry_id, request.user_id));
            joined.count += 1;
            Ok(outcome)
        })
        .collect()
}

fn join_after(
    state: &WaitlistState,
    joined: &Joined,
    request: JoinRequest<'_>,
    now: Timestamp,
) -> Result<Outcome<WaitlistEntry>, ApiError> {
    let JoinRequest { user_id, entry_id, referral_code, referred_with } = request;
    if state.by_user.contains_key(&user_id) || joined.users.contains(&user_id) {
        return Err(ApiError::new(ErrorCode::ALREADY_ON_WAITLIST));
    }
    // (entry, its user, whether it waits): entries of this group wait by construction.
    let referrer = match referred_with {
        None => None,
        Some(code) => Some(match state.by_code.get(code).and_then(|id| state.entries.get(id)) {
            Some(entry) => (entry.id, entry.user_id, entry.status == WaitlistStatus::Waiting),
            None => joined
                .codes
                .get(code)
                .map(|(id, user)| (*id, *user, true))
                .ok_or_else(|| ApiError::validation("referral_code", "is not a known referral code"))?,
        }),
    };
    let moved = referrer.filter(|(_, _, waiting)| *waiting).map_or(0, |_| state.referral_boost);
    let referrer_id = referrer.map(|(id, _, _)| id);
    let entry = WaitlistEntry {
        id: entry_id,
        user_id,
        status: WaitlistStatus::Waiting,
        position: Some(state.waiting_count() + joined.count + 1),
        joined_at: now,
        referral_code: referral_code.to_owned(),
        referred_by: referrer_id,
        founder_number: None,
        admitted_at: None,
    };
    let added = WaitlistAdded { entry: entry.clone(), referrer_moved_places: moved };
    let join_seq = state.next_join_seq + i64::try_from(joined.count).unwrap_or(i64::MAX);
    let mut outcome = Outcome::new(entry)
        .effect(Effect::InsertWaitlistEntry {
            id: entry_id,
            user_id,
            join_seq,
            referral_code: referral_code.to_owned(),
            referred_by: referrer_id,
            joined_at: now,
        })
        .effect(Effect::WaitlistStatusChange {
            entry_id,
            from: None,
            to: WaitlistStatus::Waiting,
            founder_number: None,
            changed_by: Some(user_id),
            reason: "joined".to_owned(),
            at: now,
        });
    if let Some((referrer, _, _)) = referrer {
        let places_moved = i32::try_from(moved).unwrap_or(i32::MAX);
        outcome = outcome.effect(Effect::InsertReferral { referrer, referred: entry_id, places_moved, at: now });
    }
    let mut event = EventDraft::for_player(user_id, "waitlist", EventData::WaitlistAdded(added));
    if let Some((_, referrer_user, _)) = referrer {
        event.audience.users.push(referrer_user);
    }
    Ok(outcome.event(event))
}

/// Admits the next `count` waiting entries in order; the first `founder_cap` admitted overall
/// get founder numbers 1, 2, ...
pub fn admit(state: &WaitlistState, count: usize, by: Option<UserId>, now: Timestamp) -> Outcome<Vec<EntryId>> {
    let mut outcome = Outcome::new(Vec::new());
    let mut founders = state.founders_assigned;
    for entry in state.waiting(0, count) {
        let founder_number = (founders < state.founder_cap).then(|| {
            founders += 1;
            founders
        });
        admission(&mut outcome, entry, founder_number, by, "admission wave", now);
        outcome.reply.push(entry.id);
    }
    outcome
}

fn admission(
    outcome: &mut Outcome<Vec<EntryId>>,
    entry: &EntryState,
    founder_number: Option<u32>,
    by: Option<UserId>,
    reason: &str,
    now: Timestamp,
) {
    outcome.effects.push(Effect::WaitlistStatusChange {
        entry_id: entry.id,
        from: Some(entry.status),
        to: WaitlistStatus::Admitted,
        founder_number,
        changed_by: by,
        reason: reason.to_owned(),
        at: now,
    });
    let updated = WaitlistStatusUpdated {
        entry_id: entry.id,
        user_id: entry.user_id,
        from: entry.status,
        to: WaitlistStatus::Admitted,
        founder_number,
        reason: reason.to_owned(),
    };
    let joined = Season0Joined { user_id: entry.user_id, entry_id: entry.id, founder_number, admitted_at: now };
    outcome.events.push(EventDraft::for_player(entry.user_id, "waitlist", EventData::WaitlistStatusUpdated(updated)));
    outcome.events.push(EventDraft::for_player(entry.user_id, "waitlist", EventData::Season0Joined(joined)));
}

/// Sets one entry's status (operators): `waiting -> admitted`, `waiting|admitted -> removed`.
pub fn set_status(
    state: &WaitlistState,
    entry_id: EntryId,
    to: WaitlistStatus,
    by: Option<UserId>,
    now: Timestamp,
) -> Result<Outcome<Vec<EntryId>>, ApiError> {
    let entry = state.entries.get(&entry_id).ok_or_else(|| ApiError::not_found("waitlist entry"))?;
    match (entry.status, to) {
        (WaitlistStatus::Waiting, WaitlistStatus::Admitted) => {
            let founder_number = (state.founders_assigned < state.founder_cap).then_some(state.founders_assigned + 1);
            let mut outcome = Outcome::new(vec![entry_id]);
            admission(&mut outcome, entry, founder_number, by, "admitted by an operator", now);
            Ok(outcome)
        }
        (WaitlistStatus::Waiting | WaitlistStatus::Admitted, WaitlistStatus::Removed) => {
            Ok(remove(state, entry_id, by, "removed by an operator", now)?.map_reply(|_| vec![entry_id]))
        }
        (from, to) if from == to => Ok(Outcome::new(vec![entry_id])),
        (from, to) => {
            Err(ApiError::validation("status", &format!("cannot go from {} to {}", from.as_str(), to.as_str())))
        }
    }
}

/// Removes an entry (its owner or an operator). Removing a removed entry changes nothing.
pub fn remove(
    state: &WaitlistState,
    entry_id: EntryId,
    by: Option<UserId>,
    reason: &str,
    now: Timestamp,
) -> Result<Outcome<()>, ApiError> {
    let entry = state.entries.get(&entry_id).ok_or_else(|| ApiError::not_found("waitlist entry"))?;
    if entry.status == WaitlistStatus::Removed {
        return Ok(Outcome::new(()));
    }
    let removed = WaitlistRemoved { entry_id, user_id: entry.user_id, previous_status: entry.status };
    Ok(Outcome::new(())
        .effect(Effect::WaitlistStatusChange {
            entry_id,
            from: Some(entry.status),
            to: WaitlistStatus::Removed,
            founder_number: entry.founder_number,
            changed_by: by,
            reason: reason.to_owned(),
            at: now,
        })
        .event(EventDraft::for_player(entry.user_id, "waitlist", EventData::WaitlistRemoved(removed))))
}

#[cfg(test)]
mod tests;
