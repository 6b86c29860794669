//! Validating objects against the official CRD schemas (`k8s/crds/`)
//! and, for core kinds, against a hand-written subset schema.
//!
//! A CRD's `openAPIV3Schema` is a Kubernetes *structural schema*, not plain
//! JSON Schema. It is converted first so that the JSON Schema validator gives
//! the answers the API server (with kubectl's default strict field
//! validation) would:
//! - an object with `properties` accepts no other field
//!   (`additionalProperties: false`) unless it says
//!   `x-kubernetes-preserve-unknown-fields: true` or has `additionalProperties`
//!   itself: the API server reports unknown fields (kubectl `--validate=strict`);
//! - an object with neither `properties` nor `additionalProperties` nor
//!   `x-kubernetes-preserve-unknown-fields` is pruned to `{}` by the API
//!   server, so nothing may be written there — except `metadata`, which
//!   is replaced by the ObjectMeta schema below;
//! - `x-kubernetes-int-or-string: true` accepts an integer or a string;
//! - `x-kubernetes-list-type: set` requires unique items (`atomic` and `map`
//!   are not checked further: no CRD field this project uses is a `map` list);
//! - `format`s other than `date-time` are dropped (`int32`/`int64` are not
//!   JSON Schema formats); `nullable` is not used by these CRDs, so `null` is
//!   refused everywhere, as the API server does without it;
//! - `x-kubernetes-validations` (CEL rules) cannot be evaluated offline: the
//!   places that carry one are collected, and an object that sets such a
//!   field is reported so that the rule gets looked at (see
//!   [`CrdSchemas::cel_fields_used`]).
//!
//! Core kinds (Namespace, Service, Deployment, …) have no OpenAPI document
//! offline. `core-schemas.yaml` is a hand-written JSON Schema of the part of
//! each kind this repository uses, with every field name taken from the
//! Kubernetes API reference (v1.33): required fields, types, enums, and no
//! unknown field names. A field not listed there is reported, so using a new
//! one means adding it there (after checking its name upstream).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Map, Value};

use crate::kustomize::{group_of, Resource};
use crate::yaml;

/// A compiled schema for one (group, version, kind).
pub struct KindSchema {
    pub validator: jsonschema::Validator,
    /// Instance paths (`/spec/kafka/rack`, `*` for list items and map
    /// values) that carry CEL rules.
    pub cel_paths: Vec<(String, Vec<String>)>,
    /// Where the schema came from, for messages.
    pub origin: String,
}

/// Every schema known, by `(group, version, kind)`.
pub struct CrdSchemas {
    pub kinds: BTreeMap<(String, String, String), KindSchema>,
    /// Groups served by a CRD: an object of such a group whose version or
    /// kind is not served is an error, not an "unknown kind".
    pub crd_groups: BTreeMap<String, Vec<String>>,
}

/// The ObjectMeta fields a manifest may set (name, labels, annotations…).
fn object_meta(name_required: bool) -> Value {
    let string_map = json!({"type": "object", "additionalProperties": {"type": "string"}});
    let mut meta = json!({
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 253,
                     "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"},
            "generateName": {"type": "string"},
            "namespace": {"type": "string", "maxLength": 63,
                          "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
            "labels": string_map.clone(),
            "annotations": string_map,
            "finalizers": {"type": "array", "items": {"type": "string"}}
        }
    });
    if name_required {
        meta["required"] = json!(["name"]);
    }
    meta
}

