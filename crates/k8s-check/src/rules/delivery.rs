//! How events reach a subscriber: a Subscription's rules (v2alpha1, scoped,
//! a dead-letter topic, routes under /events/) and the Resiliency's (retries
//! of deliveries bounded, then the dead-letter topic).

use serde_json::Value;

use crate::kustomize::Resource;

use super::fields::{list, s, strings};
use super::APP_IDS;

pub(super) fn subscription(r: &Resource, out: &mut Vec<String>) {
    let v = &r.value;
    let at = r.describe();
    if r.api_version() != "dapr.io/v2alpha1" {
        out.push(format!(
            "{at}: Subscriptions are dapr.io/v2alpha1 (routing rules), is {}",
            r.api_version()
        ));
    }
    let scopes = strings(v, "/scopes");
    if scopes.is_empty() {
        out.push(format!(
            "{at}: top-level `scopes` must name the consuming app-id"
        ));
    }
    for sc in &scopes {
        if !APP_IDS.contains(&sc.as_str()) {
            out.push(format!("{at}: scope {sc} is not an app-id"));
        }
    }
    let topic = s(v, "/spec/topic").unwrap_or("");
    match s(v, "/spec/deadLetterTopic") {
        Some(dlq) if !dlq.is_empty() && dlq != topic => {}
        other => out.push(format!(
            "{at}: a deadLetterTopic (≠ topic) is required, is {other:?}"
        )),
    }
    let mut paths: Vec<&str> = list(v, "/spec/routes/rules")
        .iter()
        .filter_map(|rule| rule.get("path").and_then(Value::as_str))
        .collect();
    paths.extend(s(v, "/spec/routes/default"));
    if paths.is_empty() {
        out.push(format!("{at}: routes need a rule or a default"));
    }
    for p in paths {
        if !p.starts_with("/events/") {
            out.push(format!(
                "{at}: delivery route {p} must be under /events/ (architecture §4)"
            ));
        }
    }
}

pub(super) fn resiliency(r: &Resource, out: &mut Vec<String>) {
    let v = &r.value;
    let at = r.describe();
    if strings(v, "/scopes").is_empty() {
        out.push(format!("{at}: top-level `scopes` is required"));
    }
    if let Some(policy) = s(v, "/spec/targets/components/kafka-pubsub/inbound/retry") {
        let max = v
            .pointer(&format!("/spec/policies/retries/{policy}/maxRetries"))
            .and_then(Value::as_i64);
        match max {
            Some(n) if n >= 0 => {}
            other => out.push(format!(
                "{at}: retry policy {policy} for deliveries must be bounded (maxRetries ≥ 0, then the dead-letter topic), is {other:?}"
            )),
        }
    }
}
