//! The account record, its public view, and the sign-up and sign-in bodies.
//!
//! Bodies are read member by member instead of through serde's derive, so no
//! error message ever quotes a submitted value (a mistyped password must not
//! come back in a 400, nor reach a log); `Debug` of every type holding a
//! password or its hash prints `<redacted>`.
//!
//! Rules beyond architecture §3:
//! - `email`: see [`super::email`]; `password`: see [`super::password`].
//! - `name` is trimmed, then 1–100 characters without control characters.
//! - Sign-up reports every failing field at once (422); a missing member is
//!   "is required". Unknown members, non-strings and non-objects are 400.
//! - Sign-in applies no policy: any strings are accepted, and an address that
//!   does not parse is simply an account that does not exist.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{email, password, sha256_hex};
use crate::problem::{FieldError, Problem};

/// Longest display name, in characters, after trimming.
pub const NAME_MAX_CHARS: usize = 100;

/// One account as stored (`account/{id}`). `email` is the normal form.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    /// argon2id PHC string ([`super::hashing`]).
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
}

/// What the API shows of an account (`GET /api/auth/me`, sign-up's 201):
/// never the hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountView {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

impl Account {
    /// A new account from a validated sign-up and the hash of its password.
    pub fn new(
        id: Uuid,
        sign_up: &ValidSignUp,
        password_hash: String,
        now: DateTime<Utc>,
    ) -> Account {
        Account {
            id,
            email: sign_up.email.clone(),
            name: sign_up.name.clone(),
            password_hash,
            created_at: now,
        }
    }

    pub fn view(&self) -> AccountView {
        AccountView {
            id: self.id,
            email: self.email.clone(),
            name: self.name.clone(),
            created_at: self.created_at,
        }
    }

    /// The access-token subject (`sub`): the hyphenated id.
    pub fn subject(&self) -> String {
        self.id.hyphenated().to_string()
    }
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("name", &self.name)
            .field("password_hash", &"<redacted>")
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// State key of an account.
pub fn account_key(id: Uuid) -> String {
    format!("account/{}", id.hyphenated())
}

/// State key claiming a normalised address (insert-only, first write wins):
/// the uniqueness of emails. The address is hashed so keys hold no personal
/// data and no character Dapr keys cannot hold (`||`).
pub fn email_key(normalized_email: &str) -> String {
    format!("email/{}", sha256_hex(normalized_email.as_bytes()))
}

/// The `POST /api/auth/signup` body, as sent.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SignUpInput {
    pub email: Option<String>,
    pub password: Option<String>,
    pub name: Option<String>,
}

/// A sign-up that passed every rule: normalised email, trimmed name, the
/// password as typed (to be hashed, then dropped).
#[derive(Clone, PartialEq, Eq)]
pub struct ValidSignUp {
    pub email: String,
    pub name: String,
    pub password: String,
}

/// The `POST /api/auth/login` body.
#[derive(Clone, PartialEq, Eq)]
pub struct LoginInput {
    pub email: String,
    pub password: String,
}

impl LoginInput {
    /// The address to look the account up by; `None` when it cannot be an
    /// account's (then: dummy verification and the same 401).
    pub fn normalized_email(&self) -> Option<String> {
        email::normalize_email(&self.email).ok()
    }

    /// The address the per-account failure counter is kept under
    /// ([`super::lockout::account_counter_key`]): the normal form, or, when
    /// the input does not parse, the input trimmed and lowercased — so
    /// addresses without an account lock exactly like those with one.
    pub fn counter_email(&self) -> String {
        self.normalized_email()
            .unwrap_or_else(|| self.email.trim().to_lowercase())
    }
}

const SIGN_UP_FIELDS: [&str; 3] = ["email", "password", "name"];
const LOGIN_FIELDS: [&str; 2] = ["email", "password"];

/// Parses a sign-up body: a JSON object with string members `email`,
/// `password`, `name` (absent or `null` allowed here; [`validate_sign_up`]
/// requires them). Malformed JSON, another member or a non-string → 400.
pub fn parse_sign_up(body: &[u8]) -> Result<SignUpInput, Problem> {
    let obj = object(body, &SIGN_UP_FIELDS)?;
    Ok(SignUpInput {
        email: string_member(&obj, "email")?,
        password: string_member(&obj, "password")?,
        name: string_member(&obj, "name")?,
    })
}

