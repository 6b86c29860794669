//! The two tokens of a session: a short access token every component verifies,
//! and a long refresh token that rotates on each use and detects its own theft.
//!
//! **Access tokens** are the HS256 JWTs of [`crate::auth`] (`sub` = account
//! id, `iat`, `exp` = 15 min later, `iss`/`aud` from the [`JwtConfig`]), made
//! with [`crate::auth::sign_hs256`], so every component verifies them as it
//! already does.
//!
//! **Refresh tokens** are opaque: `<familyId>.<generation>.<secret>`, the
//! family id 16 random bytes and the secret 32 random bytes (256 bits), both
//! base64url without padding, the generation a decimal counter. A sign-in
//! starts a *family*; each refresh replaces its token with the next
//! generation. Only the SHA-256 of the current token is stored (the family
//! document never holds a usable token). Presenting a token of the family
//! that is not the current one — an earlier generation, or a wrong secret —
//! means two parties hold the family's tokens (OAuth 2.0 Security BCP, RFC 9700
//! §4.14.2): the whole family is revoked and both must sign in again. The
//! family id is itself random and appears only inside tokens, so only someone
//! who saw a token can trigger that.
//!
//! A refresh family lives [`REFRESH_TOKEN_TTL_SECS`] (30 days) from sign-in;
//! rotation does not extend it. Clients must not refresh twice concurrently
//! with the same token: the second attempt is reuse.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::sha256_hex;
use crate::auth::{sign_hs256, Claims, JwtConfig};

/// Access-token lifetime (architecture §3: 15 min).
pub const ACCESS_TOKEN_TTL_SECS: i64 = 15 * 60;
/// Refresh-family lifetime from sign-in.
pub const REFRESH_TOKEN_TTL_SECS: i64 = 30 * 24 * 60 * 60;
/// Random bytes of a refresh family id.
pub const FAMILY_ID_LEN: usize = 16;
/// Random bytes of a refresh token's secret (256 bits).
pub const REFRESH_SECRET_LEN: usize = 32;
/// Longest string [`RefreshToken::parse`] looks at.
pub const MAX_REFRESH_TOKEN_LEN: usize = 128;

/// The body of a sign-in or refresh answer: `{accessToken, expiresIn}`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessToken {
    pub access_token: String,
    /// Seconds until the token expires.
    pub expires_in: i64,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("access_token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// A 15-minute access token for `account_id`, signed with `config.secret`;
/// `iss` and `aud` are set to the configured issuer and audience, if any, so
/// [`crate::auth::verify`] with the same config accepts it.
pub fn issue_access_token(account_id: Uuid, config: &JwtConfig, now: DateTime<Utc>) -> AccessToken {
    let claims = Claims {
        sub: account_id.hyphenated().to_string(),
        exp: now.timestamp() + ACCESS_TOKEN_TTL_SECS,
        nbf: None,
        iat: Some(now.timestamp()),
        iss: config.issuer.clone(),
        aud: config.audience.clone().map(serde_json::Value::String),
    };
    AccessToken {
        access_token: sign_hs256(&claims, &config.secret),
        expires_in: ACCESS_TOKEN_TTL_SECS,
    }
}

/// A refresh token taken apart. `Debug` hides the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken {
    family_id: String,
    generation: u64,
    secret: [u8; REFRESH_SECRET_LEN],
}

