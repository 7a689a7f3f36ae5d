//! Everything that differs between SQLite and PostgreSQL, in one place.
//!
//! Two kinds of difference, each kept here:
//! - How a value crosses to each database. A `Timestamp` is Unix seconds in an
//!   SQLite INTEGER column and a PostgreSQL `timestamptz`; a `JsonDoc` is SQLite
//!   TEXT and PostgreSQL JSONB; an `IdList` is a JSON array that SQLite unpacks
//!   with `json_each` and a PostgreSQL `bigint[]`. Their `Encode`/`Decode`
//!   impls do the conversion, so the SQL text names plain columns and `$n`
//!   parameters on both (SQLite reads `$1` as parameter 1, as PostgreSQL does).
//! - The few statements no SQL serves both with (`Dialect`): case-insensitive
//!   user lookup, which must use each database's own index; "these ids";
//!   appending to a JSON array; each the shared statement with one fragment
//!   filled in. Then the keyed order's one round trip, whole per database
//!   (one PostgreSQL statement, one SQLite batch), and the error codes that
//!   mean "try again later".

use sqlx::Database;
use sqlx::decode::Decode;
use sqlx::encode::{Encode, IsNull};
use sqlx::error::BoxDynError;
use sqlx::migrate::Migrator;
use sqlx::types::Type;

use crate::domain::Timestamp;

/// What the shared store needs to know about one SQL database.
pub trait Dialect: Database {
    /// The `DB_DRIVER` name.
    const DRIVER: &'static str;
    /// `SELECT` a user (with the password hash) by name in any letter case.
    const USER_BY_NAME: &'static str;
    /// Sets the role (`$2`) of the user named `$1`, returning the user.
    const SET_USER_ROLE: &'static str;
    /// `SELECT` the products whose ids are in the `IdList` bound as `$1`.
    const PRODUCTS_BY_IDS: &'static str;
    /// Compare-and-set of an invoice's status (`$1` the new one, `$4` the one
    /// expected, `$3` the id) that appends the `JsonDoc` `$2` to its history.
    const TRANSITION_INVOICE: &'static str;
    /// Error codes that mean "try again later" (contention, shutdown,
    /// timeout), as opposed to "this request is wrong"...
    const TRANSIENT_CODES: &'static [&'static str];
    /// ...and code prefixes (classes) that mean the same.
    const TRANSIENT_CLASSES: &'static [&'static str];
    /// The source of the idempotency claim's new row (`$1` to `$6`); on
    /// PostgreSQL it also lets the claim's commit skip the wait for the disk
    /// (see `idempotency`).
    const CLAIM_ROW: &'static str;
    /// Places the order `$8` to `$15` (the columns of the plain `INSERT`)
    /// and stores its remembered response `$16` to `$19` (status, body
    /// template, the marker in it to replace with the order's id, location)
    /// for the claim `$1` to `$7` (as the claim binds it), in one atomic round
    /// trip, while the claim holds the key or taking the key when it is free;
    /// returns the order's `id`, or no row when the key is not the claim's.
    const PLACE_ANSWERED_ORDER: &'static str;

    /// This dialect's migrations, `migrations/<dialect>`.
    fn migrator() -> &'static Migrator;

    fn is_transient(code: &str) -> bool {
        Self::TRANSIENT_CODES.contains(&code)
            || Self::TRANSIENT_CLASSES
                .iter()
                .any(|class| code.starts_with(class))
    }
}

/// Implements `Dialect` from each database's fragments: the statements are
/// assembled here, once.
macro_rules! dialect {
    ($db:ty {
        driver: $driver:literal,
        migrations: $migrations:literal,
        username_matches: $username_matches:literal,
        id_in_list: $id_in_list:literal,
        append_to_history: $append_to_history:literal,
        transient_codes: [$($code:literal),* $(,)?],
        transient_classes: [$($class:literal),* $(,)?],
        claim_row: $claim_row:literal,
        place_answered_order: $place_answered_order:expr $(,)?
    }) => {
        impl Dialect for $db {
            const DRIVER: &'static str = $driver;
            const USER_BY_NAME: &'static str = concat!(
                "SELECT ",
                user_columns!(),
                " FROM users WHERE ",
                $username_matches
            );
            const SET_USER_ROLE: &'static str = concat!(
                "UPDATE users SET role = $2 WHERE ",
                $username_matches,
                " RETURNING id, username, created_at"
            );
            const PRODUCTS_BY_IDS: &'static str = concat!(
                "SELECT ",
                product_columns!(),
                " FROM products WHERE ",
                $id_in_list
            );
            const TRANSITION_INVOICE: &'static str = concat!(
                "UPDATE invoices SET status = $1, status_history = ",
                $append_to_history,
                " WHERE id = $3 AND status = $4 RETURNING ",
                invoice_columns!()
            );
            const TRANSIENT_CODES: &'static [&'static str] = &[$($code),*];
            const TRANSIENT_CLASSES: &'static [&'static str] = &[$($class),*];
            const CLAIM_ROW: &'static str = $claim_row;
            const PLACE_ANSWERED_ORDER: &'static str = $place_answered_order;

            fn migrator() -> &'static Migrator {
                static MIGRATOR: Migrator = sqlx::migrate!($migrations);
                &MIGRATOR
            }
        }
    };
}

