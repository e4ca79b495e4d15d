//! Reads the few fields the harness needs out of a reply's data, whichever codec carried it.

use crate::wire::{EventView, ReplyData, event_view, json_event};
use pzo_protocol::Reply;
use pzo_protocol::model::WaitlistStatus;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

/// One page of `events.resume`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventsPageView {
    pub events: Vec<EventView>,
    pub next_seq: u64,
    pub more: bool,
}

fn json<T: DeserializeOwned>(data: &ReplyData) -> Option<T> {
    match data {
        ReplyData::Json(raw) => serde_json::from_str(raw.get()).ok(),
        ReplyData::Typed(_) => None,
    }
}

fn typed(data: &ReplyData) -> Option<&Reply> {
    match data {
        ReplyData::Typed(reply) => Some(reply),
        ReplyData::Json(_) => None,
    }
}

#[derive(Deserialize)]
struct IdOnly {
    id: Uuid,
}

#[derive(Deserialize)]
struct GameJson {
    game: IdOnly,
}

/// The game of a `games.create` / `games.join` / `games.get` reply.
pub fn game_id(data: &ReplyData) -> Option<Uuid> {
    match typed(data) {
        Some(Reply::Game(reply)) => Some(reply.game.id),
        Some(_) => None,
        None => json::<GameJson>(data).map(|game| game.game.id),
    }
}

#[derive(Deserialize)]
struct SessionJson {
    user_id: Uuid,
    #[serde(default)]
    last_seq: u64,
}

/// The user and the newest event `seq` of an `auth` reply.
pub fn session(data: &ReplyData) -> Option<(Uuid, u64)> {
    match typed(data) {
        Some(Reply::Session(reply)) => Some((reply.user_id, reply.last_seq)),
        Some(_) => None,
        None => json::<SessionJson>(data).map(|session| (session.user_id, session.last_seq)),
    }
}

