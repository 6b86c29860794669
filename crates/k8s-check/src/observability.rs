//! Observability checks (k8s/observability and the Dapr Configurations):
//! - every ConfigMap data key ending in `.yaml`/`.yml` parses as YAML (an
//!   embedded Prometheus or Collector config is otherwise only found broken
//!   by the pod crashing);
//! - a data key ending in `.rules.yml` is a Prometheus rules file:
//!   `groups[].rules[]`, each alert with `alert`, `expr`, an optional valid
//!   `for`, `labels.severity` (critical, warning, info) and
//!   `annotations.summary`, `.description` and `.runbook` — the runbook a
//!   `<repository file>#<heading anchor>` that exists; every metric an
//!   `expr` names must be in `known-metrics.txt` (daprd, Scheduler,
//!   ingress-nginx), so a misspelt metric fails CI instead of leaving an
//!   alert that can never fire;
//! - on an overlay: there is at least one alert, and each Configuration's
//!   `tracing.otel.endpointAddress` is `host:port` without a scheme, with a
//!   `protocol`, pointing at a Service of the rendering that has that port
//!   (when it names the rendering's namespace); `samplingRate` is in 0..=1.

use std::collections::BTreeSet;
use std::path::Path;

use regex::Regex;
use serde::Deserialize;
use serde_json::Value;

use crate::kustomize::Resource;

/// The metric names alert expressions may use (see the file's header).
pub const KNOWN_METRICS: &str = include_str!("known-metrics.txt");

/// Severities an alert may carry.
pub const SEVERITIES: [&str; 3] = ["critical", "warning", "info"];

/// The names of [`KNOWN_METRICS`], histograms expanded.
pub fn known_metrics() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in KNOWN_METRICS.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.split_once(' ') {
            Some((name, kind)) if kind.trim() == "histogram" => {
                for suffix in ["_bucket", "_sum", "_count"] {
                    out.insert(format!("{name}{suffix}"));
                }
            }
            _ => {
                out.insert(line.to_string());
            }
        }
    }
    out
}

/// The ConfigMap data entries under `rs` whose key ends in one of `suffixes`:
/// (where, key, text).
fn config_entries<'a>(
    rs: &'a [Resource],
    suffixes: &'a [&str],
) -> impl Iterator<Item = (String, &'a str, &'a str)> + 'a {
    rs.iter()
        .filter(|r| r.group().is_empty() && r.kind() == "ConfigMap")
        .flat_map(move |r| {
            r.value
                .get("data")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .filter(|(k, _)| suffixes.iter().any(|s| k.ends_with(s)))
                .filter_map(move |(k, v)| Some((r.describe(), k.as_str(), v.as_str()?)))
        })
}

/// Rules for every rendering: embedded YAML parses, rules files are sound.
pub fn check_objects(rs: &[Resource], repo: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for (at, key, text) in config_entries(rs, &[".yaml", ".yml"]) {
        for doc in serde_yaml::Deserializer::from_str(text) {
            if let Err(e) = serde_yaml::Value::deserialize(doc) {
                out.push(format!("{at}: data[{key}] is not valid YAML: {e}"));
                break;
            }
        }
    }
    let known = known_metrics();
    for (at, key, text) in config_entries(rs, &[".rules.yml"]) {
        let (problems, _) = check_rules(text, &known, repo);
        out.extend(
            problems
                .into_iter()
                .map(|p| format!("{at}: data[{key}]: {p}")),
        );
    }
    out
}