/// Converts a structural schema node (see the module docs). `key` is the
/// property name the node sits under (to recognise embedded `metadata`).
fn convert(
    node: &Value,
    key: &str,
    at: &str,
    cel: &mut Vec<(String, Vec<String>)>,
) -> Result<Value> {
    let obj = node
        .as_object()
        .ok_or_else(|| anyhow!("schema node at {at} is not a map"))?;
    let mut out = Map::new();
    let preserve = obj
        .get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        == Some(true);
    for (k, v) in obj {
        match k.as_str() {
            "properties" => {
                let mut props = Map::new();
                for (name, sub) in v.as_object().ok_or_else(|| anyhow!("{at}: properties"))? {
                    props.insert(
                        name.clone(),
                        convert(sub, name, &format!("{at}/{name}"), cel)?,
                    );
                }
                out.insert(k.clone(), Value::Object(props));
            }
            "items" => {
                out.insert(k.clone(), convert(v, "", &format!("{at}/*"), cel)?);
            }
            "additionalProperties" => {
                let converted = if v.is_object() {
                    convert(v, "", &format!("{at}/*"), cel)?
                } else {
                    v.clone()
                };
                out.insert(k.clone(), converted);
            }
            "anyOf" | "oneOf" | "allOf" => {
                let list = v
                    .as_array()
                    .ok_or_else(|| anyhow!("{at}: {k} is a list"))?
                    .iter()
                    .map(|s| convert(s, key, at, cel))
                    .collect::<Result<Vec<_>>>()?;
                out.insert(k.clone(), Value::Array(list));
            }
            "not" => {
                out.insert(k.clone(), convert(v, key, at, cel)?);
            }
            "type" | "required" | "enum" | "pattern" | "minimum" | "maximum"
            | "exclusiveMinimum" | "exclusiveMaximum" | "minLength" | "maxLength" | "minItems"
            | "maxItems" | "uniqueItems" | "multipleOf" | "minProperties" | "maxProperties" => {
                out.insert(k.clone(), v.clone());
            }
            "format" => {
                if v.as_str() == Some("date-time") {
                    out.insert(k.clone(), v.clone());
                }
            }
            "x-kubernetes-list-type" => {
                if v.as_str() == Some("set") {
                    out.insert("uniqueItems".into(), Value::Bool(true));
                }
            }
            "x-kubernetes-validations" => {
                let rules = v
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|r| r.get("rule").and_then(Value::as_str))
                    .map(str::to_string)
                    .collect();
                cel.push((at.to_string(), rules));
            }
            "nullable" => {
                if v.as_bool() == Some(true) {
                    bail!("{at}: nullable is not supported by k8s-check yet");
                }
            }
            // Documentation and defaults do not constrain input.
            "description"
            | "default"
            | "example"
            | "title"
            | "x-kubernetes-int-or-string"
            | "x-kubernetes-preserve-unknown-fields"
            | "x-kubernetes-map-type"
            | "x-kubernetes-list-map-keys"
            | "x-kubernetes-embedded-resource" => {}
            other => bail!("{at}: schema keyword {other} is not understood by k8s-check"),
        }
    }
    if obj
        .get("x-kubernetes-int-or-string")
        .and_then(Value::as_bool)
        == Some(true)
        && !out.contains_key("anyOf")
    {
        out.remove("type");
        out.insert(
            "anyOf".into(),
            json!([{"type": "integer"}, {"type": "string"}]),
        );
    }
    let is_object = obj.get("type").and_then(Value::as_str) == Some("object");
    if is_object && !preserve && !out.contains_key("additionalProperties") {
        if out.contains_key("properties") {
            out.insert("additionalProperties".into(), Value::Bool(false));
        } else if key == "metadata" {
            return Ok(object_meta(false));
        } else {
            // Pruned to {} by the API server: nothing may be set here.
            out.insert("maxProperties".into(), json!(0));
        }
    }
    Ok(Value::Object(out))
}

/// Builds a validator from a converted schema.
fn compile(schema: &Value, origin: &str) -> Result<jsonschema::Validator> {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .should_validate_formats(true)
        .build(schema)
        .map_err(|e| anyhow!("{origin}: the converted schema does not compile: {e}"))
}

impl CrdSchemas {
    /// Loads every `*.yaml` CRD in `crds_dir` and the core subset schemas.
    pub fn load(crds_dir: &Path) -> Result<CrdSchemas> {
        if !crds_dir.is_dir() {
            bail!(
                "CRD directory {} not found: k8s-check validates against the official CRDs kept in k8s/crds (set K8S_CHECK_CRDS to another directory)",
                crds_dir.display()
            );
        }
        let mut kinds = BTreeMap::new();
        let mut crd_groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut files: Vec<PathBuf> = std::fs::read_dir(crds_dir)?
            .map(|e| e.map(|e| e.path()))
            .collect::<std::io::Result<_>>()?;
        files.sort();
        let mut found = 0;
        for file in files {
            if file.extension().and_then(|e| e.to_str()) != Some("yaml") {
                continue;
            }
            for crd in yaml::read_documents(&file)? {
                if crd.get("kind").and_then(Value::as_str) != Some("CustomResourceDefinition") {
                    continue;
                }
                found += 1;
                let group = str_at(&crd, "/spec/group")?.to_string();
                let kind = str_at(&crd, "/spec/names/kind")?.to_string();
                for version in crd
                    .pointer("/spec/versions")
                    .and_then(Value::as_array)
                    .ok_or_else(|| anyhow!("{}: spec.versions", file.display()))?
                {
                    let name = str_at(version, "/name")?.to_string();
                    if version.get("served").and_then(Value::as_bool) != Some(true) {
                        continue;
                    }
                    let origin = format!(
                        "{} ({kind} {group}/{name})",
                        file.file_name().unwrap().to_string_lossy()
                    );
                    let raw = version
                        .pointer("/schema/openAPIV3Schema")
                        .ok_or_else(|| anyhow!("{origin}: no openAPIV3Schema"))?;
                    let mut cel = Vec::new();
                    let mut schema = convert(raw, "", "", &mut cel)
                        .with_context(|| format!("converting {origin}"))?;
                    schema["properties"]["metadata"] = object_meta(true);
                    let required = schema
                        .as_object_mut()
                        .unwrap()
                        .entry("required")
                        .or_insert_with(|| json!([]));
                    for field in ["apiVersion", "kind", "metadata"] {
                        if !required.as_array().unwrap().iter().any(|r| r == field) {
                            required.as_array_mut().unwrap().push(json!(field));
                        }
                    }
                    let validator = compile(&schema, &origin)?;
                    crd_groups
                        .entry(group.clone())
                        .or_default()
                        .push(format!("{kind} {name}"));
                    kinds.insert(
                        (group.clone(), name, kind.clone()),
                        KindSchema {
                            validator,
                            cel_paths: cel,
                            origin,
                        },
                    );
                }
            }
        }
        if found == 0 {
            bail!(
                "no CustomResourceDefinition found in {}",
                crds_dir.display()
            );
        }
        let mut schemas = CrdSchemas { kinds, crd_groups };
        schemas.load_core()?;
        Ok(schemas)
    }

