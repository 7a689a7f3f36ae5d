//! Logs as JSON lines through `tracing`. Filtered by `RUST_LOG` (default `info`).
//!
//! Inside Lambda, `lambda_runtime` wraps each invocation in a span named
//! `Lambda runtime invoke` whose `requestId` field is the invocation's id. Every
//! line logged while handling it lists all the spans it is in (`"spans": [...]`,
//! outermost first), so the request id is on the line even when a library (the
//! AWS SDK, say) opens spans of its own inside the handler.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::util::SubscriberInitExt;

/// Installs the JSON subscriber on stdout once; later calls do nothing.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = subscriber(filter, std::io::stdout).try_init();
}

/// The JSON-lines subscriber, writing to `writer`.
fn subscriber<W>(filter: EnvFilter, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_span_list(true)
        .with_target(false)
        .with_writer(writer)
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'w> MakeWriter<'w> for Captured {
        type Writer = Captured;
        fn make_writer(&'w self) -> Captured {
            self.clone()
        }
    }

    #[test]
    fn every_line_is_json_with_the_lambda_request_id_even_inside_nested_spans() {
        let out = Captured::default();
        let subscriber = subscriber(EnvFilter::new("debug"), out.clone());
        tracing::subscriber::with_default(subscriber, || {
            // What lambda_runtime opens around each invocation...
            let invoke = tracing::info_span!("Lambda runtime invoke", requestId = "req-0001");
            let _invoke = invoke.enter();
            tracing::info!(user_id = 7, "user logged in");
            // ...and a library's own span inside the handler.
            let call = tracing::debug_span!("send_operation", operation = "GetItem");
            let _call = call.enter();
            tracing::debug!("sending request");
        });
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect();
        assert_eq!(lines.len(), 2, "{text}");
        for line in &lines {
            assert_eq!(line["spans"][0]["requestId"], "req-0001", "{line}");
        }
        assert_eq!(lines[0]["fields"]["message"], "user logged in");
        assert_eq!(lines[1]["spans"][1]["name"], "send_operation");
    }
}
