//! A user's notification settings (`settings/{uid}`, architecture §3):
//! `{email?, webhookUrl?, webhookSecret?}` and the rules they must meet.
//!
//! - `email` is one plain address (no display name, no list: the SMTP
//!   binding would read `;` or `,` as more recipients).
//! - `webhookUrl` must be `https://`. Plain `http://` is accepted only to
//!   `localhost`/`127.0.0.1` and only when the deployment allows it (local
//!   development: the test receiver runs on the developer's machine), and
//!   never to the Dapr sidecar's port, so a user cannot aim notify at its
//!   own sidecar. HTTPS to an IP literal in a private, loopback or
//!   link-local range is refused too (a cheap guard against reaching
//!   cluster-internal services; names resolving to such addresses are not
//!   caught here).
//! - `webhookSecret` (16–256 characters) signs every webhook; it is
//!   write-only: reads only say whether one is set. A webhook needs one.

use std::net::{IpAddr, Ipv6Addr};

use serde::{Deserialize, Deserializer, Serialize};

use crate::FieldError;

pub const MAX_EMAIL_LEN: usize = 254;
pub const MAX_URL_LEN: usize = 2048;
pub const MIN_SECRET_LEN: usize = 16;
pub const MAX_SECRET_LEN: usize = 256;

/// What is stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotifySettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<String>,
}

/// What `GET`/`PUT /api/notifications/settings` answer: never the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SettingsView {
    pub email: Option<String>,
    pub webhook_url: Option<String>,
    pub webhook_secret_set: bool,
}

impl From<&NotifySettings> for SettingsView {
    fn from(s: &NotifySettings) -> SettingsView {
        SettingsView {
            email: s.email.clone(),
            webhook_url: s.webhook_url.clone(),
            webhook_secret_set: s.webhook_secret.is_some(),
        }
    }
}

/// The body of `PUT /api/notifications/settings`. `email` and `webhookUrl`
/// replace what is stored (absent or `null` clears them). `webhookSecret`
/// is write-only, so absent keeps the stored one, `null` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SettingsInput {
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub webhook_url: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub webhook_secret: Option<Option<String>>,
}

/// `Some(value)` whenever the field is present, `Some(None)` for `null`.
fn present<'de, D: Deserializer<'de>>(de: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(de).map(Some)
}

/// Where webhooks may go in this deployment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebhookPolicy {
    /// Whether `http://localhost` / `http://127.0.0.1` is allowed (development).
    pub allow_http_loopback: bool,
    /// Ports never allowed on a loopback host (the sidecar's).
    pub blocked_loopback_ports: Vec<u16>,
}

/// Applies `input` to `stored` and validates the result; every failing
/// field is reported.
pub fn apply(
    stored: &NotifySettings,
    input: SettingsInput,
    policy: &WebhookPolicy,
) -> Result<NotifySettings, Vec<FieldError>> {
    let mut errors = Vec::new();
    let email = input.email.map(|e| e.trim().to_string());
    if let Some(email) = &email {
        if let Err(message) = validate_email(email) {
            errors.push(FieldError::new("email", message));
        }
    }
    let webhook_url = input.webhook_url.map(|u| u.trim().to_string());
    if let Some(url) = &webhook_url {
        if let Err(message) = validate_webhook_url(url, policy) {
            errors.push(FieldError::new("webhookUrl", message));
        }
    }
    let webhook_secret = match input.webhook_secret {
        None => stored.webhook_secret.clone(),
        Some(secret) => secret,
    };
    if let Some(secret) = &webhook_secret {
        let len = secret.chars().count();
        if !(MIN_SECRET_LEN..=MAX_SECRET_LEN).contains(&len) {
            errors.push(FieldError::new(
                "webhookSecret",
                format!("must be {MIN_SECRET_LEN}–{MAX_SECRET_LEN} characters"),
            ));
        } else if secret.chars().any(char::is_control) {
            errors.push(FieldError::new(
                "webhookSecret",
                "must not contain control characters",
            ));
        }
    }
    if webhook_url.is_some() && webhook_secret.is_none() {
        errors.push(FieldError::new(
            "webhookSecret",
            "is required when webhookUrl is set (it signs every webhook)",
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(NotifySettings {
        email,
        // Without a webhook the secret has no use: forget it.
        webhook_secret: webhook_url.as_ref().and(webhook_secret),
        webhook_url,
    })
}

/// A single plain address `local@domain`: at most 254 characters, a local
/// part of `atext` characters and dots, a domain of LDH labels.
pub fn validate_email(email: &str) -> Result<(), String> {
    const MESSAGE: &str = "must be a plain e-mail address like name@example.com";
    if email.is_empty() || email.len() > MAX_EMAIL_LEN {
        return Err(format!("must be 1–{MAX_EMAIL_LEN} characters"));
    }
    let (local, domain) = email.rsplit_once('@').ok_or(MESSAGE)?;
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
    if !local_ok || !is_domain_name(domain) {
        return Err(MESSAGE.to_string());
    }
    Ok(())
}

fn is_domain_name(domain: &str) -> bool {
    !domain.is_empty()
        && domain.len() <= 253
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// The parts of a webhook URL the policy looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookTarget {
    pub https: bool,
    /// Lower-cased; IPv6 literals keep their brackets.
    pub host: String,
    pub port: Option<u16>,
}

/// Parses an absolute `http(s)://host[:port][/path][?query]` URL (no user
/// info, no fragment, no whitespace).
pub fn parse_webhook_url(url: &str) -> Result<WebhookTarget, String> {
    if url.len() > MAX_URL_LEN {
        return Err(format!("must be at most {MAX_URL_LEN} characters"));
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) || url.contains('#') {
        return Err("must not contain spaces, control characters or a fragment".into());
    }
    let lower = url.to_ascii_lowercase();
    let (https, rest) = if let Some(rest) = lower.strip_prefix("https://") {
        (true, rest)
    } else if let Some(rest) = lower.strip_prefix("http://") {
        (false, rest)
    } else {
        return Err("must be an https:// URL".into());
    };
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err("must not contain user information".into());
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => {
            let port = port
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or("has an invalid port")?;
            (host, Some(port))
        }
        _ => (authority, None),
    };
    let valid_host = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => v6.parse::<Ipv6Addr>().is_ok(),
        None => is_domain_name(host),
    };
    if !valid_host {
        return Err("has an invalid host".into());
    }
    Ok(WebhookTarget {
        https,
        host: host.to_string(),
        port,
    })
}

/// Checks a webhook URL against the rules above.
pub fn validate_webhook_url(url: &str, policy: &WebhookPolicy) -> Result<(), String> {
    let target = parse_webhook_url(url)?;
    let ip = target
        .host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .ok();
    if target.https {
        if ip.is_some_and(is_internal) {
            return Err("must not point at a private, loopback or link-local address".into());
        }
        return Ok(());
    }
    let loopback = matches!(target.host.as_str(), "localhost" | "127.0.0.1");
    if !policy.allow_http_loopback || !loopback {
        return Err(if policy.allow_http_loopback {
            "must be https:// (http:// only to localhost or 127.0.0.1)".into()
        } else {
            "must be an https:// URL".into()
        });
    }
    let port = target.port.unwrap_or(80);
    if policy.blocked_loopback_ports.contains(&port) {
        return Err(format!("must not use port {port} on this host"));
    }
    Ok(())
}

fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                // 100.64.0.0/10 (carrier-grade NAT, often cluster networks)
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64)
        }
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
                || v6
                    .to_ipv4_mapped()
                    .is_some_and(|v4| is_internal(IpAddr::V4(v4)))
        }
    }
}