/// Checks every sign-up rule and reports every failing field.
pub fn validate_sign_up(input: SignUpInput) -> Result<ValidSignUp, Vec<FieldError>> {
    let mut errors = Vec::new();
    let required = |field: &str| FieldError::new(field, "is required");
    let email = match input.email.as_deref().map(email::normalize_email) {
        None => Err(required(email::FIELD)),
        Some(result) => result,
    };
    let password = match input.password {
        None => Err(required(password::FIELD)),
        Some(p) => password::check_password(&p).map(|()| p),
    };
    let name = match input.name.as_deref().map(validate_name) {
        None => Err(required("name")),
        Some(result) => result,
    };
    let email = email.map_err(|e| errors.push(e)).ok();
    let password = password.map_err(|e| errors.push(e)).ok();
    let name = name.map_err(|e| errors.push(e)).ok();
    match (email, password, name) {
        (Some(email), Some(password), Some(name)) => Ok(ValidSignUp {
            email,
            name,
            password,
        }),
        _ => Err(errors),
    }
}

/// A display name: trimmed, 1–100 characters, no control characters.
pub fn validate_name(raw: &str) -> Result<String, FieldError> {
    let name = raw.trim();
    let fail = |message: &str| Err(FieldError::new("name", message));
    if name.is_empty() {
        fail("must not be empty")
    } else if name.chars().count() > NAME_MAX_CHARS {
        fail("must be at most 100 characters long")
    } else if name.chars().any(char::is_control) {
        fail("must not contain control characters")
    } else {
        Ok(name.to_string())
    }
}

/// Parses a sign-in body: a JSON object with string members `email` and
/// `password`. Malformed JSON, another member or a non-string → 400; a
/// missing member → 422 naming it.
pub fn parse_login(body: &[u8]) -> Result<LoginInput, Problem> {
    let obj = object(body, &LOGIN_FIELDS)?;
    let email = string_member(&obj, "email")?;
    let password = string_member(&obj, "password")?;
    match (email, password) {
        (Some(email), Some(password)) => Ok(LoginInput { email, password }),
        (email, password) => {
            let missing = [("email", email.is_none()), ("password", password.is_none())];
            Err(Problem::validation(
                missing
                    .iter()
                    .filter(|(_, m)| *m)
                    .map(|(f, _)| FieldError::new(*f, "is required"))
                    .collect(),
            ))
        }
    }
}

/// The one answer to a failed sign-in, whether the account exists or not.
pub fn invalid_credentials() -> Problem {
    Problem::unauthorized("the email address or the password is not correct")
}

/// Sign-up with an address that already has an account: 409 naming `email`.
pub fn email_taken() -> Problem {
    Problem {
        errors: vec![FieldError::new(
            email::FIELD,
            "already belongs to an account; sign in instead",
        )],
        ..Problem::conflict("an account with this email address already exists")
    }
}

fn object(body: &[u8], allowed: &[&str]) -> Result<Map<String, Value>, Problem> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        // Only the position: serde's message may quote part of the body.
        Problem::bad_request(format!(
            "the body is not valid JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    let Value::Object(obj) = value else {
        return Err(Problem::bad_request("the body must be a JSON object"));
    };
    if let Some(key) = obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        let key: String = key.chars().take(64).collect();
        return Err(Problem::bad_request(format!(
            "unknown field `{key}`; expected one of: {}",
            allowed.join(", ")
        )));
    }
    Ok(obj)
}

fn string_member(obj: &Map<String, Value>, key: &str) -> Result<Option<String>, Problem> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Problem::bad_request(format!("`{key}` must be a string"))),
    }
}

