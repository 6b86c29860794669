//! Bearer-token authentication: which user a request comes from.
//!
//! This file is the access tokens: JWT (RFC 7519) signed with HS256 (RFC 7518
//! §3.2) by our shared secret, or — when production trusts an external OIDC
//! issuer — with RS256/ES256 by a key of the issuer's JWK Set ([`jwks`]).
//!
//! Hand-rolled on `hmac` + `sha2` (and RustCrypto's `rsa`/`p256` for published
//! keys) on purpose: general JWT crates link every algorithm into the
//! component, and we accept exactly the ones named here. Which algorithms a
//! token may use follows from where the keys come from ([`Keys`]), never from
//! the token: with the shared secret only `HS256`, with published keys only
//! `RS256`/`ES256` (so an HS256 token "signed" with an issuer's public key is
//! refused). Anything else — `none` included — is rejected before the
//! signature is even looked at.
//!
//! Beside it:
//! - [`jwks`]: an OIDC issuer's published keys, the RS256/ES256 signature
//!   checks, and how long a fetched key set may be kept.
//!
//! Accounts, passwords and the refresh tokens that lead to an access token
//! are [`crate::identity`]'s.

pub mod jwks;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::auth::jwks::{JwkSet, KeyError, PUBLISHED_ALGORITHMS};
use crate::problem::Problem;

/// Clock skew tolerated on `exp` and `nbf`.
pub const DEFAULT_LEEWAY_SECS: i64 = 30;

/// How tokens are checked. `issuer`/`audience` are checked only when set.
#[derive(Clone)]
pub struct JwtConfig {
    pub secret: Vec<u8>,
    pub issuer: Option<String>,
    pub audience: Option<String>,
    pub leeway_secs: i64,
}

impl std::fmt::Debug for JwtConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtConfig")
            .field("secret", &"<redacted>")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("leeway_secs", &self.leeway_secs)
            .finish()
    }
}

/// The claims we read. `sub` is the user id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// A string or an array of strings (RFC 7519 §4.1.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<serde_json::Value>,
}

/// Why a request is not authenticated. Every variant answers 401.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("missing bearer token")]
    Missing,
    #[error("malformed token: {0}")]
    Malformed(String),
    #[error("unsupported algorithm {0:?}")]
    UnsupportedAlgorithm(String),
    /// Signed with published keys, but by none the issuer publishes (now).
    #[error("unknown signing key")]
    UnknownKey,
    #[error("invalid signature")]
    BadSignature,
    #[error("token expired")]
    Expired,
    #[error("token not valid yet")]
    NotYetValid,
    #[error("wrong issuer")]
    WrongIssuer,
    #[error("wrong audience")]
    WrongAudience,
}

impl From<AuthError> for Problem {
    fn from(err: AuthError) -> Problem {
        Problem::unauthorized(err.to_string())
    }
}

/// Longest token [`verify`] looks at; anything longer is rejected unread.
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

/// The token of an `Authorization: Bearer <token>` header.
///
/// The scheme is matched case-insensitively (RFC 9110 §11.1, RFC 6750 §2.1),
/// followed by one or more spaces and exactly one token made of the RFC 6750
/// `b64token` characters. No header, an empty header or `Bearer` with no
/// token → [`AuthError::Missing`]; another scheme, several tokens or stray
/// characters → [`AuthError::Malformed`].
pub fn bearer_token(authorization: Option<&str>) -> Result<&str, AuthError> {
    let value = authorization.unwrap_or_default().trim_matches([' ', '\t']);
    if value.is_empty() {
        return Err(AuthError::Missing);
    }
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::Malformed(
            "the Authorization scheme must be Bearer".into(),
        ));
    }
    let token = rest.trim_start_matches(' ');
    if token.is_empty() {
        return Err(AuthError::Missing);
    }
    if token.contains([' ', '\t']) {
        return Err(AuthError::Malformed(
            "the Authorization header must hold exactly one token".into(),
        ));
    }
    if !is_b64token(token) {
        return Err(AuthError::Malformed(
            "the bearer token contains characters a token cannot have".into(),
        ));
    }
    Ok(token)
}

/// RFC 6750 §2.1: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(token: &str) -> bool {
    let body = token.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