    fn load_core(&mut self) -> Result<()> {
        let text = include_str!("core-schemas.yaml");
        let doc = yaml::parse_documents(text, Path::new("core-schemas.yaml"))?
            .pop()
            .ok_or_else(|| anyhow!("core-schemas.yaml is empty"))?;
        let definitions = doc
            .get("definitions")
            .cloned()
            .ok_or_else(|| anyhow!("core-schemas.yaml: definitions"))?;
        for (key, schema) in doc
            .get("kinds")
            .and_then(Value::as_object)
            .ok_or_else(|| anyhow!("core-schemas.yaml: kinds"))?
        {
            // key = "apiVersion kind"
            let (api_version, kind) = key
                .split_once(' ')
                .ok_or_else(|| anyhow!("core-schemas.yaml: key {key}"))?;
            let (group, version) = match api_version.rsplit_once('/') {
                Some((g, v)) => (g.to_string(), v.to_string()),
                None => (String::new(), api_version.to_string()),
            };
            let cluster_scoped = crate::kustomize::is_cluster_scoped(kind);
            let mut full = json!({
                "type": "object",
                "additionalProperties": false,
                "required": ["apiVersion", "kind", "metadata"],
                "properties": {
                    "apiVersion": {"enum": [api_version]},
                    "kind": {"enum": [kind]},
                    "metadata": object_meta(true),
                },
                "definitions": definitions.clone(),
            });
            if cluster_scoped {
                full["properties"]["metadata"]["properties"]
                    .as_object_mut()
                    .unwrap()
                    .remove("namespace");
            }
            let props = full["properties"].as_object_mut().unwrap();
            for (field, sub) in schema
                .get("properties")
                .and_then(Value::as_object)
                .ok_or_else(|| anyhow!("core-schemas.yaml: {key}.properties"))?
            {
                props.insert(field.clone(), sub.clone());
            }
            if let Some(req) = schema.get("required").and_then(Value::as_array) {
                full["required"]
                    .as_array_mut()
                    .unwrap()
                    .extend(req.iter().cloned());
            }
            let origin = format!("core-schemas.yaml ({kind} {api_version}; hand-written subset)");
            let validator = compile(&full, &origin)?;
            self.kinds.insert(
                (group, version, kind.to_string()),
                KindSchema {
                    validator,
                    cel_paths: Vec::new(),
                    origin,
                },
            );
        }
        Ok(())
    }

