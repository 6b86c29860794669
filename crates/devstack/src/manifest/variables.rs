//! Application variables, resolved like Spin's expression resolver
//! (`crates/expressions`), and the `{{ name }}` templates that use them.

use std::collections::BTreeMap;

use anyhow::{anyhow, bail, Result};

use super::Manifest;

impl Manifest {
    /// Resolves every application variable: `values` (like `spin up
    /// --variable`) first, then `SPIN_VARIABLE_<NAME>` from the process
    /// environment, then the manifest default. A required variable with no
    /// value is an error. Values for undeclared variables are ignored.
    pub fn resolve_variables(
        &self,
        values: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>> {
        self.resolve_variables_with(values, |name| {
            std::env::var(format!("SPIN_VARIABLE_{}", name.to_ascii_uppercase())).ok()
        })
    }

    /// [`Manifest::resolve_variables`] with an explicit environment lookup.
    pub fn resolve_variables_with(
        &self,
        values: &BTreeMap<String, String>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<BTreeMap<String, String>> {
        let mut out = BTreeMap::new();
        for (name, var) in &self.variables {
            let value = values
                .get(name)
                .cloned()
                .or_else(|| env(name))
                .or_else(|| var.default.clone());
            match value {
                Some(v) => {
                    out.insert(name.clone(), v);
                }
                None => bail!(
                    "{}: no value for required variable {name:?} (pass it like `spin up --variable {name}=…` or set SPIN_VARIABLE_{})",
                    self.path.display(),
                    name.to_ascii_uppercase()
                ),
            }
        }
        for name in values.keys() {
            if !self.variables.contains_key(name) {
                tracing::debug!(variable = %name, manifest = %self.path.display(), "value given for a variable the manifest does not declare; ignored");
            }
        }
        Ok(out)
    }

    /// A component's `allowed_outbound_hosts` with `{{ var }}` expanded from
    /// resolved variable values (see [`Manifest::resolve_variables`]).
    pub fn resolved_allowed_outbound_hosts(
        &self,
        component_id: &str,
        variables: &BTreeMap<String, String>,
    ) -> Result<Vec<String>> {
        let component = self.component(component_id)?;
        component
            .allowed_outbound_hosts
            .iter()
            .enumerate()
            .map(|(i, host)| {
                Template::parse(host)
                    .and_then(|t| t.render(variables))
                    .map_err(|e| {
                        anyhow!(
                            "{}: [component.{component_id}] allowed_outbound_hosts[{i}] {host:?}: {e}",
                            self.path.display()
                        )
                    })
            })
            .collect()
    }
}

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
        assert!(Template::parse("{{ open").is_err());
        assert!(Template::parse("plain").unwrap().is_literal());
    }
}
