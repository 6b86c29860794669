//! Request bodies: the 64 KiB limit and JSON parsing with the right status codes.

use serde::de::DeserializeOwned;
use todo_core::Problem;

use crate::{header, Request};

/// Largest body any public route accepts (architecture §3); larger → 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Requires a JSON media type (`application/json`, `application/merge-patch+json`
/// or any `+json`) when a body is present; otherwise 415.
pub fn require_json(request: &Request) -> Result<(), Problem> {
    if request.body().is_empty() {
        return Ok(());
    }
    let content_type = header(request, "content-type").unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if essence == "application/json" || essence.ends_with("+json") {
        Ok(())
    } else {
        Err(Problem::unsupported_media_type(format!(
            "expected a JSON body (Content-Type: application/json), got {:?}",
            content_type
        )))
    }
}

/// Parses the body as JSON into `T`: malformed JSON, wrong types or unknown
/// fields → 400 saying where.
pub fn json<T: DeserializeOwned>(request: &Request) -> Result<T, Problem> {
    require_json(request)?;
    if request.body().len() > MAX_BODY_BYTES {
        return Err(Problem::payload_too_large(MAX_BODY_BYTES));
    }
    serde_json::from_slice(request.body())
        .map_err(|e| Problem::bad_request(format!("invalid JSON body: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(content_type: &str, body: &str) -> Request {
        http::Request::builder()
            .header("content-type", content_type)
            .body(body.as_bytes().to_vec())
            .unwrap()
    }

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Thing {
        n: u32,
    }

    #[test]
    fn json_media_types_are_accepted_with_parameters() {
        assert!(require_json(&request("application/json; charset=utf-8", "{}")).is_ok());
        assert!(require_json(&request("application/merge-patch+json", "{}")).is_ok());
        assert_eq!(
            require_json(&request("text/plain", "{}"))
                .unwrap_err()
                .status,
            415
        );
    }

    #[test]
    fn bad_json_is_400_and_names_the_problem() {
        let err = json::<Thing>(&request("application/json", "{\"n\":1,\"x\":2}")).unwrap_err();
        assert_eq!(err.status, 400);
        assert!(err.detail.contains("unknown field `x`"), "{}", err.detail);
        assert_eq!(
            json::<Thing>(&request("application/json", "{"))
                .unwrap_err()
                .status,
            400
        );
        assert_eq!(
            json::<Thing>(&request("application/json", "{\"n\":\"1\"}"))
                .unwrap_err()
                .status,
            400
        );
    }
}
