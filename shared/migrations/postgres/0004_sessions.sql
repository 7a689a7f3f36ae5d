-- Sessions: one per login, a family of refresh tokens. `revoked_at` is set by
-- logout or by a spent token presented again. Times are Unix seconds.
CREATE TABLE sessions (
    id         TEXT    PRIMARY KEY,
    user_id    BIGINT  NOT NULL,
    username   TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    revoked_at BIGINT
);
-- Refresh tokens by SHA-256 (hex); never the token itself. A rotation sets
-- `spent_at` with one conditional UPDATE.
CREATE TABLE refresh_tokens (
    token_hash TEXT    PRIMARY KEY,
    session_id TEXT    NOT NULL REFERENCES sessions (id),
    expires_at BIGINT  NOT NULL,
    spent_at   BIGINT
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_expiry ON refresh_tokens (expires_at);
-- Failed logins per lower-cased username in a window opened by the first failure.
CREATE TABLE login_failures (
    name_key   TEXT    PRIMARY KEY,
    opened_at  BIGINT  NOT NULL,
    failures   BIGINT  NOT NULL
);