/// Rules for an overlay: alerts exist, the trace exporter reaches the
/// collector.
pub fn check_deployable(rs: &[Resource], repo: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let known = known_metrics();
    let alerts: usize = config_entries(rs, &[".rules.yml"])
        .map(|(_, _, text)| check_rules(text, &known, repo).1)
        .sum();
    if alerts == 0 {
        out.push("no Prometheus alert rule in the rendering (a ConfigMap data key *.rules.yml, k8s/observability)".into());
    }
    for c in rs
        .iter()
        .filter(|r| r.group() == "dapr.io" && r.kind() == "Configuration")
    {
        let at = c.describe();
        let rate = c
            .value
            .pointer("/spec/tracing/samplingRate")
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<f64>().ok());
        if !rate.is_some_and(|r| (0.0..=1.0).contains(&r)) {
            out.push(format!(
                "{at}: spec.tracing.samplingRate must be a number from \"0\" to \"1\""
            ));
        }
        let Some(otel) = c.value.pointer("/spec/tracing/otel") else {
            continue;
        };
        let addr = otel
            .get("endpointAddress")
            .and_then(Value::as_str)
            .unwrap_or("");
        if !matches!(
            otel.get("protocol").and_then(Value::as_str),
            Some("grpc" | "http")
        ) {
            out.push(format!(
                "{at}: tracing.otel.protocol must be grpc or http (daprd exports nothing without it)"
            ));
        }
        let Some((host, port)) = addr
            .rsplit_once(':')
            .filter(|_| !addr.contains("://"))
            .and_then(|(h, p)| Some((h, p.parse::<u16>().ok()?)))
        else {
            out.push(format!(
                "{at}: tracing.otel.endpointAddress {addr:?} must be host:port, without a scheme"
            ));
            continue;
        };
        let mut parts = host.split('.');
        let (svc, ns) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        if ns != c.namespace() {
            continue; // outside the rendering: cannot be checked
        }
        let served = rs.iter().any(|s| {
            s.group().is_empty()
                && s.kind() == "Service"
                && s.name() == svc
                && s.namespace() == ns
                && s.value
                    .pointer("/spec/ports")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .any(|p| p.get("port").and_then(Value::as_u64) == Some(port.into()))
        });
        if !served {
            out.push(format!(
                "{at}: tracing.otel.endpointAddress {addr}: no Service {svc} with port {port} in namespace {ns}"
            ));
        }
    }
    out
}

/// Checks one Prometheus rules file; returns its problems and its number of
/// alerting rules.
pub fn check_rules(text: &str, known: &BTreeSet<String>, repo: &Path) -> (Vec<String>, usize) {
    let mut out = Vec::new();
    let doc: Value = match crate::yaml::parse_documents(text, Path::new("rules")) {
        Ok(mut docs) if docs.len() == 1 => docs.remove(0),
        Ok(docs) => {
            return (
                vec![format!("one YAML document expected, found {}", docs.len())],
                0,
            )
        }
        Err(e) => return (vec![format!("{e:#}")], 0),
    };
    let duration = Regex::new(r"^([0-9]+(ms|s|m|h|d|w|y))+$").expect("regex");
    let mut alerts = 0;
    let mut names = BTreeSet::new();
    let mut known = known.clone();
    let groups = doc.get("groups").and_then(Value::as_array);
    if groups.is_none_or(Vec::is_empty) {
        out.push("`groups` must be a non-empty list".into());
    }
    for (gi, g) in groups.into_iter().flatten().enumerate() {
        let group = g.get("name").and_then(Value::as_str).unwrap_or("");
        let gat = format!("group {group:?}");
        if group.is_empty() {
            out.push(format!("groups[{gi}]: `name` is required"));
        }
        unknown_keys(
            g,
            &[
                "name",
                "interval",
                "limit",
                "query_offset",
                "labels",
                "rules",
            ],
            &gat,
            &mut out,
        );
        let rules = g.get("rules").and_then(Value::as_array);
        if rules.is_none_or(Vec::is_empty) {
            out.push(format!("{gat}: `rules` must be a non-empty list"));
        }
        for (ri, r) in rules.into_iter().flatten().enumerate() {
            let expr = r.get("expr").and_then(Value::as_str).unwrap_or("");
            if let Some(record) = r.get("record").and_then(Value::as_str) {
                // A recording rule: its name becomes a metric later rules use.
                unknown_keys(
                    r,
                    &["record", "expr", "labels"],
                    &format!("{gat} rule {record}"),
                    &mut out,
                );
                check_expr(expr, &known, &format!("{gat} rule {record}"), &mut out);
                known.insert(record.to_string());
                continue;
            }
            let Some(alert) = r
                .get("alert")
                .and_then(Value::as_str)
                .filter(|a| !a.is_empty())
            else {
                out.push(format!(
                    "{gat} rules[{ri}]: `alert` (or `record`) is required"
                ));
                continue;
            };
            let at = format!("alert {alert}");
            alerts += 1;
            if !names.insert(alert.to_string()) {
                out.push(format!("{at} is defined twice"));
            }
            unknown_keys(
                r,
                &[
                    "alert",
                    "expr",
                    "for",
                    "keep_firing_for",
                    "labels",
                    "annotations",
                ],
                &at,
                &mut out,
            );
            check_expr(expr, &known, &at, &mut out);
            for key in ["for", "keep_firing_for"] {
                if let Some(v) = r.get(key) {
                    if !v.as_str().is_some_and(|d| duration.is_match(d)) {
                        out.push(format!(
                            "{at}: `{key}` {v} is not a duration (5m, 1h30m, …)"
                        ));
                    }
                }
            }
            let severity = r.pointer("/labels/severity").and_then(Value::as_str);
            if !severity.is_some_and(|s| SEVERITIES.contains(&s)) {
                out.push(format!(
                    "{at}: labels.severity must be one of {SEVERITIES:?}, is {severity:?}"
                ));
            }
            for a in ["summary", "description", "runbook"] {
                let v = r
                    .pointer(&format!("/annotations/{a}"))
                    .and_then(Value::as_str);
                if v.is_none_or(|v| v.trim().is_empty()) {
                    out.push(format!("{at}: annotations.{a} is required"));
                }
            }
            if let Some(runbook) = r.pointer("/annotations/runbook").and_then(Value::as_str) {
                if let Err(e) = check_runbook(runbook, repo) {
                    out.push(format!("{at}: annotations.runbook {runbook}: {e}"));
                }
            }
        }
    }
    (out, alerts)
}

