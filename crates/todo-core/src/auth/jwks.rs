//! An OIDC issuer's published keys (JWK Set, RFC 7517) and the two
//! signature algorithms we accept with them: RS256 (RSASSA-PKCS1-v1_5 with
//! SHA-256, RFC 7518 §3.3) and ES256 (ECDSA P-256 with SHA-256, §3.4).
//!
//! Production may trust an external issuer instead of our own HS256 tokens
//! (architecture §3). [`crate::auth::verify_with`] picks the key here by the
//! token's `kid` and `alg`; this module only knows keys and signatures, and
//! how long a fetched key set may be kept ([`CachedKeySet`]).
//!
//! Built on RustCrypto's `rsa` and `p256` (pure Rust, so they build for
//! wasm32-wasip2). Only public-key verification runs here: the `rsa` crate's
//! known timing side channel (RUSTSEC-2023-0071) concerns private-key
//! operations, which no component performs.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use p256::ecdsa::signature::Verifier as _;
use rsa::pkcs1v15::Pkcs1v15Sign;
use rsa::traits::PublicKeyParts as _;
use rsa::{BigUint, RsaPublicKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// The algorithms a published key may sign with. Anything else (`HS256`
/// included: an issuer's public key is no shared secret) is refused before a
/// key is looked up.
pub const PUBLISHED_ALGORITHMS: [&str; 2] = ["RS256", "ES256"];

/// RFC 7518 §3.3: "A key of size 2048 bits or larger MUST be used". The upper
/// bound is the `rsa` crate's default, which keeps verification cheap.
const RSA_MIN_BITS: usize = 2048;
const RSA_MAX_BITS: usize = 4096;

/// A key set, reduced to the keys we can verify with. Keys of another type,
/// curve or use, or malformed ones, are left out rather than failing the set:
/// RFC 7517 §5 says to ignore members whose `kty` is not understood, and an
/// issuer may publish encryption keys beside its signing keys.
#[derive(Debug, Clone, Default)]
pub struct JwkSet {
    keys: Vec<PublishedKey>,
}

#[derive(Debug, Clone)]
struct PublishedKey {
    kid: Option<String>,
    /// The `alg` the JWK is restricted to, when it says.
    alg: Option<String>,
    key: PublicKey,
}

#[derive(Debug, Clone)]
enum PublicKey {
    Rsa(RsaPublicKey),
    P256(p256::ecdsa::VerifyingKey),
}

impl PublicKey {
    fn algorithm(&self) -> &'static str {
        match self {
            PublicKey::Rsa(_) => "RS256",
            PublicKey::P256(_) => "ES256",
        }
    }
}

/// Why no key could check a signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// No key of the set has this `kid` (or, for a token without `kid`, no
    /// single key fits its `alg`): the issuer may have rotated its keys.
    Unknown,
    /// The key fits but the signature does not verify.
    BadSignature,
}

/// The members of a JWK we read (RFC 7517 §4, RFC 7518 §6).
#[derive(Deserialize)]
struct RawJwk {
    kty: Option<String>,
    kid: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    key_ops: Option<Vec<String>>,
    n: Option<String>,
    e: Option<String>,
    crv: Option<String>,
    x: Option<String>,
    y: Option<String>,
}

#[derive(Deserialize)]
struct RawJwkSet {
    keys: Vec<serde_json::Value>,
}

