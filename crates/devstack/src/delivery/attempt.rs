//! One delivery attempt: the envelope the app is sent, the request that
//! carries it (daprd's `postman/http/http.go`: headers, trace context, the
//! app token) and what the app's answer means.

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde_json::Value;

use super::Worker;
use crate::kafka_partition;
use crate::sidecar::app::{add_app_token, new_traceparent};
use crate::store::{now_ms, Delivery};

/// What an attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Outcome {
    Success,
    /// Drop: dead-letter topic if any, else discard.
    Drop(String),
    /// Acked without calling the app (no route); copied to the DLQ if any.
    Skip(String),
    Retry(String),
}

impl Worker {
    /// The CloudEvent (parsed) and the bytes to send.
    pub(super) fn envelope(&self, delivery: &Delivery) -> Result<(Value, Bytes), String> {
        let msg = &delivery.message;
        if self.subscription.raw_payload() {
            use base64::Engine as _;
            let ce = serde_json::json!({
                "id": uuid::Uuid::new_v4().to_string(),
                "specversion": "1.0",
                "datacontenttype": "application/octet-stream",
                "source": "Dapr",
                "type": "com.dapr.event.sent",
                "topic": msg.topic,
                "pubsubname": msg.pubsub,
                "data_base64": base64::engine::general_purpose::STANDARD.encode(&msg.data),
            });
            let bytes = Bytes::from(serde_json::to_vec(&ce).unwrap_or_default());
            return Ok((ce, bytes));
        }
        match serde_json::from_slice::<Value>(&msg.data) {
            Ok(v) if v.is_object() => Ok((v, Bytes::from(msg.data.clone()))),
            Ok(_) => Err("error deserializing cloud event: not a JSON object".into()),
            Err(e) => Err(format!("error deserializing cloud event: {e}")),
        }
    }

    pub(super) async fn post(
        &self,
        route: &str,
        event: &Value,
        body: Bytes,
        msg: &crate::store::StoredMessage,
    ) -> (Outcome, Option<u16>) {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/cloudevents+json"),
        );
        let published_under = event
            .get("traceparent")
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .unwrap_or_else(new_traceparent);
        // daprd's span for this attempt, under the publish's context; the
        // app continues from it.
        let mut span = crate::traces::tracer().start(
            format!("deliver {} {route}", msg.topic),
            crate::traces::Kind::Client,
            &self.app.app_id,
            Some(&published_under),
        );
        span.set("messaging.message.id", event_id_of(event));
        span.set("subscription", &self.group);
        let traceparent = span.traceparent();
        let mut put = |name: &str, value: &str| {
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) {
                headers.insert(n, v);
            }
        };
        put("traceparent", &traceparent);
        if let Some(ts) = event
            .get("tracestate")
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty())
        {
            put("tracestate", ts);
        }
        put("pubsubname", &msg.pubsub);
        if let Some(key) = &msg.partition_key {
            put("__key", key);
        }
        put("__topic", &msg.topic);
        let partition = kafka_partition::partition(
            msg.partition_key.as_deref(),
            msg.seq,
            self.partitions.unwrap_or(1),
        );
        put("__partition", &partition.to_string());
        put("__offset", &msg.seq.to_string());
        put("__timestamp", &msg.published_at.to_string());
        add_app_token(&mut headers, self.app.app_token.as_deref());
        let route = if route.starts_with('/') {
            route.to_string()
        } else {
            format!("/{route}")
        };
        let answered = match self
            .channel
            .call(
                self.app.addr,
                Method::POST,
                &route,
                headers,
                body,
                self.call_timeout,
            )
            .await
        {
            Err(e) => (Outcome::Retry(format!("{e:#}")), None),
            Ok(r) => {
                let code = r.status.as_u16();
                let outcome = if r.status.is_success() {
                    reply_outcome(&r.body)
                } else if code == 404 {
                    Outcome::Drop("non-retriable error: app returned 404".into())
                } else {
                    Outcome::Retry(format!("retriable error: app returned status {code}"))
                };
                (outcome, Some(code))
            }
        };
        span.set("outcome", format!("{:?}", answered.0));
        span.end();
        answered
    }
}

/// A CloudEvent's `id` as text (a non-string id as its JSON).
pub(super) fn event_id_of(event: &Value) -> String {
    match event.get("id") {
        Some(Value::String(id)) => id.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

/// daprd's reading of a 2xx reply body.
fn reply_outcome(body: &[u8]) -> Outcome {
    #[derive(serde::Deserialize)]
    struct Reply {
        #[serde(default)]
        status: String,
    }
    if body.is_empty() {
        return Outcome::Success;
    }
    let Ok(reply) = serde_json::from_slice::<Reply>(body) else {
        // Non-JSON (or unexpected shape): success, as daprd logs and acks.
        return Outcome::Success;
    };
    match reply.status.as_str() {
        "" | "SUCCESS" => Outcome::Success,
        "RETRY" => Outcome::Retry("app replied RETRY".into()),
        "DROP" => Outcome::Drop("app replied DROP".into()),
        other => Outcome::Retry(format!("unknown status returned from app: {other:?}")),
    }
}

/// `expiration` (RFC 3339) in the past (contrib `pubsub.HasExpired`).
pub(super) fn expired(event: &Value) -> bool {
    event
        .get("expiration")
        .and_then(|e| e.as_str())
        .filter(|e| !e.is_empty())
        .and_then(|e| chrono::DateTime::parse_from_rfc3339(e).ok())
        .is_some_and(|t| t.timestamp_millis() < now_ms())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies() {
        assert_eq!(reply_outcome(b""), Outcome::Success);
        assert_eq!(reply_outcome(b"{}"), Outcome::Success);
        assert_eq!(reply_outcome(b"ok"), Outcome::Success);
        assert_eq!(reply_outcome(br#"{"status":"SUCCESS"}"#), Outcome::Success);
        assert!(matches!(
            reply_outcome(br#"{"status":"RETRY"}"#),
            Outcome::Retry(_)
        ));
        assert!(matches!(
            reply_outcome(br#"{"status":"DROP"}"#),
            Outcome::Drop(_)
        ));
        assert!(matches!(
            reply_outcome(br#"{"status":"success"}"#),
            Outcome::Retry(_)
        ));
    }
}
