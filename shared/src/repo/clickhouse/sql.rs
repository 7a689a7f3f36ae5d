//! Every DDL and query string of the ClickHouse backend, in one place, so one
//! test can run them all on a current engine (chdb) and the contract suite runs
//! them on the old server (ClickHouse 18.16, Debian's package). Hence only
//! syntax both accept: no `{name:Type}` query parameters (18.16 has none), no
//! DateTime64 (added in 20.1: timestamps are `DateTime('UTC')`, whole seconds,
//! which is what the domain's `Timestamp` holds), no Bool type (`UInt8`).
//!
//! Values reach SQL two ways only: row data as JSON lines after
//! `INSERT ... FORMAT JSONEachRow` (serde writes them, the server parses them as
//! data, never as SQL), and in queries as string literals through [`lit`] or as
//! integers formatted from Rust integer types. Table names are constants here.
//! The database is not named in any statement: it travels as the HTTP
//! `database` parameter.

/// Append-only, totally ordered logs (engine `Log`): the tables that decide
/// races. See the module comment of `clickhouse/mod.rs` for why `Log`.
pub const USER_CLAIMS: &str = "user_claims";
pub const INVOICE_CLAIMS: &str = "invoice_claims";
pub const STATUS_CLAIMS: &str = "status_claims";
pub const SEED_CLAIMS: &str = "seed_claims";
pub const ID_LOG: &str = "id_log";
/// Idempotency keys: leases per generation (`owner` is `<user id>:<key>`), and
/// the one remembered result per period (a claim log keyed `<period>:<owner>`).
pub const IDEM_LEASES: &str = "idem_leases";
pub const IDEM_RESULTS: &str = "idem_results";
/// Refresh tokens: spending one is the first claim on its hash; a session is
/// revoked by a row in its log; failed logins are rows counted over a window.
pub const TOKEN_SPENDS: &str = "token_spends";
pub const SESSION_REVOCATIONS: &str = "session_revocations";
pub const LOGIN_FAILURES: &str = "login_failures";

/// The materialised entities, read by key.
pub const USERS: &str = "users";
/// Role changes (an operator's `admin grant|revoke`): the highest version per
/// user is its role; a user with no row is a customer.
pub const USER_ROLES: &str = "user_roles";
pub const PRODUCTS: &str = "products";
pub const ORDERS: &str = "orders";
pub const INVOICES: &str = "invoices";
pub const SESSIONS: &str = "sessions";
pub const REFRESH_TOKENS: &str = "refresh_tokens";

