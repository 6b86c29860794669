//! The one seam between the client logic and the network.
//!
//! Requests carry a path-and-query only (`/v1.0/state/…`); the transport knows
//! where the sidecar is. In wasm that is spin-sdk outbound HTTP to
//! `http://localhost:$DAPR_HTTP_PORT`; natively, tests plug in a fake.

use std::future::Future;

/// The sidecar could not be reached or did not answer: always transient.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("sidecar unreachable: {0}")]
pub struct TransportError(pub String);

/// Sends one HTTP request to the sidecar and returns its full response.
pub trait Transport {
    fn send(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> impl Future<Output = Result<http::Response<Vec<u8>>, TransportError>>;
}

#[cfg(target_arch = "wasm32")]
pub use spin::SpinTransport;

#[cfg(target_arch = "wasm32")]
mod spin {
    use super::{Transport, TransportError};

    /// spin-sdk outbound HTTP to the sidecar at `base_url`
    /// (`http://localhost:<port>`, which must be listed in the component's
    /// `allowed_outbound_hosts`).
    pub struct SpinTransport {
        base_url: String,
    }

    impl SpinTransport {
        pub fn new(base_url: String) -> SpinTransport {
            SpinTransport { base_url }
        }

        /// A transport for requests that carry an absolute URL (notify's
        /// webhooks); they are sent as they are.
        pub fn absolute() -> SpinTransport {
            SpinTransport {
                base_url: String::new(),
            }
        }
    }

    impl Transport for SpinTransport {
        async fn send(
            &self,
            request: http::Request<Vec<u8>>,
        ) -> Result<http::Response<Vec<u8>>, TransportError> {
            let (parts, body) = request.into_parts();
            let path = parts
                .uri
                .path_and_query()
                .map(|pq| pq.as_str())
                .unwrap_or("/");
            let uri = match parts.uri.scheme() {
                Some(_) => parts.uri.to_string(),
                None => format!("{}{}", self.base_url, path),
            };
            let mut outbound = http::Request::builder().method(parts.method).uri(uri);
            for (name, value) in parts.headers.iter() {
                outbound = outbound.header(name, value);
            }
            let outbound = outbound
                .body(body)
                .map_err(|e| TransportError(e.to_string()))?;
            // Receive the raw `IncomingResponse` rather than `http::Response<Vec<u8>>`:
            // spin-sdk 5.2's conversion to `http::Response` panics (`expect("TODO")`)
            // when the body stream fails, which must be a transport error here.
            let incoming: spin_sdk::http::IncomingResponse =
                spin_sdk::http::send(outbound)
                    .await
                    .map_err(|e| TransportError(e.to_string()))?;
            let status = incoming.status();
            let headers = incoming.headers().entries();
            let body = incoming
                .into_body()
                .await
                .map_err(|e| TransportError(format!("reading the response body: {e:?}")))?;
            let mut response = http::Response::builder().status(status);
            for (name, value) in headers {
                response = response.header(name, value);
            }
            response
                .body(body)
                .map_err(|e| TransportError(format!("invalid response from the sidecar: {e}")))
        }
    }
}
