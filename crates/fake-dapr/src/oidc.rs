//! A fake OIDC issuer for tests: three locally generated key pairs
//! (`keys/`, see its README), the JWK Set that publishes them, and tokens
//! signed with them — plus the forgeries a resource server must refuse.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use p256::ecdsa::signature::Signer as _;
use p256::pkcs8::DecodePrivateKey as _;
use rsa::pkcs1v15::SigningKey;
use rsa::signature::SignatureEncoding as _;
use rsa::traits::PublicKeyParts as _;
use rsa::RsaPrivateKey;
use serde_json::{json, Value};
use sha2::Sha256;

/// The issuer and audience the test tokens carry.
pub const ISSUER: &str = "https://issuer.test";
pub const AUDIENCE: &str = "todo-api";

/// Which key signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// RS256, `kid` `rsa-a`: published from the start.
    RsaA,
    /// RS256, `kid` `rsa-b`: the key the issuer rotates to.
    RsaB,
    /// ES256 (P-256), `kid` `ec-1`.
    Ec,
}

impl Key {
    pub fn kid(self) -> &'static str {
        match self {
            Key::RsaA => "rsa-a",
            Key::RsaB => "rsa-b",
            Key::Ec => "ec-1",
        }
    }

    pub fn alg(self) -> &'static str {
        match self {
            Key::RsaA | Key::RsaB => "RS256",
            Key::Ec => "ES256",
        }
    }
}

fn rsa_key(key: Key) -> RsaPrivateKey {
    let pem = match key {
        Key::RsaA => include_str!("../keys/issuer-rsa-a.pem"),
        Key::RsaB => include_str!("../keys/issuer-rsa-b.pem"),
        Key::Ec => unreachable!("not an RSA key"),
    };
    RsaPrivateKey::from_pkcs8_pem(pem).expect("the test key parses")
}

fn ec_key() -> p256::ecdsa::SigningKey {
    p256::ecdsa::SigningKey::from_pkcs8_pem(include_str!("../keys/issuer-ec.pem"))
        .expect("the test key parses")
}

/// The public JWK of `key` (RFC 7517 §4, RFC 7518 §6).
pub fn jwk(key: Key) -> Value {
    match key {
        Key::RsaA | Key::RsaB => {
            let public = rsa_key(key).to_public_key();
            json!({
                "kty": "RSA", "use": "sig", "alg": "RS256", "kid": key.kid(),
                "n": b64(&public.n().to_bytes_be()),
                "e": b64(&public.e().to_bytes_be()),
            })
        }
        Key::Ec => {
            let point = ec_key().verifying_key().to_encoded_point(false);
            json!({
                "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": key.kid(),
                "x": b64(point.x().expect("uncompressed")),
                "y": b64(point.y().expect("uncompressed")),
            })
        }
    }
}

/// A JWK Set publishing `keys`.
pub fn jwks(keys: &[Key]) -> Value {
    json!({ "keys": keys.iter().map(|k| jwk(*k)).collect::<Vec<_>>() })
}

/// Claims of a valid access token for `user` at `now` (Unix seconds): our
/// issuer and audience, an hour of validity.
pub fn claims(user: &str, now: i64) -> Value {
    json!({ "iss": ISSUER, "aud": AUDIENCE, "sub": user, "iat": now, "exp": now + 3600 })
}

/// `claims` signed by `key` with its `kid` in the header.
pub fn sign(key: Key, claims: &Value) -> String {
    sign_with_header(
        key,
        &json!({ "alg": key.alg(), "typ": "at+jwt", "kid": key.kid() }),
        claims,
    )
}

/// `claims` signed by `key` under a header of the caller's choosing.
pub fn sign_with_header(key: Key, header: &Value, claims: &Value) -> String {
    let input = signing_input(header, claims);
    let signature = match key {
        Key::RsaA | Key::RsaB => SigningKey::<Sha256>::new(rsa_key(key))
            .sign(input.as_bytes())
            .to_vec(),
        Key::Ec => {
            let signature: p256::ecdsa::Signature = ec_key().sign(input.as_bytes());
            signature.to_bytes().to_vec()
        }
    };
    format!("{input}.{}", b64(&signature))
}

/// The classic algorithm-confusion forgery: `alg: HS256`, "signed" with the
/// issuer's public RSA key (its JWK's `n`, and separately its JSON) as the
/// HMAC secret, which a verifier that trusts the header's `alg` would accept.
pub fn hs256_with_public_key(key: Key, claims: &Value) -> Vec<String> {
    let header = json!({ "alg": "HS256", "typ": "JWT", "kid": key.kid() });
    let input = signing_input(&header, claims);
    let public = jwk(key);
    let secrets = [
        public["n"].as_str().unwrap_or_default().as_bytes().to_vec(),
        public.to_string().into_bytes(),
    ];
    secrets
        .iter()
        .map(|secret| {
            let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("any length");
            mac.update(input.as_bytes());
            format!("{input}.{}", b64(&mac.finalize().into_bytes()))
        })
        .collect()
}

/// An unsigned token (`alg: none`, empty signature).
pub fn unsigned(claims: &Value) -> String {
    format!(
        "{}.",
        signing_input(&json!({ "alg": "none", "typ": "JWT" }), claims)
    )
}

fn signing_input(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    )
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}
