//! Publish (`/v1.0/publish/{pubsub}/{topic}`) of envelopes we build ourselves.

use crate::{DaprClient, DaprError, Transport};

impl<T: Transport> DaprClient<T> {
    /// Publishes a complete CloudEvent as `application/cloudevents+json` so Dapr
    /// keeps its `id`; `partition_key` becomes `?metadata.partitionKey=`.
    pub async fn publish_event(
        &self,
        pubsub: &str,
        topic: &str,
        event: &serde_json::Value,
        partition_key: &str,
    ) -> Result<(), DaprError> {
        let _ = (pubsub, topic, event, partition_key);
        todo!()
    }
}
