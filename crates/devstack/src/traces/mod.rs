//! The spans devstack records, as Spin and daprd do in production (with
//! tracing configured): one per Wasm request, per call an app makes out of
//! its instance, per sidecar API call, per delivery attempt and per job
//! firing, each the child of the W3C `traceparent` it was started from
//! (<https://www.w3.org/TR/trace-context/>), and each handing its own
//! context on, so a request and everything it causes form one trace
//! (architecture §9).
//!
//! Spans are kept in memory (the last [`KEPT`]) for tests and for
//! `devstack`'s own inspection, and exported over OTLP/HTTP when the
//! environment names a collector ([`otlp`]); there is one recorder per
//! process ([`tracer`]), shared by every stack in it, so readers pick their
//! spans by trace id.

pub mod otlp;

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

/// How many finished spans are kept.
pub const KEPT: usize = 4_096;

/// A finished span.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub trace_id: String,
    pub span_id: String,
    pub parent_id: Option<String>,
    /// e.g. `POST /api/tasks`, `dapr publish`, `deliver task-events`.
    pub name: String,
    pub kind: Kind,
    /// The app-id (or component) the span belongs to.
    pub app: String,
    pub attributes: BTreeMap<String, String>,
    pub start_unix_nanos: u128,
    pub end_unix_nanos: u128,
}

/// OpenTelemetry's span kinds we use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Handling a request (a Wasm request, a sidecar API call).
    Server,
    /// A call out (an instance's outbound request, a delivery, a job callback).
    Client,
}

/// A span being recorded.
#[derive(Debug)]
pub struct Active {
    span: Span,
}

impl Active {
    /// The `traceparent` naming this span as the parent.
    pub fn traceparent(&self) -> String {
        format!("00-{}-{}-01", self.span.trace_id, self.span.span_id)
    }

    pub fn trace_id(&self) -> &str {
        &self.span.trace_id
    }

    pub fn set(&mut self, key: &str, value: impl ToString) {
        self.span
            .attributes
            .insert(key.to_string(), value.to_string());
    }

    /// Ends the span and keeps it.
    pub fn end(mut self) {
        self.span.end_unix_nanos = now_nanos();
        tracer().keep(self.span);
    }
}

/// The process's span recorder.
pub struct Tracer {
    spans: Mutex<VecDeque<Span>>,
}

/// The recorder every part of devstack records into.
pub fn tracer() -> &'static Tracer {
    static TRACER: OnceLock<Tracer> = OnceLock::new();
    TRACER.get_or_init(|| Tracer {
        spans: Mutex::new(VecDeque::new()),
    })
}

impl Tracer {
    /// Starts a span under `parent` (a `traceparent`; a new trace when it
    /// is absent or invalid).
    pub fn start(
        &self,
        name: impl Into<String>,
        kind: Kind,
        app: &str,
        parent: Option<&str>,
    ) -> Active {
        let parent = parent.and_then(parse_traceparent);
        let (trace_id, parent_id) = match parent {
            Some((trace, span)) => (trace, Some(span)),
            None => (format!("{:032x}", random_u128().max(1)), None),
        };
        Active {
            span: Span {
                trace_id,
                span_id: format!("{:016x}", (random_u128() as u64).max(1)),
                parent_id,
                name: name.into(),
                kind,
                app: app.to_string(),
                attributes: BTreeMap::new(),
                start_unix_nanos: now_nanos(),
                end_unix_nanos: 0,
            },
        }
    }

    fn keep(&self, span: Span) {
        otlp::offer(&span);
        let mut spans = self.spans.lock().unwrap();
        if spans.len() >= KEPT {
            spans.pop_front();
        }
        spans.push_back(span);
    }

    /// The finished spans of trace `trace_id`, in the order they ended.
    pub fn trace(&self, trace_id: &str) -> Vec<Span> {
        self.spans
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.trace_id == trace_id)
            .cloned()
            .collect()
    }

    /// Every kept span, in the order they ended.
    pub fn all(&self) -> Vec<Span> {
        self.spans.lock().unwrap().iter().cloned().collect()
    }
}

/// `(trace id, parent span id)` of a valid version-00-compatible `traceparent`.
pub fn parse_traceparent(value: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = value.trim().split('-').collect();
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    if parts.len() < 4 || !hex(parts[0], 2) || parts[0] == "ff" {
        return None;
    }
    let (trace, span) = (parts[1], parts[2]);
    let zero = |s: &str| s.bytes().all(|b| b == b'0');
    (hex(trace, 32) && hex(span, 16) && hex(parts[3], 2) && !zero(trace) && !zero(span))
        .then(|| (trace.to_ascii_lowercase(), span.to_ascii_lowercase()))
}

/// A tree of one trace's spans as indented text (children under their
/// parent, in start order), for logs and the closing of a test.
pub fn render(spans: &[Span]) -> String {
    fn walk(spans: &[Span], parent: Option<&str>, depth: usize, out: &mut String) {
        let mut children: Vec<&Span> = spans
            .iter()
            .filter(|s| s.parent_id.as_deref() == parent)
            .collect();
        children.sort_by_key(|s| s.start_unix_nanos);
        for s in children {
            let ms = (s.end_unix_nanos.saturating_sub(s.start_unix_nanos)) as f64 / 1e6;
            out.push_str(&format!(
                "{}{} [{}] {:.1} ms {}\n",
                "  ".repeat(depth),
                s.name,
                s.app,
                ms,
                s.span_id
            ));
            walk(spans, Some(&s.span_id), depth + 1, out);
        }
    }
    let ids: std::collections::BTreeSet<&str> = spans.iter().map(|s| s.span_id.as_str()).collect();
    let mut out = String::new();
    // Roots: no parent, or a parent that is not among the spans.
    let mut roots: Vec<&Span> = spans
        .iter()
        .filter(|s| s.parent_id.as_deref().is_none_or(|p| !ids.contains(p)))
        .collect();
    roots.sort_by_key(|s| s.start_unix_nanos);
    for root in roots {
        let mut one = vec![root.clone()];
        one.extend(spans.iter().filter(|s| s.span_id != root.span_id).cloned());
        let ms = (root.end_unix_nanos.saturating_sub(root.start_unix_nanos)) as f64 / 1e6;
        out.push_str(&format!(
            "{} [{}] {:.1} ms {}\n",
            root.name, root.app, ms, root.span_id
        ));
        walk(&one, Some(&root.span_id), 1, &mut out);
    }
    out
}

fn now_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

fn random_u128() -> u128 {
    uuid::Uuid::new_v4().as_u128()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_continues_its_parents_trace_and_names_it() {
        let root = tracer().start("POST /api/tasks", Kind::Server, "task-api", None);
        let child = tracer().start(
            "dapr publish",
            Kind::Server,
            "task-api",
            Some(&root.traceparent()),
        );
        let (trace, root_id) = (root.trace_id().to_string(), root.span.span_id.clone());
        assert_eq!(child.trace_id(), trace);
        child.end();
        root.end();
        let spans = tracer().trace(&trace);
        assert_eq!(spans.len(), 2);
        assert_eq!(spans[0].parent_id.as_deref(), Some(root_id.as_str()));
        assert!(render(&spans).starts_with("POST /api/tasks [task-api]"));
    }

    #[test]
    fn an_invalid_parent_starts_a_new_trace() {
        for bad in [
            "",
            "00-abc-def-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        ] {
            let s = tracer().start("x", Kind::Server, "a", Some(bad));
            assert!(s.span.parent_id.is_none(), "{bad:?}");
        }
    }
}
