//! The dev server's command line, run as the built binary: help, the route
//! table for scripts, and refusals of what it does not know.

use std::process::{Command, Output};

fn local(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_local"))
        .args(args)
        // The caller's environment must not choose the template or the port.
        .env_remove("TEMPLATE_PATH")
        .env_remove("PORT")
        .output()
        .expect("the local binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn help_prints_the_commands_and_exits_0() {
    let out = local(&["--help"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for word in ["Usage: local", "serve", "routes", "--port", "PORT"] {
        assert!(stdout.contains(word), "--help lacks {word}:\n{stdout}");
    }
}

#[test]
fn routes_json_prints_the_template_routes() {
    let out = local(&["routes", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let rows: Vec<serde_json::Value> =
        serde_json::from_slice(&out.stdout).expect("a JSON array on stdout");
    let expected = local::template::load(&local::default_template_path()).unwrap();
    let printed: Vec<(String, String, String, String, bool)> = rows
        .iter()
        .map(|r| {
            (
                r["method"].as_str().unwrap().to_owned(),
                r["path"].as_str().unwrap().to_owned(),
                r["function"].as_str().unwrap().to_owned(),
                r["binary"].as_str().unwrap().to_owned(),
                r["protected"].as_bool().unwrap(),
            )
        })
        .collect();
    let wanted: Vec<_> = expected
        .into_iter()
        .map(|r| (r.method, r.path, r.function, r.binary, r.protected))
        .collect();
    assert_eq!(printed, wanted);
    assert!(
        printed.contains(&(
            "GET".into(),
            "/health".into(),
            "HealthFunction".into(),
            "health".into(),
            false
        )),
        "{printed:?}"
    );
}

#[test]
fn unknown_flags_and_commands_fail_with_usage_and_serve_nothing() {
    for args in [
        &["--bogus"][..],
        &["frobnicate"],
        &["routes", "--yaml"],
        &["--routes-json"],
    ] {
        let out = local(args);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("error:") && stderr.contains("Usage:"),
            "{args:?}: {stderr}"
        );
        assert!(
            out.stdout.is_empty(),
            "{args:?} printed {}",
            text(&out.stdout)
        );
    }
}

#[test]
fn a_missing_template_is_an_error_naming_it() {
    let out = local(&["routes", "--template", "/no/such/template.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("/no/such/template.yaml"));
}

/// `local admin grant|revoke <name>` on the store the environment selects
/// (here a SQLite file): a name nobody registered is an error that writes
/// nothing; a registered one gets the role, whatever its letter case.
#[tokio::test]
async fn admin_grant_and_revoke_change_the_stored_role() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("admin.db");
    let admin = |args: &[&str]| {
        let mut all = vec!["admin"];
        all.extend(args);
        Command::new(env!("CARGO_BIN_EXE_local"))
            .args(&all)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("DB_DRIVER", "sqlite")
            .env("SQLITE_PATH", &db)
            .output()
            .expect("the local binary runs")
    };
    let out = admin(&["grant", "carol"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("no user named `carol`"),
        "{}",
        text(&out.stderr)
    );

    let config = shared::config::Config::from_lookup(
        |k| match k {
            "DB_DRIVER" => Some("sqlite".into()),
            "SQLITE_PATH" => Some(db.to_string_lossy().into_owned()),
            _ => None,
        },
        shared::config::SecretPolicy::DevFallback,
    )
    .unwrap();
    let store = shared::repo::open(&config.db, true).await.unwrap();
    let role = |store: std::sync::Arc<dyn shared::repo::Store>| async move {
        store
            .find_user_by_username("carol")
            .await
            .unwrap()
            .unwrap()
            .role
    };
    store
        .register_user(&shared::domain::NewUser {
            username: shared::domain::Username::parse("Carol").unwrap(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            created_at: shared::domain::Timestamp::now(),
        })
        .await
        .unwrap();
    assert_eq!(role(store.clone()).await, shared::domain::Role::Customer);

    let out = admin(&["grant", "CAROL"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("Carol (user 1) is now an admin"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(role(store.clone()).await, shared::domain::Role::Admin);

    let out = admin(&["revoke", "carol"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(role(store.clone()).await, shared::domain::Role::Customer);

    let out = local(&["admin", "--help"]);
    for word in ["grant", "revoke", "DB_DRIVER", "DYNAMODB_TABLE"] {
        assert!(
            text(&out.stdout).contains(word),
            "admin --help lacks {word}"
        );
    }
    let out = local(&["--help"]);
    assert!(
        text(&out.stdout).contains("admin"),
        "--help lists the admin command"
    );
}
