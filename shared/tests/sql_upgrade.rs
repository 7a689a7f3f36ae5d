//! Upgrading a database written by the first release of the SQL stores.
//!
//! Each test builds the database that release leaves behind, frozen here: the
//! schema of migration 0001 only (`run_to(1)`, whatever migrations come
//! later), then rows written by the very statements that release ran, its SQL
//! and its JSON copied here so that they stay put as the store changes. Today's
//! store then opens it, migrations on, and must read every row back unchanged
//! through the repository traits, and keep working on them. As migrations
//! 0002... are added, the old database stays the same and these tests keep
//! proving that upgrading it loses nothing.

#![cfg(any(feature = "sqlite", feature = "postgres"))]

use shared::AppError;
use shared::domain::invoice::invoice_number;
use shared::domain::{
    Invoice, InvoiceItem, InvoiceStatus, Money, NewInvoice, NewOrder, NewUser, Order, OrderItem,
    PageRequest, Product, Quantity, Role, StatusChange, Timestamp, User, UserRecord, Username,
};
use shared::repo::Store;

/// 2026-01-01T00:00:00Z: the old rows were written from here on.
const T0: i64 = 1_767_225_600;
/// When Alice sent her invoice: `SENT_JSON` says the same.
const SENT_AT: i64 = T0 + 7_200;

const ALICE_ORDER_ITEMS_JSON: &str = r#"[{"product_id":1,"product_name":"Walnut desk","quantity":2,"unit_price_cents":24900,"total_cents":49800},{"product_id":3,"product_name":"Desk lamp","quantity":1,"unit_price_cents":3950,"total_cents":3950}]"#;
const BOB_ORDER_ITEMS_JSON: &str = r#"[{"product_id":2,"product_name":"Oak chair","quantity":4,"unit_price_cents":1999,"total_cents":7996}]"#;
const INVOICE_ITEMS_JSON: &str = r#"[{"product_id":1,"product_name":"Walnut desk","description":"Solid walnut, 140 cm","quantity":2,"unit_price_cents":24900,"total_cents":49800},{"product_id":3,"product_name":"Desk lamp","description":"LED, warm white","quantity":1,"unit_price_cents":3950,"total_cents":3950}]"#;
const SENT_JSON: &str = r#"{"from":"draft","to":"sent","by":1,"at":1767232800}"#;

