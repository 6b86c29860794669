//! Requests to absolute URLs, what a component sends beyond its sidecar
//! (such as an OIDC issuer's key set): answered from what the test serves,
//! 404 otherwise, and recorded.

use crate::response::plain;
use crate::{FakeDapr, Inner};

/// What a request to a served absolute URL is answered with.
#[derive(Debug, Clone)]
pub struct WebAnswer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// One request to an absolute URL.
#[derive(Debug, Clone)]
pub struct WebCall {
    pub method: String,
    pub url: String,
    pub headers: http::HeaderMap,
}

impl FakeDapr {
    /// Answers requests to the absolute `url` with `answer` (until replaced);
    /// an absolute URL not served answers 404.
    pub fn serve_url(&self, url: &str, answer: WebAnswer) {
        self.lock().web.insert(url.to_string(), answer);
    }

    /// Every request to an absolute URL, in order.
    pub fn web_calls(&self) -> Vec<WebCall> {
        self.lock().web_calls.clone()
    }
}

impl Inner {
    pub(crate) fn answer_web(
        &mut self,
        method: String,
        request: &http::Request<Vec<u8>>,
    ) -> http::Response<Vec<u8>> {
        let url = request.uri().to_string();
        self.web_calls.push(WebCall {
            method,
            url: url.clone(),
            headers: request.headers().clone(),
        });
        let Some(answer) = self.web.get(&url) else {
            return plain(404, "not served by the test");
        };
        let mut response = http::Response::builder().status(answer.status);
        for (name, value) in &answer.headers {
            response = response.header(name, value);
        }
        response
            .body(answer.body.clone())
            .expect("a valid test answer")
    }
}