    /// Validates one object; returns the problems found (empty = valid).
    pub fn validate(&self, r: &Resource) -> Vec<String> {
        let key = (
            r.group().to_string(),
            r.version().to_string(),
            r.kind().to_string(),
        );
        let Some(schema) = self.kinds.get(&key) else {
            if let Some(served) = self.crd_groups.get(r.group()) {
                return vec![format!(
                    "{}: {} {} is not served by the CRDs of group {} (served: {})",
                    r.describe(),
                    r.api_version(),
                    r.kind(),
                    r.group(),
                    served.join(", ")
                )];
            }
            return vec![format!(
                "{}: no schema for {} {} (add the CRD to k8s/crds, with its source in SOURCES.md, or the kind to core-schemas.yaml)",
                r.describe(),
                r.api_version(),
                r.kind()
            )];
        };
        let mut problems: Vec<String> = schema
            .validator
            .iter_errors(&r.value)
            .map(|e| {
                let path = e.instance_path().to_string();
                let path = if path.is_empty() {
                    "/".to_string()
                } else {
                    path
                };
                format!("{} at {path}: {e} [{}]", r.describe(), schema.origin)
            })
            .collect();
        for (path, rules) in Self::cel_fields_used(schema, &r.value) {
            problems.push(format!(
                "{}: sets {path}, which carries CEL validation rules k8s-check cannot evaluate ({}); check them by hand and teach k8s-check before relying on this field",
                r.describe(),
                rules.join(" | ")
            ));
        }
        problems
    }

    /// The CEL-guarded fields that `value` sets, with their rules.
    pub fn cel_fields_used(schema: &KindSchema, value: &Value) -> Vec<(String, Vec<String>)> {
        let mut out = Vec::new();
        for (path, rules) in &schema.cel_paths {
            let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
            let mut hits = Vec::new();
            find_paths(value, &segments, String::new(), &mut hits);
            for hit in hits {
                out.push((hit, rules.clone()));
            }
        }
        out
    }

    /// Is there a schema for this apiVersion/kind?
    pub fn knows(&self, api_version: &str, kind: &str) -> bool {
        let version = api_version.rsplit_once('/').map_or(api_version, |(_, v)| v);
        self.kinds.contains_key(&(
            group_of(api_version).to_string(),
            version.to_string(),
            kind.to_string(),
        ))
    }
}

fn find_paths(value: &Value, segments: &[&str], at: String, out: &mut Vec<String>) {
    let Some((first, rest)) = segments.split_first() else {
        out.push(if at.is_empty() { "/".into() } else { at });
        return;
    };
    if *first == "*" {
        match value {
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    find_paths(item, rest, format!("{at}/{i}"), out);
                }
            }
            Value::Object(map) => {
                for (k, item) in map {
                    find_paths(item, rest, format!("{at}/{k}"), out);
                }
            }
            _ => {}
        }
    } else if let Some(next) = value.get(*first) {
        find_paths(next, rest, format!("{at}/{first}"), out);
    }
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Result<&'a str> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("CRD field {pointer} missing"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile_crd(schema: Value) -> (jsonschema::Validator, Vec<(String, Vec<String>)>) {
        let mut cel = Vec::new();
        let converted = convert(&schema, "", "", &mut cel).unwrap();
        (compile(&converted, "test").unwrap(), cel)
    }

    #[test]
    fn structural_semantics() {
        let (v, cel) = compile_crd(json!({
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "required": ["size"],
                    "properties": {
                        "size": {"x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string"}]},
                        "port": {"x-kubernetes-int-or-string": true},
                        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                        "pruned": {"type": "object"},
                        "map": {"type": "object", "additionalProperties": {"type": "string"}},
                        "count": {"type": "integer", "format": "int32", "minimum": 1},
                        "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
                        "rack": {"type": "object", "properties": {"a": {"type": "string"}},
                                 "x-kubernetes-validations": [{"rule": "self.a != ''"}]}
                    }
                }
            }
        }));
        assert!(v.is_valid(&json!({"spec": {"size": 1, "port": "http", "free": {"x": [1]}, "map": {"a": "b"}, "count": 2, "tags": ["a", "b"]}})));
        assert!(v.is_valid(&json!({"spec": {"size": "1Gi"}})));
        assert!(!v.is_valid(&json!({"spec": {}})), "required");
        assert!(
            !v.is_valid(&json!({"spec": {"size": 1, "typo": 1}})),
            "unknown field"
        );
        assert!(
            !v.is_valid(&json!({"spec": {"size": 1, "pruned": {"a": 1}}})),
            "pruned object"
        );
        assert!(
            !v.is_valid(&json!({"spec": {"size": 1, "map": {"a": 1}}})),
            "map value type"
        );
        assert!(
            !v.is_valid(&json!({"spec": {"size": 1, "count": 0}})),
            "minimum"
        );
        assert!(
            !v.is_valid(&json!({"spec": {"size": 1, "tags": ["a", "a"]}})),
            "set"
        );
        assert!(
            !v.is_valid(&json!({"spec": {"size": true}})),
            "int-or-string"
        );
        assert!(!v.is_valid(&json!({"spec": {"size": null}})), "null");
        assert_eq!(cel.len(), 1);
        assert_eq!(cel[0].0, "/spec/rack");
    }
}