/// Why a string is not a refresh token (every case answers 401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed refresh token: {0}")]
pub struct MalformedRefreshToken(&'static str);

impl RefreshToken {
    /// Parses `<familyId>.<generation>.<secret>` strictly: canonical base64url
    /// of exactly 16 and 32 bytes, a decimal generation without leading zeros.
    pub fn parse(token: &str) -> Result<RefreshToken, MalformedRefreshToken> {
        if token.len() > MAX_REFRESH_TOKEN_LEN {
            return Err(MalformedRefreshToken("too long"));
        }
        let mut parts = token.split('.');
        let (Some(family_id), Some(generation), Some(secret), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(MalformedRefreshToken("expected three dot-separated parts"));
        };
        let family_bytes = URL_SAFE_NO_PAD
            .decode(family_id)
            .map_err(|_| MalformedRefreshToken("the family id is not base64url"))?;
        if family_bytes.len() != FAMILY_ID_LEN {
            return Err(MalformedRefreshToken("the family id has the wrong length"));
        }
        let generation_value: u64 = generation
            .parse()
            .ok()
            .filter(|g: &u64| g.to_string() == generation)
            .ok_or(MalformedRefreshToken(
                "the generation is not a canonical number",
            ))?;
        let secret = URL_SAFE_NO_PAD
            .decode(secret)
            .ok()
            .and_then(|s| <[u8; REFRESH_SECRET_LEN]>::try_from(s).ok())
            .ok_or(MalformedRefreshToken(
                "the secret is not 32 bytes of base64url",
            ))?;
        Ok(RefreshToken {
            family_id: family_id.to_string(),
            generation: generation_value,
            secret,
        })
    }

    /// The token's string form (what the cookie carries).
    pub fn encode(&self) -> String {
        format!(
            "{}.{}.{}",
            self.family_id,
            self.generation,
            URL_SAFE_NO_PAD.encode(self.secret)
        )
    }

    /// Lowercase hex SHA-256 of [`Self::encode`]: what a family stores.
    pub fn hash(&self) -> String {
        sha256_hex(self.encode().as_bytes())
    }

    /// Which family to load (see [`refresh_family_key`]).
    pub fn family_id(&self) -> &str {
        &self.family_id
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }
}

impl std::fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshToken")
            .field("family_id", &self.family_id)
            .field("generation", &self.generation)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// State key of a refresh family (store it with a TTL of
/// [`RefreshFamily::remaining_secs`]).
pub fn refresh_family_key(family_id: &str) -> String {
    format!("refresh/{family_id}")
}

/// One sign-in's chain of refresh tokens, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefreshFamily {
    /// base64url of 16 random bytes; also inside every token of the family.
    pub id: String,
    pub account_id: Uuid,
    /// Hex SHA-256 of the current token ([`RefreshToken::hash`]).
    pub current_hash: String,
    /// Generation of the current token: 0 at sign-in, +1 per rotation.
    pub generation: u64,
    pub revoked: bool,
    pub expires_at: DateTime<Utc>,
}

/// What presenting a token to its family means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshDecision {
    /// The current token, family alive: issue the next generation.
    Rotate,
    /// A token of this family that is no longer (or never was) current:
    /// revoke the family.
    Reuse,
    /// Not usable, nothing to change.
    Invalid(InvalidReason),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidReason {
    /// The token names another family than the one given.
    WrongFamily,
    Revoked,
    Expired,
    /// A generation after the current one: never issued.
    NotIssued,
}

/// What [`RefreshFamily::refresh`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// The family moved to the next generation; save it (with its ETag), set
    /// this token as the cookie and issue an access token for `account_id`.
    Rotated { token: String },
    /// Reuse detected: the family is now revoked; save it, answer 401 and
    /// clear the cookie.
    ReuseDetected,
    /// Answer 401 and clear the cookie; nothing to save.
    Rejected(InvalidReason),
}

impl RefreshFamily {
    /// Sign-in: a new family (generation 0) for `account_id`, living
    /// `lifetime_secs` (normally [`REFRESH_TOKEN_TTL_SECS`]), and its first
    /// token. `family_id` and `secret` must be fresh random bytes.
    pub fn start(
        family_id: &[u8; FAMILY_ID_LEN],
        account_id: Uuid,
        secret: &[u8; REFRESH_SECRET_LEN],
        now: DateTime<Utc>,
        lifetime_secs: i64,
    ) -> (RefreshFamily, String) {
        let token = RefreshToken {
            family_id: URL_SAFE_NO_PAD.encode(family_id),
            generation: 0,
            secret: *secret,
        };
        let family = RefreshFamily {
            id: token.family_id.clone(),
            account_id,
            current_hash: token.hash(),
            generation: 0,
            revoked: false,
            expires_at: now + Duration::seconds(lifetime_secs),
        };
        (family, token.encode())
    }

