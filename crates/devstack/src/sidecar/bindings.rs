//! Output bindings: `POST|PUT /v1.0/bindings/{name}` with
//! `{"operation","data","metadata"}` (daprd `onOutputBindingMessage`).
//! Success: 200 with the binding's data, or 204 when it returns none;
//! any failure (an unknown binding included): 500 `ERR_INVOKE_OUTPUT_BINDING`.
//! `data` reaches the binding as its JSON encoding, as in daprd.
//!
//! - `bindings.smtp` (components-contrib `bindings/smtp/smtp.go`), operation
//!   `create`: sends a real mail over SMTP to the component's `host`/`port`
//!   (plain SMTP; `user`/`password` when set). `emailFrom`, `emailTo`,
//!   `emailCC`, `emailBCC`, `subject` and `priority` (1–5) come from the
//!   component and may be overridden per call; several recipients are
//!   separated by `;` or `,`. `data` must be a JSON string: it becomes the
//!   HTML body. → 204.
//! - `bindings.http` (`bindings/http/http.go`): `url` + metadata `path`;
//!   operations `create` (= POST), `get`, `head`, `post`, `put`, `patch`,
//!   `delete`, `options`, `trace`; metadata keys starting with an uppercase
//!   letter become request headers. → 200 with the response body and
//!   `metadata.statusCode`/`metadata.status` headers; a non-2xx answer is an
//!   error (`received status code N`). Only `http://` URLs.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use serde_json::Value;

use super::{api_error, data_response, empty, Ctx, Req, Resp};
use crate::config::Component;

/// `POST /v1.0/bindings/{name}`.
pub(crate) async fn invoke(ctx: &Ctx, name: &str, req: &Req) -> Resp {
    let body: Value = match serde_json::from_slice(&req.body) {
        Ok(v) => v,
        Err(e) => {
            return api_error(
                400,
                "ERR_MALFORMED_REQUEST",
                format!("failed deserializing HTTP body: {e}"),
            )
        }
    };
    let operation = body
        .get("operation")
        .and_then(|o| o.as_str())
        .unwrap_or("")
        .to_string();
    let data = body.get("data").cloned().unwrap_or(Value::Null);
    let mut metadata = BTreeMap::new();
    if let Some(m) = body.get("metadata").and_then(|m| m.as_object()) {
        for (k, v) in m {
            let v = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            metadata.insert(k.clone(), v);
        }
    }
    if let Some(tp) = req.header("traceparent") {
        metadata.insert("traceparent".into(), tp.to_string());
    }
    let fail = |e: String| {
        api_error(
            500,
            "ERR_INVOKE_OUTPUT_BINDING",
            format!("error invoking output binding {name}: {e}"),
        )
    };
    let Some(component) = ctx
        .resources
        .components_of(&ctx.app_id, "bindings")
        .find(|c| c.name == name && c.kind != "bindings.cron")
    else {
        return fail(format!("couldn't find output binding {name}"));
    };
    let config = match ctx.resources.resolved_metadata(component) {
        Ok(m) => m,
        Err(e) => return fail(format!("{e:#}")),
    };
    let started = std::time::Instant::now();
    let result = match component.kind.as_str() {
        "bindings.smtp" => {
            if operation != "create" {
                Err(unsupported(component, &operation, "create"))
            } else {
                send_mail(&config, &metadata, &data).await.map(|()| None)
            }
        }
        "bindings.http" => http_request(ctx, &config, &operation, &metadata, &data)
            .await
            .map(Some),
        other => Err(format!("binding type {other} is not supported by devstack")),
    };
    let elapsed_ms = started.elapsed().as_millis() as u64;
    match result {
        Ok(out) => {
            tracing::info!(target: "devstack::bindings", app_id = %ctx.app_id, binding = name, operation = %operation, elapsed_ms, outcome = "ok", "output binding");
            match out {
                None => empty(204),
                Some((resp_meta, body)) => {
                    let mut resp = data_response(200, body.to_vec());
                    add_metadata_headers(&mut resp, &resp_meta);
                    resp
                }
            }
        }
        Err(e) => {
            tracing::warn!(target: "devstack::bindings", app_id = %ctx.app_id, binding = name, operation = %operation, elapsed_ms, error = %e, outcome = "failed", "output binding");
            fail(e)
        }
    }
}

fn unsupported(component: &Component, operation: &str, supported: &str) -> String {
    format!(
        "binding {} does not support operation {operation}. supported operations:{supported}",
        component.name
    )
}

fn add_metadata_headers(resp: &mut Resp, meta: &BTreeMap<String, String>) {
    for (k, v) in meta {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(format!("metadata.{k}").as_bytes()),
            HeaderValue::from_str(v),
        ) {
            resp.headers_mut().append(n, v);
        }
    }
}

fn lookup<'a>(map: &'a BTreeMap<String, String>, key: &str) -> Option<&'a str> {
    map.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

/// The `X-Priority` header gomail sets.
#[derive(Clone)]
struct XPriority(String);

impl lettre::message::header::Header for XPriority {
    fn name() -> lettre::message::header::HeaderName {
        lettre::message::header::HeaderName::new_from_ascii_str("X-Priority")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(XPriority(s.to_string()))
    }

    fn display(&self) -> lettre::message::header::HeaderValue {
        lettre::message::header::HeaderValue::new(Self::name(), self.0.clone())
    }
}

