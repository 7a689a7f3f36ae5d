//! Every statement of the ClickHouse backend (its `sql.rs` catalogue) runs on a
//! current ClickHouse engine too, not only on the 18.16 test server: chdb (the
//! engine as a Python package) executes them in order and checks the answers
//! the backend's correctness depends on. The interpreter comes from
//! `CLICKHOUSE_SQL_CHECK_PYTHON`, which local/scripts/test.sh exports after
//! installing chdb; without it this test fails, it never passes by skipping.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use shared::repo::clickhouse::sql;

#[test]
fn every_statement_runs_on_a_current_clickhouse() {
    let python = std::env::var("CLICKHOUSE_SQL_CHECK_PYTHON").unwrap_or_else(|_| {
        panic!(
            "CLICKHOUSE_SQL_CHECK_PYTHON is not set: run local/scripts/test.sh, which installs chdb into \
             .build/venv and exports it (or point it at a Python with the chdb package)"
        )
    });
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../local/scripts/check_clickhouse_sql.py");
    let input = serde_json::json!({ "statements": sql::catalogue() }).to_string();
    let mut child = Command::new(&python)
        .arg(&script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!("{report}");
    assert!(
        out.status.success(),
        "statements failed on a current ClickHouse:\n{report}"
    );
    assert!(
        report.contains(&format!("{} statements", sql::catalogue().len())),
        "{report}"
    );
}
