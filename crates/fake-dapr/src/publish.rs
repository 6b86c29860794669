//! The pub/sub building block: every accepted publish recorded whole
//! (topic, content type, partition key, event).

use serde_json::Value;

use crate::response::{empty, error};
use crate::routing::decode;
use crate::{FakeDapr, Inner};

/// One accepted publish.
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    pub pubsub: String,
    pub topic: String,
    pub content_type: String,
    pub partition_key: Option<String>,
    pub event: Value,
}

impl FakeDapr {
    pub fn published(&self) -> Vec<Published> {
        self.lock().published.clone()
    }

    pub fn published_on(&self, topic: &str) -> Vec<Published> {
        self.published()
            .into_iter()
            .filter(|p| p.topic == topic)
            .collect()
    }
}

impl Inner {
    pub(crate) fn publish(
        &mut self,
        pubsub: &str,
        topic: &str,
        request: &http::Request<Vec<u8>>,
    ) -> http::Response<Vec<u8>> {
        if self.failing_publishes > 0 {
            self.failing_publishes -= 1;
            return error(
                500,
                "ERR_PUBSUB_PUBLISH_MESSAGE",
                "error when publish to topic: broker down",
            );
        }
        let query = request.uri().query().unwrap_or("");
        let partition_key = form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "metadata.partitionKey")
            .map(|(_, v)| v.into_owned());
        let content_type = request
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let event = serde_json::from_slice(request.body()).unwrap_or(Value::Null);
        self.published.push(Published {
            pubsub: pubsub.to_string(),
            topic: decode(topic),
            content_type,
            partition_key,
            event,
        });
        empty(204)
    }
}
