//! The README's curl tour, run as written against a fresh dev server: every
//! command runs, and every concrete field the README's comments promise
//! (`"code":"invalid_status_transition"`, `"tax":13.00`, ...) is in the answers.

mod support;

use std::path::Path;

use support::DevServer;

fn readme_tour() -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .unwrap();
    let start = readme
        .find("API=http://127.0.0.1:8080\n")
        .expect("the README's curl tour");
    let end = start + readme[start..].find("```").expect("the end of the tour");
    readme[start..end].to_owned()
}

/// The `"key":value` pairs a comment line promises, where the value is concrete.
fn promised_fields(comment: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut rest = comment;
    while let Some(i) = rest.find("\":") {
        let key_start = rest[..i].rfind('"').map(|k| k + 1).unwrap_or(0);
        let value: String = rest[i + 2..]
            .chars()
            .take_while(|c| *c != ',' && *c != '}')
            .collect();
        let field = format!("\"{}\":{value}", &rest[key_start..i]);
        if !value.contains("...") && !value.starts_with('{') && !value.is_empty() {
            fields.push(field);
        }
        rest = &rest[i + 2..];
    }
    fields
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_readme_curl_tour_answers_as_documented() {
    let server = DevServer::sqlite(&[]).await;
    let tour = readme_tour().replacen(
        "API=http://127.0.0.1:8080",
        &format!("API={}", server.base),
        1,
    );
    let script = format!("set -u\n{tour}");
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("bash")
            .arg("-c")
            .arg(script)
            .output()
    })
    .await
    .unwrap()
    .expect("bash and curl are needed to run the README's tour");
    assert!(
        output.status.success(),
        "the tour failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answers = String::from_utf8_lossy(&output.stdout).replace(": ", ":");
    assert!(!answers.contains("internal_error"), "{answers}");
    let mut checked = 0;
    for comment in tour.lines().filter_map(|l| l.trim().strip_prefix('#')) {
        for field in promised_fields(comment) {
            assert!(
                answers.contains(&field),
                "the README promises {field}; the answers were:\n{answers}"
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 10,
        "only {checked} promises found: the tour's comments changed shape"
    );
    server.stop().await;
}
