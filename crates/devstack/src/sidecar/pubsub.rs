//! Publish: `POST|PUT /v1.0/publish/{pubsub}/{topic}` (the topic may contain
//! `/`), daprd's `onPublish` with components-contrib's CloudEvent rules
//! (`pubsub/envelope.go`, dapr `pkg/runtime/pubsub/cloudevents.go`):
//!
//! - `Content-Type: application/cloudevents+json`: the body is the event.
//!   `topic` and `pubsubname` are overwritten; `traceid`/`traceparent`/
//!   `tracestate` and `time` are filled only if missing; `source` defaults
//!   to `Dapr`, `type` to `com.dapr.event.sent`, `specversion` to `1.0`; no
//!   `id` is invented.
//! - any other content type: Dapr builds the envelope — `id` a UUID v4,
//!   `source` the app-id, `type` `com.dapr.event.sent`, `datacontenttype`
//!   the request's content type or `text/plain`; `data` is parsed JSON only
//!   for `application/json` (invalid JSON becomes a string), base64 in
//!   `data_base64` for `application/octet-stream`, else a string.
//!   `metadata.cloudevent.{id,source,type,traceparent,tracestate}` override.
//! - `metadata.rawPayload=true`: the body is stored untouched.
//! - `metadata.ttlInSeconds` → `expiration` (our log has no native TTL,
//!   like Kafka); `metadata.partitionKey` → the message key (ordering).
//!
//! 204 on success; an unknown (or out-of-scope) pubsub → 404
//! `ERR_PUBSUB_NOT_FOUND`; a topic no `KafkaTopic` declares → 500
//! `ERR_PUBSUB_PUBLISH_MESSAGE`, as daprd answers when its Kafka producer
//! (sarama, components-contrib `common/component/kafka/producer.go`) gets
//! `UNKNOWN_TOPIC_OR_PARTITION` from a Strimzi cluster with auto-create off.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::{json, Map, Value};

use super::app::{new_traceparent, valid_traceparent};
use super::{api_error, empty, kit_error, Ctx, Req, Resp};
use crate::store::NewMessage;

pub const CLOUDEVENTS_CONTENT_TYPE: &str = "application/cloudevents+json";

fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// `POST /v1.0/publish/{pubsub}/{topic}`.
pub(crate) async fn publish(ctx: &Ctx, pubsub: &str, topic: &str, req: &Req) -> Resp {
    let metadata = req.metadata();
    let component = ctx
        .resources
        .components_of(&ctx.app_id, "pubsub")
        .find(|c| c.name == pubsub);
    if component.is_none() {
        return kit_error(
            404,
            "ERR_PUBSUB_NOT_FOUND",
            "DAPR_PUBSUB_NOT_FOUND",
            format!("pubsub {pubsub} is not found"),
            json!({ "appID": ctx.app_id }),
        );
    }
    if topic.is_empty() {
        return kit_error(
            404,
            "ERR_TOPIC_NAME_EMPTY",
            "DAPR_PUBSUB_TOPIC_NAME_EMPTY",
            format!("topic is empty in pubsub {pubsub}"),
            json!({ "appID": ctx.app_id }),
        );
    }
    let content_type = req.header("content-type").unwrap_or("").to_string();
    let raw_payload = metadata
        .get("rawPayload")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let traceparent = req
        .header("traceparent")
        .filter(|t| valid_traceparent(t))
        .map(str::to_string)
        .unwrap_or_else(new_traceparent);
    let tracestate = req.header("tracestate").unwrap_or("").to_string();

    let (data, stored_content_type) = if raw_payload {
        (req.body.to_vec(), content_type.clone())
    } else {
        let envelope = match build_envelope(
            &ctx.app_id,
            pubsub,
            topic,
            &content_type,
            &req.body,
            &metadata,
            &traceparent,
            &tracestate,
        ) {
            Ok(e) => e,
            Err(e) => {
                return kit_error(
                    400,
                    "ERR_PUBSUB_CLOUD_EVENTS_SER",
                    "DAPR_PUBSUB_CLOUD_EVENT_CREATION",
                    format!("cannot create cloudevent: {e}"),
                    json!({ "appID": ctx.app_id, "pubsubName": pubsub }),
                )
            }
        };
        (
            serde_json::to_vec(&envelope).unwrap_or_default(),
            CLOUDEVENTS_CONTENT_TYPE.to_string(),
        )
    };
    let partition_key = metadata
        .get("partitionKey")
        .filter(|k| !k.is_empty())
        .cloned();
    let msg = NewMessage {
        pubsub: pubsub.to_string(),
        topic: topic.to_string(),
        partition_key,
        content_type: stored_content_type,
        metadata,
        data,
    };
    // The outbound policy of the pubsub wraps the broker call (daprd's
    // `publisher.Publish`), the unknown-topic refusal included.
    let published = ctx.outbound(pubsub, |_| false, str::to_string, || {
        let msg = msg.clone();
        async move {
            if !ctx.resources.topic_exists(topic) {
                return Err(format!(
                    "kafka: Failed to produce message to topic {topic}: kafka server: Request was for a topic or partition that does not exist on this broker"
                ));
            }
            ctx.store.publish(msg).await.map_err(|e| format!("{e:#}"))
        }
    })
    .await;
    match published {
        Ok(seq) => {
            tracing::debug!(app_id = %ctx.app_id, pubsub, topic, seq, "published");
            empty(204)
        }
        Err(e) => api_error(
            500,
            "ERR_PUBSUB_PUBLISH_MESSAGE",
            format!("error when publish to topic {topic} in pubsub {pubsub}: {e}"),
        ),
    }
}