fn unknown_keys(v: &Value, allowed: &[&str], at: &str, out: &mut Vec<String>) {
    for key in v.as_object().into_iter().flat_map(|m| m.keys()) {
        if !allowed.contains(&key.as_str()) {
            out.push(format!(
                "{at}: unknown field `{key}` (allowed: {allowed:?})"
            ));
        }
    }
}

fn check_expr(expr: &str, known: &BTreeSet<String>, at: &str, out: &mut Vec<String>) {
    let names = metric_names(expr);
    if expr.trim().is_empty() || names.is_empty() {
        out.push(format!("{at}: `expr` must select at least one metric"));
    }
    for name in names {
        if !known.contains(&name) {
            out.push(format!("{at}: `expr` uses metric {name}, which is not a known daprd, Scheduler or ingress-nginx metric (crates/k8s-check/src/known-metrics.txt): a typo? Add it there only after finding it in the exporter"));
        }
    }
}

/// `<file>#<anchor>`: a file of the repository with a heading of that anchor.
fn check_runbook(runbook: &str, repo: &Path) -> Result<(), String> {
    let (file, anchor) = runbook
        .split_once('#')
        .ok_or("must be <repository file>#<heading anchor>")?;
    if file.starts_with('/') || file.split('/').any(|s| s == "..") {
        return Err("the file must be relative to the repository root".into());
    }
    let text =
        std::fs::read_to_string(repo.join(file)).map_err(|e| format!("cannot read {file}: {e}"))?;
    if !heading_anchors(&text).contains(anchor) {
        return Err(format!("{file} has no heading with anchor #{anchor}"));
    }
    Ok(())
}

/// The anchors GitHub gives the headings of a Markdown text: lower case,
/// punctuation dropped, spaces to `-`, repeats suffixed `-1`, `-2`, ….
pub fn heading_anchors(markdown: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut fenced = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        let Some(title) = line.strip_prefix('#') else {
            continue;
        };
        if fenced {
            continue;
        }
        let title = title.trim_start_matches('#');
        if !title.starts_with(' ') {
            continue;
        }
        let slug: String = title
            .trim()
            .to_lowercase()
            .chars()
            .filter_map(|c| match c {
                ' ' => Some('-'),
                c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
                _ => None,
            })
            .collect();
        let mut candidate = slug.clone();
        let mut n = 0;
        while !out.insert(candidate.clone()) {
            n += 1;
            candidate = format!("{slug}-{n}");
        }
    }
    out
}