/// Where signatures are checked, and so which algorithms a token may use.
#[derive(Debug, Clone, Copy)]
pub enum Keys<'a> {
    /// Our own tokens: HS256 with the shared secret.
    Shared(&'a [u8]),
    /// An external issuer's tokens: RS256/ES256 with its published keys.
    Published(&'a JwkSet),
}

/// The claims a token must carry besides a signature: `iss`/`aud` when set.
#[derive(Debug, Clone, Copy)]
pub struct ClaimRules<'a> {
    pub issuer: Option<&'a str>,
    pub audience: Option<&'a str>,
    pub leeway_secs: i64,
}

/// Verifies an HS256 token with `config`'s secret; see [`verify_with`].
pub fn verify(token: &str, config: &JwtConfig, now: DateTime<Utc>) -> Result<Claims, AuthError> {
    let rules = ClaimRules {
        issuer: config.issuer.as_deref(),
        audience: config.audience.as_deref(),
        leeway_secs: config.leeway_secs,
    };
    verify_with(token, Keys::Shared(&config.secret), &rules, now)
}

/// Verifies signature, algorithm, `exp` (required), `nbf`, and `iss`/`aud` when configured.
///
/// Order: size, shape, header (`alg` must be one the [`Keys`] allow, `typ` if
/// present `JWT` — or, with published keys, `at+jwt` —, no `crit`), then the signature (constant-time
/// for HS256), and only then the claims: `sub` (non-empty) and `exp` are
/// required, `now > exp + leeway` is expired, `now + leeway < nbf` is not yet
/// valid, `iss` must equal the configured issuer and `aud` (a string or an
/// array) must contain the configured audience.
pub fn verify_with(
    token: &str,
    keys: Keys<'_>,
    rules: &ClaimRules<'_>,
    now: DateTime<Utc>,
) -> Result<Claims, AuthError> {
    let payload = verify_jws(token, keys)?;
    let claims = claims_from(&payload)?;

    let now = now.timestamp();
    let leeway = rules.leeway_secs.max(0);
    if now > claims.exp.saturating_add(leeway) {
        return Err(AuthError::Expired);
    }
    if let Some(nbf) = claims.nbf {
        if now.saturating_add(leeway) < nbf {
            return Err(AuthError::NotYetValid);
        }
    }
    if let Some(issuer) = rules.issuer {
        if claims.iss.as_deref() != Some(issuer) {
            return Err(AuthError::WrongIssuer);
        }
    }
    if let Some(audience) = rules.audience {
        let ok = match &claims.aud {
            Some(serde_json::Value::String(aud)) => aud == audience,
            Some(serde_json::Value::Array(auds)) => auds.iter().any(|a| a == audience),
            _ => false,
        };
        if !ok {
            return Err(AuthError::WrongAudience);
        }
    }
    Ok(claims)
}

/// Checks a token's shape, header and HS256 signature and returns its claims
/// set as JSON, *without* looking at any claim (no `exp`, `sub`, … checks).
/// [`verify`] is what requests are authenticated with; this is its first half,
/// public so that signature test vectors without our required claims (such as
/// RFC 7515 Appendix A.1) can be checked.
pub fn verify_signature(token: &str, secret: &[u8]) -> Result<serde_json::Value, AuthError> {
    verify_jws(token, Keys::Shared(secret))
}