fn mailboxes(list: &str) -> Result<Vec<lettre::message::Mailbox>, String> {
    list.split([';', ','])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|a| {
            a.parse::<lettre::message::Mailbox>()
                .map_err(|e| format!("smtp binding error: invalid address {a:?}: {e}"))
        })
        .collect()
}

async fn send_mail(
    config: &BTreeMap<String, String>,
    request: &BTreeMap<String, String>,
    data: &Value,
) -> Result<(), String> {
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

    let pick = |key: &str| lookup(request, key).or_else(|| lookup(config, key));
    let host = lookup(config, "host").ok_or("smtp binding error: host is required in metadata")?;
    let port: u16 = lookup(config, "port")
        .ok_or("smtp binding error: port is required in metadata")?
        .parse()
        .map_err(|_| "smtp binding error: Unable to parse specified port to integer value")?;
    let from = pick("emailFrom").ok_or(
        "smtp binding error: emailFrom property not supplied in configuration- or request-metadata",
    )?;
    let to = pick("emailTo").ok_or(
        "smtp binding error: emailTo property not supplied in configuration- or request-metadata",
    )?;
    let subject = pick("subject").ok_or(
        "smtp binding error: subject property not supplied in configuration- or request-metadata",
    )?;
    let priority = match pick("priority") {
        None => 3,
        Some(p) => {
            let n: i64 = p
                .parse()
                .map_err(|_| format!("smtp binding error: invalid priority {p:?}"))?;
            if !(1..=5).contains(&n) {
                return Err(
                    "smtp binding error:  priority value must be between 1 (highest) and 5 (lowest)"
                        .into(),
                );
            }
            n
        }
    };
    let body = match data {
        Value::String(s) => s.clone(),
        other => {
            return Err(format!(
                "smtp binding error: can't unquote data field: {other} is not a JSON string"
            ))
        }
    };
    let mut builder = Message::builder()
        .from(
            from.parse()
                .map_err(|e| format!("smtp binding error: invalid emailFrom {from:?}: {e}"))?,
        )
        .subject(subject)
        .header(lettre::message::header::ContentType::TEXT_HTML)
        .header(XPriority(priority.to_string()));
    for m in mailboxes(to)? {
        builder = builder.to(m);
    }
    if let Some(cc) = pick("emailCC") {
        for m in mailboxes(cc)? {
            builder = builder.cc(m);
        }
    }
    if let Some(bcc) = pick("emailBCC") {
        for m in mailboxes(bcc)? {
            builder = builder.bcc(m);
        }
    }
    let message = builder
        .body(body)
        .map_err(|e| format!("smtp binding error: {e}"))?;
    let mut transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(port)
        .timeout(Some(Duration::from_secs(30)));
    if let (Some(user), Some(password)) = (lookup(config, "user"), lookup(config, "password")) {
        transport =
            transport.credentials(lettre::transport::smtp::authentication::Credentials::new(
                user.to_string(),
                password.to_string(),
            ));
    }
    transport
        .build()
        .send(message)
        .await
        .map_err(|e| format!("error from smtp binding, sending email failed: {e}"))?;
    Ok(())
}

async fn http_request(
    ctx: &Ctx,
    config: &BTreeMap<String, String>,
    operation: &str,
    request: &BTreeMap<String, String>,
    data: &Value,
) -> Result<(BTreeMap<String, String>, Bytes), String> {
    let method = match operation {
        "create" | "post" => Method::POST,
        "get" => Method::GET,
        "head" => Method::HEAD,
        "put" => Method::PUT,
        "patch" => Method::PATCH,
        "delete" => Method::DELETE,
        "options" => Method::OPTIONS,
        "trace" => Method::TRACE,
        other => {
            return Err(format!(
                "binding does not support operation {other}. supported operations:create get head post put patch delete options trace"
            ))
        }
    };
    let base = lookup(config, "url").ok_or("http binding: url is required in metadata")?;
    let mut url = base.to_string();
    if let Some(path) = lookup(request, "path") {
        url = format!(
            "{}/{}",
            url.trim_end_matches('/'),
            path.trim_start_matches('/')
        );
    }
    if !url.starts_with("http://") {
        return Err(format!(
            "devstack's http binding only supports http:// URLs, got {url}"
        ));
    }
    let mut headers = HeaderMap::new();
    let body = if data.is_null() {
        Bytes::new()
    } else {
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        Bytes::from(serde_json::to_vec(data).unwrap_or_default())
    };
    headers.insert(
        http::header::ACCEPT,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    for (k, v) in request {
        let upper = k.chars().next().is_some_and(|c| c.is_uppercase());
        if upper || k == "traceparent" {
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(k.as_bytes()),
                HeaderValue::from_str(v),
            ) {
                headers.insert(n, v);
            }
        }
    }
    let resp = ctx
        .channel
        .call_uri(url.clone(), method, headers, body, Duration::from_secs(60))
        .await
        .map_err(|e| format!("{e:#}"))?;
    let mut meta = BTreeMap::new();
    meta.insert("statusCode".to_string(), resp.status.as_u16().to_string());
    meta.insert("status".to_string(), resp.status.to_string());
    for (name, value) in &resp.headers {
        if let Ok(v) = value.to_str() {
            meta.entry(name.as_str().to_string())
                .or_insert_with(|| v.to_string());
        }
    }
    if !resp.status.is_success() {
        return Err(format!("received status code {}", resp.status.as_u16()));
    }
    Ok((meta, resp.body))
}
