//! Secret settings held in AWS, against the local AWS test server (moto's
//! Secrets Manager and SSM, `TEST_AWS_ENDPOINT`): reading the configuration
//! fetches nothing; a Secrets Manager ARN, an SSM name and an SSM ARN resolve
//! on first use to the value that is then used; the value is fetched once and
//! kept; it never shows in `Debug` or in errors.

use std::collections::HashMap;

use contract::aws::{create_secret, endpoint, put_parameter, update_secret};
use contract::fresh::unique_name;
use shared::auth::TokenKeys;
use shared::config::{Config, JwtConfig, Secret, SecretPolicy, SecretRef};
use shared::domain::{Identity, Role, Timestamp};
use shared::error::AppError;

/// The configuration of a deployed function (SQLite store: no network).
fn config(pairs: &[(&str, &str)]) -> Config {
    let endpoint = endpoint();
    let mut vars: HashMap<&str, &str> = HashMap::from([("AWS_ENDPOINT_URL", endpoint.as_str())]);
    vars.extend(pairs.iter().copied());
    Config::from_lookup(
        |k| vars.get(k).map(|v| v.to_string()),
        SecretPolicy::Required,
    )
    .expect("configuration")
}

/// A value no other test run uses, long enough for a JWT key.
fn fresh_value(tag: &str) -> String {
    format!("{tag}-{}-0123456789abcdef0123456789", unique_name("v"))
}

fn alice() -> Identity {
    Identity {
        user_id: 1,
        username: "alice".into(),
        role: Role::Customer,
    }
}

fn keys_for(secret: &str) -> TokenKeys {
    TokenKeys::new(&JwtConfig {
        secret: Secret::plain("JWT_SECRET", secret),
        issuer: "commerce-api".into(),
        audience: "commerce-api-clients".into(),
        ttl_seconds: 3600,
    })
}

#[tokio::test]
async fn reading_the_configuration_records_references_and_fetches_nothing() {
    // Nothing listens here: reading must not need it; using must fail, as a 503.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let nowhere = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:jwt-AbCdEf";
    let config = config(&[
        ("AWS_ENDPOINT_URL", &nowhere),
        ("JWT_SECRET", arn),
        ("DB_DRIVER", "clickhouse"),
        ("CLICKHOUSE_PASSWORD", "ssm:/commerce/clickhouse"),
    ]);
    assert_eq!(
        config.jwt.secret.reference(),
        Some(&SecretRef::SecretsManager(arn.into()))
    );
    let keys = TokenKeys::new(&config.jwt);
    let token = keys_for(&fresh_value("any"))
        .issue(&alice(), Timestamp::now())
        .await
        .unwrap();
    let verified = keys.verify(&token).await;
    assert!(
        matches!(verified, Err(AppError::Unavailable(_))),
        "an unreachable Secrets Manager is a 503, not a 401: {verified:?}"
    );
}

#[tokio::test]
async fn a_secrets_manager_secret_is_the_key_tokens_are_signed_with() {
    let value = fresh_value("sm");
    let arn = create_secret(&unique_name("jwt"), &value).await;
    let config = config(&[("JWT_SECRET", &arn)]);
    let keys = TokenKeys::new(&config.jwt);
    let token = keys.issue(&alice(), Timestamp::now()).await.unwrap();
    assert_eq!(keys_for(&value).verify(&token).await.unwrap(), alice());
    assert_eq!(keys.verify(&token).await.unwrap(), alice());
    let shown = format!("{config:?}");
    assert!(!shown.contains(&value), "Debug shows no value: {shown}");
    assert!(shown.contains(&arn), "Debug shows the reference: {shown}");
}

#[tokio::test]
async fn an_ssm_parameter_resolves_by_name_and_by_arn() {
    let value = fresh_value("ssm");
    let name = format!("/commerce-test/{}/jwt", unique_name("p"));
    let arn = put_parameter(&name, &value).await;
    for reference in [format!("ssm:{name}"), arn] {
        let config = config(&[("JWT_SECRET", &reference)]);
        assert_eq!(
            config.jwt.secret.value().await.unwrap(),
            value,
            "{reference}"
        );
        assert!(!format!("{config:?}").contains(&value));
    }
}

