//! Accounts as a user meets them: signing up, signing in, being locked out,
//! refreshing, signing out — the identity component's rules end to end,
//! without the component.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{json, Value};
use todo_core::auth::{verify, JwtConfig};
use todo_core::events::{account_created_event, topics, types};
use todo_core::identity::account::{
    email_key, invalid_credentials, parse_login, parse_sign_up, validate_sign_up, Account,
};
use todo_core::identity::cookie::{
    clear_refresh_cookie, refresh_cookie, refresh_token_from_cookie_header,
};
use todo_core::identity::hashing::{
    dummy_verify, hash_password, needs_rehash, params_of, verify_password, PasswordParams,
};
use todo_core::identity::lockout::{
    account_counter_key, FailureCounter, LockStatus, LockoutPolicy,
};
use todo_core::identity::tokens::{
    issue_access_token, RefreshDecision, RefreshFamily, RefreshOutcome, RefreshToken,
    REFRESH_TOKEN_TTL_SECS,
};
use todo_core::{FieldError, Problem};
use uuid::Uuid;

/// Cheap argon2 parameters: these tests are about the flow, not the cost.
const FAST: PasswordParams = PasswordParams {
    memory_kib: 64,
    iterations: 1,
    parallelism: 1,
};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()
}

fn jwt() -> JwtConfig {
    JwtConfig {
        secret: b"identity-integration-secret-0123".to_vec(),
        issuer: None,
        audience: None,
        leeway_secs: 30,
    }
}

fn sign_up_problem(body: Value) -> Problem {
    let input = parse_sign_up(body.to_string().as_bytes()).unwrap();
    Problem::validation(validate_sign_up(input).unwrap_err())
}

fn password_message(password: &str) -> String {
    let p = sign_up_problem(json!({"email": "a@b.org", "password": password, "name": "A"}));
    assert_eq!(p.status, 422);
    assert_eq!(p.errors.len(), 1, "{:?}", p.errors);
    assert_eq!(p.errors[0].field, "password");
    p.errors[0].message.clone()
}

