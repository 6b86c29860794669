//! Reading (multi-document) YAML as JSON values, the form every check works on.
//!
//! Kubernetes turns YAML into JSON before it looks at it, so the checks do
//! too. Empty documents (`---` followed by nothing, or only comments) are
//! skipped, as `kubectl` does.

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;
use serde_json::Value;

/// Parses every non-empty document of `text`. `source` only labels errors.
pub fn parse_documents(text: &str, source: &Path) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    for (index, doc) in serde_yaml::Deserializer::from_str(text).enumerate() {
        let yaml = serde_yaml::Value::deserialize(doc).with_context(|| {
            format!(
                "{}: document {} is not valid YAML",
                source.display(),
                index + 1
            )
        })?;
        if yaml.is_null() {
            continue;
        }
        let json = to_json(&yaml).with_context(|| {
            format!(
                "{}: document {} cannot be represented as JSON",
                source.display(),
                index + 1
            )
        })?;
        out.push(json);
    }
    Ok(out)
}

/// Reads and parses a YAML file.
pub fn read_documents(path: &Path) -> Result<Vec<Value>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse_documents(&text, path)
}

/// Reads a YAML file that must hold exactly one document.
pub fn read_single(path: &Path) -> Result<Value> {
    let mut docs = read_documents(path)?;
    match docs.len() {
        1 => Ok(docs.remove(0)),
        n => bail!("{}: expected one YAML document, found {n}", path.display()),
    }
}

fn to_json(yaml: &serde_yaml::Value) -> Result<Value> {
    Ok(match yaml {
        serde_yaml::Value::Null => Value::Null,
        serde_yaml::Value::Bool(b) => Value::Bool(*b),
        serde_yaml::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                let f = n
                    .as_f64()
                    .ok_or_else(|| anyhow!("unrepresentable number {n}"))?;
                serde_json::Number::from_f64(f)
                    .map(Value::Number)
                    .ok_or_else(|| anyhow!("number {f} is not valid JSON"))?
            }
        }
        serde_yaml::Value::String(s) => Value::String(s.clone()),
        serde_yaml::Value::Sequence(items) => {
            Value::Array(items.iter().map(to_json).collect::<Result<_>>()?)
        }
        serde_yaml::Value::Mapping(map) => {
            let mut out = serde_json::Map::new();
            for (k, v) in map {
                let key = match k {
                    serde_yaml::Value::String(s) => s.clone(),
                    other => bail!("mapping key {other:?} is not a string (Kubernetes keys are strings; quote it)"),
                };
                if out.insert(key.clone(), to_json(v)?).is_some() {
                    bail!("duplicate key {key:?}");
                }
            }
            Value::Object(out)
        }
        serde_yaml::Value::Tagged(t) => bail!("YAML tag {} is not supported", t.tag),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_and_numbers() {
        let docs = parse_documents(
            "---\n# only a comment\n---\na: 1\nb: [x, 2.5]\n---\nc: \"1\"\n",
            Path::new("t.yaml"),
        )
        .unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0]["a"], 1);
        assert_eq!(docs[0]["b"][1], 2.5);
        assert_eq!(docs[1]["c"], "1");
        assert!(parse_documents("1: x\n", Path::new("t.yaml")).is_err());
    }
}
