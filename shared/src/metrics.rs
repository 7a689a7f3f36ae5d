//! Business and runtime counters in CloudWatch's embedded metric format (EMF):
//! one JSON line on stdout per occurrence, which CloudWatch Logs turns into a
//! metric as Lambda ships the function's log. No API call, no permission
//! beyond writing logs, no latency on the request.
//!
//! A call site is one line, `metrics::count(Metric::OrdersPlaced)`: a
//! `tracing` event with its own target, which the layer below (installed by
//! `telemetry::init`) writes as an EMF document carrying the Lambda request id
//! and X-Ray trace id of the invocation it happened in. The log layer never
//! sees these events, and the log filter (`RUST_LOG`) never drops them.
//!
//! Why a module and not a crate: `metrique` (awslabs) needs Rust 1.91, above
//! this workspace's 1.89, and brings a dozen crates with their proc macros for
//! four counters. `metrics_cloudwatch_embedded` (with the `metrics` facade)
//! does work in Lambda, but through a process-global recorder flushed by its
//! own wrapper around `lambda_runtime::run`: the dev server and the tests would
//! each need their own flushing, tests that look at the output would need a
//! process each, and its flush `expect`s a stdout write to succeed, which
//! under this workspace's `panic = "abort"` would kill the instance. The
//! format itself is a few fields of JSON, tested below.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

/// The CloudWatch namespace of every metric here.
pub const NAMESPACE: &str = "CommerceApi";
/// The one dimension: the function's name (`<stack>-orders`), so each stack
/// and each function has its own series.
pub const DIMENSION: &str = "FunctionName";
/// The `tracing` target of metric events.
pub const TARGET: &str = "commerce_metrics";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// An order was stored.
    OrdersPlaced,
    /// An invoice moved to `paid`.
    InvoicesPaid,
    /// A login was refused: a wrong username or password, or a username
    /// throttled after too many of those.
    FailedLogins,
    /// An execution environment started (counted once it is ready to serve).
    ColdStarts,
}

impl Metric {
    pub const ALL: [Metric; 4] = [
        Metric::OrdersPlaced,
        Metric::InvoicesPaid,
        Metric::FailedLogins,
        Metric::ColdStarts,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Metric::OrdersPlaced => "OrdersPlaced",
            Metric::InvoicesPaid => "InvoicesPaid",
            Metric::FailedLogins => "FailedLogins",
            Metric::ColdStarts => "ColdStarts",
        }
    }

    fn from_name(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == name)
    }
}

/// Counts one occurrence of `metric`. Without the layer (a test that does not
/// look, say) it costs one disabled `tracing` event.
pub fn count(metric: Metric) {
    tracing::info!(target: TARGET, metric = metric.name());
}

/// The function's name as Lambda sets it, or `local` off Lambda.
pub fn function_name() -> String {
    std::env::var("AWS_LAMBDA_FUNCTION_NAME")
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "local".into())
}

/// The invocation a metric belongs to, as `lambda_runtime` names it on the span
/// it opens around each one (`requestId`, `xrayTraceId`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Invocation {
    pub request_id: Option<String>,
    pub xray_trace_id: Option<String>,
}

impl Visit for Invocation {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "requestId" => self.request_id = Some(value.to_owned()),
            "xrayTraceId" => self.xray_trace_id = Some(value.to_owned()),
            _ => {}
        }
    }

    fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
}

/// One EMF document, on one line (without the newline): `value` of `metric`
/// (unit Count) for `function`, with the invocation's ids as properties.
pub fn emf_line(
    metric: Metric,
    value: u64,
    function: &str,
    timestamp_ms: u64,
    invocation: &Invocation,
) -> String {
    let mut doc = Map::new();
    doc.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [[DIMENSION]],
                "Metrics": [{ "Name": metric.name(), "Unit": "Count" }],
            }],
        }),
    );
    doc.insert(DIMENSION.into(), function.into());
    doc.insert(metric.name().into(), value.into());
    if let Some(id) = &invocation.request_id {
        doc.insert("requestId".into(), id.as_str().into());
    }
    if let Some(trace) = &invocation.xray_trace_id {
        doc.insert("xrayTraceId".into(), trace.as_str().into());
    }
    Value::Object(doc).to_string()
}

/// Writes each metric event as an EMF line to `writer`.
pub struct EmfLayer<W> {
    function: String,
    writer: W,
}

impl<W> EmfLayer<W> {
    pub fn new(function: impl Into<String>, writer: W) -> EmfLayer<W> {
        EmfLayer {
            function: function.into(),
            writer,
        }
    }
}

impl<S, W> Layer<S> for EmfLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut found = Invocation::default();
        attrs.record(&mut found);
        if found != Invocation::default()
            && let Some(span) = ctx.span(id)
        {
            span.extensions_mut().insert(found);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if event.metadata().target() != TARGET {
            return;
        }
        let mut name = MetricName(None);
        event.record(&mut name);
        let Some(metric) = name.0.as_deref().and_then(Metric::from_name) else {
            return;
        };
        // The innermost span that names the invocation wins.
        let mut invocation = Invocation::default();
        for span in ctx
            .event_scope(event)
            .into_iter()
            .flat_map(|s| s.from_root())
        {
            if let Some(found) = span.extensions().get::<Invocation>() {
                invocation = found.clone();
            }
        }
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        let mut line = emf_line(metric, 1, &self.function, now_ms, &invocation);
        line.push('\n');
        // As the log layer does: a lost line is better than a failed request.
        let _ = self.writer.make_writer().write_all(line.as_bytes());
    }
}

struct MetricName(Option<String>);

impl Visit for MetricName {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "metric" {
            self.0 = Some(value.to_owned());
        }
    }

    fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_emf_line_declares_the_metric_its_dimension_and_its_value() {
        let invocation = Invocation {
            request_id: Some("req-1".into()),
            xray_trace_id: Some("Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1".into()),
        };
        let line = emf_line(
            Metric::OrdersPlaced,
            1,
            "shop-orders",
            1_700_000_000_123,
            &invocation,
        );
        assert!(!line.contains('\n'), "one line: {line}");
        let doc: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            doc,
            json!({
                "_aws": {
                    "Timestamp": 1_700_000_000_123u64,
                    "CloudWatchMetrics": [{
                        "Namespace": "CommerceApi",
                        "Dimensions": [["FunctionName"]],
                        "Metrics": [{ "Name": "OrdersPlaced", "Unit": "Count" }],
                    }],
                },
                "FunctionName": "shop-orders",
                "OrdersPlaced": 1,
                "requestId": "req-1",
                "xrayTraceId": "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1",
            })
        );
    }

    #[test]
    fn every_metric_name_is_its_own_and_round_trips() {
        for metric in Metric::ALL {
            assert_eq!(Metric::from_name(metric.name()), Some(metric));
            let line = emf_line(metric, 3, "f", 0, &Invocation::default());
            let doc: Value = serde_json::from_str(&line).unwrap();
            // Every dimension and metric the document declares is a member of it.
            let declared = &doc["_aws"]["CloudWatchMetrics"][0];
            assert_eq!(declared["Metrics"][0]["Name"], metric.name());
            assert_eq!(doc[metric.name()], 3);
            assert_eq!(doc[DIMENSION], "f");
            assert!(doc.get("requestId").is_none() && doc.get("xrayTraceId").is_none());
        }
        assert_eq!(Metric::from_name("Unknown"), None);
    }
}
