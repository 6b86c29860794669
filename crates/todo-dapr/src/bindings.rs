//! Output bindings (`/v1.0/bindings/{name}`), e.g. `bindings.smtp`.

use std::collections::BTreeMap;

use crate::{DaprClient, DaprError, Transport};

impl<T: Transport> DaprClient<T> {
    /// Invokes `operation` on output binding `name` and returns the response body.
    pub async fn invoke_binding(
        &self,
        name: &str,
        operation: &str,
        data: &serde_json::Value,
        metadata: &BTreeMap<String, String>,
    ) -> Result<Vec<u8>, DaprError> {
        let _ = (name, operation, data, metadata);
        todo!()
    }
}
