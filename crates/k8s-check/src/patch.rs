//! The two patch forms the overlays may use.
//!
//! - JSON Patch (RFC 6902): `add`, `remove`, `replace`, `move`, `copy`,
//!   `test`, with RFC 6901 pointers (`~0`, `~1`, `-` for "append").
//! - A strategic-merge patch restricted to what JSON Merge Patch (RFC 7386)
//!   does identically: maps merge recursively, `null` deletes a key. Lists are
//!   refused: for core kinds kustomize merges some lists by key (containers
//!   by `name`, …) and replaces others, and reproducing that table is not
//!   worth it; write a JSON6902 patch for a list instead. `$patch`/`$setElementOrder`
//!   directives are refused for the same reason.

use anyhow::{anyhow, bail, Result};
use serde_json::Value;

/// Applies RFC 6902 operations (`ops` is the parsed patch: a list of maps).
pub fn apply_json6902(doc: &mut Value, ops: &Value) -> Result<()> {
    let ops = ops
        .as_array()
        .ok_or_else(|| anyhow!("a JSON6902 patch is a list of operations"))?;
    for (i, op) in ops.iter().enumerate() {
        apply_op(doc, op).map_err(|e| anyhow!("operation {} ({}): {e}", i + 1, describe(op)))?;
    }
    Ok(())
}

fn describe(op: &Value) -> String {
    format!(
        "{} {}",
        op.get("op").and_then(Value::as_str).unwrap_or("?"),
        op.get("path").and_then(Value::as_str).unwrap_or("?")
    )
}

fn apply_op(doc: &mut Value, op: &Value) -> Result<()> {
    let obj = op
        .as_object()
        .ok_or_else(|| anyhow!("an operation is a map"))?;
    for key in obj.keys() {
        if !matches!(key.as_str(), "op" | "path" | "value" | "from") {
            bail!("unknown member {key:?}");
        }
    }
    let name = obj
        .get("op")
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("`op` is required"))?;
    let path = obj
        .get("path")
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow!("`path` is required"))?;
    let value = || {
        obj.get("value")
            .cloned()
            .ok_or_else(|| anyhow!("`value` is required for {name}"))
    };
    let from = || {
        obj.get("from")
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow!("`from` is required for {name}"))
    };
    match name {
        "add" => add(doc, path, value()?),
        "remove" => remove(doc, path).map(|_| ()),
        "replace" => {
            let target = doc
                .pointer_mut(path)
                .ok_or_else(|| anyhow!("path {path} does not exist"))?;
            *target = value()?;
            Ok(())
        }
        "move" => {
            let from = from()?;
            if path.starts_with(&format!("{from}/")) {
                bail!("cannot move {from} into itself");
            }
            let v = remove(doc, from)?;
            add(doc, path, v)
        }
        "copy" => {
            let v = doc
                .pointer(from()?)
                .cloned()
                .ok_or_else(|| anyhow!("`from` path does not exist"))?;
            add(doc, path, v)
        }
        "test" => {
            let actual = doc
                .pointer(path)
                .ok_or_else(|| anyhow!("path {path} does not exist"))?;
            let expected = value()?;
            if *actual != expected {
                bail!("test failed: {path} is {actual}, not {expected}");
            }
            Ok(())
        }
        other => bail!("unknown op {other:?}"),
    }
}

/// Splits a pointer into its parent pointer and its last, unescaped token.
fn split(path: &str) -> Result<(&str, String)> {
    if path.is_empty() {
        bail!("the whole document cannot be the target");
    }
    if !path.starts_with('/') {
        bail!("pointer {path:?} must start with /");
    }
    let at = path.rfind('/').expect("starts with /");
    let token = path[at + 1..].replace("~1", "/").replace("~0", "~");
    Ok((&path[..at], token))
}

fn add(doc: &mut Value, path: &str, value: Value) -> Result<()> {
    let (parent, token) = split(path)?;
    let parent = doc
        .pointer_mut(parent)
        .ok_or_else(|| anyhow!("parent of {path} does not exist"))?;
    match parent {
        Value::Object(map) => {
            map.insert(token, value);
            Ok(())
        }
        Value::Array(items) => {
            if token == "-" {
                items.push(value);
                return Ok(());
            }
            let index = array_index(&token)?;
            if index > items.len() {
                bail!(
                    "index {index} is past the end of the list ({} items)",
                    items.len()
                );
            }
            items.insert(index, value);
            Ok(())
        }
        _ => bail!("parent of {path} is neither a map nor a list"),
    }
}

