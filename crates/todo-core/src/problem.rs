//! RFC 9457 problem details: the one error shape every HTTP route answers with.
//!
//! `type` is a relative URI reference naming the problem kind (RFC 9457 §3.1.1
//! allows relative references); `about:blank` is used where the status says it all.

use serde::{Deserialize, Serialize};

/// One invalid input field, as listed in a validation problem's `errors`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    /// JSON-pointer-like dotted path of the field, e.g. `reminder.before` or `tags[3]`.
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// `application/problem+json` body plus the status and headers to send it with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Seconds for a `Retry-After` header (503s, 429s); not part of the body.
    #[serde(skip)]
    pub retry_after: Option<u32>,
}

pub const CONTENT_TYPE: &str = "application/problem+json";

impl Problem {
    pub fn new(status: u16, kind: &str, title: &str, detail: impl Into<String>) -> Problem {
        Problem {
            kind: kind.to_string(),
            title: title.to_string(),
            status,
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
        }
    }

    /// Malformed JSON, unknown fields, wrong JSON types, bad query parameters.
    pub fn bad_request(detail: impl Into<String>) -> Problem {
        Problem::new(400, "/problems/bad-request", "Bad Request", detail)
    }

    /// Well-formed input that breaks a rule; `errors` names each field.
    pub fn validation(errors: Vec<FieldError>) -> Problem {
        let detail = match errors.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            many => format!("{} fields are invalid", many.len()),
        };
        Problem {
            errors,
            ..Problem::new(
                422,
                "/problems/validation-error",
                "Your request is not valid",
                detail,
            )
        }
    }

    pub fn unauthorized(detail: impl Into<String>) -> Problem {
        Problem::new(401, "/problems/unauthorized", "Unauthorized", detail)
    }

    /// Also what another user's task answers: existence is not revealed.
    pub fn not_found(detail: impl Into<String>) -> Problem {
        Problem::new(404, "about:blank", "Not Found", detail)
    }

    pub fn method_not_allowed(detail: impl Into<String>) -> Problem {
        Problem::new(405, "about:blank", "Method Not Allowed", detail)
    }

    pub fn conflict(detail: impl Into<String>) -> Problem {
        Problem::new(409, "/problems/conflict", "Conflict", detail)
    }

    pub fn precondition_failed(detail: impl Into<String>) -> Problem {
        Problem::new(
            412,
            "/problems/precondition-failed",
            "Precondition Failed",
            detail,
        )
    }

    pub fn payload_too_large(limit_bytes: usize) -> Problem {
        Problem::new(
            413,
            "/problems/payload-too-large",
            "Content Too Large",
            format!("the request body exceeds {limit_bytes} bytes"),
        )
    }

    pub fn unsupported_media_type(detail: impl Into<String>) -> Problem {
        Problem::new(
            415,
            "/problems/unsupported-media-type",
            "Unsupported Media Type",
            detail,
        )
    }

    /// The client must slow down (e.g. repeated failed sign-ins); retry after
    /// `retry_after_secs`.
    pub fn too_many_requests(detail: impl Into<String>, retry_after_secs: u32) -> Problem {
        Problem {
            retry_after: Some(retry_after_secs),
            ..Problem::new(
                429,
                "/problems/too-many-requests",
                "Too Many Requests",
                detail,
            )
        }
    }

    /// A dependency (the Dapr sidecar or its store) is down or contended; safe to retry.
    pub fn unavailable(detail: impl Into<String>, retry_after_secs: u32) -> Problem {
        Problem {
            retry_after: Some(retry_after_secs),
            ..Problem::new(
                503,
                "/problems/service-unavailable",
                "Service Unavailable",
                detail,
            )
        }
    }

    pub fn internal(detail: impl Into<String>) -> Problem {
        Problem::new(500, "about:blank", "Internal Server Error", detail)
    }

    /// The JSON body.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a problem always serializes")
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.title, self.detail)
    }
}

impl std::error::Error for Problem {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_problem_lists_fields_and_hides_retry_after() {
        let p = Problem::validation(vec![FieldError::new("title", "must not be empty")]);
        let body: serde_json::Value = serde_json::from_slice(&p.to_json()).unwrap();
        assert_eq!(body["status"], 422);
        assert_eq!(body["errors"][0]["field"], "title");
        assert_eq!(body["detail"], "title: must not be empty");
        assert!(body.get("retry_after").is_none());
    }

    #[test]
    fn plain_problem_omits_empty_errors() {
        let body: serde_json::Value =
            serde_json::from_slice(&Problem::not_found("no such task").to_json()).unwrap();
        assert_eq!(body["type"], "about:blank");
        assert!(body.get("errors").is_none());
    }
}
