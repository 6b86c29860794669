//! Outbound HTTP: `allowed_outbound_hosts` enforced the way Spin does it.
//!
//! A component may only reach the destinations its manifest lists. The
//! matching rules are Spin 3's (`spinframework/spin`:
//! `crates/outbound-networking-config/src/allowed_hosts.rs`), reproduced
//! here because a component that works under devstack must work under
//! `spin up`:
//!
//! - an entry is `<scheme>://<host>[:<port>]`; no scheme, or a path, is an
//!   error; `*` may stand for the scheme, the host, or the port;
//! - the host matches exactly (after lower-casing, as URL parsing does):
//!   `localhost` does not match `127.0.0.1` nor the reverse; `*.example.com`
//!   matches any subdomain (not `example.com` itself); an IP network
//!   `10.0.0.0/8` matches addresses in it; `self` allows relative URLs (the
//!   app itself);
//! - a missing port means the scheme's well-known port (http 80, https 443,
//!   …); `a..b` is a range (end excluded);
//! - `insecure:allow-all` is rejected (Spin: use `*://*:*`).
//!
//! A denied request fails with `ErrorCode::HttpRequestDenied` — what the
//! component sees under Spin — and logs Spin's messages (`crates/runtime-factors`
//! disallowed-host handler). Allowed plain-HTTP requests go out through one
//! pool of keep-alive connections shared by every instance, as Spin's do
//! (`factor-outbound-http` uses hyper-util's pooled client since
//! spinframework/spin#3229, shared across instances since #3240): a
//! component calling its sidecar ten times per request does not open ten
//! connections. HTTPS goes through wasmtime-wasi-http's default client (a
//! connection per request). Service chaining (`*.spin.internal`) is not
//! supported.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::ops::Range;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use http::uri::{Authority, Scheme};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody, WasiHttpHooks};