fn sign_up(email: &str, password: &str, name: &str) -> Account {
    let input = parse_sign_up(
        json!({"email": email, "password": password, "name": name})
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    let valid = validate_sign_up(input).unwrap();
    let hash = hash_password(&valid.password, &[0x42; 16], &FAST).unwrap();
    Account::new(Uuid::from_u128(0xACC), &valid, hash, t0())
}

#[test]
fn common_passwords_are_refused_whatever_their_case() {
    let common = password_message("1234567890");
    for p in ["PASSWORD123", "Qwertyuiop", "iLoveYou12", "1q2w3e4r5t"] {
        assert_eq!(password_message(p), common, "{p}");
    }
    assert!(common.contains("common"), "{common}");
}

#[test]
fn password_length_rules_and_their_messages() {
    let too_short = password_message("nine-char");
    assert_eq!("nine-char".chars().count(), 9);
    let too_long = password_message(&"y".repeat(257));
    assert_ne!(too_short, too_long);
    assert!(too_short.contains("10"), "{too_short}");
    assert!(too_long.contains("256"), "{too_long}");
    for ok in ["ten-chars!", &"y".repeat(256)] {
        let input = parse_sign_up(
            json!({"email": "a@b.org", "password": ok, "name": "A"})
                .to_string()
                .as_bytes(),
        )
        .unwrap();
        assert!(validate_sign_up(input).is_ok(), "{ok}");
    }
}

#[test]
fn validation_problem_is_problem_json_with_field_errors() {
    let p = sign_up_problem(json!({"email": "no-at-sign", "password": "short", "name": ""}));
    let body: Value = serde_json::from_slice(&p.to_json()).unwrap();
    assert_eq!(body["status"], 422);
    assert_eq!(body["type"], "/problems/validation-error");
    let fields: Vec<FieldError> = serde_json::from_value(body["errors"].clone()).unwrap();
    let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(names, ["email", "password", "name"]);
}

#[test]
fn same_address_in_another_case_is_the_same_account() {
    let a = sign_up(" Ana@Example.org", "tangerine-sky-42", "Ana");
    assert_eq!(a.email, "ana@example.org");
    let login = parse_login(br#"{"email": "ANA@EXAMPLE.ORG", "password": "x"}"#).unwrap();
    assert_eq!(
        email_key(&login.normalized_email().unwrap()),
        email_key(&a.email)
    );
}

#[test]
fn sign_up_then_sign_in() {
    let account = sign_up("ana@example.org", "tangerine-sky-42", "Ana López");
    assert!(account.password_hash.starts_with("$argon2id$v=19$"));
    assert_eq!(
        verify_password("tangerine-sky-42", &account.password_hash),
        Ok(true)
    );
    assert_eq!(
        verify_password("Tangerine-sky-42", &account.password_hash),
        Ok(false)
    );
    // The account view and the event never carry the hash.
    let view = serde_json::to_string(&account.view()).unwrap();
    assert!(!view.contains("argon2") && !view.contains("password"));
    let event = account_created_event(&account, t0(), Uuid::from_u128(0xE1));
    let envelope = &event.event;
    assert!(!envelope.to_string().contains("argon2"));
    // A successful sign-in issues an access token every component accepts.
    let access = issue_access_token(account.id, &jwt(), t0());
    let claims = verify(&access.access_token, &jwt(), t0() + Duration::minutes(14)).unwrap();
    assert_eq!(claims.sub, account.subject());
    assert!(verify(&access.access_token, &jwt(), t0() + Duration::minutes(16)).is_err());
}

#[test]
fn account_created_event_envelope() {
    let account = sign_up("ana@example.org", "tangerine-sky-42", "Ana");
    let out = account_created_event(&account, t0(), Uuid::from_u128(0xE1));
    assert_eq!(out.topic, topics::ACCOUNT_EVENTS);
    assert_eq!(out.topic, "account-events");
    assert_eq!(out.partition_key, account.subject());
    assert_eq!(
        out.event,
        json!({
            "specversion": "1.0",
            "id": "00000000-0000-0000-0000-0000000000e1",
            "source": "identity",
            "type": types::ACCOUNT_CREATED,
            "subject": account.subject(),
            "time": "2026-06-01T12:00:00Z",
            "datacontenttype": "application/json",
            "data": {
                "accountId": account.subject(),
                "email": "ana@example.org",
                "name": "Ana",
                "createdAt": "2026-06-01T12:00:00Z"
            }
        })
    );
    assert_eq!(types::ACCOUNT_CREATED, "todo.account.created.v1");
}

#[test]
fn unknown_account_gets_the_same_answer_after_the_same_work() {
    // Whether the account is missing or the password wrong: one 401 shape.
    let missing = invalid_credentials();
    let wrong = invalid_credentials();
    assert_eq!(missing.to_json(), wrong.to_json());
    assert_eq!(missing.status, 401);
    // The dummy verification runs (with the component's parameters).
    dummy_verify("whatever the client typed", &FAST);
}

#[test]
fn hashes_carry_their_parameters_so_they_can_be_raised_later() {
    let old = hash_password("tangerine-sky-42", &[1; 16], &FAST).unwrap();
    let stronger = PasswordParams {
        memory_kib: 128,
        iterations: 2,
        parallelism: 1,
    };
    assert_eq!(params_of(&old), Ok(FAST));
    // After raising the parameters, old hashes still verify…
    assert_eq!(verify_password("tangerine-sky-42", &old), Ok(true));
    // …and are flagged for a fresh hash on the next successful sign-in.
    assert!(needs_rehash(&old, &stronger));
    let new = hash_password("tangerine-sky-42", &[2; 16], &stronger).unwrap();
    assert!(!needs_rehash(&new, &stronger));
    assert!(new.contains("$m=128,t=2,p=1$"));
}

#[test]
fn five_failed_sign_ins_within_fifteen_minutes_lock_the_account() {
    let policy = LockoutPolicy::default();
    let mut counter = FailureCounter::default();
    for minute in [0, 2, 4, 6] {
        counter.record_failure(&policy, t0() + Duration::minutes(minute));
        assert_eq!(
            counter.status(&policy, t0() + Duration::minutes(minute)),
            LockStatus::Open
        );
    }
    counter.record_failure(&policy, t0() + Duration::minutes(8));
    let status = counter.status(&policy, t0() + Duration::minutes(8));
    // The first failure leaves the window at minute 15: 7 minutes to wait.
    assert_eq!(
        status,
        LockStatus::Locked {
            retry_after_secs: 7 * 60
        }
    );
    let problem = status.problem().unwrap();
    assert_eq!((problem.status, problem.retry_after), (429, Some(420)));
    assert_eq!(
        counter.status(&policy, t0() + Duration::minutes(15)),
        LockStatus::Open
    );
    // The counter document is what the component stores, with a TTL.
    let stored: FailureCounter =
        serde_json::from_str(&serde_json::to_string(&counter).unwrap()).unwrap();
    assert_eq!(stored, counter);
    assert_eq!(
        counter.ttl_secs(&policy, t0() + Duration::minutes(8)),
        Some(15 * 60)
    );
    assert!(account_counter_key("ana@example.org").starts_with("lockout/account/"));
}

#[test]
fn five_failures_spread_over_sixteen_minutes_do_not_lock() {
    let policy = LockoutPolicy::default();
    let mut counter = FailureCounter::default();
    for minute in [0, 4, 8, 12, 16] {
        counter.record_failure(&policy, t0() + Duration::minutes(minute));
        assert_eq!(
            counter.status(&policy, t0() + Duration::minutes(minute)),
            LockStatus::Open,
            "minute {minute}"
        );
    }
}

#[test]
fn refresh_rotates_and_reuse_of_a_rotated_token_signs_everyone_out() {
    let account = Uuid::from_u128(0xACC);
    let (mut family, first) =
        RefreshFamily::start(&[5; 16], account, &[6; 32], t0(), REFRESH_TOKEN_TTL_SECS);

    // Sign-in sets the cookie; the browser sends it back on /api/auth/refresh.
    let set_cookie = refresh_cookie(&first, family.remaining_secs(t0()), true);
    assert!(set_cookie.contains("HttpOnly; Secure; SameSite=Strict; Path=/api/auth"));
    assert!(set_cookie.ends_with(&format!("Max-Age={REFRESH_TOKEN_TTL_SECS}")));
    let header = format!("theme=dark; {}", set_cookie.split(';').next().unwrap());
    let sent = refresh_token_from_cookie_header(Some(&header)).unwrap();
    assert_eq!(sent, first);

    // The legitimate client refreshes: a new token, the old one is spent.
    let later = t0() + Duration::minutes(15);
    let presented = RefreshToken::parse(sent).unwrap();
    let RefreshOutcome::Rotated { token: second } = family.refresh(&presented, &[7; 32], later)
    else {
        panic!("the current token must rotate");
    };
    assert_ne!(second, first);

    // A thief replays the first token: reuse, the whole family is revoked…
    let replay = RefreshToken::parse(&first).unwrap();
    assert_eq!(family.decide(&replay, later), RefreshDecision::Reuse);
    assert_eq!(
        family.refresh(&replay, &[8; 32], later),
        RefreshOutcome::ReuseDetected
    );
    assert!(family.revoked);
    // …so the legitimate client's newer token no longer works either.
    let newest = RefreshToken::parse(&second).unwrap();
    assert!(matches!(
        family.refresh(&newest, &[9; 32], later),
        RefreshOutcome::Rejected(_)
    ));
    assert!(clear_refresh_cookie(true).contains("Max-Age=0"));
}

#[test]
fn the_refresh_family_stores_only_a_hash() {
    let (family, token) = RefreshFamily::start(
        &[5; 16],
        Uuid::nil(),
        &[6; 32],
        t0(),
        REFRESH_TOKEN_TTL_SECS,
    );
    let stored = serde_json::to_value(&family).unwrap();
    let secret = token.rsplit('.').next().unwrap();
    assert!(!stored.to_string().contains(secret));
    assert_eq!(stored["generation"], 0);
    assert_eq!(stored["revoked"], false);
    assert_eq!(stored["currentHash"].as_str().unwrap().len(), 64);
    assert_eq!(stored["expiresAt"], "2026-07-01T12:00:00Z");
}
