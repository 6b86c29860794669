//! What can go wrong talking to Dapr, classified the way callers must react.

use crate::transport::TransportError;

/// A Dapr error body: `{"errorCode":"ERR_…","message":"…"}` (pkg/api/http/responses.go).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    #[serde(default)]
    pub error_code: String,
    #[serde(default)]
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DaprError {
    /// The named thing does not exist (e.g. a missing secret or binding).
    #[error("not found: {0}")]
    NotFound(String),
    /// A single save/delete lost an ETag race: 409 `ERR_STATE_SAVE`/`ERR_STATE_DELETE`.
    #[error("etag mismatch: {0}")]
    EtagMismatch(String),
    /// A state transaction failed: 500 `ERR_STATE_TRANSACTION`. Dapr reports an
    /// ETag conflict this way too, so callers re-read and retry a bounded number of times.
    #[error("state transaction failed: {0}")]
    TransactionFailed(String),
    /// The sidecar is unreachable, or answered 5xx: retry later.
    #[error("dapr unavailable: {0}")]
    Unavailable(String),
    /// Dapr refused the request (4xx): a bug or misconfiguration on our side.
    #[error("dapr rejected the request ({status} {code}): {message}")]
    Rejected {
        status: u16,
        code: String,
        message: String,
    },
    /// We could not build the request (bad name, unserializable value…).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// Dapr answered 2xx with a body we could not read.
    #[error("unexpected response from dapr: {0}")]
    BadResponse(String),
}

impl From<TransportError> for DaprError {
    fn from(err: TransportError) -> DaprError {
        DaprError::Unavailable(err.0)
    }
}

impl DaprError {
    /// Transient: worth retrying later (→ 503 on the API, RETRY on deliveries).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            DaprError::Unavailable(_)
                | DaprError::TransactionFailed(_)
                | DaprError::EtagMismatch(_)
        )
    }

    /// Classifies a non-2xx response. Call-specific codes (404 on a state get
    /// is impossible; 409 on a job) are handled by the caller before this.
    pub fn from_response(response: &http::Response<Vec<u8>>) -> DaprError {
        let status = response.status().as_u16();
        let body: ErrorBody =
            serde_json::from_slice(response.body()).unwrap_or_else(|_| ErrorBody {
                error_code: String::new(),
                message: String::from_utf8_lossy(response.body()).into_owned(),
            });
        match status {
            404 => DaprError::NotFound(body.message),
            409 => DaprError::EtagMismatch(body.message),
            500 if body.error_code == "ERR_STATE_TRANSACTION" => {
                DaprError::TransactionFailed(body.message)
            }
            s if s >= 500 => {
                DaprError::Unavailable(format!("{s} {}: {}", body.error_code, body.message))
            }
            _ => DaprError::Rejected {
                status,
                code: body.error_code,
                message: body.message,
            },
        }
    }
}