/// Everything the old release stored, as the domain values it stands for.
struct OldData {
    users: Vec<UserRecord>,
    /// In id order; the second was repriced after its creation.
    products: Vec<Product>,
    /// The repriced product's first price.
    first_price_cents: i64,
    /// Alice's order (invoiced), then Bob's; with their lines as stored JSON.
    orders: Vec<(Order, &'static str)>,
    /// The invoice of Alice's order, moved from draft to sent.
    invoice: Invoice,
}

fn old_data() -> OldData {
    let at = Timestamp::from_unix;
    let user = |id: i64, name: &str, created: i64| UserRecord {
        user: User {
            id,
            username: name.into(),
            created_at: at(created),
        },
        password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ${name}"),
        // Users of the old release had no stored role: they read as customers.
        role: Role::Customer,
    };
    let product = |id, name: &str, description: &str, cents, category: &str, in_stock| Product {
        product_id: id,
        name: name.into(),
        description: description.into(),
        price: Money::from_cents(cents),
        category: category.into(),
        in_stock,
        created_at: at(T0 + 60 * id),
        updated_at: at(T0 + 60 * id),
    };
    let line = |product_id, name: &str, quantity, unit_cents| OrderItem {
        product_id,
        product_name: name.into(),
        quantity: Quantity::new(quantity).unwrap(),
        unit_price: Money::from_cents(unit_cents),
        total: Money::from_cents(quantity * unit_cents),
    };
    let mut chair = product(2, "Oak chair", "Stackable", 1999, "furniture", false);
    chair.updated_at = at(T0 + 3_600);
    let alice_order = Order {
        order_id: 1,
        user_id: 1,
        username: "Alice".into(),
        items: vec![
            line(1, "Walnut desk", 2, 24900),
            line(3, "Desk lamp", 1, 3950),
        ],
        subtotal: Money::from_cents(53750),
        tax: Money::from_cents(4300),
        total: Money::from_cents(58050),
        status: "pending".into(),
        created_at: at(T0 + 5_400),
    };
    let bob_order = Order {
        order_id: 2,
        user_id: 2,
        username: "bob".into(),
        items: vec![line(2, "Oak chair", 4, 1999)],
        subtotal: Money::from_cents(7996),
        tax: Money::from_cents(640),
        total: Money::from_cents(8636),
        status: "pending".into(),
        created_at: at(T0 + 6_000),
    };
    let invoice_line =
        |product_id, name: &str, description: &str, quantity, unit_cents| InvoiceItem {
            product_id,
            product_name: name.into(),
            description: description.into(),
            quantity,
            unit_price: Money::from_cents(unit_cents),
            total_price: Money::from_cents(i64::from(quantity) * unit_cents),
        };
    let invoice_created = at(T0 + 6_600);
    let invoice = Invoice {
        invoice_id: 1,
        invoice_number: invoice_number(1, invoice_created),
        order_id: 1,
        user_id: 1,
        username: "Alice".into(),
        items: vec![
            invoice_line(1, "Walnut desk", "Solid walnut, 140 cm", 2, 24900),
            invoice_line(3, "Desk lamp", "LED, warm white", 1, 3950),
        ],
        subtotal: Money::from_cents(53750),
        tax: Money::from_cents(4300),
        total: Money::from_cents(58050),
        status: InvoiceStatus::Sent,
        created_at: invoice_created,
        due_date: invoice_created.plus_days(30),
        status_history: vec![StatusChange {
            from: InvoiceStatus::Draft,
            to: InvoiceStatus::Sent,
            changed_by: 1,
            changed_at: at(SENT_AT),
        }],
    };
    OldData {
        users: vec![user(1, "Alice", T0), user(2, "bob", T0 + 30)],
        products: vec![
            product(
                1,
                "Walnut desk",
                "Solid walnut, 140 cm",
                24900,
                "furniture",
                true,
            ),
            chair,
            product(3, "Desk lamp", "LED, warm white", 3950, "lighting", true),
        ],
        first_price_cents: 2499,
        orders: vec![
            (alice_order, ALICE_ORDER_ITEMS_JSON),
            (bob_order, BOB_ORDER_ITEMS_JSON),
        ],
        invoice,
    }
}

/// Reads every old row back through the traits and checks it is unchanged,
/// then that the store keeps working on them.
async fn reads_back_and_continues(store: &dyn Store, old: &OldData) {
    for record in &old.users {
        let found = store
            .find_user_by_username(&record.user.username.to_uppercase())
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("user {} lost", record.user.username));
        assert_eq!(found.user, record.user);
        assert_eq!(found.password_hash, record.password_hash);
        assert_eq!(found.role, record.role);
    }

    // Seeding was on: the old seed marker still says "done", so the catalog is
    // exactly the old products.
    let listed = store
        .list_products(None, PageRequest::first(100))
        .await
        .unwrap();
    assert_eq!(listed.items, old.products);
    let lighting = store
        .list_products(Some("lighting"), PageRequest::first(100))
        .await
        .unwrap();
    assert_eq!(lighting.items, vec![old.products[2].clone()]);
    let ids: Vec<i64> = old.products.iter().map(|p| p.product_id).collect();
    let mut by_ids = store.get_products(&ids).await.unwrap();
    by_ids.sort_by_key(|p| p.product_id);
    assert_eq!(by_ids, old.products);

    for (order, _) in &old.orders {
        assert_eq!(
            store.get_order(order.order_id).await.unwrap().as_ref(),
            Some(order)
        );
        let listed = store
            .list_orders_by_user(order.user_id, PageRequest::first(100))
            .await
            .unwrap();
        assert_eq!(listed.items, vec![order.clone()]);
    }