/// The schema, idempotent (`IF NOT EXISTS`), in dependency-free order.
pub const SCHEMA: &[&str] = &[
    // Claim logs: `key` names what is contended for, `token` is the
    // contender's random 64-bit id, `payload` the full value it proposes (so
    // the first claim alone determines the outcome, even if its writer dies).
    "CREATE TABLE IF NOT EXISTS user_claims (key String, token UInt64, payload String) ENGINE = Log",
    "CREATE TABLE IF NOT EXISTS invoice_claims (key String, token UInt64, payload String) ENGINE = Log",
    "CREATE TABLE IF NOT EXISTS status_claims (key String, token UInt64, payload String) ENGINE = Log",
    "CREATE TABLE IF NOT EXISTS seed_claims (key String, token UInt64, payload String) ENGINE = Log",
    // A claim on an idempotency key, per generation: the first row of a
    // generation holds it; a lapsed lease is taken over by the next generation.
    "CREATE TABLE IF NOT EXISTS idem_leases (owner String, generation UInt64, token UInt64, payload String) ENGINE = Log",
    "CREATE TABLE IF NOT EXISTS idem_results (key String, token UInt64, payload String) ENGINE = Log",
    // A spend of a refresh token (key: its SHA-256), carrying its successor:
    // the first claim on a hash is the one rotation that happened.
    "CREATE TABLE IF NOT EXISTS token_spends (key String, token UInt64, payload String) ENGINE = Log",
    // A session is revoked once any row names it (logout, or reuse of a spent token).
    "CREATE TABLE IF NOT EXISTS session_revocations (session_id String, revoked_at DateTime('UTC')) ENGINE = Log",
    // One row per failed login, with the window it counts in (opened by the
    // first failure after the previous window closed).
    "CREATE TABLE IF NOT EXISTS login_failures (name_key String, at DateTime('UTC'), opened_at DateTime('UTC')) ENGINE = Log",
    // One row per id ever handed out; an id is its row's position (1-based).
    "CREATE TABLE IF NOT EXISTS id_log (token UInt64) ENGINE = Log",
    // Written only after winning the name; duplicates (a winner and a helper
    // writing the same claimed row) are identical and collapse on merge.
    "CREATE TABLE IF NOT EXISTS users (
        name_key String,
        id Int64,
        username String,
        password_hash String,
        created_at DateTime('UTC')
    ) ENGINE = ReplacingMergeTree ORDER BY name_key",
    // Versions come from the id log, so a later change has a higher one.
    "CREATE TABLE IF NOT EXISTS user_roles (
        user_id Int64,
        version Int64,
        role String
    ) ENGINE = MergeTree ORDER BY (user_id, version)",
    // A product is its creation row (version 0, every field set) plus one row
    // per partial update (only the changed fields set); the current product is
    // the latest non-NULL value of each field (argMax skips NULLs).
    "CREATE TABLE IF NOT EXISTS products (
        id Int64,
        version UInt64,
        name Nullable(String),
        description Nullable(String),
        price_cents Nullable(Int64),
        category Nullable(String),
        in_stock Nullable(UInt8),
        created_at Nullable(DateTime('UTC')),
        updated_at Nullable(DateTime('UTC'))
    ) ENGINE = MergeTree ORDER BY (id, version)",
    // Orders never change: one row each.
    "CREATE TABLE IF NOT EXISTS orders (
        id Int64,
        user_id Int64,
        username String,
        items String,
        subtotal_cents Int64,
        tax_cents Int64,
        total_cents Int64,
        status String,
        created_at DateTime('UTC')
    ) ENGINE = MergeTree ORDER BY (user_id, id)",
    // One full row per invoice version (0 at creation, +1 per status move);
    // reads take the highest version, merges drop the older ones.
    "CREATE TABLE IF NOT EXISTS invoices (
        id Int64,
        version UInt32,
        order_id Int64,
        user_id Int64,
        username String,
        items String,
        subtotal_cents Int64,
        tax_cents Int64,
        total_cents Int64,
        status String,
        status_history String,
        created_at DateTime('UTC'),
        due_date DateTime('UTC')
    ) ENGINE = ReplacingMergeTree(version) ORDER BY (user_id, id)",
    // Written once per login, never changed.
    "CREATE TABLE IF NOT EXISTS sessions (
        id String,
        user_id Int64,
        username String,
        created_at DateTime('UTC')
    ) ENGINE = MergeTree ORDER BY id",
    // Issued refresh tokens by hash (never the token); whether one is spent
    // is decided by `token_spends`, whether its session lives by `session_revocations`.
    "CREATE TABLE IF NOT EXISTS refresh_tokens (
        token_hash String,
        session_id String,
        expires_at DateTime('UTC')
    ) ENGINE = MergeTree ORDER BY token_hash",
];

/// A ClickHouse string literal: backslash and quote escaped (ClickHouse reads
/// backslash escapes inside quotes), NUL written as `\0` so no raw control
/// byte can end a statement early in any tool that logs it.
pub fn lit(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\0' => out.push_str("\\0"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// `database` is checked by the configuration to be `[A-Za-z0-9_]+`; quoted
/// anyway, so a future caller cannot turn it into SQL.
pub fn create_database(database: &str) -> String {
    format!(
        "CREATE DATABASE IF NOT EXISTS `{}`",
        database.replace('\\', "\\\\").replace('`', "\\`")
    )
}

/// The head of an insert whose rows follow as JSON lines.
pub fn insert(table: &'static str) -> String {
    format!("INSERT INTO {table} FORMAT JSONEachRow")
}

/// The first claim on `key`, in log order. `max_threads = 1` makes the `Log`
/// table a single stream read from its start, so "first row returned" is
/// "first row appended".
pub fn first_claim(log: &'static str, key: &str) -> String {
    format!(
        "SELECT token FROM {log} WHERE key = {} LIMIT 1 SETTINGS max_threads = 1",
        lit(key)
    )
}

/// The first lease of the highest generation claimed for an idempotency key.
pub fn latest_lease(owner: &str) -> String {
    let owner = lit(owner);
    format!(
        "SELECT generation, token, payload FROM idem_leases WHERE owner = {owner} \
         AND generation = (SELECT max(generation) FROM idem_leases WHERE owner = {owner}) \
         LIMIT 1 SETTINGS max_threads = 1"
    )
}

/// The first lease appended for one generation of a key: its holder.
pub fn lease_holder(owner: &str, generation: u64) -> String {
    format!(
        "SELECT token FROM idem_leases WHERE owner = {} AND generation = {generation} \
         LIMIT 1 SETTINGS max_threads = 1",
        lit(owner)
    )
}

/// The lease a token appended for a key (its generation and payload).
pub fn lease_of(owner: &str, token: u64) -> String {
    format!(
        "SELECT generation, payload FROM idem_leases WHERE owner = {} AND token = {token} LIMIT 1",
        lit(owner)
    )
}

/// The payload of one claim.
pub fn claim_payload(log: &'static str, key: &str, token: u64) -> String {
    format!(
        "SELECT payload FROM {log} WHERE key = {} AND token = {token} LIMIT 1",
        lit(key)
    )
}

/// The positions (1-based, in append order) of the given tokens in the id
/// log. The tokens are picked out by aggregate `-If` functions rather than an
/// outer `WHERE`, because ClickHouse may push such a `WHERE` below the row
/// numbering (18.16 does with `enable_optimize_predicate_expression = 1`).
pub fn id_positions(tokens: &[u64]) -> String {
    let set = tokens
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "SELECT groupArrayIf(token, has([{set}], token)) AS tokens, groupArrayIf(pos, has([{set}], token)) AS positions
         FROM (SELECT token, rowNumberInAllBlocks() + 1 AS pos FROM id_log SETTINGS max_threads = 1)
         SETTINGS max_threads = 1"
    )
}

