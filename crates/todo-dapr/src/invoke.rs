//! Service invocation (`/v1.0/invoke/{app-id}/method/{path}`).

use crate::{request, DaprClient, DaprError, Transport};

/// The error code daprd answers with when *it* could not complete the call
/// (callee unreachable, no healthy instance, resiliency gave up, ACL denied):
/// `messages.ErrDirectInvoke` "failed to invoke, id: …, err: …"
/// (pkg/api/http/directmessaging.go). A callee's own response is proxied
/// unchanged (status, headers, body), so it never carries this code.
const ERR_DIRECT_INVOKE: &str = "ERR_DIRECT_INVOKE";

impl<T: Transport> DaprClient<T> {
    /// Calls `method path` on `app_id` through the sidecars and returns the
    /// callee's response as is (any status): only failures of the call itself
    /// are errors.
    ///
    /// The method path is the request URI's path and query (with or without a
    /// leading slash: `/internal/tasks/next?x=1` and `internal/tasks/next` are
    /// the same call); it is forwarded as written. Method, headers and body are
    /// forwarded; Dapr drops `dapr-api-token` and adds the callee's app token.
    ///
    /// Errors: sidecar unreachable → [`DaprError::Unavailable`]; a Dapr
    /// `ERR_DIRECT_INVOKE*` error body with a 5xx status (daprd could not reach
    /// the callee) → [`DaprError::Unavailable`], with a 4xx status (access
    /// control denied, 403) → [`DaprError::Rejected`].
    pub async fn invoke(
        &self,
        app_id: &str,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, DaprError> {
        let (parts, body) = request.into_parts();
        let method_path = match parts.uri.path_and_query() {
            Some(pq) => pq.as_str().to_string(),
            None => parts.uri.to_string(),
        };
        let method_path = method_path.trim_start_matches('/');
        if method_path.is_empty() || method_path.starts_with('?') {
            return Err(DaprError::InvalidRequest(
                "invoked method path is empty".into(),
            ));
        }
        let path = format!(
            "/v1.0/invoke/{}/method/{}",
            request::segment(app_id, "app id")?,
            method_path
        );
        let mut outbound = http::Request::builder()
            .method(parts.method)
            .uri(&path)
            .body(body)
            .map_err(|e| DaprError::InvalidRequest(format!("{path}: {e}")))?;
        *outbound.headers_mut() = parts.headers;
        let response = self.send(outbound).await?;

        let status = response.status();
        if status.is_client_error() || status.is_server_error() {
            if let Some(body) = request::error_body(&response) {
                if body.error_code.starts_with(ERR_DIRECT_INVOKE) {
                    return Err(if status.is_server_error() {
                        DaprError::Unavailable(format!(
                            "{} {}: {}",
                            status.as_u16(),
                            body.error_code,
                            body.message
                        ))
                    } else {
                        DaprError::Rejected {
                            status: status.as_u16(),
                            code: body.error_code,
                            message: body.message,
                        }
                    });
                }
            }
        }
        Ok(response)
    }
}