#[derive(Deserialize)]
struct BalanceJson {
    currency_id: String,
    balance: i64,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct BalancesJson {
    balances: Option<Vec<BalanceJson>>,
    balance: Option<i64>,
}

/// The balance in `currency` after a `currency.list`, `currency.get` or `currency.withdraw`
/// reply (a list of balances, or one `balance` field). A listed currency the player never held
/// reads as zero.
pub fn balance(data: &ReplyData, currency: &str) -> Option<i64> {
    match typed(data) {
        Some(Reply::Balances(reply)) => {
            Some(reply.balances.iter().find(|b| b.currency_id == currency).map_or(0, |b| b.balance))
        }
        Some(Reply::Transaction(reply)) => Some(reply.balance),
        Some(Reply::Currency(reply)) => Some(reply.balance),
        Some(_) => None,
        None => {
            let parsed = json::<BalancesJson>(data)?;
            match (parsed.balances, parsed.balance) {
                (Some(list), _) => Some(list.iter().find(|b| b.currency_id == currency).map_or(0, |b| b.balance)),
                (None, balance) => balance,
            }
        }
    }
}

#[derive(Deserialize)]
struct EventsPageJson {
    events: Vec<Box<serde_json::value::RawValue>>,
    next_seq: u64,
    #[serde(default)]
    more: bool,
}

/// The page of an `events.resume` reply.
pub fn events_page(data: &ReplyData) -> Option<EventsPageView> {
    match typed(data) {
        Some(Reply::Events(page)) => Some(EventsPageView {
            events: page.events.iter().map(event_view).collect(),
            next_seq: page.next_seq,
            more: page.more,
        }),
        Some(_) => None,
        None => json::<EventsPageJson>(data).map(|page| EventsPageView {
            events: page.events.iter().filter_map(|raw| json_event(raw)).collect(),
            next_seq: page.next_seq,
            more: page.more,
        }),
    }
}

#[derive(Deserialize)]
struct SendJson {
    delivered: u32,
}

/// How many members a `games.send` reached, by the server's count.
pub fn delivered(data: &ReplyData) -> Option<u32> {
    match typed(data) {
        Some(Reply::Send(reply)) => Some(reply.delivered),
        Some(_) => None,
        None => json::<SendJson>(data).map(|send| send.delivered),
    }
}

#[derive(Deserialize)]
struct LeaderboardJson {
    #[serde(default)]
    me: Option<IgnoredRow>,
}

#[derive(Deserialize)]
struct IgnoredRow {}

/// Whether a `leaderboard.get` reply has a row for the caller.
pub fn leaderboard_has_me(data: &ReplyData) -> Option<bool> {
    match typed(data) {
        Some(Reply::Leaderboard(reply)) => Some(reply.me.is_some()),
        Some(_) => None,
        None => json::<LeaderboardJson>(data).map(|board| board.me.is_some()),
    }
}

#[derive(Deserialize)]
struct WaitlistStatusJson {
    entry: Option<EntryStatusJson>,
}

#[derive(Deserialize)]
struct EntryStatusJson {
    status: WaitlistStatus,
}

/// Whether a `waitlist.status` reply shows the caller admitted.
pub fn admitted(data: &ReplyData) -> Option<bool> {
    match typed(data) {
        Some(Reply::WaitlistStatus(reply)) => {
            Some(reply.entry.as_ref().is_some_and(|entry| entry.status == WaitlistStatus::Admitted))
        }
        Some(_) => None,
        None => json::<WaitlistStatusJson>(data)
            .map(|status| status.entry.is_some_and(|entry| entry.status == WaitlistStatus::Admitted)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pzo_protocol::model::Balance;
    use pzo_protocol::reply::{BalancesReply, EventsPage, SendReply, SessionReply};
    use pzo_protocol::{Event, EventData};

    /// Both forms of one reply: typed, and the JSON text the server would send.
    fn both(reply: Reply) -> [ReplyData; 2] {
        let text = serde_json::to_string(&reply.json_data()).unwrap();
        [ReplyData::Typed(Box::new(reply)), ReplyData::Json(serde_json::value::RawValue::from_string(text).unwrap())]
    }

    #[test]
    fn reads_sessions() {
        let user = Uuid::from_u128(4);
        for data in both(Reply::Session(SessionReply { user_id: user, role: "player".into(), last_seq: 77 })) {
            assert_eq!(session(&data), Some((user, 77)));
            assert_eq!(game_id(&data), None);
        }
    }

    #[test]
    fn reads_balances() {
        let balances = vec![Balance { currency_id: "gold".into(), name: "Gold".into(), balance: 120 }];
        for data in both(Reply::Balances(BalancesReply { user_id: Uuid::nil(), balances })) {
            assert_eq!(balance(&data, "gold"), Some(120));
            assert_eq!(balance(&data, "gems"), Some(0));
        }
    }

    #[test]
    fn reads_event_pages() {
        let event = Event {
            seq: 5,
            at: Default::default(),
            data: EventData::UserLoggedIn(pzo_protocol::event::UserLoggedIn { user_id: Uuid::nil() }),
        };
        for data in both(Reply::Events(EventsPage { events: vec![event.clone()], next_seq: 6, more: true })) {
            let page = events_page(&data).unwrap();
            assert_eq!((page.next_seq, page.more), (6, true));
            assert_eq!(page.events[0].seq, 5);
            assert_eq!(page.events[0].kind, "USER_LOGGED_IN");
        }
    }

    #[test]
    fn reads_contract_shaped_event_pages() {
        let text = r#"{"events":[{"seq":9,"type":"CURRENCY_DEPOSITED","at":"2025-01-01T00:00:00Z",
            "data":{"user_id":"00000000-0000-0000-0000-000000000001","currency_id":"gold","amount":1,
            "balance_after":1,"transaction_id":"00000000-0000-0000-0000-000000000007"}}],"next_seq":10,"more":false}"#;
        let data = ReplyData::Json(serde_json::value::RawValue::from_string(text.to_owned()).unwrap());
        let page = events_page(&data).unwrap();
        assert_eq!(page.events[0].seq, 9);
        assert_eq!(page.events[0].transaction_id, Some(Uuid::from_u128(7)));
        assert!(!page.more);
    }

    #[test]
    fn reads_send_counts() {
        for data in both(Reply::Send(SendReply { delivered: 7 })) {
            assert_eq!(delivered(&data), Some(7));
        }
    }
}
