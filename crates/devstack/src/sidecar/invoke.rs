//! Service invocation: `/v1.0/invoke/{app-id}/method/{path}` (any verb,
//! query kept) or any non-API path with a `dapr-app-id` header (daprd
//! `pkg/api/http/directmessaging.go`).
//!
//! The request goes straight to the callee's app address (devstack plays
//! both sidecars): method, path, query, body and headers are forwarded,
//! except hop-by-hop headers, `Host`, `Content-Length` (recomputed) and
//! `dapr-api-token`; added are `dapr-caller-app-id`, `dapr-caller-namespace`
//! (always [`NAMESPACE`], as on the cluster: daprd stamps its own namespace
//! when it has one, `SetCallerIdentity` in `pkg/messaging`, replacing
//! whatever the caller sent), `dapr-callee-app-id`,
//! `traceparent` (the caller's, or a new one) and the callee's app token as
//! `dapr-api-token`. The callee's status, headers and body come back as they
//! are. When the callee cannot be reached: 500 `ERR_DIRECT_INVOKE`.
//!
//! The callee's sidecar enforces its Dapr `Configuration`'s
//! `accessControl` against the caller's app-id (namespace [`NAMESPACE`],
//! trust domain `public`): denied → 403 `ERR_DIRECT_INVOKE` `failed to
//! invoke, id: <callee>, err: rpc error: code = PermissionDenied desc =
//! access control policy has denied access to id:
//! spiffe://public/ns/todo/<caller> operation: <path> verb: <VERB>` (daprd
//! `pkg/acl` + `ErrDirectInvoke`, PermissionDenied mapped to HTTP 403),
//! without the callee app seeing the request.

use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode};
use http_body_util::Full;

use super::app::{add_app_token, new_traceparent, valid_traceparent};
use super::{api_error, Ctx, Req, Resp};

/// The namespace every overlay in `k8s/overlays` deploys into: what the
/// callee sees as `dapr-caller-namespace` on the cluster.
pub const NAMESPACE: &str = "todo";

const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// How long a callee may take.
const INVOKE_TIMEOUT: Duration = Duration::from_secs(60);

fn forwardable(name: &HeaderName, connection_tokens: &[String]) -> bool {
    let n = name.as_str();
    !(HOP_BY_HOP.contains(&n)
        || n == "host"
        || n == "content-length"
        || n == "dapr-api-token"
        || connection_tokens.iter().any(|t| t == n))
}

fn connection_tokens(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(|t| t.trim().to_ascii_lowercase()))
        .collect()
}

/// Proxies `req` to `method_path` (path without the leading `/`, still
/// escaped) on app `target`.
pub(crate) async fn invoke(ctx: &Ctx, target: &str, method_path: &str, req: Req) -> Resp {
    let peer = if target == ctx.app_id {
        Some((ctx.app_addr, ctx.app_token.clone()))
    } else {
        ctx.peers.get(target).map(|p| (p.addr, p.app_token.clone()))
    };
    let Some((addr, token)) = peer else {
        return api_error(
            500,
            "ERR_DIRECT_INVOKE",
            format!("failed to invoke, id: {target}, err: couldn't find service: {target}"),
        );
    };
    if let Some(config) = ctx.resources.configuration_of(target) {
        let operation = method_path.trim_start_matches('/');
        if !config.invocation_allowed(&ctx.app_id, NAMESPACE, operation, req.method.as_str()) {
            tracing::debug!(caller = %ctx.app_id, callee = target, method = %req.method, operation, "service invocation denied by access control");
            return api_error(
                403,
                "ERR_DIRECT_INVOKE",
                format!(
                    "failed to invoke, id: {target}, err: rpc error: code = PermissionDenied desc = access control policy has denied access to id: spiffe://{}/ns/{NAMESPACE}/{} operation: {operation} verb: {}",
                    crate::config::DEFAULT_TRUST_DOMAIN,
                    ctx.app_id,
                    req.method
                ),
            );
        }
    }
    let mut path = format!("/{}", method_path.trim_start_matches('/'));
    if let Some(q) = &req.query {
        path.push('?');
        path.push_str(q);
    }
    let tokens = connection_tokens(&req.headers);
    let mut headers = HeaderMap::new();
    for (name, value) in &req.headers {
        if forwardable(name, &tokens) {
            headers.append(name.clone(), value.clone());
        }
    }
    let traceparent = req
        .header("traceparent")
        .filter(|t| valid_traceparent(t))
        .map(str::to_string)
        .unwrap_or_else(new_traceparent);
    if let Ok(v) = HeaderValue::from_str(&traceparent) {
        headers.insert("traceparent", v);
    }
    if let Ok(v) = HeaderValue::from_str(&ctx.app_id) {
        headers.insert("dapr-caller-app-id", v);
    }
    headers.insert("dapr-caller-namespace", HeaderValue::from_static(NAMESPACE));
    if let Ok(v) = HeaderValue::from_str(target) {
        headers.insert("dapr-callee-app-id", v);
    }
    add_app_token(&mut headers, token.as_deref());
    let started = std::time::Instant::now();
    let result = ctx
        .channel
        .call(
            addr,
            req.method.clone(),
            &path,
            headers,
            req.body.clone(),
            INVOKE_TIMEOUT,
        )
        .await;
    match result {
        Ok(r) => {
            tracing::debug!(caller = %ctx.app_id, callee = target, method = %req.method, path = %path,
                status = r.status.as_u16(), elapsed_ms = started.elapsed().as_millis() as u64, "service invocation");
            let tokens = connection_tokens(&r.headers);
            let mut resp = Response::new(Full::new(r.body));
            *resp.status_mut() = r.status;
            for (name, value) in &r.headers {
                if forwardable(name, &tokens) {
                    resp.headers_mut().append(name.clone(), value.clone());
                }
            }
            resp
        }
        Err(e) => {
            tracing::warn!(caller = %ctx.app_id, callee = target, path = %path, error = %format!("{e:#}"), "service invocation failed");
            let mut resp = api_error(
                500,
                "ERR_DIRECT_INVOKE",
                format!("failed to invoke, id: {target}, err: {e:#}"),
            );
            *resp.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            resp
        }
    }
}
