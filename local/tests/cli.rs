//! The dev server's command line: usage on `--help`, the route table on
//! `routes --json`, and a clear failure for anything it does not know.

use std::process::{Command, Output};

fn local(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_local"))
        .args(args)
        .output()
        .expect("run the local binary")
}

#[test]
fn help_prints_usage_and_exits_zero() {
    let out = local(&["--help"]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    for word in ["Usage:", "serve", "routes"] {
        assert!(text.contains(word), "`{word}` missing from:\n{text}");
    }
}

#[test]
fn routes_json_lists_the_template_routes() {
    let out = local(&["routes", "--json"]);
    assert!(out.status.success(), "{out:?}");
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("JSON array");
    assert!(
        rows.iter()
            .any(|r| r["method"] == "POST" && r["path"] == "/orders" && r["protected"] == true),
        "{rows:?}"
    );
    assert!(
        rows.iter()
            .any(|r| r["method"] == "GET" && r["path"] == "/health" && r["protected"] == false),
        "{rows:?}"
    );
}

#[test]
fn unknown_flags_and_commands_fail_with_a_message() {
    for args in [
        &["--bogus"][..],
        &["launch"][..],
        &["serve", "--port", "x"][..],
    ] {
        let out = local(args);
        assert!(!out.status.success(), "{args:?} should fail: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("error:"), "{args:?}: {err}");
    }
}