    /// The decision for `presented`, in this order: another family →
    /// invalid; revoked → invalid; expired (`now >= expires_at`) → invalid;
    /// the current generation with the current hash (constant-time) →
    /// rotate; an earlier or the current generation with another secret →
    /// reuse; a later generation → invalid (never issued).
    pub fn decide(&self, presented: &RefreshToken, now: DateTime<Utc>) -> RefreshDecision {
        if presented.family_id != self.id {
            return RefreshDecision::Invalid(InvalidReason::WrongFamily);
        }
        if self.revoked {
            return RefreshDecision::Invalid(InvalidReason::Revoked);
        }
        if now >= self.expires_at {
            return RefreshDecision::Invalid(InvalidReason::Expired);
        }
        let hash_matches: bool = presented
            .hash()
            .as_bytes()
            .ct_eq(self.current_hash.as_bytes())
            .into();
        if presented.generation == self.generation && hash_matches {
            RefreshDecision::Rotate
        } else if presented.generation <= self.generation {
            RefreshDecision::Reuse
        } else {
            RefreshDecision::Invalid(InvalidReason::NotIssued)
        }
    }

    /// Moves to the next generation with `secret` (fresh random bytes) and
    /// returns its token. Call only after [`Self::decide`] said rotate.
    pub fn rotate(&mut self, secret: &[u8; REFRESH_SECRET_LEN]) -> String {
        let token = RefreshToken {
            family_id: self.id.clone(),
            generation: self.generation + 1,
            secret: *secret,
        };
        self.generation = token.generation;
        self.current_hash = token.hash();
        token.encode()
    }

    /// Ends the family: no token of it refreshes any more (sign-out, reuse).
    pub fn revoke(&mut self) {
        self.revoked = true;
    }

    /// [`Self::decide`], then [`Self::rotate`] or [`Self::revoke`] as it says.
    pub fn refresh(
        &mut self,
        presented: &RefreshToken,
        new_secret: &[u8; REFRESH_SECRET_LEN],
        now: DateTime<Utc>,
    ) -> RefreshOutcome {
        match self.decide(presented, now) {
            RefreshDecision::Rotate => RefreshOutcome::Rotated {
                token: self.rotate(new_secret),
            },
            RefreshDecision::Reuse => {
                self.revoke();
                RefreshOutcome::ReuseDetected
            }
            RefreshDecision::Invalid(reason) => RefreshOutcome::Rejected(reason),
        }
    }

