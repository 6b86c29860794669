//! Which published keys are trusted, and how long a fetched key set is kept.
//! (Signatures made with real key pairs are tested end to end in task-api's
//! `tests/oidc.rs` and devstack's `tests/e2e_oidc.rs`.)

use serde_json::json;
use todo_core::auth::jwks::{lifetime_from_cache_control, CachedKeySet, JwkSet, KeyError};

/// The P-256 base point (SEC 2 §2.4.2): a valid public key anyone can name.
const G_X: &str = "axfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpY";
const G_Y: &str = "T-NC4v4af5uO5-tKfA-eFivOM1drMV7Oy7ZAaDe_UfU";
/// Another y: (x, y') is not on the curve.
const NOT_Y: &str = "T-NC4v4af5uO5-tKfA-eFivOM1drMV7Oy7ZAaDe_UfY";

fn ec(kid: &str, y: &str) -> serde_json::Value {
    json!({"kty": "EC", "crv": "P-256", "kid": kid, "x": G_X, "y": y})
}

#[test]
fn only_signing_keys_we_can_check_are_kept() {
    // A 1024-bit modulus: below RFC 7518 §3.3's 2048.
    let weak_n = format!("wQ{}", "A".repeat(168));
    let set = JwkSet::parse(&json!({"keys": [
        ec("good", G_Y),
        ec("off-curve", NOT_Y),
        {"kty": "EC", "crv": "P-384", "kid": "p384", "x": G_X, "y": G_Y},
        {"kty": "EC", "crv": "P-256", "kid": "enc", "use": "enc", "x": G_X, "y": G_Y},
        {"kty": "EC", "crv": "P-256", "kid": "ops", "key_ops": ["encrypt"], "x": G_X, "y": G_Y},
        {"kty": "OKP", "crv": "Ed25519", "kid": "ed", "x": G_X},
        {"kty": "RSA", "kid": "weak", "n": weak_n, "e": "AQAB"},
        {"kty": "RSA", "kid": "no-e", "n": "AQAB"},
        {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
        "not even an object",
    ]}))
    .unwrap();
    assert_eq!(set.len(), 1, "only the P-256 signing key on the curve");
    // It is found by kid, for ES256 only.
    assert_eq!(
        set.verify("ES256", Some("good"), b"input", &[0; 64]),
        Err(KeyError::BadSignature)
    );
    for (alg, kid) in [
        ("RS256", Some("good")),
        ("HS256", Some("good")),
        ("ES256", Some("hmac")),
        ("ES256", Some("off-curve")),
    ] {
        assert_eq!(
            set.verify(alg, kid, b"input", &[0; 64]),
            Err(KeyError::Unknown),
            "{alg} {kid:?}"
        );
    }
}

#[test]
fn a_token_without_kid_needs_exactly_one_fitting_key() {
    let one = JwkSet::parse(&json!({"keys": [ec("a", G_Y)]})).unwrap();
    assert_eq!(
        one.verify("ES256", None, b"input", &[0; 64]),
        Err(KeyError::BadSignature),
        "the one key is tried"
    );
    let two = JwkSet::parse(&json!({"keys": [ec("a", G_Y), ec("b", G_Y)]})).unwrap();
    assert_eq!(
        two.verify("ES256", None, b"input", &[0; 64]),
        Err(KeyError::Unknown),
        "no guessing among several"
    );
}

#[test]
fn a_key_restricted_to_another_alg_is_not_used() {
    let set = JwkSet::parse(&json!({"keys": [
        {"kty": "EC", "crv": "P-256", "alg": "ES384", "kid": "a", "x": G_X, "y": G_Y}
    ]}))
    .unwrap();
    assert_eq!(
        set.verify("ES256", Some("a"), b"input", &[0; 64]),
        Err(KeyError::Unknown)
    );
}

#[test]
fn a_document_that_is_not_a_key_set_is_an_error() {
    for doc in [json!({}), json!([]), json!({"keys": {}}), json!("keys")] {
        assert!(JwkSet::parse(&doc).is_err(), "{doc}");
    }
    assert!(JwkSet::parse(&json!({"keys": []})).unwrap().is_empty());
}

#[test]
fn cache_control_sets_the_lifetime_within_a_minute_and_a_day() {
    for (header, secs) in [
        (None, 300),
        (Some(""), 300),
        (Some("max-age=3600"), 3600),
        (Some("public, max-age=120, must-revalidate"), 120),
        (Some("Max-Age=\"900\""), 900),
        (Some("max-age=30, s-maxage=600"), 600),
        (Some("max-age=0"), 60),
        (Some("no-cache"), 60),
        (Some("max-age=600, no-store"), 60),
        (Some("private, max-age=600"), 60),
        (Some("max-age=31536000"), 86_400),
        (Some("max-age=soon"), 300),
    ] {
        assert_eq!(lifetime_from_cache_control(header), secs, "{header:?}");
    }
}

#[test]
fn a_kept_set_is_fresh_for_its_lifetime_and_refetched_once_a_minute() {
    let kept = CachedKeySet {
        fetched_at: 1_000,
        lifetime_secs: 300,
        last_refetch_at: None,
        jwks: json!({"keys": []}),
    };
    assert!(kept.is_fresh(1_299));
    assert!(!kept.is_fresh(1_300));
    assert!(!kept.may_refetch(1_059));
    assert!(kept.may_refetch(1_060));
    let claimed = CachedKeySet {
        last_refetch_at: Some(1_100),
        ..kept
    };
    assert!(!claimed.may_refetch(1_159));
    assert!(claimed.may_refetch(1_160));
}