pub fn user_by_name_key(name_key: &str) -> String {
    format!(
        "SELECT id, username, password_hash, toUnixTimestamp(created_at) AS created_s
         FROM users WHERE name_key = {} LIMIT 1",
        lit(name_key)
    )
}

/// The role of a user, from its latest change; no row when it never changed.
pub fn role_of(user_id: i64) -> String {
    format!(
        "SELECT argMax(role, version) AS role FROM user_roles WHERE user_id = {user_id} GROUP BY user_id"
    )
}

/// The current state of products, field by field; `max(version)` is aliased
/// apart from the column, or `argMax(.., version)` would read the alias.
const PRODUCT_STATE: &str = "SELECT id,
        argMax(name, version) AS name,
        argMax(description, version) AS description,
        argMax(price_cents, version) AS price_cents,
        argMax(category, version) AS category,
        argMax(in_stock, version) AS in_stock,
        toUnixTimestamp(argMax(created_at, version)) AS created_s,
        toUnixTimestamp(argMax(updated_at, version)) AS updated_s,
        max(version) AS latest_version
    FROM products";

pub fn product_by_id(id: i64) -> String {
    format!("{PRODUCT_STATE} WHERE id = {id} GROUP BY id")
}

/// Products after `after` by ascending id; the category filter applies to the
/// current category (it may have been changed by an update).
pub fn products_page(category: Option<&str>, after: i64, limit: u32) -> String {
    let having = category
        .map(|c| format!("HAVING category = {}", lit(c)))
        .unwrap_or_default();
    format!("{PRODUCT_STATE} WHERE id > {after} GROUP BY id {having} ORDER BY id LIMIT {limit}")
}

/// How many of the given products exist (seed helpers check the winner's rows).
pub fn products_present(ids: &[i64]) -> String {
    let set = ids
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    format!("SELECT uniqExact(id) AS n FROM products WHERE id IN ({set})")
}

const ORDER_COLUMNS: &str =
    "SELECT id, user_id, username, items, subtotal_cents, tax_cents, total_cents, status,
        toUnixTimestamp(created_at) AS created_s
    FROM orders";

pub fn order_by_id(id: i64) -> String {
    format!("{ORDER_COLUMNS} WHERE id = {id} LIMIT 1")
}

/// `LIMIT 1 BY id`: an order decided by an idempotency result may be written
/// twice, identically, by its winner and by a reader helping it (see
/// `clickhouse/idempotency.rs`); a list shows it once.
pub fn orders_page(user_id: i64, before: i64, limit: u32) -> String {
    format!(
        "{ORDER_COLUMNS} WHERE user_id = {user_id} AND id < {before} ORDER BY id DESC \
         LIMIT 1 BY id LIMIT {limit}"
    )
}

/// Each invoice's highest version only (`LIMIT 1 BY id` after sorting
/// versions down): correct whether or not merges have dropped old versions.
const INVOICE_COLUMNS: &str =
    "SELECT id, version, order_id, user_id, username, items, subtotal_cents, tax_cents,
        total_cents, status, status_history,
        toUnixTimestamp(created_at) AS created_s, toUnixTimestamp(due_date) AS due_s
    FROM invoices";

