//! Replays the collected event log into fresh states and compares them with the live ones:
//! players (routed to their audience as the server's fan-out does, and also broadcast to every
//! player, since `PlayerState::apply` must ignore other players' events), the waitlist, the
//! leaderboard (its best scores from `GAME_FINISHED` and `LEADERBOARD_RESET`) and the lobbies.

use super::check::Check;
use super::system::{System, new_board, waitlist_config};
use pzo_actors::player::PlayerState;
use pzo_actors::replay::{self, LobbyView};
use pzo_actors::waitlist::WaitlistState;
use pzo_protocol::UserId;
use std::collections::HashMap;

fn fresh_players(sys: &System) -> HashMap<UserId, PlayerState> {
    sys.registrations
        .iter()
        .map(|r| (r.user_id, PlayerState::new(r.user_id, r.email.clone(), r.display_name.clone(), r.created_at)))
        .collect()
}

fn compare_players(sys: &System, replayed: &HashMap<UserId, PlayerState>, how: &str) -> Check {
    for r in &sys.registrations {
        let live = &sys.players[&r.user_id].state;
        let again = &replayed[&r.user_id];
        if live != again {
            return Err(format!("{how} replay of {} differs:\n live   {live:?}\n replay {again:?}", r.user_id));
        }
    }
    Ok(())
}

/// Every player rebuilt from the events its sockets would have received.
pub fn players_routed(sys: &System) -> Check {
    let mut players = fresh_players(sys);
    for committed in &sys.log {
        for user in &committed.audience.users {
            if let Some(state) = players.get_mut(user) {
                state.apply(&committed.event.data);
            }
        }
    }
    compare_players(sys, &players, "routed")
}

/// Every player rebuilt from every event: events of others must change nothing.
pub fn players_broadcast(sys: &System) -> Check {
    let mut players = fresh_players(sys);
    for committed in &sys.log {
        for state in players.values_mut() {
            state.apply(&committed.event.data);
        }
    }
    compare_players(sys, &players, "broadcast")
}

/// The waitlist rebuilt from its own events, as the server does at start.
pub fn waitlist(sys: &System) -> Check {
    let mut state = WaitlistState::new(waitlist_config());
    for committed in sys.log.iter().filter(|c| c.aggregate == "waitlist") {
        state.apply(&committed.event.data);
    }
    let (mut live, mut again) = (String::new(), String::new());
    System::render_waitlist(&sys.waitlist, &mut live);
    System::render_waitlist(&state, &mut again);
    if live != again {
        return Err(format!("waitlist replay differs:\n live   {live}\n replay {again}"));
    }
    Ok(())
}

/// The board rebuilt from game results and resets.
pub fn board(sys: &System) -> Check {
    let board = replay::board(sys.log.iter().map(|c| (&c.event.data, c.event.at)), new_board);
    let (mut live, mut again) = (String::new(), String::new());
    System::render_board(&sys.board, &mut live);
    System::render_board(&board, &mut again);
    if live != again {
        return Err(format!("board replay differs:\n live   {live}\n replay {again}"));
    }
    Ok(())
}

/// The lobbies' host, status and members rebuilt from the game events.
pub fn lobbies(sys: &System) -> Check {
    let lobbies = replay::lobbies(sys.log.iter().map(|c| &c.event.data)).map_err(|e| e.to_string())?;
    for (id, live) in &sys.lobbies {
        let live = LobbyView { host: live.host_id, status: live.status, members: live.member_ids() };
        let again = lobbies.get(id);
        if again != Some(&live) {
            return Err(format!("lobby {id} replay differs:\n live   {live:?}\n replay {again:?}"));
        }
    }
    Ok(())
}
