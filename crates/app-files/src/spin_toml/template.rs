//! `{{ name }}` templates, parsed as Spin parses them
//! (`spin_expressions::Template`). Why it exists: loading a manifest checks
//! that every template in `allowed_outbound_hosts` names a declared
//! variable, and a host that resolves the variables renders the same
//! parsed template, so both agree on what a template is.

use std::collections::BTreeMap;

use anyhow::{anyhow, Result};

/// A `{{ name }}` template as Spin parses it (`spin_expressions::Template`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Lit(String),
    Expr(String),
}

impl Template {
    /// Splits a string into literals and `{{ expr }}` parts (whitespace
    /// inside the braces is trimmed).
    pub fn parse(s: &str) -> Result<Template> {
        let mut parts = Vec::new();
        let mut rest = s;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix("{{") {
                let (expr, tail) = after.split_once("}}").ok_or_else(|| {
                    anyhow!("invalid variable template: unmatched '{{{{' in template")
                })?;
                parts.push(Part::Expr(expr.trim().to_string()));
                rest = tail;
            } else {
                let idx = rest.find("{{").unwrap_or(rest.len());
                parts.push(Part::Lit(rest[..idx].to_string()));
                rest = &rest[idx..];
            }
        }
        Ok(Template { parts })
    }

    /// The variables it refers to.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Expr(e) => Some(e.as_str()),
            Part::Lit(_) => None,
        })
    }

    /// True when there is nothing to expand.
    pub fn is_literal(&self) -> bool {
        self.variables().next().is_none()
    }

    /// Expands it from resolved variable values.
    pub fn render(&self, values: &BTreeMap<String, String>) -> Result<String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Lit(l) => out.push_str(l),
                Part::Expr(e) => out.push_str(
                    values
                        .get(e)
                        .ok_or_else(|| anyhow!("invalid variable name: unknown variable {e:?}"))?,
                ),
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse_like_spin() {
        let t = Template::parse("a-{{ x }}-{{y}}").unwrap();
        assert_eq!(t.variables().collect::<Vec<_>>(), vec!["x", "y"]);
        let vals = BTreeMap::from([
            ("x".to_string(), "1".to_string()),
            ("y".to_string(), "2".to_string()),
        ]);
        assert_eq!(t.render(&vals).unwrap(), "a-1-2");
        let e = t.render(&BTreeMap::new()).unwrap_err().to_string();
        assert!(e.contains("\"x\""), "{e}");
        assert!(Template::parse("{{ open").is_err());
        assert!(Template::parse("plain").unwrap().is_literal());
    }
}