/// The envelope daprd would build (see the module docs).
#[allow(clippy::too_many_arguments)]
pub fn build_envelope(
    app_id: &str,
    pubsub: &str,
    topic: &str,
    content_type: &str,
    body: &[u8],
    metadata: &BTreeMap<String, String>,
    traceparent: &str,
    tracestate: &str,
) -> Result<Value, String> {
    let now = chrono::Utc::now();
    let time = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut ce: Map<String, Value> = if media_type(content_type) == CLOUDEVENTS_CONTENT_TYPE {
        let parsed: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        let Value::Object(mut m) = parsed else {
            return Err("a CloudEvent must be a JSON object".into());
        };
        m.insert("topic".into(), Value::String(topic.into()));
        m.insert("pubsubname".into(), Value::String(pubsub.into()));
        for (field, value) in [
            ("traceid", traceparent),
            ("traceparent", traceparent),
            ("tracestate", tracestate),
        ] {
            if m.get(field).is_none_or(|v| v.is_null()) {
                m.insert(field.into(), Value::String(value.into()));
            }
        }
        for (field, value) in [
            ("source", "Dapr"),
            ("type", "com.dapr.event.sent"),
            ("specversion", "1.0"),
            ("time", time.as_str()),
        ] {
            if m.get(field).is_none_or(|v| v.is_null()) {
                m.insert(field.into(), Value::String(value.into()));
            }
        }
        m
    } else {
        let meta = |k: &str| {
            metadata
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(k))
                .map(|(_, v)| v.clone())
                .filter(|v| !v.is_empty())
        };
        let id = meta("cloudevent.id").unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let source = meta("cloudevent.source").unwrap_or_else(|| app_id.to_string());
        let event_type = meta("cloudevent.type").unwrap_or_else(|| "com.dapr.event.sent".into());
        let trace = meta("cloudevent.traceparent")
            .or_else(|| meta("cloudevent.traceid"))
            .unwrap_or_else(|| traceparent.to_string());
        let state = meta("cloudevent.tracestate").unwrap_or_else(|| tracestate.to_string());
        let dct = if content_type.is_empty() {
            "text/plain".to_string()
        } else {
            content_type.to_string()
        };
        let mut m = Map::new();
        m.insert("id".into(), Value::String(id));
        m.insert("specversion".into(), Value::String("1.0".into()));
        m.insert("datacontenttype".into(), Value::String(dct.clone()));
        m.insert("source".into(), Value::String(source));
        m.insert("type".into(), Value::String(event_type));
        m.insert("topic".into(), Value::String(topic.into()));
        m.insert("pubsubname".into(), Value::String(pubsub.into()));
        m.insert("traceid".into(), Value::String(trace.clone()));
        m.insert("traceparent".into(), Value::String(trace));
        m.insert("tracestate".into(), Value::String(state));
        m.insert("time".into(), Value::String(time));
        let media = media_type(&dct);
        if media == "application/json" {
            let data = serde_json::from_slice::<Value>(body)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()));
            m.insert("data".into(), data);
        } else if media == "application/octet-stream" {
            m.insert(
                "data_base64".into(),
                Value::String(base64::engine::general_purpose::STANDARD.encode(body)),
            );
        } else {
            m.insert(
                "data".into(),
                Value::String(String::from_utf8_lossy(body).into_owned()),
            );
        }
        m
    };
    if let Some(ttl) = metadata
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("ttlInSeconds"))
        .map(|(_, v)| v)
    {
        let secs: i64 = ttl
            .trim()
            .parse()
            .map_err(|_| format!("invalid ttlInSeconds {ttl:?}"))?;
        if secs > 0 {
            let exp = now + chrono::Duration::seconds(secs);
            ce.insert(
                "expiration".into(),
                Value::String(exp.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            );
        }
    }
    Ok(Value::Object(ce))
}
