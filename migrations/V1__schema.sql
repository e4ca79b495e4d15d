-- The whole normalized (3NF) schema of PZO Season 0, for all eight services.
-- Every rule the server relies on is also a constraint here, so a bug cannot store a bad row.

-- User -----------------------------------------------------------------------------------
CREATE TABLE users (
    id            uuid PRIMARY KEY,
    email         text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    password_hash text NOT NULL,
    display_name  text NOT NULL CHECK (length(display_name) BETWEEN 2 AND 32),
    created_at    timestamptz NOT NULL
);
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));
CREATE INDEX users_created_at_idx ON users (created_at, id);

CREATE TABLE user_preferences (
    user_id             uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    locale              text NOT NULL,
    sound_enabled       boolean NOT NULL,
    music_volume        smallint NOT NULL CHECK (music_volume BETWEEN 0 AND 100),
    show_on_leaderboard boolean NOT NULL,
    updated_at          timestamptz NOT NULL
);

-- Bearer tokens are random; only their SHA-256 is stored.
CREATE TABLE sessions (
    token_hash bytea PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

-- Waitlist ---------------------------------------------------------------------------------
CREATE TABLE waitlist (
    id             uuid PRIMARY KEY,
    user_id        uuid NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    -- Join order; referrals move an entry up by lowering its queue_key, never its join_seq.
    join_seq       bigint NOT NULL UNIQUE,
    referral_code  text NOT NULL UNIQUE,
    referred_by    uuid REFERENCES waitlist (id),
    status         text NOT NULL CHECK (status IN ('waiting', 'admitted', 'removed')),
    founder_number integer UNIQUE CHECK (founder_number >= 1),
    joined_at      timestamptz NOT NULL,
    admitted_at    timestamptz,
    CHECK ((status = 'waiting') OR (status = 'removed') OR admitted_at IS NOT NULL)
);
CREATE INDEX waitlist_status_seq_idx ON waitlist (status, join_seq);

-- The audit history of every status change of an entry.
CREATE TABLE waitlist_status (
    id         bigserial PRIMARY KEY,
    entry_id   uuid NOT NULL REFERENCES waitlist (id) ON DELETE CASCADE,
    from_status text CHECK (from_status IN ('waiting', 'admitted', 'removed')),
    to_status  text NOT NULL CHECK (to_status IN ('waiting', 'admitted', 'removed')),
    changed_by uuid REFERENCES users (id),
    reason     text NOT NULL,
    changed_at timestamptz NOT NULL
);
CREATE INDEX waitlist_status_entry_idx ON waitlist_status (entry_id, id);

-- Queue moves from referrals: the referrer's entry moved ahead of `moved_before_seq`.
CREATE TABLE waitlist_referrals (
    referrer_entry_id uuid NOT NULL REFERENCES waitlist (id) ON DELETE CASCADE,
    referred_entry_id uuid PRIMARY KEY REFERENCES waitlist (id) ON DELETE CASCADE,
    places_moved      integer NOT NULL CHECK (places_moved >= 0),
    created_at        timestamptz NOT NULL
);
CREATE INDEX waitlist_referrals_referrer_idx ON waitlist_referrals (referrer_entry_id);

-- Game -------------------------------------------------------------------------------------
CREATE TABLE games (
    id          uuid PRIMARY KEY,
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    host_id     uuid NOT NULL REFERENCES users (id),
    status      text NOT NULL CHECK (status IN ('open', 'started', 'finished', 'closed')),
    max_players integer NOT NULL CHECK (max_players BETWEEN 2 AND 64),
    min_players integer NOT NULL CHECK (min_players BETWEEN 2 AND max_players),
    created_at  timestamptz NOT NULL,
    started_at  timestamptz,
    finished_at timestamptz
);
CREATE INDEX games_status_created_idx ON games (status, created_at, id);
CREATE INDEX games_created_idx ON games (created_at, id);

CREATE TABLE game_players (
    game_id   uuid NOT NULL REFERENCES games (id) ON DELETE CASCADE,
    user_id   uuid NOT NULL REFERENCES users (id),
    joined_at timestamptz NOT NULL,
    left_at   timestamptz,
    score     bigint,
    PRIMARY KEY (game_id, user_id)
);
-- One active membership per player at most.
CREATE INDEX game_players_user_active_idx ON game_players (user_id) WHERE left_at IS NULL;

-- Catalog ----------------------------------------------------------------------------------
CREATE TABLE items (
    id        text PRIMARY KEY,
    name      text NOT NULL,
    stackable boolean NOT NULL,
    max_stack bigint NOT NULL CHECK (max_stack >= 1)
);

CREATE TABLE currencies (
    id   text PRIMARY KEY,
    name text NOT NULL
);

CREATE TABLE achievements (
    id             text PRIMARY KEY,
    name           text NOT NULL,
    description    text NOT NULL,
    condition_kind text NOT NULL CHECK (condition_kind IN ('games_completed', 'best_score', 'founder')),
    threshold      bigint NOT NULL CHECK (threshold >= 0)
);

CREATE TABLE cosmetics (
    id                   text PRIMARY KEY,
    name                 text NOT NULL,
    price_currency_id    text REFERENCES currencies (id),
    price_amount         bigint CHECK (price_amount > 0),
    required_achievement text REFERENCES achievements (id),
    CHECK ((price_currency_id IS NULL) = (price_amount IS NULL))
);

CREATE TABLE leaderboard (
    id         text PRIMARY KEY,
    name       text NOT NULL,
    season     integer NOT NULL CHECK (season >= 1)
);

-- Every season a board has had: the current one has archived_at NULL.
CREATE TABLE leaderboard_seasons (
    leaderboard_id text NOT NULL REFERENCES leaderboard (id),
    season         integer NOT NULL CHECK (season >= 1),
    started_at     timestamptz NOT NULL,
    archived_at    timestamptz,
    PRIMARY KEY (leaderboard_id, season)
);

-- Player state -----------------------------------------------------------------------------
CREATE TABLE inventory (
    user_id  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    item_id  text NOT NULL REFERENCES items (id),
    quantity bigint NOT NULL CHECK (quantity >= 0 AND quantity <= 9007199254740991),
    PRIMARY KEY (user_id, item_id)
);

CREATE TABLE balances (
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    currency_id text NOT NULL REFERENCES currencies (id),
    balance     bigint NOT NULL CHECK (balance >= 0 AND balance <= 9007199254740991),
    PRIMARY KEY (user_id, currency_id)
);

-- The ledger: every balance change is one row; a balance equals the sum of its amounts.
CREATE TABLE transactions (
    id            uuid PRIMARY KEY,
    user_id       uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    currency_id   text NOT NULL REFERENCES currencies (id),
    kind          text NOT NULL CHECK (kind IN ('deposit', 'withdrawal', 'purchase')),
    amount        bigint NOT NULL CHECK (amount <> 0),
    balance_after bigint NOT NULL CHECK (balance_after >= 0 AND balance_after <= 9007199254740991),
    reference     text,
    created_at    timestamptz NOT NULL,
    seq           bigserial NOT NULL
);
CREATE INDEX transactions_user_currency_idx ON transactions (user_id, currency_id, seq DESC);

CREATE TABLE player_stats (
    user_id         uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    games_completed bigint NOT NULL DEFAULT 0 CHECK (games_completed >= 0),
    best_score      bigint NOT NULL DEFAULT 0 CHECK (best_score >= 0)
);

-- Each player's best score per board and season; ties rank by the earlier achieved_at.
CREATE TABLE player_scores (
    leaderboard_id text NOT NULL,
    season         integer NOT NULL,
    user_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    score          bigint NOT NULL CHECK (score >= 0),
    achieved_at    timestamptz NOT NULL,
    PRIMARY KEY (leaderboard_id, season, user_id),
    FOREIGN KEY (leaderboard_id, season) REFERENCES leaderboard_seasons (leaderboard_id, season)
);
CREATE INDEX player_scores_rank_idx ON player_scores (leaderboard_id, season, score DESC, achieved_at);

CREATE TABLE player_achievements (
    user_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    achievement_id text NOT NULL REFERENCES achievements (id),
    unlocked_at    timestamptz NOT NULL,
    PRIMARY KEY (user_id, achievement_id)
);

CREATE TABLE player_cosmetics (
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    cosmetic_id text NOT NULL REFERENCES cosmetics (id),
    unlocked_at timestamptz NOT NULL,
    PRIMARY KEY (user_id, cosmetic_id)
);

-- Events and idempotency -------------------------------------------------------------------
-- seq is assigned by the journal in commit order (one writer), so it has no gaps.
CREATE TABLE events (
    seq        bigint PRIMARY KEY,
    type       text NOT NULL,
    aggregate  text NOT NULL,
    user_id    uuid,
    game_id    uuid,
    leaderboard_id text,
    payload    jsonb NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX events_user_seq_idx ON events (user_id, seq) WHERE user_id IS NOT NULL;
CREATE INDEX events_game_seq_idx ON events (game_id, seq) WHERE game_id IS NOT NULL;

-- A mutating request's key, the hash of its payload and its first answer (kept >= 24 h).
CREATE TABLE idempotency_keys (
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key          text NOT NULL,
    operation    text NOT NULL,
    request_hash bytea NOT NULL,
    response     jsonb NOT NULL,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
