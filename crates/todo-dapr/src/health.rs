//! Sidecar health (`GET /v1.0/healthz`): 204 when ready, 500 `ERR_HEALTH_NOT_READY` otherwise.

use crate::{DaprClient, DaprError, Transport};

impl<T: Transport> DaprClient<T> {
    /// `Ok` when the sidecar reports itself ready.
    pub async fn healthz(&self) -> Result<(), DaprError> {
        let request = http::Request::get("/v1.0/healthz")
            .body(Vec::new())
            .expect("a static request is valid");
        let response = self.send(request).await?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(DaprError::from_response(&response))
        }
    }
}
