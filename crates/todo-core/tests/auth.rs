//! JWT HS256 verification and bearer-token parsing.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, TimeZone, Utc};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use todo_core::auth::{
    bearer_token, sign_hs256, verify, verify_signature, AuthError, Claims, JwtConfig,
    DEFAULT_LEEWAY_SECS, MAX_TOKEN_LEN,
};
use todo_core::Problem;

const SECRET: &[u8] = b"a-test-secret-of-reasonable-length!";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()
}

fn ts() -> i64 {
    now().timestamp()
}

fn config() -> JwtConfig {
    JwtConfig {
        secret: SECRET.to_vec(),
        issuer: None,
        audience: None,
        leeway_secs: DEFAULT_LEEWAY_SECS,
    }
}

fn strict_config() -> JwtConfig {
    JwtConfig {
        issuer: Some("https://auth.example".into()),
        audience: Some("todo-api".into()),
        ..config()
    }
}

fn claims() -> Claims {
    Claims {
        sub: "user-1".into(),
        exp: ts() + 3600,
        nbf: None,
        iat: Some(ts()),
        iss: None,
        aud: None,
    }
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A token with any header and payload JSON, correctly HS256-signed with `secret`.
fn craft(header: &Value, payload: &Value, secret: &[u8]) -> String {
    let input = format!("{}.{}", b64(header.to_string()), b64(payload.to_string()));
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
    mac.update(input.as_bytes());
    format!("{input}.{}", b64(mac.finalize().into_bytes()))
}

fn hs256() -> Value {
    json!({"alg": "HS256", "typ": "JWT"})
}

/// A correctly signed token with the given payload.
fn signed(payload: Value) -> String {
    craft(&hs256(), &payload, SECRET)
}

fn malformed(result: Result<Claims, AuthError>) -> String {
    match result {
        Err(AuthError::Malformed(msg)) => msg,
        other => panic!("expected Malformed, got {other:?}"),
    }
}

#[test]
fn round_trip() {
    let c = Claims {
        sub: "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b".into(),
        exp: ts() + 60,
        nbf: Some(ts() - 60),
        iat: Some(ts() - 60),
        iss: Some("https://auth.example".into()),
        aud: Some(json!(["other", "todo-api"])),
    };
    let token = sign_hs256(&c, SECRET);
    assert_eq!(token.split('.').count(), 3);
    let header = URL_SAFE_NO_PAD
        .decode(token.split('.').next().unwrap())
        .unwrap();
    assert_eq!(header, br#"{"alg":"HS256","typ":"JWT"}"#);
    assert_eq!(verify(&token, &config(), now()), Ok(c.clone()));
    assert_eq!(verify(&token, &strict_config(), now()), Ok(c));

    let minimal = claims();
    assert_eq!(
        verify(&sign_hs256(&minimal, SECRET), &config(), now()),
        Ok(minimal)
    );
}

#[test]
fn tampered_payload_is_rejected() {
    let token = sign_hs256(&claims(), SECRET);
    let parts: Vec<&str> = token.split('.').collect();
    let evil = Claims {
        sub: "admin".into(),
        ..claims()
    };
    let evil_payload = b64(serde_json::to_vec(&evil).unwrap());
    let forged = format!("{}.{}.{}", parts[0], evil_payload, parts[2]);
    assert_eq!(
        verify(&forged, &config(), now()),
        Err(AuthError::BadSignature)
    );
}

#[test]
fn tampered_signature_is_rejected() {
    let token = sign_hs256(&claims(), SECRET);
    let (input, sig) = token.rsplit_once('.').unwrap();
    // change the first character (the last one may carry non-canonical bits)
    let first = if sig.starts_with('A') { 'B' } else { 'A' };
    let flipped = format!("{input}.{first}{}", &sig[1..]);
    assert_eq!(
        verify(&flipped, &config(), now()),
        Err(AuthError::BadSignature)
    );
    // a truncated signature (still valid base64) fails the same way
    let raw = URL_SAFE_NO_PAD.decode(sig).unwrap();
    let short = format!("{input}.{}", b64(&raw[..31]));
    assert_eq!(
        verify(&short, &config(), now()),
        Err(AuthError::BadSignature)
    );
    // and so does an empty one
    assert_eq!(
        verify(&format!("{input}."), &config(), now()),
        Err(AuthError::BadSignature)
    );
}

#[test]
fn wrong_secret_is_rejected() {
    let token = sign_hs256(&claims(), b"another secret");
    assert_eq!(
        verify(&token, &config(), now()),
        Err(AuthError::BadSignature)
    );
    // also a secret that differs only by a suffix
    let token = sign_hs256(&claims(), &[SECRET, b"x"].concat());
    assert_eq!(
        verify(&token, &config(), now()),
        Err(AuthError::BadSignature)
    );
}

#[test]
fn alg_none_is_rejected() {
    let payload = b64(serde_json::to_vec(&claims()).unwrap());
    for alg in ["none", "None", "NONE"] {
        let header = b64(json!({"alg": alg, "typ": "JWT"}).to_string());
        // the classic unsigned token: empty signature
        let token = format!("{header}.{payload}.");
        assert_eq!(
            verify(&token, &config(), now()),
            Err(AuthError::UnsupportedAlgorithm(alg.into()))
        );
        // …even with a signature that is valid for HS256
        let token = craft(
            &json!({"alg": alg}),
            &serde_json::to_value(claims()).unwrap(),
            SECRET,
        );
        assert_eq!(
            verify(&token, &config(), now()),
            Err(AuthError::UnsupportedAlgorithm(alg.into()))
        );
    }
}

#[test]
fn other_algorithms_are_rejected() {
    let payload = serde_json::to_value(claims()).unwrap();
    for alg in [
        "HS512", "HS384", "RS256", "ES256", "PS256", "hs256", "HS256 ",
    ] {
        // signed with HMAC-SHA256 and the right secret: only the header is wrong
        let token = craft(&json!({"alg": alg, "typ": "JWT"}), &payload, SECRET);
        assert_eq!(
            verify(&token, &config(), now()),
            Err(AuthError::UnsupportedAlgorithm(alg.into())),
            "{alg}"
        );
    }
    // no alg, or not a string
    let token = craft(&json!({"typ": "JWT"}), &payload, SECRET);
    assert!(malformed(verify(&token, &config(), now())).contains("alg"));
    let token = craft(&json!({"alg": 256}), &payload, SECRET);
    assert!(malformed(verify(&token, &config(), now())).contains("alg"));
    // the error names the refused algorithm
    assert!(AuthError::UnsupportedAlgorithm("none".into())
        .to_string()
        .contains("\"none\""));
}

#[test]
fn header_typ_and_crit() {
    let payload = serde_json::to_value(claims()).unwrap();
    // typ is optional and case-insensitive
    for header in [
        json!({"alg": "HS256"}),
        json!({"alg": "HS256", "typ": "jwt"}),
    ] {
        let token = craft(&header, &payload, SECRET);
        assert!(verify(&token, &config(), now()).is_ok(), "{header}");
    }
    for typ in [json!("JOSE"), json!("at+jwt"), json!(1)] {
        let token = craft(&json!({"alg": "HS256", "typ": typ}), &payload, SECRET);
        assert!(malformed(verify(&token, &config(), now())).contains("typ"));
    }
    let token = craft(&json!({"alg": "HS256", "crit": ["exp"]}), &payload, SECRET);
    assert!(malformed(verify(&token, &config(), now())).contains("critical"));
    // the header must be a JSON object
    let token = craft(&json!(["HS256"]), &payload, SECRET);
    assert!(malformed(verify(&token, &config(), now())).contains("header"));
}

#[test]
fn expiry_with_leeway() {
    let at = |exp: i64| sign_hs256(&Claims { exp, ..claims() }, SECRET);
    let leeway = DEFAULT_LEEWAY_SECS;
    // expired beyond the leeway
    assert_eq!(
        verify(&at(ts() - leeway - 1), &config(), now()),
        Err(AuthError::Expired)
    );
    assert_eq!(
        verify(&at(ts() - 3600), &config(), now()),
        Err(AuthError::Expired)
    );
    // expired but within the leeway: accepted
    assert!(verify(&at(ts() - leeway), &config(), now()).is_ok());
    assert!(verify(&at(ts() - 1), &config(), now()).is_ok());
    assert!(verify(&at(ts()), &config(), now()).is_ok());
    // no leeway
    let exact = JwtConfig {
        leeway_secs: 0,
        ..config()
    };
    assert_eq!(
        verify(&at(ts() - 1), &exact, now()),
        Err(AuthError::Expired)
    );
    assert!(verify(&at(ts()), &exact, now()).is_ok());
    // a negative leeway is treated as none
    let negative = JwtConfig {
        leeway_secs: -100,
        ..config()
    };
    assert!(verify(&at(ts()), &negative, now()).is_ok());
}

#[test]
fn not_before_with_leeway() {
    let at = |nbf: i64| {
        sign_hs256(
            &Claims {
                nbf: Some(nbf),
                ..claims()
            },
            SECRET,
        )
    };
    let leeway = DEFAULT_LEEWAY_SECS;
    assert_eq!(
        verify(&at(ts() + leeway + 1), &config(), now()),
        Err(AuthError::NotYetValid)
    );
    assert!(verify(&at(ts() + leeway), &config(), now()).is_ok());
    assert!(verify(&at(ts()), &config(), now()).is_ok());
    assert!(verify(&at(ts() - 3600), &config(), now()).is_ok());
}

#[test]
fn issuer_when_configured() {
    let with_iss = |iss: Option<&str>| {
        sign_hs256(
            &Claims {
                iss: iss.map(str::to_string),
                aud: Some(json!("todo-api")),
                ..claims()
            },
            SECRET,
        )
    };
    let cfg = strict_config();
    assert!(verify(&with_iss(Some("https://auth.example")), &cfg, now()).is_ok());
    assert_eq!(
        verify(&with_iss(Some("https://evil.example")), &cfg, now()),
        Err(AuthError::WrongIssuer)
    );
    assert_eq!(
        verify(&with_iss(Some("https://auth.example/")), &cfg, now()),
        Err(AuthError::WrongIssuer)
    );
    assert_eq!(
        verify(&with_iss(None), &cfg, now()),
        Err(AuthError::WrongIssuer)
    );
    // not configured: any or no issuer
    assert!(verify(&with_iss(Some("https://evil.example")), &config(), now()).is_ok());
    assert!(verify(&with_iss(None), &config(), now()).is_ok());
    // iss of the wrong type
    let token = signed(json!({"sub": "u", "exp": ts() + 60, "iss": 7}));
    assert!(malformed(verify(&token, &config(), now())).contains("iss"));
}

#[test]
fn audience_when_configured() {
    let with_aud = |aud: Option<Value>| {
        sign_hs256(
            &Claims {
                iss: Some("https://auth.example".into()),
                aud,
                ..claims()
            },
            SECRET,
        )
    };
    let cfg = strict_config();
    assert!(verify(&with_aud(Some(json!("todo-api"))), &cfg, now()).is_ok());
    assert!(verify(&with_aud(Some(json!(["todo-api"]))), &cfg, now()).is_ok());
    assert!(verify(&with_aud(Some(json!(["billing", "todo-api"]))), &cfg, now()).is_ok());
    for wrong in [
        Some(json!("billing")),
        Some(json!("TODO-API")),
        Some(json!(["billing", "admin"])),
        Some(json!([])),
        None,
    ] {
        assert_eq!(
            verify(&with_aud(wrong.clone()), &cfg, now()),
            Err(AuthError::WrongAudience),
            "{wrong:?}"
        );
    }
    // not configured: anything goes
    assert!(verify(&with_aud(Some(json!("billing"))), &config(), now()).is_ok());
    // aud of the wrong type
    for aud in [json!(1), json!(["todo-api", 2]), json!({"a": 1})] {
        let token = signed(json!({"sub": "u", "exp": ts() + 60, "aud": aud}));
        assert!(malformed(verify(&token, &config(), now())).contains("aud"));
    }
}

#[test]
fn exp_is_required() {
    let token = signed(json!({"sub": "user-1"}));
    assert!(malformed(verify(&token, &config(), now())).contains("exp"));
    let token = signed(json!({"sub": "user-1", "exp": null}));
    assert!(malformed(verify(&token, &config(), now())).contains("exp"));
    let token = signed(json!({"sub": "user-1", "exp": "2030-01-01"}));
    assert!(malformed(verify(&token, &config(), now())).contains("exp"));
    // a fractional NumericDate is fine (RFC 7519 §2)
    let token = signed(json!({"sub": "user-1", "exp": ts() as f64 + 60.5}));
    assert_eq!(verify(&token, &config(), now()).unwrap().exp, ts() + 60);
    // nbf and iat must be NumericDates too
    let token = signed(json!({"sub": "user-1", "exp": ts() + 60, "nbf": "soon"}));
    assert!(malformed(verify(&token, &config(), now())).contains("nbf"));
}

#[test]
fn sub_is_required() {
    for payload in [
        json!({"exp": ts() + 60}),
        json!({"sub": "", "exp": ts() + 60}),
        json!({"sub": null, "exp": ts() + 60}),
        json!({"sub": 42, "exp": ts() + 60}),
    ] {
        let token = signed(payload.clone());
        assert!(
            malformed(verify(&token, &config(), now())).contains("sub"),
            "{payload}"
        );
    }
    // extra claims are ignored
    let token = signed(json!({"sub": "u", "exp": ts() + 60, "name": "Ada", "scope": "x"}));
    assert_eq!(verify(&token, &config(), now()).unwrap().sub, "u");
}

#[test]
fn malformed_encoding() {
    let token = sign_hs256(&claims(), SECRET);
    let parts: Vec<&str> = token.split('.').collect();
    let cases = [
        // characters outside base64url
        format!("{}*.{}.{}", parts[0], parts[1], parts[2]),
        format!("{}.{}.{}!", parts[0], parts[1], parts[2]),
        // the standard alphabet's + and /
        format!("{}.{}.+{}", parts[0], parts[1], &parts[2][1..]),
        // padding is not allowed in JWS compact serialization
        format!("{}=.{}.{}", parts[0], parts[1], parts[2]),
        format!("{}.{}.{}=", parts[0], parts[1], parts[2]),
        // an impossible length
        format!(
            "{}.{}.{}",
            &parts[0][..parts[0].len() - 3],
            parts[1],
            parts[2]
        ),
    ];
    for token in cases {
        assert!(
            malformed(verify(&token, &config(), now())).contains("base64url"),
            "{token}"
        );
    }
    // valid base64url but not JSON: header, then (signed) payload
    let token = format!("{}.{}.{}", b64("not json"), parts[1], parts[2]);
    assert!(malformed(verify(&token, &config(), now())).contains("header"));
    let input = format!("{}.{}", parts[0], b64("not json"));
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET).unwrap();
    mac.update(input.as_bytes());
    let token = format!("{input}.{}", b64(mac.finalize().into_bytes()));
    assert!(malformed(verify(&token, &config(), now())).contains("payload"));
}

#[test]
fn wrong_number_of_segments() {
    let token = sign_hs256(&claims(), SECRET);
    let parts: Vec<&str> = token.split('.').collect();
    let cases = [
        String::new(),
        "abc".to_string(),
        format!("{}.{}", parts[0], parts[1]),
        format!("{}.{}.{}.{}", parts[0], parts[1], parts[2], parts[2]),
        format!("{token}."),
        // JWE-style five parts
        format!("{token}.x.y"),
    ];
    for token in cases {
        assert!(
            malformed(verify(&token, &config(), now())).contains("three"),
            "{token}"
        );
    }
}

#[test]
fn oversized_tokens_are_rejected() {
    let with_sub = |n: usize| {
        sign_hs256(
            &Claims {
                sub: "u".repeat(n),
                ..claims()
            },
            SECRET,
        )
    };
    let fits = with_sub(5000);
    assert!(fits.len() <= MAX_TOKEN_LEN);
    assert!(verify(&fits, &config(), now()).is_ok());
    let too_big = with_sub(6500);
    assert!(too_big.len() > MAX_TOKEN_LEN);
    assert!(malformed(verify(&too_big, &config(), now())).contains("longer"));
    assert_eq!(MAX_TOKEN_LEN, 8192);
}

/// RFC 7515 Appendix A.1: the HS256 JWS example. Its claims have no `sub`, so
/// [`verify`] accepts the signature and then rejects the claims; the signature
/// check alone succeeds.
#[test]
fn rfc7515_appendix_a1_vector() {
    let key = URL_SAFE_NO_PAD
        .decode("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow")
        .unwrap();
    let token = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9\
                 .eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ\
                 .dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let payload = verify_signature(token, &key).expect("the RFC example verifies");
    assert_eq!(payload["iss"], "joe");
    assert_eq!(payload["exp"], 1_300_819_380);
    assert_eq!(payload["http://example.com/is_root"], true);

    let cfg = JwtConfig {
        secret: key.clone(),
        issuer: Some("joe".into()),
        audience: None,
        leeway_secs: 0,
    };
    let before_exp = Utc.timestamp_opt(1_300_819_000, 0).unwrap();
    // signature fine, claims checked: no sub
    assert!(malformed(verify(token, &cfg, before_exp)).contains("sub"));

    // one changed byte anywhere breaks it
    let tampered = token.replace("dBjftJeZ4CVP", "dBjftJeZ4CVQ");
    assert_eq!(
        verify_signature(&tampered, &key),
        Err(AuthError::BadSignature)
    );
    assert_eq!(
        verify(&tampered, &cfg, before_exp),
        Err(AuthError::BadSignature)
    );
    let mut wrong_key = key;
    wrong_key[0] ^= 1;
    assert_eq!(
        verify_signature(token, &wrong_key),
        Err(AuthError::BadSignature)
    );
}

/// The widely published jwt.io example token (secret `your-256-bit-secret`),
/// which has `sub` but no `exp`.
#[test]
fn jwt_io_vector() {
    let token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9\
                 .eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ\
                 .SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
    let payload = verify_signature(token, b"your-256-bit-secret").unwrap();
    assert_eq!(payload["sub"], "1234567890");
    let cfg = JwtConfig {
        secret: b"your-256-bit-secret".to_vec(),
        ..config()
    };
    assert!(malformed(verify(token, &cfg, now())).contains("exp"));
    // our signer produces the same header and signature for the same input
    let header = URL_SAFE_NO_PAD
        .decode(token.split('.').next().unwrap())
        .unwrap();
    assert_eq!(header, br#"{"alg":"HS256","typ":"JWT"}"#);
}

#[test]
fn bearer_token_parsing() {
    let ok = [
        ("Bearer abc.def.ghi", "abc.def.ghi"),
        ("bearer abc.def.ghi", "abc.def.ghi"),
        ("BEARER abc.def.ghi", "abc.def.ghi"),
        ("BeArEr abc", "abc"),
        ("Bearer   abc", "abc"),
        ("  Bearer abc  ", "abc"),
        ("Bearer a-b_c~d+e/f.g==", "a-b_c~d+e/f.g=="),
    ];
    for (header, token) in ok {
        assert_eq!(bearer_token(Some(header)), Ok(token), "{header:?}");
    }
    for header in [
        None,
        Some(""),
        Some("   "),
        Some("Bearer"),
        Some("bearer "),
        Some("Bearer    "),
    ] {
        assert_eq!(bearer_token(header), Err(AuthError::Missing), "{header:?}");
    }
    for header in [
        "Basic dXNlcjpwYXNz",
        "Token abc",
        "Bearerabc.def.ghi",
        "Bearer abc def",
        "Bearer abc\tdef",
        "Bearer abc,def",
        "Bearer a=b",
        "Bearer ===",
        "Bearer abc\"",
        "Bearer\tabc",
    ] {
        assert!(
            matches!(bearer_token(Some(header)), Err(AuthError::Malformed(_))),
            "{header:?}"
        );
    }
}

#[test]
fn errors_become_401_problems() {
    for err in [
        AuthError::Missing,
        AuthError::Malformed("x".into()),
        AuthError::UnsupportedAlgorithm("none".into()),
        AuthError::BadSignature,
        AuthError::Expired,
        AuthError::NotYetValid,
        AuthError::WrongIssuer,
        AuthError::WrongAudience,
    ] {
        let problem = Problem::from(err.clone());
        assert_eq!(problem.status, 401);
        assert_eq!(problem.detail, err.to_string());
    }
}

#[test]
fn config_debug_hides_the_secret() {
    let shown = format!("{:?}", config());
    assert!(!shown.contains("a-test-secret"), "{shown}");
    assert!(shown.contains("redacted"));
}
