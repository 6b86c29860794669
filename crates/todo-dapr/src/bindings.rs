//! Output bindings (`/v1.0/bindings/{name}`), e.g. `bindings.smtp`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::{request, DaprClient, DaprError, Transport};

#[derive(Serialize)]
struct BindingRequest<'a> {
    operation: &'a str,
    data: &'a serde_json::Value,
    metadata: &'a BTreeMap<String, String>,
}

impl<T: Transport> DaprClient<T> {
    /// Invokes `operation` on output binding `name` and returns the response body
    /// (empty for 204).
    ///
    /// `POST /v1.0/bindings/{name}` `{"operation","data","metadata"}` → 200 with
    /// the binding's data, or 204. A failing binding (and an unknown binding
    /// name) is 500 `ERR_INVOKE_OUTPUT_BINDING` → [`DaprError::Unavailable`].
    pub async fn invoke_binding(
        &self,
        name: &str,
        operation: &str,
        data: &serde_json::Value,
        metadata: &BTreeMap<String, String>,
    ) -> Result<Vec<u8>, DaprError> {
        if operation.is_empty() {
            return Err(DaprError::InvalidRequest(
                "binding operation is empty".into(),
            ));
        }
        let path = format!("/v1.0/bindings/{}", request::segment(name, "binding name")?);
        let body = BindingRequest {
            operation,
            data,
            metadata,
        };
        let response = self.send(request::post_json(&path, &body)?).await?;
        if response.status().is_success() {
            Ok(response.into_body())
        } else {
            Err(DaprError::from_response(&response))
        }
    }
}
