//! Secrets API (`/v1.0/secrets/{store}/{name}`).

use std::collections::BTreeMap;

use crate::{DaprClient, DaprError, Transport};

impl<T: Transport> DaprClient<T> {
    /// All keys of secret `name` in `store`.
    pub async fn get_secret(&self, store: &str, name: &str) -> Result<BTreeMap<String, String>, DaprError> {
        let _ = (store, name);
        todo!()
    }
}