    /// Whole seconds the family has left (≥ 0): the cookie's `Max-Age` and
    /// the state TTL.
    pub fn remaining_secs(&self, now: DateTime<Utc>) -> i64 {
        (self.expires_at - now).num_seconds().max(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()
    }

    const ACCOUNT: Uuid = Uuid::from_u128(0xA11CE);

    fn family() -> (RefreshFamily, String) {
        RefreshFamily::start(&[1; 16], ACCOUNT, &[2; 32], t0(), REFRESH_TOKEN_TTL_SECS)
    }

    fn parse(token: &str) -> RefreshToken {
        RefreshToken::parse(token).unwrap()
    }

    #[test]
    fn a_token_round_trips_and_only_its_hash_is_stored() {
        let (fam, token) = family();
        assert_eq!(token.split('.').count(), 3);
        assert!(token.starts_with(&format!("{}.0.", fam.id)));
        let parsed = parse(&token);
        assert_eq!(parsed.encode(), token);
        assert_eq!(parsed.family_id(), fam.id);
        assert_eq!(parsed.generation(), 0);
        assert_eq!(fam.current_hash, sha256_hex(token.as_bytes()));
        assert!(!serde_json::to_string(&fam)
            .unwrap()
            .contains(token.rsplit('.').next().unwrap()));
        assert!(!format!("{parsed:?}").contains(token.rsplit('.').next().unwrap()));
        assert_eq!(fam.expires_at, t0() + Duration::days(30));
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let (_, token) = family();
        let (fam_id, rest) = token.split_once('.').unwrap();
        let secret = rest.split_once('.').unwrap().1;
        for bad in [
            String::new(),
            "a.b".into(),
            format!("{token}.x"),
            format!("{fam_id}.01.{secret}"),
            format!("{fam_id}.+1.{secret}"),
            format!("{fam_id}.-1.{secret}"),
            format!("{fam_id}.0.{secret}="),
            format!("{fam_id}.0.{}", &secret[1..]),
            format!("{}.0.{secret}", &fam_id[1..]),
            format!(
                "{fam_id}.0.{}",
                secret.replace(|c: char| c.is_alphanumeric(), "+")
            ),
            "x".repeat(200),
        ] {
            assert!(RefreshToken::parse(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn current_token_rotates_and_the_old_one_is_then_reuse() {
        let (mut fam, t0_token) = family();
        let RefreshOutcome::Rotated { token: t1 } = fam.refresh(&parse(&t0_token), &[3; 32], t0())
        else {
            panic!("first refresh must rotate");
        };
        assert_eq!(fam.generation, 1);
        assert_ne!(t1, t0_token);
        assert_eq!(fam.decide(&parse(&t1), t0()), RefreshDecision::Rotate);
        // The rotated-away token comes back: theft. The whole family dies.
        assert_eq!(
            fam.refresh(&parse(&t0_token), &[4; 32], t0()),
            RefreshOutcome::ReuseDetected
        );
        assert!(fam.revoked);
        assert_eq!(
            fam.decide(&parse(&t1), t0()),
            RefreshDecision::Invalid(InvalidReason::Revoked)
        );
    }

    #[test]
    fn forged_or_future_tokens_of_the_family() {
        let (fam, token) = family();
        let fam_id = token.split('.').next().unwrap();
        let forged = format!("{fam_id}.0.{}", URL_SAFE_NO_PAD.encode([9u8; 32]));
        assert_eq!(fam.decide(&parse(&forged), t0()), RefreshDecision::Reuse);
        let future = format!("{fam_id}.5.{}", URL_SAFE_NO_PAD.encode([9u8; 32]));
        assert_eq!(
            fam.decide(&parse(&future), t0()),
            RefreshDecision::Invalid(InvalidReason::NotIssued)
        );
        let (_, other) = RefreshFamily::start(&[7; 16], ACCOUNT, &[2; 32], t0(), 60);
        assert_eq!(
            fam.decide(&parse(&other), t0()),
            RefreshDecision::Invalid(InvalidReason::WrongFamily)
        );
    }

    #[test]
    fn families_expire_and_rotation_does_not_extend_them() {
        let (mut fam, token) = family();
        let later = t0() + Duration::days(29);
        let RefreshOutcome::Rotated { token: t1 } = fam.refresh(&parse(&token), &[3; 32], later)
        else {
            panic!()
        };
        assert_eq!(fam.remaining_secs(later), 24 * 3600);
        let end = t0() + Duration::days(30);
        assert_eq!(
            fam.decide(&parse(&t1), end),
            RefreshDecision::Invalid(InvalidReason::Expired)
        );
        assert_eq!(fam.remaining_secs(end + Duration::days(1)), 0);
    }

    #[test]
    fn access_tokens_verify_with_the_same_config() {
        let config = JwtConfig {
            secret: b"identity-test-secret-0123456789".to_vec(),
            issuer: Some("todo-identity".into()),
            audience: Some("todo-api".into()),
            leeway_secs: 0,
        };
        let issued = issue_access_token(ACCOUNT, &config, t0());
        assert_eq!(issued.expires_in, 900);
        let claims = crate::auth::verify(&issued.access_token, &config, t0()).unwrap();
        assert_eq!(claims.sub, ACCOUNT.hyphenated().to_string());
        assert_eq!(claims.exp, t0().timestamp() + 900);
        assert_eq!(claims.iat, Some(t0().timestamp()));
        assert!(
            crate::auth::verify(&issued.access_token, &config, t0() + Duration::seconds(901))
                .is_err()
        );
        let body = serde_json::to_value(&issued).unwrap();
        assert_eq!(body["expiresIn"], 900);
        assert!(body["accessToken"].is_string());
    }
}
