//! Logs as JSON lines through `tracing`. Filtered by `RUST_LOG` (default
//! `info`): a level, and levels by target (`info,shared=debug,sqlx=warn`).
//! tracing-subscriber's `Targets`, not its `EnvFilter`, reads it: `EnvFilter`
//! also filters by span and field values, which links a regular-expression
//! engine (regex-automata, regex-syntax: about 0.15 MB of every Lambda
//! artifact) that nothing here uses. A value `Targets` cannot read falls back
//! to `info`, as an unreadable `RUST_LOG` did before.
//!
//! Inside Lambda, `lambda_runtime` wraps each invocation in a span named
//! `Lambda runtime invoke` whose fields are the invocation's `requestId` and,
//! when Lambda hands one over (always, with `Tracing: Active`), its X-Ray
//! `xrayTraceId` (the `Root=...;Parent=...;Sampled=...` header). Every line
//! logged while handling it lists all the spans it is in (`"spans": [...]`,
//! outermost first), so both ids are on the line, as `spans[0].requestId` and
//! `spans[0].xrayTraceId`, even when a library (the AWS SDK, say) opens spans
//! of its own inside the handler. The span, not `_X_AMZN_TRACE_ID`, is the
//! source: the environment variable holds one invocation at a time, and is
//! not set at all when an environment serves several at once.
//!
//! Metric events (`crate::metrics`) go to their own layer, which writes them
//! as CloudWatch EMF lines beside the logs.

use tracing::{Level, Subscriber};
use tracing_subscriber::filter::{FilterExt, Targets, filter_fn};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

use crate::metrics::{self, EmfLayer};

/// Installs the JSON subscriber on stdout once; later calls do nothing.
pub fn init() {
    let directives = std::env::var("RUST_LOG").unwrap_or_default();
    let _ = subscriber(
        targets(&directives),
        std::io::stdout,
        &metrics::function_name(),
    )
    .try_init();
}

/// The subscriber [`init`] installs, writing to `writer` instead of stdout,
/// for the function named `function`, filtered by `directives` (as in
/// `RUST_LOG`). For tests that read what a function writes.
pub fn subscriber_for<W>(
    directives: &str,
    writer: W,
    function: &str,
) -> impl Subscriber + Send + Sync + 'static
where
    W: for<'w> MakeWriter<'w> + Clone + Send + Sync + 'static,
{
    subscriber(targets(directives), writer, function)
}

/// The filter `directives` describe (`RUST_LOG`'s syntax); `info` when they
/// are empty or unreadable.
fn targets(directives: &str) -> Targets {
    directives
        .parse::<Targets>()
        .ok()
        .filter(|_| !directives.trim().is_empty())
        .unwrap_or_else(|| Targets::new().with_default(Level::INFO))
}

