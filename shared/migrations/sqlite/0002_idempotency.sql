-- Idempotency-Key records: one per (user, key). `token` names the request that
-- holds the key; `status`/`body`/`location` are the remembered response, NULL
-- while the request runs. Times are Unix seconds; a row past `expires_at` is
-- treated as absent and purged.
CREATE TABLE idempotency_keys (
    user_id     INTEGER NOT NULL,
    idem_key    TEXT    NOT NULL,
    fingerprint TEXT    NOT NULL,
    token       TEXT    NOT NULL,
    lease_until INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    status      INTEGER,
    body        TEXT,
    location    TEXT,
    PRIMARY KEY (user_id, idem_key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
