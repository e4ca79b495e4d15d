-- Who saw an event live, for the events of a game: its members at the time (the live push's
-- audience). `events.resume` and `GET /events` give a player a game's events only where the
-- player is in it, so a resumed socket gets exactly what a connected one would have: not the
-- events from before the player joined nor after they left. NULL for other events (their
-- audience is their `user_id`, or a leaderboard's subscribers) and for events stored before
-- this column, which resume as before (to every player who was ever in the game).
ALTER TABLE events ADD COLUMN audience uuid[];