impl JwkSet {
    /// Reads a JWK Set document. Fails only when it is not `{"keys": [...]}`;
    /// see [`JwkSet`] for which keys are kept.
    pub fn parse(document: &serde_json::Value) -> Result<JwkSet, String> {
        let raw: RawJwkSet =
            serde_json::from_value(document.clone()).map_err(|e| format!("not a JWK Set: {e}"))?;
        let keys = raw
            .keys
            .into_iter()
            .filter_map(|member| serde_json::from_value::<RawJwk>(member).ok())
            .filter_map(|jwk| published_key(&jwk))
            .collect();
        Ok(JwkSet { keys })
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Checks `signature` over `signing_input` (RFC 7515 §5.2) with the key
    /// named `kid` for `alg`, which must be one of [`PUBLISHED_ALGORITHMS`].
    /// A key restricted to another `alg`, or of another type, never matches,
    /// so an RSA key cannot be used for ES256 and no key for HS256.
    pub fn verify(
        &self,
        alg: &str,
        kid: Option<&str>,
        signing_input: &[u8],
        signature: &[u8],
    ) -> Result<(), KeyError> {
        let fits = |key: &&PublishedKey| {
            key.key.algorithm() == alg && key.alg.as_deref().is_none_or(|a| a == alg)
        };
        let key = match kid {
            Some(kid) => self
                .keys
                .iter()
                .filter(fits)
                .find(|key| key.kid.as_deref() == Some(kid)),
            // Without a `kid` the key must be unambiguous (RFC 7515 §4.1.4
            // leaves the choice to the application; guessing among several
            // would let any of them sign).
            None => {
                let mut candidates = self.keys.iter().filter(fits);
                match (candidates.next(), candidates.next()) {
                    (Some(only), None) => Some(only),
                    _ => None,
                }
            }
        }
        .ok_or(KeyError::Unknown)?;
        let verified = match &key.key {
            PublicKey::Rsa(public) => {
                let digest = Sha256::digest(signing_input);
                public
                    .verify(Pkcs1v15Sign::new::<Sha256>(), &digest, signature)
                    .is_ok()
            }
            // RFC 7518 §3.4: the signature is R || S, 32 bytes each (not DER).
            PublicKey::P256(public) => p256::ecdsa::Signature::from_slice(signature)
                .is_ok_and(|sig| public.verify(signing_input, &sig).is_ok()),
        };
        if verified {
            Ok(())
        } else {
            Err(KeyError::BadSignature)
        }
    }
}

fn published_key(jwk: &RawJwk) -> Option<PublishedKey> {
    if jwk.use_.as_deref().is_some_and(|u| u != "sig") {
        return None;
    }
    if let Some(ops) = &jwk.key_ops {
        if !ops.iter().any(|op| op == "verify") {
            return None;
        }
    }
    let key = match jwk.kty.as_deref()? {
        "RSA" => {
            let n = BigUint::from_bytes_be(&b64(jwk.n.as_deref()?)?);
            let e = BigUint::from_bytes_be(&b64(jwk.e.as_deref()?)?);
            let public = RsaPublicKey::new(n, e).ok()?;
            let bits = public.n().bits();
            if !(RSA_MIN_BITS..=RSA_MAX_BITS).contains(&bits) {
                return None;
            }
            PublicKey::Rsa(public)
        }
        "EC" if jwk.crv.as_deref() == Some("P-256") => {
            let (x, y) = (b64(jwk.x.as_deref()?)?, b64(jwk.y.as_deref()?)?);
            if x.len() != 32 || y.len() != 32 {
                return None;
            }
            let point = p256::EncodedPoint::from_affine_coordinates(
                p256::FieldBytes::from_slice(&x),
                p256::FieldBytes::from_slice(&y),
                false,
            );
            // Rejects points that are not on the curve.
            PublicKey::P256(p256::ecdsa::VerifyingKey::from_encoded_point(&point).ok()?)
        }
        _ => return None,
    };
    Some(PublishedKey {
        kid: jwk.kid.clone(),
        alg: jwk.alg.clone(),
        key,
    })
}

fn b64(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

// ---------------------------------------------------------------------------
// Keeping a fetched key set

/// How long a key set is kept when its response has no usable
/// `Cache-Control` (what many issuers send; a fetch per five minutes is cheap).
pub const DEFAULT_LIFETIME_SECS: u64 = 300;
/// The shortest time a key set is kept, even when the response says
/// `no-store`/`no-cache`/`max-age=0`: without it every request would fetch
/// the issuer's keys, which no issuer expects of a resource server.
pub const MIN_LIFETIME_SECS: u64 = 60;
/// The longest time a key set is kept, whatever the response says, so a
/// removed (compromised) key stops being trusted within a day.
pub const MAX_LIFETIME_SECS: u64 = 24 * 3600;
/// A token whose `kid` the kept set lacks makes the set be fetched again, but
/// at most once per this many seconds, so unknown-`kid` tokens cannot make
/// the components hammer the issuer.
pub const REFETCH_INTERVAL_SECS: i64 = 60;

/// How long a response may be kept, from its `Cache-Control` header
/// (RFC 9111 §5.2.2). The state store is shared by every instance of a
/// component, so `s-maxage` (the shared-cache lifetime) wins over `max-age`;
/// the result is clamped to [`MIN_LIFETIME_SECS`]..=[`MAX_LIFETIME_SECS`].
pub fn lifetime_from_cache_control(header: Option<&str>) -> u64 {
    let mut max_age = None;
    let mut shared_max_age = None;
    let mut forbids_reuse = false;
    for directive in header.unwrap_or_default().split(',') {
        let (name, value) = directive
            .trim()
            .split_once('=')
            .map_or((directive.trim(), None), |(n, v)| (n.trim(), Some(v)));
        let seconds = || value.and_then(|v| v.trim().trim_matches('"').parse::<u64>().ok());
        match name.to_ascii_lowercase().as_str() {
            "max-age" => max_age = seconds(),
            "s-maxage" => shared_max_age = seconds(),
            "no-store" | "no-cache" | "private" => forbids_reuse = true,
            _ => {}
        }
    }
    let wanted = if forbids_reuse {
        0
    } else {
        shared_max_age.or(max_age).unwrap_or(DEFAULT_LIFETIME_SECS)
    };
    wanted.clamp(MIN_LIFETIME_SECS, MAX_LIFETIME_SECS)
}

/// A fetched key set as kept in a component's state (saved with its lifetime
/// as the state TTL, so an expired copy is gone rather than trusted).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CachedKeySet {
    /// When the set was fetched (Unix seconds).
    pub fetched_at: i64,
    pub lifetime_secs: u64,
    /// When an unknown `kid` last made an instance fetch the set again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_refetch_at: Option<i64>,
    /// The JWK Set document as the issuer served it.
    pub jwks: serde_json::Value,
}

impl CachedKeySet {
    pub fn is_fresh(&self, now: i64) -> bool {
        now < self
            .fetched_at
            .saturating_add(i64::try_from(self.lifetime_secs).unwrap_or(i64::MAX))
    }

    /// Whether a token with a `kid` this set lacks may fetch the set again now.
    pub fn may_refetch(&self, now: i64) -> bool {
        let last = self
            .last_refetch_at
            .unwrap_or(i64::MIN)
            .max(self.fetched_at);
        now >= last.saturating_add(REFETCH_INTERVAL_SECS)
    }
}
