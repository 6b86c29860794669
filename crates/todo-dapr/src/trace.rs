//! W3C Trace Context (<https://www.w3.org/TR/trace-context/>) carried
//! through a component: the `traceparent`/`tracestate` a request arrives
//! with (from Spin, the ingress, or daprd delivering a message or a job)
//! goes out again on every call the component makes while handling it —
//! every Dapr call ([`crate::DaprClient::send`]) and every webhook — so one
//! trace covers a request and everything it causes (architecture §9).
//!
//! The component records no spans of its own: like an app without a
//! tracing SDK behind daprd, it only propagates, and the spans come from
//! the runtime around it (devstack, or Spin and daprd in production).
//!
//! A component instance serves one request (WASI p2), so the context of
//! "the request being handled" is simply the current thread's.

use std::cell::RefCell;

/// A request's trace context: a valid `traceparent` and its `tracestate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    traceparent: String,
    tracestate: Option<String>,
}

impl TraceContext {
    /// The context of `headers`, when their `traceparent` is valid (§3.2:
    /// `00-<32 hex>-<16 hex>-<2 hex>`, lowercase, ids not all zeros; a
    /// higher version is read by its first four fields; version `ff` is
    /// invalid). An invalid `traceparent` is ignored with its `tracestate`
    /// (§3.3: "the vendor MUST ... not parse or process tracestate").
    pub fn from_headers(headers: &http::HeaderMap) -> Option<TraceContext> {
        let traceparent = headers.get("traceparent")?.to_str().ok()?.trim();
        if !valid_traceparent(traceparent) {
            return None;
        }
        let tracestate = headers
            .get_all("tracestate")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .collect::<Vec<_>>();
        Some(TraceContext {
            traceparent: traceparent.to_string(),
            // Several `tracestate` headers are one list (§3.3.1).
            tracestate: (!tracestate.is_empty()).then(|| tracestate.join(",")),
        })
    }

    /// The 32-hex trace id.
    pub fn trace_id(&self) -> &str {
        &self.traceparent[3..35]
    }

    /// Adds `traceparent` (and `tracestate`) to `headers`, replacing any.
    pub fn inject(&self, headers: &mut http::HeaderMap) {
        if let Ok(v) = http::HeaderValue::from_str(&self.traceparent) {
            headers.insert("traceparent", v);
        }
        headers.remove("tracestate");
        if let Some(state) = &self.tracestate {
            if let Ok(v) = http::HeaderValue::from_str(state) {
                headers.insert("tracestate", v);
            }
        }
    }
}

