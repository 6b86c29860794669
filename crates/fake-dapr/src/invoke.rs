//! Service invocation: every call recorded whole and answered by the
//! test's handler in place of the callee (204 without one).

use crate::response::empty;
use crate::routing::decode;
use crate::{FakeDapr, Inner};

/// One service invocation (`/v1.0/invoke/{app_id}/method/{path}`).
#[derive(Debug, Clone)]
pub struct Invoked {
    pub app_id: String,
    pub method: String,
    /// The method path and query, as sent (`internal/tasks/next`).
    pub path: String,
    pub headers: http::HeaderMap,
    pub body: Vec<u8>,
}

/// Answers service invocations in place of the callee.
pub(crate) type InvokeHandler = Box<dyn FnMut(&Invoked) -> http::Response<Vec<u8>> + Send>;

impl FakeDapr {
    /// Answers every later service invocation with `handler` (the callee's
    /// response, proxied as is; an `ERR_DIRECT_INVOKE` error body stands for
    /// an unreachable callee). Without a handler invocations answer 204. The
    /// handler runs while the fake is locked: it must not call the fake.
    pub fn answer_invocations(
        &self,
        handler: impl FnMut(&Invoked) -> http::Response<Vec<u8>> + Send + 'static,
    ) {
        self.lock().invoke_handler = Some(Box::new(handler));
    }

    /// Every service invocation received so far, in order.
    pub fn invoked(&self) -> Vec<Invoked> {
        self.lock().invoked.clone()
    }
}

impl Inner {
    pub(crate) fn invoke(
        &mut self,
        method: &str,
        app_id: &str,
        rest: &str,
        request: &http::Request<Vec<u8>>,
    ) -> http::Response<Vec<u8>> {
        let mut path = rest.trim_start_matches("method/").to_string();
        if let Some(query) = request.uri().query() {
            path = format!("{path}?{query}");
        }
        let invoked = Invoked {
            app_id: decode(app_id),
            method: method.to_string(),
            path,
            headers: request.headers().clone(),
            body: request.body().clone(),
        };
        let response = match self.invoke_handler.as_mut() {
            Some(handler) => handler(&invoked),
            None => empty(204),
        };
        self.invoked.push(invoked);
        response
    }
}