/// The log lines (JSON, filtered by `filter`) and the metric lines (EMF,
/// never filtered), both to `writer`.
fn subscriber<W>(
    filter: Targets,
    writer: W,
    function: &str,
) -> impl Subscriber + Send + Sync + 'static
where
    W: for<'w> MakeWriter<'w> + Clone + Send + Sync + 'static,
{
    let logs = tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(false)
        .with_span_list(true)
        .with_target(false)
        .with_writer(writer.clone())
        .with_filter(filter.and(filter_fn(|meta| meta.target() != metrics::TARGET)));
    // The metric layer also sees the INFO spans, where lambda_runtime names
    // the invocation, whatever RUST_LOG lets the logs show.
    let emf = EmfLayer::new(function, writer).with_filter(filter_fn(|meta| {
        meta.target() == metrics::TARGET || (meta.is_span() && *meta.level() <= Level::INFO)
    }));
    tracing_subscriber::registry().with(logs).with(emf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metric;
    use serde_json::Value;
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

    impl Captured {
        fn lines(&self) -> Vec<Value> {
            let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
            text.lines()
                .map(|l| serde_json::from_str(l).expect("a JSON line"))
                .collect()
        }
    }

    const TRACE: &str =
        "Root=1-67891233-abcdef012345678912345678;Parent=53995c3f42cd8ad8;Sampled=1";

    /// The span lambda_runtime itself opens around an invocation, from the
    /// context Lambda handed over: the real one, so an upgrade that renames or
    /// drops its fields fails here.
    fn invocation_span(request_id: &str) -> tracing::Span {
        let mut ctx = lambda_http::Context::default();
        ctx.request_id = request_id.into();
        ctx.xray_trace_id = Some(TRACE.into());
        lambda_http::lambda_runtime::layers::trace::request_span(&ctx)
    }

    #[test]
    fn rust_log_sets_levels_by_target_and_falls_back_to_info() {
        let out = Captured::default();
        let subscriber = subscriber(targets("warn,chatty=debug"), out.clone(), "f");
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!("dropped: below warn");
            tracing::warn!("kept: warn");
            tracing::debug!(target: "chatty", "kept: chatty at debug");
            tracing::trace!(target: "chatty", "dropped: below debug");
        });
        let lines = out.lines();
        let messages: Vec<&str> = lines
            .iter()
            .map(|l| l["fields"]["message"].as_str().unwrap())
            .collect();
        assert_eq!(messages, ["kept: warn", "kept: chatty at debug"]);
        // Empty or unreadable: info, as before.
        for directives in ["", "shared=loud", "info"] {
            let filter = targets(directives);
            assert_eq!(
                filter.default_level(),
                Some(tracing::level_filters::LevelFilter::INFO),
                "{directives:?}"
            );
        }
    }

    #[test]
    fn every_line_of_an_invocation_carries_its_xray_trace_id_metric_lines_too() {
        let out = Captured::default();
        let subscriber = subscriber(targets("info"), out.clone(), "shop-orders");
        tracing::subscriber::with_default(subscriber, || {
            let invoke = invocation_span("req-0002");
            let _invoke = invoke.enter();
            tracing::info!("order placed");
            let handler = tracing::info_span!("handler", route = "POST /orders");
            let _handler = handler.enter();
            tracing::warn!("store slow");
            metrics::count(Metric::OrdersPlaced);
        });
        let lines = out.lines();
        assert_eq!(lines.len(), 3, "{lines:?}");
        for line in &lines[..2] {
            assert_eq!(line["spans"][0]["xrayTraceId"], TRACE, "{line}");
            assert_eq!(line["spans"][0]["requestId"], "req-0002", "{line}");
        }
        let emf = &lines[2];
        assert_eq!(emf["OrdersPlaced"], 1, "{emf}");
        assert_eq!(emf["FunctionName"], "shop-orders");
        assert_eq!(emf["xrayTraceId"], TRACE);
        assert_eq!(emf["requestId"], "req-0002");
        assert!(emf.get("fields").is_none(), "not also a log line: {emf}");
    }

    #[test]
    fn metric_lines_survive_a_quiet_log_filter_and_stay_out_of_the_log() {
        let out = Captured::default();
        let subscriber = subscriber(targets("warn"), out.clone(), "shop-auth");
        tracing::subscriber::with_default(subscriber, || {
            let invoke = invocation_span("req-0003");
            let _invoke = invoke.enter();
            tracing::info!("filtered out");
            metrics::count(Metric::FailedLogins);
        });
        let lines = out.lines();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!(lines[0]["FailedLogins"], 1);
        assert_eq!(
            lines[0]["requestId"], "req-0003",
            "the INFO span is still seen"
        );
        assert_eq!(
            lines[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            "CommerceApi"
        );
    }

    #[test]
    fn every_line_is_json_with_the_lambda_request_id_even_inside_nested_spans() {
        let out = Captured::default();
        let subscriber = subscriber(targets("debug"), out.clone(), "test-function");
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
        let lines = out.lines();
        assert_eq!(lines.len(), 2, "{lines:?}");
        for line in &lines {
            assert_eq!(line["spans"][0]["requestId"], "req-0001", "{line}");
        }
        assert_eq!(lines[0]["fields"]["message"], "user logged in");
        assert_eq!(lines[1]["spans"][1]["name"], "send_operation");
    }
}
