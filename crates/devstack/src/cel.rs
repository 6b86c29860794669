//! Routing-rule conditions: a small, strict subset of CEL.
//!
//! Routing rules are CEL in Dapr. devstack understands the subset the project
//! uses — `event.<field> == "…"` / `!=`, combined with `&&`, `||`, `!` and
//! parentheses — and refuses anything else at load time with a clear error,
//! so a rule can never silently route differently than daprd would.

/// A parsed routing-rule condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Match {
    /// The default route (no condition).
    Always,
    Literal(bool),
    /// `event.<path> == "value"` (or `!=` with `negate`).
    Compare {
        path: Vec<String>,
        value: String,
        negate: bool,
    },
    Not(Box<Match>),
    And(Box<Match>, Box<Match>),
    Or(Box<Match>, Box<Match>),
}

const CEL_SUBSET: &str = "devstack understands only `event.<field> == \"…\"` and `!=`, combined with `&&`, `||`, `!` and parentheses";

impl Match {
    /// Parses the supported CEL subset; anything else is an error naming
    /// what devstack understands.
    pub fn parse(text: &str) -> std::result::Result<Match, String> {
        let tokens = tokenize(text)?;
        let mut parser = CelParser { tokens, pos: 0 };
        let expr = parser.or()?;
        if parser.pos != parser.tokens.len() {
            return Err(format!(
                "unexpected {} after a complete expression; {CEL_SUBSET}",
                parser.tokens[parser.pos].describe()
            ));
        }
        Ok(expr)
    }

    /// Evaluates against a CloudEvent (`event`) with CEL's semantics: a
    /// field the event lacks is an error ("no such key"), not false; a
    /// present non-string field never equals a string (heterogeneous
    /// equality is false); `&&` and `||` absorb an error when the other side
    /// decides (`false && error` is false, `true || error` is true), `!`
    /// keeps it (cel-spec `langdef.md`, "Logical operators").
    pub fn eval(&self, event: &serde_json::Value) -> std::result::Result<bool, String> {
        match self {
            Match::Always => Ok(true),
            Match::Literal(b) => Ok(*b),
            Match::Compare {
                path,
                value,
                negate,
            } => {
                let mut cur = event;
                for seg in path {
                    match cur.get(seg) {
                        Some(v) => cur = v,
                        None => return Err(format!("no such key: {seg}")),
                    }
                }
                let equal = cur.as_str() == Some(value.as_str());
                Ok(equal != *negate)
            }
            Match::Not(m) => m.eval(event).map(|b| !b),
            Match::And(a, b) => match (a.eval(event), b.eval(event)) {
                (Ok(false), _) | (_, Ok(false)) => Ok(false),
                (Ok(true), Ok(true)) => Ok(true),
                (Err(e), _) | (_, Err(e)) => Err(e),
            },
            Match::Or(a, b) => match (a.eval(event), b.eval(event)) {
                (Ok(true), _) | (_, Ok(true)) => Ok(true),
                (Ok(false), Ok(false)) => Ok(false),
                (Err(e), _) | (_, Err(e)) => Err(e),
            },
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(Vec<String>),
    Str(String),
    Bool(bool),
    Eq,
    Ne,
    And,
    Or,
    Not,
    LParen,
    RParen,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Ident(p) => format!("`{}`", p.join(".")),
            Tok::Str(s) => format!("string {s:?}"),
            Tok::Bool(b) => format!("`{b}`"),
            Tok::Eq => "`==`".into(),
            Tok::Ne => "`!=`".into(),
            Tok::And => "`&&`".into(),
            Tok::Or => "`||`".into(),
            Tok::Not => "`!`".into(),
            Tok::LParen => "`(`".into(),
            Tok::RParen => "`)`".into(),
        }
    }
}

