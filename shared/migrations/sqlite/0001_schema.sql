-- Money is integer cents; timestamps are Unix seconds (UTC).
-- Order and invoice lines, and invoice status history, are JSON documents on
-- their parent row: immutable snapshots (or append-only) always read with it.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
);
-- Uniqueness is case-insensitive, decided by the database.
CREATE UNIQUE INDEX users_username_ci ON users (username COLLATE NOCASE);

CREATE TABLE products (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL,
    description TEXT    NOT NULL,
    price_cents INTEGER NOT NULL CHECK (price_cents >= 0),
    category    TEXT    NOT NULL,
    in_stock    BOOLEAN NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX products_category ON products (category, id);

-- One row, written once, in the same transaction as the sample products.
CREATE TABLE catalog_seed (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    seeded_at  INTEGER NOT NULL
);

CREATE TABLE orders (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id        INTEGER NOT NULL REFERENCES users (id),
    username       TEXT    NOT NULL,
    items          TEXT    NOT NULL,
    subtotal_cents INTEGER NOT NULL,
    tax_cents      INTEGER NOT NULL,
    total_cents    INTEGER NOT NULL,
    status         TEXT    NOT NULL DEFAULT 'pending',
    created_at     INTEGER NOT NULL
);
CREATE INDEX orders_user ON orders (user_id, id DESC);

CREATE TABLE invoices (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    -- At most one invoice per order, enforced here.
    order_id       INTEGER NOT NULL UNIQUE REFERENCES orders (id),
    user_id        INTEGER NOT NULL REFERENCES users (id),
    username       TEXT    NOT NULL,
    items          TEXT    NOT NULL,
    subtotal_cents INTEGER NOT NULL,
    tax_cents      INTEGER NOT NULL,
    total_cents    INTEGER NOT NULL,
    status         TEXT    NOT NULL CHECK (status IN ('draft', 'sent', 'paid', 'cancelled')),
    status_history TEXT    NOT NULL DEFAULT '[]',
    created_at     INTEGER NOT NULL,
    due_date       INTEGER NOT NULL
);
CREATE INDEX invoices_user ON invoices (user_id, id DESC);
