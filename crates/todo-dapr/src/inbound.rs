//! What Dapr sends *to* a component: pub/sub deliveries, job callbacks, and the
//! app token that proves a request came from our sidecar.

use serde::Serialize;

/// How a subscriber answers a delivery (Dapr's `{"status": …}` reply).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum DeliveryStatus {
    /// Processed (or a duplicate): acknowledge.
    Success,
    /// Transient failure: redeliver later.
    Retry,
    /// Poison message: never redeliver (goes to the dead-letter topic).
    Drop,
}

impl DeliveryStatus {
    /// The 200 response carrying `{"status":"…"}`.
    pub fn reply(self) -> http::Response<Vec<u8>> {
        todo!()
    }
}

/// Why a delivery could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    #[error("body is not a JSON CloudEvent: {0}")]
    NotCloudEvent(String),
    #[error("unsupported event type {0:?}")]
    UnknownType(String),
    #[error("event data does not match its type: {0}")]
    BadData(String),
}

/// Parses a delivered CloudEvent envelope (any `data` shape).
pub fn parse_cloud_event<D: serde::de::DeserializeOwned>(body: &[u8]) -> Result<D, DeliveryError> {
    let _ = body;
    todo!()
}

/// Whether the request's `dapr-api-token` matches the configured app token,
/// compared in constant time. No configured token → every request passes.
pub fn app_token_matches(configured: Option<&str>, presented: Option<&str>) -> bool {
    let _ = (configured, presented);
    todo!()
}