fn tokenize(text: &str) -> std::result::Result<Vec<Tok>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '(' => {
                out.push(Tok::LParen);
                i += 1;
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1;
            }
            '=' if chars.get(i + 1) == Some(&'=') => {
                out.push(Tok::Eq);
                i += 2;
            }
            '!' if chars.get(i + 1) == Some(&'=') => {
                out.push(Tok::Ne);
                i += 2;
            }
            '!' => {
                out.push(Tok::Not);
                i += 1;
            }
            '&' if chars.get(i + 1) == Some(&'&') => {
                out.push(Tok::And);
                i += 2;
            }
            '|' if chars.get(i + 1) == Some(&'|') => {
                out.push(Tok::Or);
                i += 2;
            }
            '"' | '\'' => {
                let quote = c;
                i += 1;
                let mut s = String::new();
                loop {
                    let Some(&ch) = chars.get(i) else {
                        return Err("unterminated string literal".into());
                    };
                    i += 1;
                    if ch == quote {
                        break;
                    }
                    if ch == '\\' {
                        let Some(&esc) = chars.get(i) else {
                            return Err("unterminated string literal".into());
                        };
                        i += 1;
                        s.push(match esc {
                            'n' => '\n',
                            't' => '\t',
                            'r' => '\r',
                            '\\' | '"' | '\'' => esc,
                            other => return Err(format!("unsupported escape \\{other} in string")),
                        });
                    } else {
                        s.push(ch);
                    }
                }
                out.push(Tok::Str(s));
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == '.')
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                match word.as_str() {
                    "true" => out.push(Tok::Bool(true)),
                    "false" => out.push(Tok::Bool(false)),
                    _ => {
                        let parts: Vec<String> = word.split('.').map(str::to_string).collect();
                        if parts.len() < 2
                            || parts[0] != "event"
                            || parts.iter().any(|p| p.is_empty())
                        {
                            return Err(format!(
                                "unsupported identifier `{word}` (only `event.<field>` is available); {CEL_SUBSET}"
                            ));
                        }
                        out.push(Tok::Ident(parts[1..].to_vec()));
                    }
                }
                if chars.get(i) == Some(&'(') || chars.get(i) == Some(&'[') {
                    return Err(format!(
                        "function calls and indexing are not supported; {CEL_SUBSET}"
                    ));
                }
            }
            other => {
                return Err(format!("unsupported character {other:?}; {CEL_SUBSET}"));
            }
        }
    }
    Ok(out)
}

struct CelParser {
    tokens: Vec<Tok>,
    pos: usize,
}

impl CelParser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn or(&mut self) -> std::result::Result<Match, String> {
        let mut left = self.and()?;
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            let right = self.and()?;
            left = Match::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> std::result::Result<Match, String> {
        let mut left = self.unary()?;
        while self.peek() == Some(&Tok::And) {
            self.pos += 1;
            let right = self.unary()?;
            left = Match::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> std::result::Result<Match, String> {
        match self.peek() {
            Some(Tok::Not) => {
                self.pos += 1;
                Ok(Match::Not(Box::new(self.unary()?)))
            }
            Some(Tok::LParen) => {
                self.pos += 1;
                let inner = self.or()?;
                match self.next() {
                    Some(Tok::RParen) => Ok(inner),
                    _ => Err(format!("missing `)`; {CEL_SUBSET}")),
                }
            }
            Some(Tok::Bool(b)) => {
                let b = *b;
                self.pos += 1;
                Ok(Match::Literal(b))
            }
            _ => self.comparison(),
        }
    }

    fn comparison(&mut self) -> std::result::Result<Match, String> {
        let left = self.next();
        let op = self.next();
        let right = self.next();
        let negate = match op {
            Some(Tok::Eq) => false,
            Some(Tok::Ne) => true,
            other => {
                return Err(format!(
                    "expected `==` or `!=`, found {}; {CEL_SUBSET}",
                    other
                        .map(|t| t.describe())
                        .unwrap_or_else(|| "the end".into())
                ))
            }
        };
        match (left, right) {
            (Some(Tok::Ident(path)), Some(Tok::Str(value)))
            | (Some(Tok::Str(value)), Some(Tok::Ident(path))) => Ok(Match::Compare {
                path,
                value,
                negate,
            }),
            (l, r) => Err(format!(
                "cannot compare {} with {}; {CEL_SUBSET}",
                l.map(|t| t.describe()).unwrap_or_else(|| "nothing".into()),
                r.map(|t| t.describe()).unwrap_or_else(|| "nothing".into())
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cel_subset() {
        let m = Match::parse(r#"event.type == "a" || (event.type != 'b' && event.source == "s")"#)
            .unwrap();
        assert_eq!(
            m.eval(&json!({"type": "a"})),
            Ok(true),
            "|| absorbs the missing source"
        );
        assert_eq!(m.eval(&json!({"type": "c", "source": "s"})), Ok(true));
        assert_eq!(m.eval(&json!({"type": "b", "source": "s"})), Ok(false));
        assert_eq!(m.eval(&json!({"type": "c", "source": "x"})), Ok(false));
        assert_eq!(
            m.eval(&json!({"type": "b"})),
            Ok(false),
            "false && error is false"
        );
        // A missing field is an error in CEL, not false (cel-spec langdef).
        assert!(m.eval(&json!({"type": "c"})).is_err());
        let not = Match::parse(r#"!(event.subject == "x")"#).unwrap();
        assert!(not.eval(&json!({})).is_err());
        assert_eq!(
            not.eval(&json!({"subject": 3})),
            Ok(true),
            "3 == \"x\" is false"
        );
        assert!(Match::parse("event.type.startsWith(\"a\")").is_err());
        assert!(Match::parse("event.type in [\"a\"]").is_err());
        assert!(Match::parse("event.type == 1").is_err());
        assert!(Match::parse("size(event.data) > 2").is_err());
    }
}
