//! One structured (JSON) log line per request a component serves
//! (architecture §9): what an operator joins across components by trace id.
//!
//! Only the method, the *matched route* (`spin-matched-route`, e.g.
//! `/api/tasks/...` — never the path with its ids or the query string, which
//! may hold an `access_token`), the status, the duration and the trace id:
//! no headers, no bodies, so no token, secret or e-mail address can reach a
//! log through it.

use std::time::Duration;

use crate::{header, Request};

/// What the line says about the request, taken before the handler runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestInfo {
    pub method: String,
    pub route: String,
    pub trace_id: Option<String>,
}

impl RequestInfo {
    pub fn of(request: &Request) -> RequestInfo {
        RequestInfo {
            method: request.method().to_string(),
            route: header(request, "spin-matched-route")
                .unwrap_or("unmatched")
                .to_string(),
            // The context the request is handled in (a job's comes from its data).
            trace_id: todo_dapr::trace::current()
                .or_else(|| todo_dapr::trace::TraceContext::from_headers(request.headers()))
                .map(|c| c.trace_id().to_string()),
        }
    }

    /// The JSON line for this request answered with `status` after `took`.
    pub fn line(&self, status: u16, took: Duration) -> String {
        serde_json::json!({
            "msg": "request",
            "method": self.method,
            "route": self.route,
            "status": status,
            "durationMs": (took.as_secs_f64() * 1000.0 * 10.0).round() / 10.0,
            "traceId": self.trace_id,
        })
        .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_names_the_route_and_trace_and_nothing_the_request_carries() {
        let request = http::Request::builder()
            .method("GET")
            .uri("/api/sync/stream?access_token=secret-token&since=3")
            .header("spin-matched-route", "/api/sync/...")
            .header("authorization", "Bearer secret-token")
            .header(
                "traceparent",
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            )
            .body(b"{\"email\":\"ada@example.org\"}".to_vec())
            .unwrap();
        let line = RequestInfo::of(&request).line(200, Duration::from_micros(12_345));
        let json: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "msg": "request", "method": "GET", "route": "/api/sync/...",
                "status": 200, "durationMs": 12.3,
                "traceId": "4bf92f3577b34da6a3ce929d0e0e4736",
            })
        );
        assert!(!line.contains("secret") && !line.contains("example.org"));
    }

    #[test]
    fn a_request_without_trace_or_route_still_gets_its_line() {
        let request = http::Request::builder().uri("/x").body(Vec::new()).unwrap();
        let json: serde_json::Value =
            serde_json::from_str(&RequestInfo::of(&request).line(404, Duration::ZERO)).unwrap();
        assert_eq!(json["route"], "unmatched");
        assert_eq!(json["traceId"], serde_json::Value::Null);
    }
}