    let invoice = &old.invoice;
    assert_eq!(
        store
            .get_invoice(invoice.invoice_id)
            .await
            .unwrap()
            .as_ref(),
        Some(invoice)
    );
    assert_eq!(
        store
            .get_invoice_by_order(invoice.order_id)
            .await
            .unwrap()
            .as_ref(),
        Some(invoice)
    );
    let alices = store
        .list_invoices_by_user(invoice.user_id, PageRequest::first(100))
        .await
        .unwrap();
    assert_eq!(alices.items, vec![invoice.clone()]);
    let bobs = store
        .list_invoices_by_user(old.users[1].user.id, PageRequest::first(100))
        .await
        .unwrap();
    assert!(bobs.items.is_empty());

    // The old rows keep their constraints and take new writes.
    let again = NewUser {
        username: Username::parse("alice").unwrap(),
        password_hash: "x".into(),
        created_at: Timestamp::now(),
    };
    assert!(matches!(
        store.register_user(&again).await,
        Err(AppError::UsernameTaken)
    ));
    let (existing, created) = store
        .create_invoice_once(
            &NewInvoice {
                order_id: invoice.order_id,
                user_id: invoice.user_id,
                username: invoice.username.clone(),
                items: invoice.items.clone(),
                subtotal: invoice.subtotal,
                tax: invoice.tax,
                total: invoice.total,
                created_at: Timestamp::now(),
                due_date: Timestamp::now(),
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!((&existing, created), (invoice, false));
    let paid = StatusChange {
        from: InvoiceStatus::Sent,
        to: InvoiceStatus::Paid,
        changed_by: invoice.user_id,
        changed_at: Timestamp::from_unix(SENT_AT + 86_400),
    };
    let moved = store
        .transition_invoice(invoice.invoice_id, &paid)
        .await
        .unwrap()
        .expect("the old invoice moves on");
    let mut history = invoice.status_history.clone();
    history.push(paid);
    assert_eq!(moved.status_history, history);
    let (bob_order, _) = &old.orders[1];
    let placed = store
        .place_order(
            &NewOrder {
                user_id: bob_order.user_id,
                username: bob_order.username.clone(),
                items: bob_order.items.clone(),
                subtotal: bob_order.subtotal,
                tax: bob_order.tax,
                total: bob_order.total,
                created_at: Timestamp::now(),
            },
            None,
        )
        .await
        .unwrap();
    assert!(placed.order_id > bob_order.order_id);
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use std::path::Path;
    use std::time::Duration;

    use shared::repo::Bootstrap;
    use shared::repo::sqlite::SqliteStore;
    use sqlx::sqlite::{
        SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
    };

    use super::*;

    /// The database file as the first release creates and fills it.
    async fn write_old_database(path: &Path, old: &OldData) {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool: SqlitePool = SqlitePoolOptions::new()
            .connect_with(options)
            .await
            .unwrap();
        sqlx::migrate!("./migrations/sqlite")
            .run_to(1, &pool)
            .await
            .unwrap();

        for record in &old.users {
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO users (username, password_hash, created_at) VALUES (?, ?, ?) RETURNING id",
            )
            .bind(&record.user.username)
            .bind(&record.password_hash)
            .bind(record.user.created_at.unix())
            .fetch_one(&pool)
            .await
            .unwrap();
            assert_eq!(id, record.user.id);
        }
        sqlx::query(
            "INSERT INTO catalog_seed (id, seeded_at) VALUES (1, ?) ON CONFLICT (id) DO NOTHING",
        )
        .bind(T0)
        .execute(&pool)
        .await
        .unwrap();
        for p in &old.products {
            let repriced = p.updated_at != p.created_at;
            sqlx::query(
                "INSERT INTO products (name, description, price_cents, category, in_stock, created_at, updated_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&p.name)
            .bind(&p.description)
            .bind(if repriced { old.first_price_cents } else { p.price.cents() })
            .bind(&p.category)
            .bind(p.in_stock)
            .bind(p.created_at.unix())
            .bind(p.created_at.unix())
            .execute(&pool)
            .await
            .unwrap();
            if repriced {
                sqlx::query(
                    "UPDATE products SET
                         name = COALESCE(?, name),
                         description = COALESCE(?, description),
                         price_cents = COALESCE(?, price_cents),
                         category = COALESCE(?, category),
                         in_stock = COALESCE(?, in_stock),
                         updated_at = COALESCE(?, updated_at)
                     WHERE id = ?",
                )
                .bind(None::<&str>)
                .bind(None::<&str>)
                .bind(Some(p.price.cents()))
                .bind(None::<&str>)
                .bind(None::<bool>)
                .bind(Some(p.updated_at.unix()))
                .bind(p.product_id)
                .execute(&pool)
                .await
                .unwrap();
            }
        }
        for (order, items_json) in &old.orders {
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO orders (user_id, username, items, subtotal_cents, tax_cents, total_cents, status, created_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            )
            .bind(order.user_id)
            .bind(&order.username)
            .bind(*items_json)
            .bind(order.subtotal.cents())
            .bind(order.tax.cents())
            .bind(order.total.cents())
            .bind("pending")
            .bind(order.created_at.unix())
            .fetch_one(&pool)
            .await
            .unwrap();
            assert_eq!(id, order.order_id);
        }
        let invoice = &old.invoice;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO invoices (order_id, user_id, username, items, subtotal_cents, tax_cents, total_cents,
                                   status, status_history, created_at, due_date)
             VALUES (?, ?, ?, ?, ?, ?, ?, 'draft', '[]', ?, ?)
             ON CONFLICT (order_id) DO NOTHING
             RETURNING id",
        )
        .bind(invoice.order_id)
        .bind(invoice.user_id)
        .bind(&invoice.username)
        .bind(INVOICE_ITEMS_JSON)
        .bind(invoice.subtotal.cents())
        .bind(invoice.tax.cents())
        .bind(invoice.total.cents())
        .bind(invoice.created_at.unix())
        .bind(invoice.due_date.unix())
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(id, invoice.invoice_id);
        let moved = sqlx::query(
            "UPDATE invoices
             SET status = ?, status_history = json_insert(status_history, '$[#]', json(?))
             WHERE id = ? AND status = ?",
        )
        .bind("sent")
        .bind(SENT_JSON)
        .bind(invoice.invoice_id)
        .bind("draft")
        .execute(&pool)
        .await
        .unwrap();
        assert_eq!(moved.rows_affected(), 1);
        pool.close().await;
    }

    #[tokio::test]
    async fn a_database_of_the_first_release_opens_and_reads_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("commerce.db");
        let old = old_data();
        write_old_database(&path, &old).await;

        let store = SqliteStore::open(
            &path,
            Bootstrap {
                migrate: true,
                seed: true,
            },
        )
        .await
        .expect("today's store opens the old file");
        reads_back_and_continues(&store, &old).await;
    }
}