pub fn invoice_by_id(id: i64) -> String {
    format!("{INVOICE_COLUMNS} WHERE id = {id} ORDER BY version DESC LIMIT 1")
}

pub fn invoice_by_order(order_id: i64) -> String {
    format!("{INVOICE_COLUMNS} WHERE order_id = {order_id} ORDER BY version DESC LIMIT 1")
}

pub fn invoices_page(user_id: i64, before: i64, limit: u32) -> String {
    format!(
        "{INVOICE_COLUMNS} WHERE user_id = {user_id} AND id < {before}
         ORDER BY id DESC, version DESC LIMIT 1 BY id LIMIT {limit}"
    )
}

pub fn invoice_version_exists(id: i64, version: u32) -> String {
    format!("SELECT count() AS n FROM invoices WHERE id = {id} AND version = {version}")
}

/// The session and expiry of an issued refresh token.
pub fn refresh_token(token_hash: &str) -> String {
    format!(
        "SELECT session_id, toUnixTimestamp(expires_at) AS expires_s FROM refresh_tokens \
         WHERE token_hash = {} LIMIT 1",
        lit(token_hash)
    )
}

pub fn session_by_id(session_id: &str) -> String {
    format!(
        "SELECT user_id, username FROM sessions WHERE id = {} LIMIT 1",
        lit(session_id)
    )
}

pub fn session_revoked(session_id: &str) -> String {
    format!(
        "SELECT count() AS n FROM session_revocations WHERE session_id = {}",
        lit(session_id)
    )
}

/// When the latest failure window of a name opened (0: never).
pub fn latest_failure_window(name_key: &str) -> String {
    format!(
        "SELECT toUnixTimestamp(max(opened_at)) AS opened_s FROM login_failures WHERE name_key = {}",
        lit(name_key)
    )
}

/// The failures in windows opened after `since` (those still open), and
/// when the first of them opened.
pub fn failures_since(name_key: &str, since: i64) -> String {
    format!(
        "SELECT count() AS failures, toUnixTimestamp(min(opened_at)) AS opened_s \
         FROM login_failures WHERE name_key = {} AND toUnixTimestamp(opened_at) > {since}",
        lit(name_key)
    )
}

pub const PING: &str = "SELECT 1";

/// One statement of the catalogue below: its name, the SQL, for inserts the
/// JSON lines that follow it, and for the queries whose answer depends on
/// engine behaviour this backend relies on (log order, alias resolution,
/// NULL-skipping argMax) the expected answer as JSON lines.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Example {
    pub name: &'static str,
    pub sql: String,
    pub data: Option<String>,
    pub expect: Option<&'static str>,
}