#[tokio::test]
async fn a_secret_is_fetched_once_and_kept() {
    let first = fresh_value("first");
    let arn = create_secret(&unique_name("jwt"), &first).await;
    let config = config(&[("JWT_SECRET", &arn)]);
    let copy = config.clone();
    let readers = (0..8).map(|_| {
        let secret = config.jwt.secret.clone();
        tokio::spawn(async move { secret.value().await.map(str::to_owned) })
    });
    for read in futures::future::join_all(readers).await {
        assert_eq!(read.unwrap().unwrap(), first);
    }
    // Changed in AWS: this execution environment keeps what it fetched...
    let second = fresh_value("second");
    update_secret(&arn, &second).await;
    assert_eq!(config.jwt.secret.value().await.unwrap(), first);
    assert_eq!(
        copy.jwt.secret.value().await.unwrap(),
        first,
        "clones share it"
    );
    // ...and a new one (a new configuration) fetches the new value.
    let fresh = self::config(&[("JWT_SECRET", &arn)]);
    assert_eq!(fresh.jwt.secret.value().await.unwrap(), second);
}

#[tokio::test]
async fn a_refused_value_is_not_kept_and_never_shown() {
    let arn = create_secret(&unique_name("jwt"), "tiny-9f3k").await;
    let config = config(&[("JWT_SECRET", &arn)]);
    let refused = config.jwt.secret.value().await.unwrap_err();
    let detail = format!("{refused:?}");
    assert!(detail.contains("at least 32 bytes"), "{detail}");
    assert!(detail.contains(&arn), "{detail}");
    assert!(!detail.contains("tiny-9f3k"), "{detail}");
    // Fixed in AWS: the next use fetches again.
    let value = fresh_value("fixed");
    update_secret(&arn, &value).await;
    assert_eq!(config.jwt.secret.value().await.unwrap(), value);
}

#[tokio::test]
async fn the_development_secret_and_a_missing_secret_are_refused() {
    let dev = shared::config::DEV_JWT_SECRET;
    let arn = create_secret(&unique_name("jwt"), dev).await;
    let deployed = config(&[("JWT_SECRET", &arn)]);
    let refused = deployed.jwt.secret.value().await;
    assert!(
        format!("{refused:?}").contains("development secret"),
        "{refused:?}"
    );
    let absent = format!(
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:{}-AbCdEf",
        unique_name("never_created")
    );
    let deployed = config(&[("JWT_SECRET", &absent)]);
    let error = deployed.jwt.secret.value().await;
    assert!(
        matches!(error, Err(AppError::Internal(_))),
        "a secret that does not exist is a configuration error: {error:?}"
    );
}

#[tokio::test]
async fn database_url_from_an_ssm_parameter_reaches_the_database() {
    use contract::fresh::postgres::{drop_database, fresh_database};
    use shared::config::DbConfig;
    use shared::repo::{Bootstrap, Store, postgres::PostgresStore};

    let (database, url) = fresh_database("secret").await;
    let name = format!("/commerce-test/{}/database-url", unique_name("p"));
    put_parameter(&name, &url).await;
    let config = config(&[
        ("DB_DRIVER", "postgres"),
        ("DATABASE_URL", &format!("ssm:{name}")),
        ("JWT_SECRET", &fresh_value("jwt")),
    ]);
    assert!(!format!("{config:?}").contains(&database));
    let DbConfig::Postgres(pg) = &config.db else {
        panic!("expected postgres")
    };
    let bootstrap = Bootstrap {
        migrate: true,
        seed: true,
    };
    let store = PostgresStore::connect_lazy(pg, bootstrap).unwrap();
    store.ping().await.expect("connected with the URL from SSM");
    drop_database(&database).await;
}
