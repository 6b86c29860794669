//! Secrets API (`/v1.0/secrets/{store}/{name}`).

use std::collections::BTreeMap;

use crate::{request, DaprClient, DaprError, Transport};

impl<T: Transport> DaprClient<T> {
    /// All keys of secret `name` in `store`: 200 `{"<key>":"<value>",…}`;
    /// 204 (the store returned no data) → an empty map.
    ///
    /// Dapr has no distinct "missing secret" status: the store's error comes
    /// back as 500 `ERR_SECRET_GET` "failed getting secret with key K from secret
    /// store S: <store error>" (pkg/api/errors/secret.go). When that store error
    /// says "not found" (Kubernetes: `secrets "k" not found`; local file store:
    /// `secret k not found`) → [`DaprError::NotFound`]; any other 500 →
    /// [`DaprError::Unavailable`]. An unknown store is 401
    /// `ERR_SECRET_STORE_NOT_FOUND` and a scoping denial 403
    /// `ERR_PERMISSION_DENIED`, both → [`DaprError::Rejected`].
    pub async fn get_secret(
        &self,
        store: &str,
        name: &str,
    ) -> Result<BTreeMap<String, String>, DaprError> {
        let path = format!(
            "/v1.0/secrets/{}/{}",
            request::segment(store, "secret store name")?,
            request::segment(name, "secret name")?
        );
        let response = self.send(request::empty(http::Method::GET, &path)?).await?;
        let status = response.status();
        if status == http::StatusCode::NO_CONTENT {
            return Ok(BTreeMap::new());
        }
        if status.is_success() {
            return serde_json::from_slice(response.body())
                .map_err(|e| DaprError::BadResponse(format!("secret {name:?}: {e}")));
        }
        if status == http::StatusCode::INTERNAL_SERVER_ERROR {
            if let Some(body) = request::error_body(&response) {
                if body.error_code == "ERR_SECRET_GET"
                    && body.message.to_ascii_lowercase().contains("not found")
                {
                    return Err(DaprError::NotFound(body.message));
                }
            }
        }
        Err(DaprError::from_response(&response))
    }
}
