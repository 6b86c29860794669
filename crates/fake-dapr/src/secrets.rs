//! The secrets building block: secrets the test sets, read by name, 500
//! `ERR_SECRET_GET` for one that is missing.

use serde_json::json;

use crate::response::{error, json_response};
use crate::routing::decode;
use crate::{FakeDapr, Inner};

impl FakeDapr {
    /// Adds secret `name` with `entries` to secret store `store`.
    pub fn set_secret(&self, store: &str, name: &str, entries: &[(&str, &str)]) {
        self.lock().secrets.insert(
            (store.into(), name.into()),
            entries
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
    }
}

impl Inner {
    /// `GET /v1.0/secrets/{store}/{name}`.
    pub(crate) fn get_secret(&self, store: &str, name: &str) -> http::Response<Vec<u8>> {
        match self.secrets.get(&(store.to_string(), decode(name))) {
            Some(secret) => json_response(200, &json!(secret)),
            None => error(
                500,
                "ERR_SECRET_GET",
                &format!("failed getting secret with key {name} from secret store {store}"),
            ),
        }
    }
}
