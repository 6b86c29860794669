//! Service invocation (`/v1.0/invoke/{app-id}/method/{path}`).

use crate::{DaprClient, DaprError, Transport};

impl<T: Transport> DaprClient<T> {
    /// Calls `method path` on `app_id` through the sidecars and returns the
    /// callee's response as is (any status): only transport failures are errors.
    /// `path` has no leading slash and may carry a query string.
    pub async fn invoke(
        &self,
        app_id: &str,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, DaprError> {
        let _ = (app_id, request);
        todo!()
    }
}