/// Every statement this backend sends, with sample values, in an order that
/// runs on an empty database: the schema, one insert per table, then every
/// query. Fed to a current ClickHouse engine (chdb) by a test, and to the
/// 18.16 test server by the contract tests.
pub fn catalogue() -> Vec<Example> {
    let ex = |name, sql: String| Example {
        name,
        sql,
        data: None,
        expect: None,
    };
    let check = |name, sql: String, expect| Example {
        name,
        sql,
        data: None,
        expect: Some(expect),
    };
    let ins = |name, table, data: &str| Example {
        name,
        sql: insert(table),
        data: Some(data.to_owned()),
        expect: None,
    };
    let mut all: Vec<Example> = SCHEMA
        .iter()
        .map(|s| ex("schema", (*s).to_owned()))
        .collect();
    all.extend([
        ins("claim", USER_CLAIMS, r#"{"key":"alice","token":7,"payload":"{}"}"#),
        ins("claim", USER_CLAIMS, r#"{"key":"bob","token":3,"payload":"{}"}"#),
        ins("claim", USER_CLAIMS, r#"{"key":"alice","token":2,"payload":"{\"late\":1}"}"#),
        ins("claim", INVOICE_CLAIMS, r#"{"key":"1","token":7,"payload":"{}"}"#),
        ins("claim", STATUS_CLAIMS, r#"{"key":"1:0","token":7,"payload":"{}"}"#),
        ins("claim", SEED_CLAIMS, r#"{"key":"catalog","token":7,"payload":"[]"}"#),
        ins(
            "lease",
            IDEM_LEASES,
            r#"{"owner":"1:k","generation":0,"token":5,"payload":"{}"}
{"owner":"1:k","generation":1,"token":9,"payload":"{}"}
{"owner":"1:k","generation":1,"token":4,"payload":"{}"}"#,
        ),
        ins("result", IDEM_RESULTS, r#"{"key":"0:1:k","token":9,"payload":"{}"}"#),
        ins("spend", TOKEN_SPENDS, r#"{"key":"ab12","token":7,"payload":"{}"}"#),
        ins(
            "revocation",
            SESSION_REVOCATIONS,
            r#"{"session_id":"s1","revoked_at":1790000000}"#,
        ),
        ins(
            "failure",
            LOGIN_FAILURES,
            r#"{"name_key":"alice","at":1790000000,"opened_at":1790000000}
{"name_key":"alice","at":1790000060,"opened_at":1790000000}"#,
        ),
        ins(
            "session",
            SESSIONS,
            r#"{"id":"s1","user_id":1,"username":"Alice","created_at":1790000000}"#,
        ),
        ins(
            "refresh_token",
            REFRESH_TOKENS,
            r#"{"token_hash":"ab12","session_id":"s1","expires_at":1792592000}"#,
        ),
        ins("ids", ID_LOG, "{\"token\":7}\n{\"token\":9}"),
        ins("ids", ID_LOG, "{\"token\":8}"),
        ins(
            "user",
            USERS,
            r#"{"name_key":"alice","id":1,"username":"Alice","password_hash":"h","created_at":1790000000}"#,
        ),
        ins(
            "product",
            PRODUCTS,
            r#"{"id":1,"version":0,"name":"Lamp","description":"d","price_cents":100,"category":"home","in_stock":1,"created_at":1790000000,"updated_at":1790000000}
{"id":1,"version":5,"name":null,"description":null,"price_cents":90,"category":null,"in_stock":null,"created_at":null,"updated_at":1790000005}"#,
        ),
        ins(
            "order",
            ORDERS,
            r#"{"id":2,"user_id":1,"username":"Alice","items":"[]","subtotal_cents":1,"tax_cents":0,"total_cents":1,"status":"pending","created_at":1790000000}"#,
        ),
        ins(
            "invoice",
            INVOICES,
            r#"{"id":3,"version":0,"order_id":2,"user_id":1,"username":"Alice","items":"[]","subtotal_cents":1,"tax_cents":0,"total_cents":1,"status":"draft","status_history":"[]","created_at":1790000000,"due_date":1792592000}"#,
        ),
        // The first appended claim wins, though a later one has a smaller token.
        check("first_claim", first_claim(USER_CLAIMS, "alice"), r#"{"token":7}"#),
        check("claim_payload", claim_payload(USER_CLAIMS, "alice", 2), r#"{"payload":"{\"late\":1}"}"#),
        // The highest generation's first lease, in append order.
        check("latest_lease", latest_lease("1:k"), r#"{"generation":1,"token":9,"payload":"{}"}"#),
        check("latest_lease_none", latest_lease("2:k"), ""),
        check("lease_holder", lease_holder("1:k", 1), r#"{"token":9}"#),
        check("lease_of", lease_of("1:k", 4), r#"{"generation":1,"payload":"{}"}"#),
        check("first_result", first_claim(IDEM_RESULTS, "0:1:k"), r#"{"token":9}"#),
        ex("claim_payload_escaped", claim_payload(USER_CLAIMS, "it's \\ tricky", 7)),
        // Positions follow append order, whatever the tokens' values.
        check("id_positions", id_positions(&[8, 7]), r#"{"tokens":[7,8],"positions":[1,3]}"#),
        ex("user_by_name_key", user_by_name_key("alice")),
        ins(
            "role",
            USER_ROLES,
            r#"{"user_id":1,"version":9,"role":"admin"}
{"user_id":1,"version":4,"role":"customer"}"#,
        ),
        check("role_of", role_of(1), r#"{"role":"admin"}"#),
        check("role_of_none", role_of(2), ""),
        // Each field from the latest version that set it.
        check(
            "product_by_id",
            product_by_id(1),
            r#"{"id":1,"name":"Lamp","description":"d","price_cents":90,"category":"home","in_stock":1,"created_s":1790000000,"updated_s":1790000005,"latest_version":5}"#,
        ),
        ex("products_page", products_page(None, 0, 51)),
        ex("products_page_category", products_page(Some("home"), 0, 51)),
        ex("products_present", products_present(&[1, 2])),
        ex("order_by_id", order_by_id(2)),
        ex("orders_page", orders_page(1, i64::MAX, 51)),
        ex("invoice_by_id", invoice_by_id(3)),
        ex("invoice_by_order", invoice_by_order(2)),
        ex("invoices_page", invoices_page(1, i64::MAX, 51)),
        ins(
            "invoice_moved",
            INVOICES,
            r#"{"id":3,"version":1,"order_id":2,"user_id":1,"username":"Alice","items":"[]","subtotal_cents":1,"tax_cents":0,"total_cents":1,"status":"sent","status_history":"[]","created_at":1790000000,"due_date":1792592000}"#,
        ),
        check(
            "invoices_page_latest_version",
            invoices_page(1, i64::MAX, 51),
            r#"{"id":3,"version":1,"order_id":2,"user_id":1,"username":"Alice","items":"[]","subtotal_cents":1,"tax_cents":0,"total_cents":1,"status":"sent","status_history":"[]","created_s":1790000000,"due_s":1792592000}"#,
        ),
        ex("invoice_version_exists", invoice_version_exists(3, 0)),
        check(
            "refresh_token",
            refresh_token("ab12"),
            r#"{"session_id":"s1","expires_s":1792592000}"#,
        ),
        check("refresh_token_none", refresh_token("cd34"), ""),
        check(
            "session_by_id",
            session_by_id("s1"),
            r#"{"user_id":1,"username":"Alice"}"#,
        ),
        check("session_revoked", session_revoked("s1"), r#"{"n":1}"#),
        check("session_not_revoked", session_revoked("s2"), r#"{"n":0}"#),
        check(
            "latest_failure_window",
            latest_failure_window("alice"),
            r#"{"opened_s":1790000000}"#,
        ),
        check(
            "latest_failure_window_none",
            latest_failure_window("bob"),
            r#"{"opened_s":0}"#,
        ),
        check(
            "failures_since",
            failures_since("alice", 1789999999),
            r#"{"failures":2,"opened_s":1790000000}"#,
        ),
        check(
            "failures_since_closed",
            failures_since("alice", 1790000000),
            r#"{"failures":0,"opened_s":0}"#,
        ),
        ex("ping", PING.to_owned()),
    ]);
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_escape_quotes_backslashes_and_nul() {
        assert_eq!(lit("plain"), "'plain'");
        assert_eq!(lit(""), "''");
        assert_eq!(lit("it's"), r"'it\'s'");
        assert_eq!(lit(r"a\b"), r"'a\\b'");
        // A trailing backslash must not escape the closing quote.
        assert_eq!(lit("x\\"), r"'x\\'");
        assert_eq!(
            lit(r"\'; DROP TABLE users; --"),
            r"'\\\'; DROP TABLE users; --'"
        );
        assert_eq!(lit("nul\0byte"), r"'nul\0byte'");
        assert_eq!(lit("ünï\ncode"), "'ünï\ncode'");
    }

    #[test]
    fn literals_never_leave_an_unescaped_quote() {
        for input in ["'", "\\'", "''", "\\\\'", "a'b\\'c\\\\'d", "\\"] {
            let out = lit(input);
            let inner = &out[1..out.len() - 1];
            // Walk the body as ClickHouse's lexer does: a backslash takes the next char.
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => assert!(chars.next().is_some(), "dangling backslash in {out}"),
                    '\'' => panic!("bare quote in {out}"),
                    _ => {}
                }
            }
        }
    }

    #[test]
    fn the_database_name_is_quoted() {
        assert_eq!(
            create_database("shop"),
            "CREATE DATABASE IF NOT EXISTS `shop`"
        );
        assert_eq!(
            create_database("a`b"),
            "CREATE DATABASE IF NOT EXISTS `a\\`b`"
        );
    }

    #[test]
    fn the_catalogue_covers_every_table() {
        let all = catalogue();
        for table in [
            USER_CLAIMS,
            INVOICE_CLAIMS,
            STATUS_CLAIMS,
            SEED_CLAIMS,
            IDEM_LEASES,
            IDEM_RESULTS,
            TOKEN_SPENDS,
            SESSION_REVOCATIONS,
            LOGIN_FAILURES,
            ID_LOG,
            USERS,
            SESSIONS,
            REFRESH_TOKENS,
            PRODUCTS,
            ORDERS,
            INVOICES,
        ] {
            assert!(
                all.iter().any(|e| e.sql == insert(table)),
                "no insert for {table}"
            );
            assert!(
                SCHEMA
                    .iter()
                    .any(|s| s.contains(&format!("EXISTS {table} "))),
                "no DDL for {table}"
            );
        }
    }
}