#[cfg(feature = "sqlite")]
dialect!(sqlx::Sqlite {
    driver: "sqlite",
    migrations: "./migrations/sqlite",
    // The unique index is on `username COLLATE NOCASE`: the same collation uses it.
    username_matches: "username = $1 COLLATE NOCASE",
    // The ids travel as one JSON array.
    id_in_list: "id IN (SELECT value FROM json_each($1))",
    append_to_history: "json_insert(status_history, '$[#]', json($2))",
    // SQLITE_BUSY, SQLITE_LOCKED and their extended codes.
    transient_codes: ["5", "6", "261", "262", "517"],
    transient_classes: [],
    // WAL with synchronous=NORMAL: no commit waits for the disk already.
    claim_row: "VALUES ($1, $2, $3, $4, $5, $6)",
    // No statement writes two tables, so a batch in one call: sqlx runs every
    // statement of a query on its worker thread in one crossing (`$n` binds
    // the same argument in each). Inside `BEGIN IMMEDIATE` nothing else
    // writes, so the claim (a no-op when the claim holds the key already, or
    // someone else does) and the two conditions after it agree: the order and
    // its response are written for the claim's token, or nothing is.
    // A batch that fails part-way leaves the transaction open; the caller
    // then drops the connection, which rolls it back.
    place_answered_order: concat!(
        "BEGIN IMMEDIATE; ",
        claim_key!("VALUES ($1, $2, $3, $4, $5, $6)"),
        "; INSERT INTO orders (user_id, username, items, subtotal_cents, tax_cents, \
         total_cents, status, created_at) \
         SELECT $8, $9, $10, $11, $12, $13, $14, $15 WHERE EXISTS (SELECT 1 \
         FROM idempotency_keys \
         WHERE user_id = $1 AND idem_key = $2 AND token = $4 AND status IS NULL) \
         RETURNING id; \
         UPDATE idempotency_keys SET status = $16, \
         body = replace($17, $18, last_insert_rowid()), location = $19 \
         WHERE user_id = $1 AND idem_key = $2 AND token = $4 AND status IS NULL; \
         COMMIT;"
    ),
});

#[cfg(feature = "postgres")]
dialect!(sqlx::Postgres {
    driver: "postgres",
    migrations: "./migrations/postgres",
    // The unique index is on `lower(username)`: the same expression uses it.
    username_matches: "lower(username) = lower($1)",
    // The ids travel as one `bigint[]`.
    id_in_list: "id = ANY($1)",
    append_to_history: "status_history || jsonb_build_array($2)",
    // Serialization failure, deadlock, admin shutdown, crash shutdown, cannot
    // connect now, statement timeout; class 08: connection exceptions.
    transient_codes: ["40001", "40P01", "57P01", "57P02", "57P03", "57014"],
    transient_classes: ["08"],
    // `set_config(.., true)` is `SET LOCAL`: it lasts to the end of the
    // statement's own transaction, whose commit reads it.
    claim_row: "SELECT $1, $2, $3, $4, $5, $6 \
                FROM (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit",
    // One statement: the id is drawn first; the key's row is answered with
    // the response holding it (an upsert: taken when free, written when the
    // claim holds it, else left alone; a concurrent writer of the same key
    // makes it wait, then re-check); and the order is inserted only if it was.
    place_answered_order: concat!(
        "WITH assigned AS (SELECT nextval(pg_get_serial_sequence('orders', 'id')) AS id), \
         answered AS (",
        answer_key!(
            "SELECT $1, $2, $3, $4, $5, $6, $16, replace($17, $18, assigned.id::text), $19 \
             FROM assigned"
        ),
        " RETURNING 1) \
         INSERT INTO orders (id, user_id, username, items, subtotal_cents, tax_cents, \
         total_cents, status, created_at) OVERRIDING SYSTEM VALUE \
         SELECT assigned.id, $8, $9, $10, $11, $12, $13, $14, $15 \
         FROM assigned, answered RETURNING id"
    ),
});

/// A JSON document stored on its parent row (order lines, invoice lines,
/// status history), as the text `codec` reads and writes.
#[derive(Debug)]
pub(crate) struct JsonDoc(pub String);

/// Ids to match with `Dialect::PRODUCTS_BY_IDS`, bound as one parameter.
pub(crate) struct IdList<'a>(pub &'a [i64]);

#[cfg(feature = "sqlite")]
mod sqlite {
    use sqlx::Sqlite;
    use sqlx::sqlite::{SqliteArgumentsBuffer, SqliteTypeInfo, SqliteValueRef};

