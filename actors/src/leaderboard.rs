//! A leaderboard's state and pure rules: best score per player per season, ranked in memory
//! (top-N, rank of any player, neighbours) in O(log n); reset archives the season.
//!
//! Ties: equal scores rank by the earlier `achieved_at`, then by user id, so ranks are total.

use crate::effect::{Effect, EventDraft, Outcome};
use crate::ostree::OrderStatTree;
use pzo_protocol::event::LeaderboardReset;
use pzo_protocol::{EventData, Timestamp, UserId};
use std::cmp::Reverse;
use std::collections::HashMap;

/// The sort key of a ranked row: higher score first, then earlier, then user id.
pub type RankKey = (Reverse<i64>, Timestamp, UserId);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BestScore {
    pub score: i64,
    pub achieved_at: Timestamp,
}

/// One board's current season.
#[derive(Debug, Clone)]
pub struct BoardState {
    pub id: String,
    pub name: String,
    pub season: u32,
    pub best: HashMap<UserId, BestScore>,
    pub ranking: OrderStatTree<RankKey>,
}

/// A ranked row before names are attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RankedScore {
    /// 1-based.
    pub rank: u64,
    pub user_id: UserId,
    pub score: i64,
}

impl BoardState {
    pub fn new(id: String, name: String, season: u32) -> Self {
        Self { id, name, season, best: HashMap::new(), ranking: OrderStatTree::new() }
    }

    fn key(user_id: UserId, best: BestScore) -> RankKey {
        (Reverse(best.score), best.achieved_at, user_id)
    }

    /// Records a best score (used by submissions and by the rebuild at start).
    pub fn record(&mut self, user_id: UserId, best: BestScore) {
        if let Some(old) = self.best.insert(user_id, best) {
            self.ranking.remove(&Self::key(user_id, old));
        }
        self.ranking.insert(Self::key(user_id, best));
    }

    /// Whether `score` would raise the player's best.
    pub fn improves(&self, user_id: UserId, score: i64) -> bool {
        self.best.get(&user_id).is_none_or(|b| score > b.score)
    }

    pub fn len(&self) -> u64 {
        self.ranking.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.ranking.is_empty()
    }

    /// The player's ranked row.
    pub fn rank_of(&self, user_id: UserId) -> Option<RankedScore> {
        let best = *self.best.get(&user_id)?;
        let rank = self.ranking.rank(&Self::key(user_id, best)) as u64 + 1;
        Some(RankedScore { rank, user_id, score: best.score })
    }

    /// Rows from 0-based position `start`.
    pub fn page(&self, start: usize, count: usize) -> Vec<RankedScore> {
        self.ranking
            .range(start, count)
            .into_iter()
            .enumerate()
            .map(|(i, key)| RankedScore { rank: (start + i) as u64 + 1, user_id: key.2, score: key.0.0 })
            .collect()
    }

    /// Rows centred on the player (or the top when the player has no score).
    pub fn around(&self, user_id: UserId, count: usize) -> (usize, Vec<RankedScore>) {
        let start = self.rank_of(user_id).map_or(0, |r| (r.rank as usize - 1).saturating_sub(count / 2));
        (start, self.page(start, count))
    }
}

/// Submits scores: only improvements are written. Returns the players whose best changed.
pub fn submit(state: &BoardState, scores: &[(UserId, i64)], now: Timestamp) -> Outcome<Vec<(UserId, BestScore)>> {
    let mut outcome = Outcome::new(Vec::new());
    for &(user_id, score) in scores {
        if state.improves(user_id, score)
            && !outcome.reply.iter().any(|(u, b): &(UserId, BestScore)| *u == user_id && b.score >= score)
        {
            outcome.effects.push(Effect::UpsertBestScore {
                leaderboard_id: state.id.clone(),
                season: state.season,
                user_id,
                score,
                at: now,
            });
            outcome.reply.retain(|(u, _)| *u != user_id);
            outcome.reply.push((user_id, BestScore { score, achieved_at: now }));
        }
    }
    outcome
}

/// Archives the current season and opens the next, empty.
pub fn reset(state: &BoardState, now: Timestamp) -> Outcome<u32> {
    let season = state.season + 1;
    let data = LeaderboardReset { leaderboard_id: state.id.clone(), archived_season: state.season, season };
    Outcome::new(season)
        .effect(Effect::ResetLeaderboard {
            leaderboard_id: state.id.clone(),
            archived_season: state.season,
            season,
            at: now,
        })
        .event(EventDraft::for_leaderboard(&state.id, EventData::LeaderboardReset(data)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(secs: i64) -> Timestamp {
        chrono::DateTime::from_timestamp(1_700_000_000 + secs, 0).expect("valid instant")
    }

    proptest! {
        #[test]
        fn ranks_equal_a_sort_of_best_scores(ops in proptest::collection::vec((0u8..20, 0i64..50, any::<bool>()), 0..300)) {
            let mut board = BoardState::new("b".into(), "B".into(), 1);
            for (i, (user, score, reset_now)) in ops.into_iter().enumerate() {
                if reset_now && i % 37 == 0 {
                    board = BoardState::new("b".into(), "B".into(), reset(&board, at(0)).reply);
                    continue;
                }
                let user = uuid::Uuid::from_u128(u128::from(user) + 1);
                for (u, best) in submit(&board, &[(user, score)], at(i as i64)).reply {
                    board.record(u, BestScore { score: best.score, achieved_at: best.achieved_at });
                }
                let mut model: Vec<_> = board.best.iter().map(|(u, b)| (Reverse(b.score), b.achieved_at, *u)).collect();
                model.sort();
                let page = board.page(0, model.len());
                prop_assert_eq!(page.len(), model.len());
                for (row, key) in page.iter().zip(&model) {
                    prop_assert_eq!((row.user_id, row.score), (key.2, key.0.0));
                    prop_assert_eq!(board.rank_of(row.user_id).map(|r| r.rank), Some(row.rank));
                }
            }
        }
    }
}
