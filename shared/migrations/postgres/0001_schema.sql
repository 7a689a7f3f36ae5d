-- Money is integer cents (BIGINT); timestamps are timestamptz.
-- Order and invoice lines, and invoice status history, are JSONB documents on
-- their parent row: immutable snapshots (or append-only) always read with it.

CREATE TABLE users (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username      TEXT        NOT NULL,
    password_hash TEXT        NOT NULL,
    created_at    timestamptz NOT NULL
);
-- Uniqueness is case-insensitive, decided by the database.
CREATE UNIQUE INDEX users_username_ci ON users (lower(username));

CREATE TABLE products (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        TEXT        NOT NULL,
    description TEXT        NOT NULL,
    price_cents BIGINT      NOT NULL CHECK (price_cents >= 0),
    category    TEXT        NOT NULL,
    in_stock    BOOLEAN     NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);
CREATE INDEX products_category ON products (category, id);

-- One row, written once, in the same transaction as the sample products.
CREATE TABLE catalog_seed (
    id        INT PRIMARY KEY CHECK (id = 1),
    seeded_at timestamptz NOT NULL
);

CREATE TABLE orders (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id        BIGINT      NOT NULL REFERENCES users (id),
    username       TEXT        NOT NULL,
    items          JSONB       NOT NULL,
    subtotal_cents BIGINT      NOT NULL,
    tax_cents      BIGINT      NOT NULL,
    total_cents    BIGINT      NOT NULL,
    status         TEXT        NOT NULL DEFAULT 'pending',
    created_at     timestamptz NOT NULL
);
CREATE INDEX orders_user ON orders (user_id, id DESC);

CREATE TABLE invoices (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- At most one invoice per order, enforced here.
    order_id       BIGINT      NOT NULL UNIQUE REFERENCES orders (id),
    user_id        BIGINT      NOT NULL REFERENCES users (id),
    username       TEXT        NOT NULL,
    items          JSONB       NOT NULL,
    subtotal_cents BIGINT      NOT NULL,
    tax_cents      BIGINT      NOT NULL,
    total_cents    BIGINT      NOT NULL,
    status         TEXT        NOT NULL CHECK (status IN ('draft', 'sent', 'paid', 'cancelled')),
    status_history JSONB       NOT NULL DEFAULT '[]',
    created_at     timestamptz NOT NULL,
    due_date       timestamptz NOT NULL
);
CREATE INDEX invoices_user ON invoices (user_id, id DESC);
