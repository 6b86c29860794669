//! Output bindings: every successful call recorded whole, 500 while
//! failing (`FakeDapr::fail_bindings`).

use serde_json::Value;

use crate::response::{empty, error};
use crate::{FakeDapr, Inner, Recorded};

impl FakeDapr {
    /// Every output-binding call that succeeded, in order.
    pub fn bindings(&self) -> Vec<Recorded> {
        self.lock().bindings.clone()
    }
}

impl Inner {
    /// An output binding: recorded when it succeeds, 500 while failing.
    pub(crate) fn binding(&mut self, name: &str, body: &[u8]) -> http::Response<Vec<u8>> {
        if self.failing_bindings > 0 {
            self.failing_bindings -= 1;
            return error(
                500,
                "ERR_INVOKE_OUTPUT_BINDING",
                &format!("error invoking output binding {name}: connection refused"),
            );
        }
        self.bindings.push(Recorded {
            method: "POST".to_string(),
            name: name.to_string(),
            body: serde_json::from_slice(body).unwrap_or(Value::Null),
        });
        empty(204)
    }
}