/// One parsed `allowed_outbound_hosts` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHost {
    original: String,
    scheme: SchemeRule,
    host: HostRule,
    port: PortRule,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum SchemeRule {
    Any,
    Is(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostRule {
    Any,
    AnySubdomain(String),
    ToSelf,
    Exact(String),
    Network(ip_network::IpNetwork),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PortRule {
    Any,
    Port(u16),
    Range(Range<u16>),
}

impl AllowedHost {
    /// Parses one entry (already template-expanded).
    pub fn parse(entry: &str) -> Result<AllowedHost> {
        let url = entry.trim();
        let Some((scheme, rest)) = url.split_once("://") else {
            match url {
                "*" | ":" | "" | "?" => bail!(
                    "{url:?} is not an allowed outbound host format. Hosts must be in the form <scheme>://<host>[:<port>], with '*' wildcards allowed for each. If you intended to allow all outbound networking, you can use '*://*:*'"
                ),
                _ => bail!("{url:?} does not contain a scheme (e.g., 'http://' or '*://')"),
            }
        };
        let (host, rest) = rest.rsplit_once(':').unwrap_or((rest, ""));
        let port = match rest.split_once('/') {
            Some((port, path)) => {
                if !path.is_empty() {
                    bail!("{url:?} has a path but is not allowed to");
                }
                port
            }
            None => rest,
        };
        Ok(AllowedHost {
            original: entry.to_string(),
            scheme: parse_scheme(scheme)?,
            host: parse_host(host)?,
            port: parse_port(port, scheme)?,
        })
    }

    fn allows(&self, scheme: &str, host: &str, port: Option<u16>) -> bool {
        let scheme_ok = match &self.scheme {
            SchemeRule::Any => true,
            SchemeRule::Is(s) => s == scheme,
        };
        let host_ok = match &self.host {
            HostRule::Any => true,
            HostRule::AnySubdomain(suffix) => host.ends_with(suffix.as_str()),
            HostRule::ToSelf => false,
            HostRule::Exact(h) => h == host,
            HostRule::Network(net) => host.parse::<IpAddr>().is_ok_and(|ip| net.contains(ip)),
        };
        let port_ok = match &self.port {
            PortRule::Any => true,
            rule => match port.or_else(|| well_known_port(scheme)) {
                Some(p) => match rule {
                    PortRule::Port(want) => *want == p,
                    PortRule::Range(r) => r.contains(&p),
                    PortRule::Any => true,
                },
                None => false,
            },
        };
        scheme_ok && host_ok && port_ok
    }

    fn allows_relative(&self) -> bool {
        let scheme_ok = match &self.scheme {
            SchemeRule::Any => true,
            SchemeRule::Is(s) => s == "http" || s == "https",
        };
        scheme_ok && matches!(self.host, HostRule::Any | HostRule::ToSelf)
    }
}

impl fmt::Display for AllowedHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

fn parse_scheme(scheme: &str) -> Result<SchemeRule> {
    if scheme == "*" {
        return Ok(SchemeRule::Any);
    }
    if scheme.starts_with('{') {
        bail!("scheme lists are not yet supported");
    }
    if scheme.chars().any(|c| !c.is_alphabetic()) {
        bail!("scheme {scheme:?} contains non alphabetic character");
    }
    Ok(SchemeRule::Is(scheme.to_string()))
}

fn parse_host(host: &str) -> Result<HostRule> {
    let host = host.trim();
    if host == "*" {
        return Ok(HostRule::Any);
    }
    if host == "self" || host == "self.alt" {
        return Ok(HostRule::ToSelf);
    }
    if host.starts_with('{') {
        bail!("host lists are not yet supported");
    }
    // `<address>/<prefix length>`, host bits ignored, as Spin parses it.
    if let Ok(net) = ip_network::IpNetwork::from_str_truncate(host) {
        return Ok(HostRule::Network(net));
    }
    if matches!(host.split('/').nth(1), Some(path) if !path.is_empty()) {
        bail!("hosts must not contain paths");
    }
    if let Some(domain) = host.strip_prefix("*.") {
        if domain.contains('*') {
            bail!("Invalid allowed host {host}: wildcards are allowed only as prefixes");
        }
        return Ok(HostRule::AnySubdomain(format!(
            ".{}",
            domain.to_ascii_lowercase()
        )));
    }
    if host.contains('*') {
        bail!("Invalid allowed host {host}: wildcards are allowed only as subdomains");
    }
    Ok(HostRule::Exact(
        host.trim_end_matches('/').to_ascii_lowercase(),
    ))
}

fn parse_port(port: &str, scheme: &str) -> Result<PortRule> {
    if port.is_empty() {
        return well_known_port(scheme).map(PortRule::Port).with_context(|| {
            format!("no port was provided and the scheme {scheme:?} does not have a known default port number")
        });
    }
    if port == "*" {
        return Ok(PortRule::Any);
    }
    if port.starts_with('{') {
        bail!("port lists are not yet supported");
    }
    if let Some((start, end)) = port.split_once("..") {
        let start = start
            .parse()
            .with_context(|| format!("port range {port:?} contains non-number"))?;
        let end = end
            .parse()
            .with_context(|| format!("port range {port:?} contains non-number"))?;
        return Ok(PortRule::Range(start..end));
    }
    Ok(PortRule::Port(port.parse().with_context(|| {
        format!("port {port:?} is not a number")
    })?))
}

fn well_known_port(scheme: &str) -> Option<u16> {
    match scheme {
        "postgres" => Some(5432),
        "mysql" => Some(3306),
        "redis" => Some(6379),
        "mqtt" => Some(1883),
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

/// A component's whole `allowed_outbound_hosts` list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedHosts {
    hosts: Vec<AllowedHost>,
}

impl AllowedHosts {
    /// Parses resolved entries.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<AllowedHosts> {
        if entries.len() == 1 && entries[0].as_ref() == "insecure:allow-all" {
            bail!("'insecure:allow-all' is not allowed - use '*://*:*' instead if you really want to allow all outbound traffic");
        }
        let hosts = entries
            .iter()
            .map(|e| AllowedHost::parse(e.as_ref()))
            .collect::<Result<_>>()?;
        Ok(AllowedHosts { hosts })
    }

    /// Whether `scheme://host[:port]` may be reached. `host` is compared
    /// lower-cased; `port` `None` means the scheme's default port.
    pub fn allows(&self, scheme: &str, host: &str, port: Option<u16>) -> bool {
        let host = host.to_ascii_lowercase();
        self.hosts.iter().any(|h| h.allows(scheme, &host, port))
    }

    /// Whether a relative URL (a request to the app itself) is allowed.
    pub fn allows_relative(&self) -> bool {
        self.hosts.iter().any(AllowedHost::allows_relative)
    }

    /// Whether a socket address may be connected to with `scheme` (`tcp` or
    /// `udp`), as Spin checks `wasi:sockets`.
    pub fn allows_socket(&self, scheme: &str, addr: &SocketAddr) -> bool {
        let host = match addr.ip() {
            IpAddr::V4(ip) => ip.to_string(),
            IpAddr::V6(ip) => format!("[{ip}]"),
        };
        self.allows(scheme, &host, Some(addr.port()))
    }
}

/// Logs a denied destination the way `spin up` reports it.
pub(crate) fn report_denied(component: &str, scheme: &str, authority: &str) {
    let host_pattern = format!("{scheme}://{authority}");
    tracing::error!(
        component,
        "Outbound network destination not allowed: {host_pattern}"
    );
    if scheme.starts_with("http") && authority == "self" {
        tracing::warn!(
            component,
            "A component tried to make an HTTP request to its own app but it does not have permission."
        );
    } else {
        tracing::warn!(
            component,
            "A component tried to make an outbound network connection to disallowed destination '{host_pattern}'. To allow this request, add 'allowed_outbound_hosts = [\"{host_pattern}\"]' to the manifest component section."
        );
    }
}

/// The per-instance `wasi:http` hooks: every outgoing request passes
/// [`OutboundHooks::send_request`], which enforces the allow list.
pub(crate) struct OutboundHooks {
    pub(crate) component: Arc<str>,
    pub(crate) allowed: Arc<AllowedHosts>,
    /// Where a relative (`self`) request goes: the listener serving this
    /// request, like Spin's self-request origin.
    pub(crate) self_origin: Option<SocketAddr>,
}

type SendResult = wasmtime_wasi_http::Result<(
    http::Response<WasiBody>,
    Box<dyn std::future::Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
)>;

impl OutboundHooks {
    /// Applies the allow list to a request and rewrites a permitted
    /// self-request to the listener's address.
    fn check(&self, request: &mut http::Request<WasiBody>) -> Result<(), HttpError> {
        let uri = request.uri().clone();
        let host = uri.authority().map(|a| a.host()).unwrap_or("");
        let is_self = host.is_empty() || host == "self.alt";
        if is_self {
            if !self.allowed.allows_relative() {
                report_denied(&self.component, "http", "self");
                return Err(HttpError::HttpRequestDenied);
            }
            let Some(origin) = self.self_origin else {
                tracing::error!(component = %self.component, "Couldn't handle outbound HTTP request to relative URI; no origin set");
                return Err(HttpError::HttpRequestUriInvalid);
            };
            let authority: Authority = origin
                .to_string()
                .parse()
                .map_err(|_| HttpError::HttpRequestUriInvalid)?;
            let mut parts = uri.into_parts();
            parts.scheme = Some(Scheme::HTTP);
            parts.authority = Some(authority.clone());
            if parts.path_and_query.is_none() {
                parts.path_and_query = Some(http::uri::PathAndQuery::from_static("/"));
            }
            *request.uri_mut() =
                http::Uri::from_parts(parts).map_err(|_| HttpError::HttpRequestUriInvalid)?;
            request.headers_mut().insert(
                http::header::HOST,
                http::HeaderValue::from_str(authority.as_str())
                    .map_err(|_| HttpError::HttpRequestUriInvalid)?,
            );
            return Ok(());
        }

        let scheme = uri.scheme_str().unwrap_or("https").to_ascii_lowercase();
        let port = uri.port_u16();
        if !self.allowed.allows(&scheme, host, port) {
            let authority = match port {
                Some(p) => format!("{}:{p}", host.to_ascii_lowercase()),
                None => host.to_ascii_lowercase(),
            };
            report_denied(&self.component, &scheme, &authority);
            return Err(HttpError::HttpRequestDenied);
        }
        if host.ends_with(".spin.internal") {
            tracing::warn!(component = %self.component, "service chaining ({host}) is not supported by devstack");
            return Err(HttpError::DestinationNotFound);
        }
        Ok(())
    }
}

impl WasiHttpHooks for OutboundHooks {
    fn send_request(
        &mut self,
        mut request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn std::future::Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> Box<dyn std::future::Future<Output = SendResult> + Send> {
        _ = fut;
        let checked = self.check(&mut request);
        let component = self.component.clone();
        Box::new(async move {
            checked?;
            tracing::debug!(component = %component, method = %request.method(), uri = %request.uri(), "outbound request");
            // Spin's client span for the call, under the instance's context.
            let parent = request
                .headers()
                .get("traceparent")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let authority = request
                .uri()
                .authority()
                .map(|a| a.to_string())
                .unwrap_or_default();
            let mut span = crate::traces::tracer().start(
                format!("{} {authority}", request.method()),
                crate::traces::Kind::Client,
                &component,
                parent.as_deref(),
            );
            span.set("http.url", request.uri());
            if let Ok(v) = http::HeaderValue::from_str(&span.traceparent()) {
                request.headers_mut().insert("traceparent", v);
            }
            use http_body_util::BodyExt;
            let sent = if request.uri().scheme() == Some(&Scheme::HTTP) {
                send_pooled(request, options).await
            } else {
                wasmtime_wasi_http::default_send_request(request, options)
                    .await
                    .map(|(res, io)| {
                        (
                            res.map(BodyExt::boxed_unsync),
                            Box::new(io) as Box<dyn std::future::Future<Output = _> + Send>,
                        )
                    })
            };
            match &sent {
                Ok((response, _)) => span.set("http.status", response.status().as_u16()),
                Err(e) => span.set("error", format!("{e:?}")),
            }
            span.end();
            sent
        })
    }
}

/// The keep-alive connections of every instance's plain-HTTP requests.
fn pool() -> &'static Client<HttpConnector, WasiBody> {
    static POOL: OnceLock<Client<HttpConnector, WasiBody>> = OnceLock::new();
    POOL.get_or_init(|| {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector)
    })
}

/// Sends a plain-HTTP request over a pooled connection, with the request's
/// first-byte timeout (connect included) as wasmtime-wasi-http applies it.
async fn send_pooled(
    request: http::Request<WasiBody>,
    options: Option<RequestOptions>,
) -> SendResult {
    use http_body_util::BodyExt;
    let first_byte = options
        .and_then(|o| o.first_byte_timeout)
        .unwrap_or(Duration::from_secs(600));
    let response = match tokio::time::timeout(first_byte, pool().request(request)).await {
        Err(_) => return Err(HttpError::HttpResponseTimeout),
        Ok(Err(err)) if err.is_connect() => return Err(HttpError::ConnectionRefused),
        Ok(Err(err)) => {
            use std::error::Error as _;
            let hyper = err.source().and_then(|e| e.downcast_ref::<hyper::Error>());
            return Err(match hyper {
                Some(e) if e.is_incomplete_message() => HttpError::HttpResponseIncomplete,
                _ => HttpError::HttpProtocolError,
            });
        }
        Ok(Ok(response)) => response,
    };
    Ok((
        response.map(|body| body.map_err(HttpError::from).boxed_unsync()),
        Box::new(async { Ok(()) }) as Box<dyn std::future::Future<Output = _> + Send>,
    ))
}

/// Parses resolved entries, naming the component on error.
pub(crate) fn allowed_hosts_for(component: &str, entries: &[String]) -> Result<AllowedHosts> {
    AllowedHosts::parse(entries)
        .map_err(|e| anyhow!("component {component:?}: invalid allowed_outbound_hosts: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(entries: &[&str]) -> AllowedHosts {
        AllowedHosts::parse(entries).unwrap()
    }

    #[test]
    fn exact_host_and_port() {
        let a = hosts(&["http://localhost:3500"]);
        assert!(a.allows("http", "localhost", Some(3500)));
        assert!(a.allows("http", "LOCALHOST", Some(3500)));
        assert!(!a.allows("http", "127.0.0.1", Some(3500)));
        assert!(!a.allows("http", "localhost", Some(3501)));
        assert!(!a.allows("http", "localhost", None));
        assert!(!a.allows("https", "localhost", Some(3500)));

        let b = hosts(&["http://127.0.0.1:3500"]);
        assert!(!b.allows("http", "localhost", Some(3500)));
        assert!(b.allows("http", "127.0.0.1", Some(3500)));
    }

    #[test]
    fn default_ports_and_trailing_slash() {
        let a = hosts(&["https://my.api.com/", "http://example.com"]);
        assert!(a.allows("https", "my.api.com", None));
        assert!(a.allows("https", "my.api.com", Some(443)));
        assert!(a.allows("http", "example.com", None));
        assert!(!a.allows("http", "example.com", Some(8080)));
    }

    #[test]
    fn wildcards() {
        let a = hosts(&["http://*.example.com", "http://*.example2.com:8383"]);
        assert!(a.allows("http", "a.example.com", None));
        assert!(a.allows("http", "a.b.example.com", None));
        assert!(a.allows("http", "a.b.example2.com", Some(8383)));
        assert!(!a.allows("http", "a.b.example2.com", None));
        assert!(!a.allows("http", "example.com", None));
        assert!(!a.allows("http", "myexample.com", None));

        let all = hosts(&["*://*:*"]);
        assert!(all.allows("https", "anything", Some(1)));
        let any_port = hosts(&["http://localhost:*"]);
        assert!(any_port.allows("http", "localhost", Some(9)));
        assert!(!any_port.allows("http", "127.0.0.1", Some(9)));
    }

    #[test]
    fn ranges_networks_and_ipv6() {
        let a = hosts(&[
            "http://h:4444..5555",
            "*://127.0.0.0/24:80",
            "http://[::1]:8001",
        ]);
        assert!(a.allows("http", "h", Some(4444)));
        assert!(!a.allows("http", "h", Some(5555)));
        assert!(a.allows("tcp", "127.0.0.9", Some(80)));
        assert!(!a.allows("tcp", "127.0.1.9", Some(80)));
        assert!(a.allows("http", "[::1]", Some(8001)));
        assert!(a.allows_socket("tcp", &"127.0.0.3:80".parse().unwrap()));
    }

    #[test]
    fn networks_ignore_host_bits_and_bound_the_prefix() {
        let a = hosts(&["*://10.1.2.3/8:80", "*://0.0.0.0/0:81"]);
        assert!(a.allows("http", "10.200.0.1", Some(80)));
        assert!(!a.allows("http", "11.0.0.1", Some(80)));
        assert!(a.allows("http", "192.0.2.1", Some(81)));
        assert!(!a.allows("http", "example.com", Some(81)));
        assert!(AllowedHost::parse("http://10.0.0.0/33").is_err());
    }

    #[test]
    fn rejects_what_spin_rejects() {
        for bad in [
            "localhost",
            "localhost:3001",
            "spin.fermyon.dev:80",
            "http://spin.fermyon.dev/a",
            "http://*.fermyon.dev/a",
            "http://[::1]",
            "*",
            "http://a*b.com",
            "foo://host",
        ] {
            assert!(AllowedHost::parse(bad).is_err(), "{bad}");
        }
        assert!(AllowedHosts::parse(&["insecure:allow-all"]).is_err());
    }

    #[test]
    fn self_requests() {
        assert!(hosts(&["http://self"]).allows_relative());
        assert!(hosts(&["*://*:*"]).allows_relative());
        assert!(!hosts(&["http://localhost:3000"]).allows_relative());
        assert!(!hosts(&["http://self"]).allows("http", "self", None));
    }
}