#[cfg(feature = "postgres")]
mod postgres {
    use std::time::Duration;

    use shared::config::PostgresConfig;
    use shared::repo::Bootstrap;
    use shared::repo::postgres::PostgresStore;
    use sqlx::postgres::PgPool;
    use sqlx::{AssertSqlSafe, Connection, PgConnection};

    use super::*;

    fn admin_url() -> String {
        std::env::var("TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
    }

    /// A new, empty database on the test server; its name and URL. The name is
    /// digits and underscores after a fixed prefix, safe in SQL text.
    async fn fresh_database() -> (String, String) {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!("sql_upgrade_{}_{nanos}", std::process::id());
        let admin = admin_url();
        let mut conn = PgConnection::connect(&admin)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL is required at {admin} for this test: {e}"));
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .unwrap();
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        let url = format!("{base}/{name}");
        (name, url)
    }

    async fn drop_database(name: &str) {
        let mut conn = PgConnection::connect(&admin_url()).await.unwrap();
        sqlx::raw_sql(AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut conn)
        .await
        .unwrap();
    }

    /// The database as the first release migrates and fills it.
    async fn write_old_database(url: &str, old: &OldData) {
        let pool = PgPool::connect(url).await.unwrap();
        sqlx::migrate!("./migrations/postgres")
            .run_to(1, &pool)
            .await
            .unwrap();

        for record in &old.users {
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO users (username, password_hash, created_at) VALUES ($1, $2, to_timestamp($3)) RETURNING id",
            )
            .bind(&record.user.username)
            .bind(&record.password_hash)
            .bind(record.user.created_at.unix() as f64)
            .fetch_one(&pool)
            .await
            .unwrap();
            assert_eq!(id, record.user.id);
        }
        sqlx::query("INSERT INTO catalog_seed (id, seeded_at) VALUES (1, now()) ON CONFLICT (id) DO NOTHING")
            .execute(&pool)
            .await
            .unwrap();
        for p in &old.products {
            let repriced = p.updated_at != p.created_at;
            sqlx::query(
                "INSERT INTO products (name, description, price_cents, category, in_stock, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, to_timestamp($6), to_timestamp($6))",
            )
            .bind(&p.name)
            .bind(&p.description)
            .bind(if repriced { old.first_price_cents } else { p.price.cents() })
            .bind(&p.category)
            .bind(p.in_stock)
            .bind(p.created_at.unix() as f64)
            .execute(&pool)
            .await
            .unwrap();
            if repriced {
                sqlx::query(
                    "UPDATE products SET
                         name = COALESCE($1, name),
                         description = COALESCE($2, description),
                         price_cents = COALESCE($3, price_cents),
                         category = COALESCE($4, category),
                         in_stock = COALESCE($5, in_stock),
                         updated_at = COALESCE(to_timestamp($6), updated_at)
                     WHERE id = $7",
                )
                .bind(None::<&str>)
                .bind(None::<&str>)
                .bind(Some(p.price.cents()))
                .bind(None::<&str>)
                .bind(None::<bool>)
                .bind(Some(p.updated_at.unix() as f64))
                .bind(p.product_id)
                .execute(&pool)
                .await
                .unwrap();
            }
        }
        for (order, items_json) in &old.orders {
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO orders (user_id, username, items, subtotal_cents, tax_cents, total_cents, status, created_at)
                 VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, to_timestamp($8)) RETURNING id",
            )
            .bind(order.user_id)
            .bind(&order.username)
            .bind(*items_json)
            .bind(order.subtotal.cents())
            .bind(order.tax.cents())
            .bind(order.total.cents())
            .bind("pending")
            .bind(order.created_at.unix() as f64)
            .fetch_one(&pool)
            .await
            .unwrap();
            assert_eq!(id, order.order_id);
        }
        let invoice = &old.invoice;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO invoices (order_id, user_id, username, items, subtotal_cents, tax_cents, total_cents,
                                   status, status_history, created_at, due_date)
             VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, 'draft', '[]', to_timestamp($8), to_timestamp($9))
             ON CONFLICT (order_id) DO NOTHING
             RETURNING id",
        )
        .bind(invoice.order_id)
        .bind(invoice.user_id)
        .bind(&invoice.username)
        .bind(INVOICE_ITEMS_JSON)
        .bind(invoice.subtotal.cents())
        .bind(invoice.tax.cents())
        .bind(invoice.total.cents())
        .bind(invoice.created_at.unix() as f64)
        .bind(invoice.due_date.unix() as f64)
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!(id, invoice.invoice_id);
        let moved = sqlx::query(
            "UPDATE invoices
             SET status = $1, status_history = status_history || jsonb_build_array($2::jsonb)
             WHERE id = $3 AND status = $4",
        )
        .bind("sent")
        .bind(SENT_JSON)
        .bind(invoice.invoice_id)
        .bind("draft")
        .execute(&pool)
        .await
        .unwrap();
        assert_eq!(moved.rows_affected(), 1);
        pool.close().await;
    }

    #[tokio::test]
    async fn a_database_of_the_first_release_opens_and_reads_back_whole() {
        let (name, url) = fresh_database().await;
        let old = old_data();
        write_old_database(&url, &old).await;

        let config = PostgresConfig {
            max_connections: 3,
            connect_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(10),
            ..PostgresConfig::from_url(url)
        };
        let store = PostgresStore::connect_lazy(
            &config,
            Bootstrap {
                migrate: true,
                seed: true,
            },
        )
        .unwrap();
        reads_back_and_continues(&store, &old).await;
        drop(store);
        drop_database(&name).await;
    }
}
