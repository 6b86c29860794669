//! Small accessors: the fields of a rendered object (JSON) that the rules
//! read, and the objects of one kind in a rendering.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::kustomize::Resource;

pub(super) fn s<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

pub(super) fn list<'a>(v: &'a Value, pointer: &str) -> &'a [Value] {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

pub(super) fn strings(v: &Value, pointer: &str) -> Vec<String> {
    list(v, pointer)
        .iter()
        .filter_map(|x| x.as_str().map(str::to_string))
        .collect()
}

/// `spec.metadata` of a Dapr Component as name → item.
pub(super) fn component_meta(c: &Value) -> BTreeMap<String, &Value> {
    list(c, "/spec/metadata")
        .iter()
        .filter_map(|m| Some((m.get("name")?.as_str()?.to_string(), m)))
        .collect()
}

pub(super) fn meta_value<'a>(c: &'a Value, name: &str) -> Option<&'a str> {
    list(c, "/spec/metadata")
        .iter()
        .find(|m| m.get("name").and_then(Value::as_str) == Some(name))
        .and_then(|m| m.get("value"))
        .and_then(Value::as_str)
}

pub(super) fn int(v: &Value, pointer: &str) -> Option<i64> {
    let x = v.pointer(pointer)?;
    x.as_i64().or_else(|| x.as_str()?.parse().ok())
}

pub(super) fn of_kind<'a>(
    rs: &'a [Resource],
    group: &str,
    kind: &str,
) -> impl Iterator<Item = &'a Resource> + 'a {
    let (group, kind) = (group.to_string(), kind.to_string());
    rs.iter()
        .filter(move |r| r.group() == group && r.kind() == kind)
}
