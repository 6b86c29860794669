//! Publish (`/v1.0/publish/{pubsub}/{topic}`) of envelopes we build ourselves.

use crate::{request, DaprClient, DaprError, Transport};

/// The content type that makes Dapr take the body as the CloudEvent itself
/// (keeping our `id`; it only overwrites `topic`/`pubsubname` and fills the
/// trace fields when missing).
pub const CLOUDEVENTS_CONTENT_TYPE: &str = "application/cloudevents+json";

impl<T: Transport> DaprClient<T> {
    /// Publishes a complete CloudEvent as `application/cloudevents+json` so Dapr
    /// keeps its `id`; `partition_key` becomes `?metadata.partitionKey=` (omitted
    /// when empty).
    ///
    /// The event must be a JSON object with a non-empty string `id` (Dapr does
    /// not invent one for a CloudEvent body, and consumers dedupe on it).
    ///
    /// Errors: 204 is success; 404 `ERR_PUBSUB_NOT_FOUND`, 400
    /// `ERR_PUBSUB_NOT_CONFIGURED` and 403 `ERR_PUBSUB_FORBIDDEN` (topic scoping)
    /// are all configuration errors → [`DaprError::Rejected`] (404 included, so it
    /// cannot be mistaken for "nothing to do"); 5xx (`ERR_PUBSUB_PUBLISH_MESSAGE`)
    /// and an unreachable sidecar → [`DaprError::Unavailable`].
    pub async fn publish_event(
        &self,
        pubsub: &str,
        topic: &str,
        event: &serde_json::Value,
        partition_key: &str,
    ) -> Result<(), DaprError> {
        let has_id = event
            .get("id")
            .and_then(|id| id.as_str())
            .is_some_and(|id| !id.is_empty());
        if !event.is_object() || !has_id {
            return Err(DaprError::InvalidRequest(
                "a published CloudEvent must be a JSON object with a non-empty string id".into(),
            ));
        }
        let mut path = format!(
            "/v1.0/publish/{}/{}",
            request::segment(pubsub, "pubsub name")?,
            request::segment(topic, "topic")?
        );
        if !partition_key.is_empty() {
            path.push_str("?metadata.partitionKey=");
            path.push_str(&request::query_value(partition_key));
        }
        let body =
            serde_json::to_vec(event).map_err(|e| DaprError::InvalidRequest(e.to_string()))?;
        let req = request::with_body(http::Method::POST, &path, CLOUDEVENTS_CONTENT_TYPE, body)?;
        let response = self.send(req).await?;
        if response.status().is_success() {
            return Ok(());
        }
        match DaprError::from_response(&response) {
            DaprError::NotFound(message) => {
                let code = request::error_body(&response)
                    .map(|b| b.error_code)
                    .unwrap_or_default();
                Err(DaprError::Rejected {
                    status: 404,
                    code,
                    message,
                })
            }
            other => Err(other),
        }
    }
}
