//! What Dapr sends *to* a component: pub/sub deliveries, job callbacks, and the
//! app token that proves a request came from our sidecar.

use serde::Serialize;
use subtle::ConstantTimeEq;

/// The header daprd puts the app token (`APP_API_TOKEN`) in on every call to
/// the app: deliveries, job callbacks, service invocation, input bindings.
pub const APP_TOKEN_HEADER: &str = "dapr-api-token";

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
    /// The exact status string Dapr matches (case-sensitive: a lowercase
    /// `"success"` would be read as RETRY).
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Success => "SUCCESS",
            DeliveryStatus::Retry => "RETRY",
            DeliveryStatus::Drop => "DROP",
        }
    }

    /// The 200 response carrying `{"status":"…"}` (`Content-Type: application/json`).
    ///
    /// Always 200: Dapr reads RETRY/DROP from the body of a 2xx; a non-2xx would
    /// be a retry (or, for 404, a drop) with an error log instead.
    pub fn reply(self) -> http::Response<Vec<u8>> {
        let body = format!("{{\"status\":\"{}\"}}", self.as_str()).into_bytes();
        let mut response = http::Response::new(body);
        *response.status_mut() = http::StatusCode::OK;
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        response
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

impl DeliveryError {
    /// Every unreadable delivery is a poison message: retrying cannot fix it.
    pub fn status(&self) -> DeliveryStatus {
        DeliveryStatus::Drop
    }
}

/// Parses a delivered CloudEvent envelope (any `data` shape).
///
/// The body must be a JSON object with non-empty string `specversion`, `id`
/// and `type`, else [`DeliveryError::NotCloudEvent`]; it is then deserialized
/// into `D` (typically `todo_core::events::CloudEvent<YourData>`; unknown
/// fields are ignored unless `D` denies them), and a mismatch is
/// [`DeliveryError::BadData`].
pub fn parse_cloud_event<D: serde::de::DeserializeOwned>(body: &[u8]) -> Result<D, DeliveryError> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| DeliveryError::NotCloudEvent(e.to_string()))?;
    let Some(object) = value.as_object() else {
        return Err(DeliveryError::NotCloudEvent("not a JSON object".into()));
    };
    for field in ["specversion", "id", "type"] {
        match object.get(field).and_then(|v| v.as_str()) {
            Some(s) if !s.is_empty() => {}
            _ => {
                return Err(DeliveryError::NotCloudEvent(format!(
                    "missing or empty string attribute {field:?}"
                )))
            }
        }
    }
    serde_json::from_value(value).map_err(|e| DeliveryError::BadData(e.to_string()))
}

/// Parses a job callback (`POST /job/{name}`): Dapr sends the job's `data`
/// as the raw JSON body (not wrapped). Unparseable → [`DeliveryError::BadData`].
pub fn parse_job_data<D: serde::de::DeserializeOwned>(body: &[u8]) -> Result<D, DeliveryError> {
    let mut data: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| DeliveryError::BadData(e.to_string()))?;
    // The context the job was scheduled under continues here.
    crate::trace::adopt(&mut data);
    serde_json::from_value(data).map_err(|e| DeliveryError::BadData(e.to_string()))
}

/// The job name of a job callback path `/job/{name}` (percent-decoded), or
/// `None` for any other path.
pub fn job_name_from_path(path: &str) -> Option<String> {
    let path = path.split('?').next().unwrap_or(path);
    let name = path.strip_prefix("/job/")?;
    if name.is_empty() || name.contains('/') {
        return None;
    }
    percent_encoding::percent_decode_str(name)
        .decode_utf8()
        .ok()
        .map(|n| n.into_owned())
}

/// The `dapr-api-token` header of an inbound request, if present and text.
pub fn presented_app_token(headers: &http::HeaderMap) -> Option<&str> {
    headers.get(APP_TOKEN_HEADER).and_then(|v| v.to_str().ok())
}

/// Whether the request's `dapr-api-token` matches the configured app token,
/// compared in constant time. No configured token (or an empty one, which
/// daprd treats as unset) → every request passes.
pub fn app_token_matches(configured: Option<&str>, presented: Option<&str>) -> bool {
    match configured {
        None | Some("") => true,
        Some(expected) => match presented {
            None => false,
            Some(presented) => bool::from(expected.as_bytes().ct_eq(presented.as_bytes())),
        },
    }
}