fn valid_traceparent(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    let hex = |s: &str, len: usize| {
        s.len() == len
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    let (version, trace_id, parent_id, flags) = match parts.as_slice() {
        [v, t, p, f] => (*v, *t, *p, *f),
        // A future version may append fields (§3.2.4).
        [v, t, p, f, ..] if *v != "00" => (*v, *t, *p, *f),
        _ => return false,
    };
    hex(version, 2)
        && version != "ff"
        && hex(trace_id, 32)
        && trace_id.bytes().any(|b| b != b'0')
        && hex(parent_id, 16)
        && parent_id.bytes().any(|b| b != b'0')
        && hex(flags, 2)
}

/// The members of a job's `data` object that carry the context it was
/// scheduled under. daprd sends a job callback no trace context (its
/// Scheduler streamer starts no span), so a job carries its own: attached
/// when scheduled ([`attach`], by `DaprClient::schedule_job`) and adopted
/// when it fires ([`adopt`], by `inbound::parse_job_data`), so a reminder's
/// webhook is in the trace of the change that set the reminder.
const DATA_TRACEPARENT: &str = "traceparent";
const DATA_TRACESTATE: &str = "tracestate";

/// Adds the current context to a job's `data` object (nothing else is touched).
pub fn attach(data: &mut serde_json::Value) {
    let (Some(context), Some(object)) = (current(), data.as_object_mut()) else {
        return;
    };
    object.insert(DATA_TRACEPARENT.into(), context.traceparent.clone().into());
    if let Some(state) = &context.tracestate {
        object.insert(DATA_TRACESTATE.into(), state.clone().into());
    }
}

/// Takes the context [`attach`] put into a job's `data` out of it and makes
/// it current. It wins over a context the callback request carries: daprd
/// sends job callbacks none, so one there was started by the runtime for
/// this request and knows nothing of the job's cause.
pub fn adopt(data: &mut serde_json::Value) {
    let Some(object) = data.as_object_mut() else {
        return;
    };
    let traceparent = object.remove(DATA_TRACEPARENT);
    let tracestate = object.remove(DATA_TRACESTATE);
    if traceparent.is_none() {
        return;
    }
    let mut headers = http::HeaderMap::new();
    for (name, value) in [("traceparent", traceparent), ("tracestate", tracestate)] {
        if let Some(v) = value.as_ref().and_then(|v| v.as_str()) {
            if let Ok(v) = http::HeaderValue::from_str(v) {
                headers.insert(name, v);
            }
        }
    }
    set_current(TraceContext::from_headers(&headers));
}

thread_local! {
    static CURRENT: RefCell<Option<TraceContext>> = const { RefCell::new(None) };
}

/// Makes `context` the one outgoing calls carry (set when a request arrives).
pub fn set_current(context: Option<TraceContext>) {
    CURRENT.with(|c| *c.borrow_mut() = context);
}

/// The context of the request being handled, if it came with one.
pub fn current() -> Option<TraceContext> {
    CURRENT.with(|c| c.borrow().clone())
}

/// Adds the current context to an outgoing request's `headers`.
pub fn propagate(headers: &mut http::HeaderMap) {
    if let Some(context) = current() {
        context.inject(headers);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        for (k, v) in pairs {
            let name = http::HeaderName::from_bytes(k.as_bytes()).unwrap();
            h.append(name, v.parse().unwrap());
        }
        h
    }

    const GOOD: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_valid_traceparent_and_its_tracestate_are_read() {
        let c = TraceContext::from_headers(&headers(&[
            ("traceparent", GOOD),
            ("tracestate", "rojo=00f067aa0ba902b7"),
            ("tracestate", "congo=t61rcWkgMzE"),
        ]))
        .unwrap();
        assert_eq!(c.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        let mut out = http::HeaderMap::new();
        c.inject(&mut out);
        assert_eq!(out["traceparent"], GOOD);
        assert_eq!(out["tracestate"], "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
    }

    #[test]
    fn invalid_traceparents_are_ignored() {
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        ] {
            let h = headers(&[("traceparent", bad), ("tracestate", "a=b")]);
            assert_eq!(TraceContext::from_headers(&h), None, "{bad:?}");
        }
        // A later version may carry more fields.
        let later = "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-ever";
        assert!(TraceContext::from_headers(&headers(&[("traceparent", later)])).is_some());
    }

    #[test]
    fn a_job_carries_its_context_in_its_data_and_the_firing_adopts_it() {
        set_current(TraceContext::from_headers(&headers(&[(
            "traceparent",
            GOOD,
        )])));
        let mut data = serde_json::json!({"taskId": "t"});
        attach(&mut data);
        assert_eq!(data["traceparent"], GOOD);
        set_current(None);
        adopt(&mut data);
        assert_eq!(
            data,
            serde_json::json!({"taskId": "t"}),
            "the fields are taken out"
        );
        assert_eq!(
            current().unwrap().trace_id(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        // The job's context wins over one the runtime started; data
        // without one leaves the current context alone.
        let mut data = serde_json::json!({"traceparent": "00-11111111111111111111111111111111-2222222222222222-01"});
        adopt(&mut data);
        assert_eq!(
            current().unwrap().trace_id(),
            "11111111111111111111111111111111"
        );
        assert_eq!(data, serde_json::json!({}));
        adopt(&mut serde_json::json!({"taskId": "t"}));
        assert_eq!(
            current().unwrap().trace_id(),
            "11111111111111111111111111111111"
        );
        set_current(None);
    }

    #[test]
    fn outgoing_calls_carry_the_current_context_until_it_is_cleared() {
        set_current(TraceContext::from_headers(&headers(&[(
            "traceparent",
            GOOD,
        )])));
        let mut out = headers(&[("tracestate", "stale=1")]);
        propagate(&mut out);
        assert_eq!(out["traceparent"], GOOD);
        assert!(out.get("tracestate").is_none());
        set_current(None);
        let mut out = http::HeaderMap::new();
        propagate(&mut out);
        assert!(out.is_empty());
    }
}