    use super::*;

    /// Unix seconds in an INTEGER column.
    impl Type<Sqlite> for Timestamp {
        fn type_info() -> SqliteTypeInfo {
            <i64 as Type<Sqlite>>::type_info()
        }

        fn compatible(ty: &SqliteTypeInfo) -> bool {
            <i64 as Type<Sqlite>>::compatible(ty)
        }
    }

    impl Encode<'_, Sqlite> for Timestamp {
        fn encode_by_ref(&self, buf: &mut SqliteArgumentsBuffer) -> Result<IsNull, BoxDynError> {
            Encode::<Sqlite>::encode(self.unix(), buf)
        }
    }

    impl<'r> Decode<'r, Sqlite> for Timestamp {
        fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
            Ok(Timestamp::from_unix(<i64 as Decode<Sqlite>>::decode(
                value,
            )?))
        }
    }

    /// JSON as TEXT.
    impl Type<Sqlite> for JsonDoc {
        fn type_info() -> SqliteTypeInfo {
            <String as Type<Sqlite>>::type_info()
        }

        fn compatible(ty: &SqliteTypeInfo) -> bool {
            <String as Type<Sqlite>>::compatible(ty)
        }
    }

    impl Encode<'_, Sqlite> for JsonDoc {
        fn encode_by_ref(&self, buf: &mut SqliteArgumentsBuffer) -> Result<IsNull, BoxDynError> {
            Encode::<Sqlite>::encode_by_ref(&self.0, buf)
        }
    }

    impl<'r> Decode<'r, Sqlite> for JsonDoc {
        fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
            Ok(JsonDoc(<String as Decode<Sqlite>>::decode(value)?))
        }
    }

    /// A JSON array as TEXT, for `json_each`.
    impl Type<Sqlite> for IdList<'_> {
        fn type_info() -> SqliteTypeInfo {
            <String as Type<Sqlite>>::type_info()
        }
    }

    impl Encode<'_, Sqlite> for IdList<'_> {
        fn encode_by_ref(&self, buf: &mut SqliteArgumentsBuffer) -> Result<IsNull, BoxDynError> {
            let ids: Vec<String> = self.0.iter().map(i64::to_string).collect();
            Encode::<Sqlite>::encode(format!("[{}]", ids.join(",")), buf)
        }
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use sqlx::Postgres;
    use sqlx::postgres::types::Oid;
    use sqlx::postgres::{PgArgumentBuffer, PgTypeInfo, PgValueFormat, PgValueRef};
    use time::OffsetDateTime;

    use super::*;

    /// The built-in `jsonb` type's OID, fixed by PostgreSQL (no lookup needed).
    const JSONB: PgTypeInfo = PgTypeInfo::with_oid(Oid(3802));
    /// The first byte of JSONB's binary form: its format version.
    const JSONB_VERSION: u8 = 1;

    /// A `timestamptz`, whole seconds.
    impl Type<Postgres> for Timestamp {
        fn type_info() -> PgTypeInfo {
            <OffsetDateTime as Type<Postgres>>::type_info()
        }
    }

    impl Encode<'_, Postgres> for Timestamp {
        fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
            Encode::<Postgres>::encode(OffsetDateTime::from_unix_timestamp(self.unix())?, buf)
        }
    }

    impl<'r> Decode<'r, Postgres> for Timestamp {
        fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
            let at = <OffsetDateTime as Decode<Postgres>>::decode(value)?;
            Ok(Timestamp::from_unix(at.unix_timestamp()))
        }
    }

    /// JSONB: on the wire, its text after a version byte (binary format) or
    /// its text alone (text format).
    impl Type<Postgres> for JsonDoc {
        fn type_info() -> PgTypeInfo {
            JSONB
        }
    }

    impl Encode<'_, Postgres> for JsonDoc {
        fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
            buf.push(JSONB_VERSION);
            buf.extend_from_slice(self.0.as_bytes());
            Ok(IsNull::No)
        }
    }

    impl<'r> Decode<'r, Postgres> for JsonDoc {
        fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
            let text = match value.format() {
                PgValueFormat::Text => value.as_str()?,
                PgValueFormat::Binary => match value.as_bytes()?.split_first() {
                    Some((&JSONB_VERSION, text)) => std::str::from_utf8(text)?,
                    _ => return Err("unsupported JSONB format version".into()),
                },
            };
            Ok(JsonDoc(text.to_owned()))
        }
    }

    /// A `bigint[]`, for `= ANY($1)`.
    impl Type<Postgres> for IdList<'_> {
        fn type_info() -> PgTypeInfo {
            <[i64] as Type<Postgres>>::type_info()
        }
    }

    impl Encode<'_, Postgres> for IdList<'_> {
        fn encode_by_ref(&self, buf: &mut PgArgumentBuffer) -> Result<IsNull, BoxDynError> {
            Encode::<Postgres>::encode(self.0, buf)
        }
    }
}