fn remove(doc: &mut Value, path: &str) -> Result<Value> {
    let (parent, token) = split(path)?;
    let parent = doc
        .pointer_mut(parent)
        .ok_or_else(|| anyhow!("parent of {path} does not exist"))?;
    match parent {
        Value::Object(map) => map
            .remove(&token)
            .ok_or_else(|| anyhow!("path {path} does not exist")),
        Value::Array(items) => {
            let index = array_index(&token)?;
            if index >= items.len() {
                bail!("path {path} does not exist");
            }
            Ok(items.remove(index))
        }
        _ => bail!("parent of {path} is neither a map nor a list"),
    }
}

fn array_index(token: &str) -> Result<usize> {
    if token.is_empty() || (token.len() > 1 && token.starts_with('0')) {
        bail!("{token:?} is not a list index");
    }
    token
        .parse()
        .map_err(|_| anyhow!("{token:?} is not a list index"))
}

/// Applies a (list-free) strategic-merge patch: see the module docs.
pub fn apply_merge(doc: &mut Value, patch: &Value) -> Result<()> {
    merge_at(doc, patch, "")
}

fn merge_at(doc: &mut Value, patch: &Value, at: &str) -> Result<()> {
    match patch {
        Value::Object(p) => {
            if !doc.is_object() {
                *doc = Value::Object(Default::default());
            }
            let target = doc.as_object_mut().expect("just made an object");
            for (k, v) in p {
                if k.starts_with('$') {
                    bail!("{at}/{k}: strategic-merge directives are not in the supported subset");
                }
                if v.is_null() {
                    target.remove(k);
                } else {
                    let slot = target.entry(k.clone()).or_insert(Value::Null);
                    merge_at(slot, v, &format!("{at}/{k}"))?;
                }
            }
            Ok(())
        }
        Value::Array(_) => bail!(
            "{at}: a strategic-merge patch may not contain lists in the supported subset (kustomize merges some lists by key); use a JSON6902 patch"
        ),
        scalar => {
            *doc = scalar.clone();
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json6902_ops() {
        let mut doc = json!({"spec": {"items": [1, 2], "a~b": {"c/d": 1}}});
        apply_json6902(
            &mut doc,
            &json!([
                {"op": "add", "path": "/spec/items/-", "value": 3},
                {"op": "add", "path": "/spec/items/0", "value": 0},
                {"op": "replace", "path": "/spec/a~0b/c~1d", "value": 2},
                {"op": "test", "path": "/spec/a~0b/c~1d", "value": 2},
                {"op": "copy", "from": "/spec/items", "path": "/spec/copy"},
                {"op": "move", "from": "/spec/copy", "path": "/moved"},
                {"op": "remove", "path": "/spec/items/1"}
            ]),
        )
        .unwrap();
        assert_eq!(
            doc,
            json!({"spec": {"items": [0, 2, 3], "a~b": {"c/d": 2}}, "moved": [0, 1, 2, 3]})
        );
        let mut doc = json!({"a": 1});
        assert!(apply_json6902(
            &mut doc,
            &json!([{"op": "replace", "path": "/b", "value": 1}])
        )
        .is_err());
        assert!(
            apply_json6902(&mut doc, &json!([{"op": "test", "path": "/a", "value": 2}])).is_err()
        );
        assert!(apply_json6902(&mut doc, &json!([{"op": "remove", "path": "/a/x"}])).is_err());
        assert!(apply_json6902(
            &mut doc,
            &json!([{"op": "add", "path": "/a", "value": 1, "extra": 1}])
        )
        .is_err());
    }

    #[test]
    fn merge_without_lists() {
        let mut doc = json!({"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"x": 1}});
        apply_merge(
            &mut doc,
            &json!({"metadata": {"labels": {"b": null, "c": "3"}}, "spec": {"x": {"y": 1}}}),
        )
        .unwrap();
        assert_eq!(
            doc,
            json!({"metadata": {"labels": {"a": "1", "c": "3"}}, "spec": {"x": {"y": 1}}})
        );
        assert!(apply_merge(&mut doc, &json!({"spec": {"l": [1]}})).is_err());
        assert!(apply_merge(&mut doc, &json!({"spec": {"$patch": "delete"}})).is_err());
    }
}