/// [`verify_signature`] for any [`Keys`]: the JWS half of [`verify_with`].
pub fn verify_jws(token: &str, keys: Keys<'_>) -> Result<serde_json::Value, AuthError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(AuthError::Malformed(format!(
            "the token is longer than {MAX_TOKEN_LEN} bytes"
        )));
    }
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthError::Malformed(
            "a JWS has three dot-separated parts".into(),
        ));
    };

    let header: serde_json::Value = serde_json::from_slice(&decode(header_b64, "header")?)
        .map_err(|_| AuthError::Malformed("the header is not JSON".into()))?;
    let header = header
        .as_object()
        .ok_or_else(|| AuthError::Malformed("the header is not a JSON object".into()))?;
    let alg = match header.get("alg") {
        Some(serde_json::Value::String(alg)) => alg.as_str(),
        Some(_) => return Err(AuthError::Malformed("alg is not a string".into())),
        None => return Err(AuthError::Malformed("the header has no alg".into())),
    };
    let accepted = match keys {
        Keys::Shared(_) => alg == "HS256",
        Keys::Published(_) => PUBLISHED_ALGORITHMS.contains(&alg),
    };
    if !accepted {
        return Err(AuthError::UnsupportedAlgorithm(alg.to_string()));
    }
    // Our own tokens say `JWT`; an issuer's access tokens may say `at+jwt`
    // (RFC 9068 §2.1).
    let types: &[&str] = match keys {
        Keys::Shared(_) => &["JWT"],
        Keys::Published(_) => &["JWT", "at+jwt", "application/at+jwt"],
    };
    match header.get("typ") {
        None => {}
        Some(serde_json::Value::String(typ))
            if types.iter().any(|t| typ.eq_ignore_ascii_case(t)) => {}
        Some(_) => {
            return Err(AuthError::Malformed(format!(
                "typ must be {}",
                types.join(" or ")
            )))
        }
    }
    let kid = match header.get("kid") {
        None => None,
        Some(serde_json::Value::String(kid)) => Some(kid.as_str()),
        Some(_) => return Err(AuthError::Malformed("kid is not a string".into())),
    };
    // RFC 7515 §4.1.11: extensions we do not understand must be rejected.
    if header.contains_key("crit") {
        return Err(AuthError::Malformed(
            "critical header extensions are not supported".into(),
        ));
    }

    let signature = decode(signature_b64, "signature")?;
    match keys {
        Keys::Shared(secret) => {
            let mut mac =
                HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length");
            mac.update(header_b64.as_bytes());
            mac.update(b".");
            mac.update(payload_b64.as_bytes());
            // Constant-time comparison; also rejects signatures of the wrong length.
            mac.verify_slice(&signature)
                .map_err(|_| AuthError::BadSignature)?;
        }
        Keys::Published(set) => {
            let signing_input = format!("{header_b64}.{payload_b64}");
            set.verify(alg, kid, signing_input.as_bytes(), &signature)
                .map_err(|err| match err {
                    KeyError::Unknown => AuthError::UnknownKey,
                    KeyError::BadSignature => AuthError::BadSignature,
                })?;
        }
    }

    serde_json::from_slice(&decode(payload_b64, "payload")?)
        .map_err(|_| AuthError::Malformed("the payload is not JSON".into()))
}

/// Signs `claims` with HS256 (used by devstack's `token` command and by tests).
/// The header is `{"alg":"HS256","typ":"JWT"}`.
pub fn sign_hs256(claims: &Claims, secret: &[u8]) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload =
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims always serialize"));
    let signing_input = format!("{header}.{payload}");
    let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(signing_input.as_bytes());
    let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signing_input}.{signature}")
}

type HmacSha256 = Hmac<Sha256>;

/// base64url without padding (RFC 7515 §2); `=` padding and non-canonical
/// trailing bits are rejected.
fn decode(part: &str, what: &str) -> Result<Vec<u8>, AuthError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| AuthError::Malformed(format!("the {what} is not base64url")))
}

/// The claims we read from a claims set, with their types checked. NumericDate
/// values may be fractional (RFC 7519 §2); they are rounded down to seconds.
fn claims_from(payload: &serde_json::Value) -> Result<Claims, AuthError> {
    let object = payload
        .as_object()
        .ok_or_else(|| AuthError::Malformed("the claims set is not a JSON object".into()))?;
    let numeric_date = |name: &str| -> Result<Option<i64>, AuthError> {
        match object.get(name) {
            None => Ok(None),
            Some(value) => {
                let seconds = value.as_i64().or_else(|| {
                    value
                        .as_f64()
                        .filter(|f| f.is_finite())
                        // saturating float → int conversion
                        .map(|f| f.floor() as i64)
                });
                seconds
                    .map(Some)
                    .ok_or_else(|| AuthError::Malformed(format!("{name} is not a NumericDate")))
            }
        }
    };
    let string = |name: &str| -> Result<Option<String>, AuthError> {
        match object.get(name) {
            None => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(AuthError::Malformed(format!("{name} is not a string"))),
        }
    };

    let sub = string("sub")?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| AuthError::Malformed("the token has no sub".into()))?;
    let exp =
        numeric_date("exp")?.ok_or_else(|| AuthError::Malformed("the token has no exp".into()))?;
    let aud = match object.get("aud") {
        None => None,
        Some(aud @ serde_json::Value::String(_)) => Some(aud.clone()),
        Some(serde_json::Value::Array(items)) if items.iter().all(|a| a.is_string()) => {
            Some(serde_json::Value::Array(items.clone()))
        }
        Some(_) => {
            return Err(AuthError::Malformed(
                "aud is not a string or an array of strings".into(),
            ))
        }
    };
    Ok(Claims {
        sub,
        exp,
        nbf: numeric_date("nbf")?,
        iat: numeric_date("iat")?,
        iss: string("iss")?,
        aud,
    })
}