/// The metric names a PromQL expression selects, in order (with repeats):
/// identifiers outside strings, label matchers `{…}`, ranges `[…]` and the
/// label lists of `by`/`without`/`on`/`ignoring`/`group_left`/`group_right`
/// that are neither keywords, aggregations nor functions (followed by `(`).
pub fn metric_names(expr: &str) -> Vec<String> {
    const LABEL_LISTS: [&str; 6] = [
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
    ];
    const KEYWORDS: [&str; 22] = [
        "and",
        "or",
        "unless",
        "bool",
        "offset",
        "atan2",
        "inf",
        "nan",
        "sum",
        "min",
        "max",
        "avg",
        "group",
        "stddev",
        "stdvar",
        "count",
        "count_values",
        "bottomk",
        "topk",
        "quantile",
        "limitk",
        "limit_ratio",
    ];
    let c: Vec<char> = expr.chars().collect();
    let mut out = Vec::new();
    let mut list_next = false;
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        match ch {
            '"' | '\'' | '`' => i = skip_string(&c, i),
            '{' => i = skip_group(&c, i, '}'),
            '[' => i = skip_group(&c, i, ']'),
            '(' if list_next => {
                i = skip_group(&c, i, ')');
                list_next = false;
            }
            '#' => {
                while i < c.len() && c[i] != '\n' {
                    i += 1;
                }
            }
            _ if ch.is_ascii_digit()
                || (ch == '.' && c.get(i + 1).is_some_and(char::is_ascii_digit)) =>
            {
                // A number or a duration (5m, 1e3, 0x1f).
                while i < c.len() && (c[i].is_ascii_alphanumeric() || c[i] == '.' || c[i] == '_') {
                    i += 1;
                }
            }
            _ if ch.is_ascii_alphabetic() || ch == '_' || ch == ':' => {
                let start = i;
                while i < c.len() && (c[i].is_ascii_alphanumeric() || c[i] == '_' || c[i] == ':') {
                    i += 1;
                }
                let word: String = c[start..i].iter().collect();
                let lower = word.to_ascii_lowercase();
                let next = c[i..].iter().find(|x| !x.is_whitespace());
                if LABEL_LISTS.contains(&lower.as_str()) {
                    list_next = next == Some(&'(');
                } else if !KEYWORDS.contains(&lower.as_str()) && next != Some(&'(') {
                    out.push(word);
                }
            }
            _ => i += 1,
        }
    }
    out
}

fn skip_string(c: &[char], start: usize) -> usize {
    let quote = c[start];
    let mut i = start + 1;
    while i < c.len() {
        if c[i] == '\\' && quote != '`' {
            i += 2;
        } else if c[i] == quote {
            return i + 1;
        } else {
            i += 1;
        }
    }
    i
}

fn skip_group(c: &[char], start: usize, close: char) -> usize {
    let mut i = start + 1;
    while i < c.len() {
        match c[i] {
            '"' | '\'' | '`' => i = skip_string(c, i),
            x if x == close => return i + 1,
            _ => i += 1,
        }
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_names_skip_functions_labels_and_ranges() {
        assert_eq!(
            metric_names(
                r#"histogram_quantile(0.99, sum by (le) (rate(dapr_scheduler_trigger_latency_bucket{type="job"}[5m]))) > 5000"#
            ),
            ["dapr_scheduler_trigger_latency_bucket"]
        );
        assert_eq!(
            metric_names("sum by (app_id, topic) (rate(a{s=\"x}y\"}[5m])) / on (app_id) group_left (topic) sum(rate(b[5m:1m])) BY (app_id) > 0.1"),
            ["a", "b"]
        );
        assert_eq!(
            metric_names(
                "x unless x offset 5m or max without (instance) (up) == 0 and 1e3 > bool 2"
            ),
            ["x", "x", "up"]
        );
        assert_eq!(
            metric_names("# only a comment\nnode:rate5m > 0"),
            ["node:rate5m"]
        );
        assert!(metric_names("vector(1)").is_empty());
    }

    #[test]
    fn known_metrics_expand_histograms() {
        let k = known_metrics();
        assert!(k.contains("dapr_component_pubsub_egress_count"));
        assert!(k.contains("dapr_scheduler_trigger_latency_bucket"));
        assert!(!k.contains("dapr_scheduler_trigger_latency"));
        assert!(!k.iter().any(|m| m.starts_with('#') || m.contains(' ')));
    }

    #[test]
    fn anchors_like_github() {
        let a = heading_anchors("# Title\n```\n# not a heading\n```\n## A `5xx` answer, late!\n### A `5xx` answer, late!\n#nospace\n");
        let want: BTreeSet<String> = ["title", "a-5xx-answer-late", "a-5xx-answer-late-1"]
            .map(String::from)
            .into();
        assert_eq!(a, want);
    }
}