macro_rules! redacted_debug {
    ($ty:ident { $($field:ident),* }) => {
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    $(.field(stringify!($field), &self.$field))*
                    .field("password", &"<redacted>")
                    .finish()
            }
        }
    };
}
redacted_debug!(SignUpInput { email, name });
redacted_debug!(ValidSignUp { email, name });
redacted_debug!(LoginInput { email });

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn sign_up(body: Value) -> Result<ValidSignUp, Vec<FieldError>> {
        validate_sign_up(parse_sign_up(body.to_string().as_bytes()).unwrap())
    }

    #[test]
    fn valid_sign_up_is_normalised() {
        let ok = sign_up(json!({
            "email": " Ana@Example.ORG ",
            "password": "tangerine-sky-42",
            "name": "  Ana López "
        }))
        .unwrap();
        assert_eq!(ok.email, "ana@example.org");
        assert_eq!(ok.name, "Ana López");
        assert_eq!(ok.password, "tangerine-sky-42");
    }

    #[test]
    fn every_failing_field_is_reported() {
        let errors =
            sign_up(json!({"email": "nope", "password": "short", "name": " "})).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["email", "password", "name"]);
        let errors = sign_up(json!({})).unwrap_err();
        assert!(errors.iter().all(|e| e.message == "is required"));
        assert_eq!(errors.len(), 3);
        assert_eq!(Problem::validation(errors).status, 422);
    }

    #[test]
    fn name_rules() {
        assert_eq!(validate_name(&"n".repeat(100)).unwrap().len(), 100);
        assert_eq!(
            validate_name(&"n".repeat(101)).unwrap_err().message,
            "must be at most 100 characters long"
        );
        assert_eq!(
            validate_name("a\u{0}b").unwrap_err().message,
            "must not contain control characters"
        );
        assert_eq!(
            validate_name("\t\n").unwrap_err().message,
            "must not be empty"
        );
    }

    #[test]
    fn bad_bodies_are_400_and_never_quote_the_password() {
        for body in [
            r#"{"email": "a@b.org", "password": 1234567890123, "name": "A"}"#,
            r#"{"email": "a@b.org", "password": "secret-secret", "admin": true}"#,
            r#"["secret-secret"]"#,
            r#"{"password": "secret-secret"#,
        ] {
            let p = parse_sign_up(body.as_bytes()).unwrap_err();
            assert_eq!(p.status, 400, "{body}");
            assert!(
                !p.detail.contains("secret") && !p.detail.contains("1234567890123"),
                "{}",
                p.detail
            );
        }
    }

    #[test]
    fn login_needs_both_members_but_no_policy() {
        let ok = parse_login(br#"{"email": "X@Y.ORG", "password": "a"}"#).unwrap();
        assert_eq!(ok.normalized_email().as_deref(), Some("x@y.org"));
        assert_eq!(ok.counter_email(), "x@y.org");
        let unparsable = parse_login(br#"{"email": " NoPe ", "password": "a"}"#).unwrap();
        assert_eq!(unparsable.normalized_email(), None);
        assert_eq!(unparsable.counter_email(), "nope");
        let p = parse_login(br#"{"email": "x@y.org"}"#).unwrap_err();
        assert_eq!((p.status, p.errors[0].field.as_str()), (422, "password"));
        assert_eq!(
            parse_login(br#"{"email": "x@y.org", "password": "a", "name": "n"}"#)
                .unwrap_err()
                .status,
            400
        );
    }

    #[test]
    fn debug_output_redacts_secrets() {
        let login = parse_login(br#"{"email": "x@y.org", "password": "hunter2-hunter2"}"#).unwrap();
        let account = Account {
            id: Uuid::from_u128(1),
            email: "x@y.org".into(),
            name: "X".into(),
            password_hash: "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA".into(),
            created_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        };
        for text in [format!("{login:?}"), format!("{account:?}")] {
            assert!(text.contains("<redacted>"), "{text}");
            assert!(
                !text.contains("hunter2") && !text.contains("argon2id"),
                "{text}"
            );
        }
    }

    #[test]
    fn keys_and_view() {
        let at = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let valid = ValidSignUp {
            email: "a@b.org".into(),
            name: "A".into(),
            password: "tangerine-sky-42".into(),
        };
        let account = Account::new(Uuid::from_u128(0xAB), &valid, "$argon2id$…".into(), at);
        assert_eq!(
            account_key(account.id),
            "account/00000000-0000-0000-0000-0000000000ab"
        );
        let key = email_key(&account.email);
        assert!(key.starts_with("email/") && key.len() == 6 + 64 && !key.contains('@'));
        assert_eq!(key, email_key("a@b.org"));
        let view = serde_json::to_value(account.view()).unwrap();
        assert_eq!(
            view,
            json!({
                "id": "00000000-0000-0000-0000-0000000000ab",
                "email": "a@b.org",
                "name": "A",
                "createdAt": "2026-01-01T00:00:00Z"
            })
        );
        assert_eq!(account.subject(), "00000000-0000-0000-0000-0000000000ab");
        let stored = serde_json::to_value(&account).unwrap();
        assert!(stored.get("passwordHash").is_some());
    }

    #[test]
    fn failed_sign_in_and_taken_email_problems() {
        assert_eq!(invalid_credentials().status, 401);
        let taken = email_taken();
        assert_eq!(
            (taken.status, taken.errors[0].field.as_str()),
            (409, "email")
        );
    }
}
