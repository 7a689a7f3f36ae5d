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
