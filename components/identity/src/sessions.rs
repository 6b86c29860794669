//! Sessions: `POST /api/auth/login`, `…/refresh`, `…/logout`.
//!
//! A sign-in answers a 15-minute access token (`{accessToken, expiresIn}`)
//! and starts a refresh-token family whose current token travels in the
//! `refresh` cookie (`HttpOnly; Secure; SameSite=Strict; Path=/api/auth`;
//! `Secure` is left out only when the request's host is loopback, for
//! plain-HTTP development — see `todo_core::identity::cookie` and
//! [`request_host`]). The rules
//! (lockout, hashing, rotation and reuse detection) are
//! `todo_core::identity`; this file orders the calls and keeps the state
//! writes safe under concurrency.
//!
//! The client of the per-client lockout counter is the IP address in Spin's
//! `spin-client-addr` header (devstack sets it the same way), `unknown` when
//! absent. Behind the Kubernetes ingress that address is the ingress pod's,
//! so every client shares one counter there; trusting `X-Forwarded-For`
//! would need the ingress to be the only way in, which the component cannot
//! know.

use http::header::{CACHE_CONTROL, SET_COOKIE};
use http::HeaderValue;
use todo_core::auth::JwtConfig;
use todo_core::identity::account::{self, email_key};
use todo_core::identity::cookie::{
    clear_refresh_cookie, refresh_cookie, refresh_token_from_cookie_header, secure_for_host,
};
use todo_core::identity::hashing;
use todo_core::identity::lockout::{account_counter_key, client_counter_key, client_of};
use todo_core::identity::tokens::{
    issue_access_token, AccessToken, InvalidReason, RefreshOutcome, FAMILY_ID_LEN,
    REFRESH_SECRET_LEN, REFRESH_TOKEN_TTL_SECS,
};
use todo_core::identity::{FailureCounter, RefreshFamily, RefreshToken};
use todo_core::Problem;
use todo_dapr::document::{Decided, Loaded};
use todo_dapr::Transport;
use todo_http::body::require_json;
use todo_http::respond::{json, no_content, problem, OrProblem};
use todo_http::{header, Request, Response};
use uuid::Uuid;

use crate::context::jwt_config;
use crate::store::{self, AccountDocument, EmailClaim};
use crate::{outbox, Ctx};

/// The header Spin (and devstack) name the client's address in.
pub const CLIENT_ADDR_HEADER: &str = "spin-client-addr";

/// `{email, password}` → 200 `{accessToken, expiresIn}` + the refresh cookie.
///
/// 1. Both failure counters (this address, this client) and the address
///    claim are read in one bulk call; either counter locked → 429 with
///    `Retry-After`, before any hashing and without recording anything.
/// 2. The account's hash is verified; with no account (or an address that
///    does not parse) a dummy verification of the same cost runs instead,
///    after a read standing in for the account's, so the answer takes as
///    long either way.
/// 3. Failure → the failure is recorded on both counters (one transaction,
///    ETag-guarded) → 401, the same problem whether the account exists or not.
/// 4. Success → the address's counter is cleared, a refresh family starts
///    (insert-only, TTL 30 days), a pending account-created event is
///    published, and the tokens are answered.
pub async fn login<T: Transport>(ctx: &Ctx<T>, request: &Request) -> Result<Response, Problem> {
    require_json(request)?;
    let input = account::parse_login(request.body())?;
    let policy = ctx.config.lockout;
    let now = ctx.now();
    let account_counter = account_counter_key(&input.counter_email());
    let client_counter = client_counter_key(&client_of(header(request, CLIENT_ADDR_HEADER)));
    let email = input.normalized_email();
    let mut keys = vec![account_counter.clone(), client_counter.clone()];
    keys.extend(email.as_deref().map(email_key));
    let mut found = store::read_all(ctx, &keys).await?.into_iter();
    let mut counters = Vec::with_capacity(2);
    for key in [account_counter.clone(), client_counter] {
        let counter: Loaded<FailureCounter> =
            Loaded::from_versioned(store::decode(found.next().flatten())?);
        counters.push((key, counter));
    }
    let status = counters[0]
        .1
        .value
        .status(&policy, now)
        .and(counters[1].1.value.status(&policy, now));
    if let Some(locked) = status.problem() {
        return Err(locked);
    }
    let claim = store::decode::<EmailClaim>(found.next().flatten())?;
    // The account's read, or one standing in for it (no account has the nil id).
    let account_id = claim.map_or(Uuid::nil(), |c| c.value.account_id);
    let doc = store::load_account(ctx, account_id).await?;
    let verified = match &doc {
        Some(doc) => hashing::verify_password(&input.password, &doc.value.account.password_hash)?,
        None => {
            hashing::dummy_verify(&input.password, &ctx.config.password);
            false
        }
    };
    let Some(doc) = doc.filter(|_| verified) else {
        store::record_failure(ctx, counters, &policy).await?;
        return Err(account::invalid_credentials());
    };
    store::clear_counter(ctx, &account_counter).await?;
    let jwt = jwt_config(ctx).await?;
    let account = &doc.value.account;
    let (family, token) = RefreshFamily::start(
        &ctx.config.random_bytes::<FAMILY_ID_LEN>(),
        account.id,
        &ctx.config.random_bytes::<REFRESH_SECRET_LEN>(),
        now,
        REFRESH_TOKEN_TTL_SECS,
    );
    store::save_family(ctx, &family, None).await.or_problem()?;
    outbox::flush(ctx, &doc.value).await;
    Ok(tokens(
        &issue_access_token(account.id, &jwt, now),
        &refresh_cookie(&token, family.remaining_secs(now), secure(request)),
    ))
}

/// The refresh cookie → 200 new access token + the next refresh token.
///
/// The family is read, decided on (`RefreshFamily::refresh`) and written
/// back guarded by its ETag; a concurrent refresh that got there first makes
/// the write fail, and the family is re-read and decided again (the same
/// token is then reuse). Rotation: the account is checked and the signing
/// key read *before* the family is written, so a 503 never leaves the client
/// holding a token the family has moved past. Reuse of a rotated token → the
/// family is saved revoked → 401 (every token of the family now fails);
/// missing, malformed, expired, revoked or unknown → 401. Every 401 clears
/// the cookie.
pub async fn refresh<T: Transport>(ctx: &Ctx<T>, request: &Request) -> Result<Response, Problem> {
    let secure = secure(request);
    let Some(presented) = presented_token(request) else {
        return Ok(rejected("no valid refresh token was presented", secure));
    };
    let now = ctx.now();
    let mut signing: Option<JwtConfig> = None;
    let contended = || {
        Problem::unavailable(
            "the sign-in session kept changing under concurrent refreshes; try again",
            1,
        )
    };
    let (response, committed) = store::transact(ctx, contended, async |_| {
        let Some(found) = store::load_family(ctx, presented.family_id()).await? else {
            let response = rejected("the refresh token is not known", secure);
            return Ok(Decided::Answer((response, None)));
        };
        let mut family = found.value;
        let secret = ctx.config.random_bytes::<REFRESH_SECRET_LEN>();
        let token = match family.refresh(&presented, &secret, now) {
            RefreshOutcome::Rejected(reason) => {
                let response = rejected(reason_text(reason), secure);
                return Ok(Decided::Answer((response, None)));
            }
            RefreshOutcome::ReuseDetected => {
                let write = store::family_write(ctx, &family, found.etag).or_problem()?;
                let response = rejected(
                    "this refresh token was already used; every session of this sign-in has ended, sign in again",
                    secure,
                );
                let revoked = Refreshed::Revoked(family.account_id);
                return Ok(Decided::Commit(write, (response, Some(revoked))));
            }
            RefreshOutcome::Rotated { token } => token,
        };
        let Some(doc) = store::load_account(ctx, family.account_id).await? else {
            let response = rejected("the account no longer exists", secure);
            return Ok(Decided::Answer((response, None)));
        };
        // Read once, kept for the attempts after a lost race.
        let jwt = match &signing {
            Some(jwt) => jwt,
            None => signing.insert(jwt_config(ctx).await?),
        };
        let write = store::family_write(ctx, &family, found.etag).or_problem()?;
        let response = tokens(
            &issue_access_token(family.account_id, jwt, now),
            &refresh_cookie(&token, family.remaining_secs(now), secure),
        );
        Ok(Decided::Commit(write, (response, Some(Refreshed::Rotated(doc.value)))))
    })
    .await?;
    match committed {
        Some(Refreshed::Revoked(account)) => eprintln!(
            "identity: refresh token reuse in family of account {account}: family revoked"
        ),
        Some(Refreshed::Rotated(doc)) => {
            outbox::flush(ctx, &doc).await;
        }
        None => {}
    }
    Ok(response)
}

/// What a refresh committed, for what follows the commit.
enum Refreshed {
    /// A rotated token came back: the family (of this account) is revoked.
    Revoked(Uuid),
    /// The family moved on to a new token of this account.
    Rotated(AccountDocument),
}

/// The refresh cookie → 204, the cookie's family revoked (whatever its
/// state: a sign-out with an old token of the family still ends it) and the
/// cookie cleared. Idempotent: no cookie, an unknown or an already revoked
/// family → 204 as well.
pub async fn logout<T: Transport>(ctx: &Ctx<T>, request: &Request) -> Result<Response, Problem> {
    let secure = secure(request);
    if let Some(presented) = presented_token(request) {
        let contended = || {
            Problem::unavailable(
                "the sign-in session kept changing under concurrent requests; try again",
                1,
            )
        };
        store::transact(ctx, contended, async |_| {
            let Some(found) = store::load_family(ctx, presented.family_id()).await? else {
                return Ok(Decided::Answer(()));
            };
            let mut family = found.value;
            if family.revoked {
                return Ok(Decided::Answer(()));
            }
            family.revoke();
            let write = store::family_write(ctx, &family, found.etag).or_problem()?;
            Ok(Decided::Commit(write, ()))
        })
        .await?;
    }
    let mut response = no_content();
    set_cookie(&mut response, &clear_refresh_cookie(secure));
    Ok(response)
}

/// Whether the cookie gets `Secure` (not on a loopback host).
fn secure(request: &Request) -> bool {
    secure_for_host(request_host(request))
}

/// The host the client asked for. WASI HTTP hands the `Host` header to the
/// guest as the request's authority, not as a header (wasmtime-wasi-http
/// removes it from the header fields), and the shared edge keeps only the
/// path; Spin (and devstack) also name it in `spin-full-url`
/// (`http://127.0.0.1:3000/api/auth/login`). So: a `Host` header if a
/// runtime passes one, else the authority of `spin-full-url`.
fn request_host(request: &Request) -> Option<&str> {
    header(request, "host").or_else(|| {
        let url = header(request, "spin-full-url")?;
        let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
        rest.split(['/', '?', '#']).next().filter(|h| !h.is_empty())
    })
}

/// The refresh token of the request's `Cookie` header fields, if one is
/// there and well-formed.
fn presented_token(request: &Request) -> Option<RefreshToken> {
    let joined: Vec<&str> = request
        .headers()
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let joined = joined.join("; ");
    let value = refresh_token_from_cookie_header((!joined.is_empty()).then_some(&joined))?;
    RefreshToken::parse(value).ok()
}

fn reason_text(reason: InvalidReason) -> &'static str {
    match reason {
        InvalidReason::WrongFamily | InvalidReason::NotIssued => "the refresh token is not valid",
        InvalidReason::Revoked => "this sign-in has ended; sign in again",
        InvalidReason::Expired => "this sign-in has expired; sign in again",
    }
}

/// 401 problem that also clears the refresh cookie.
fn rejected(detail: &str, secure: bool) -> Response {
    let mut response = problem(&Problem::unauthorized(detail));
    set_cookie(&mut response, &clear_refresh_cookie(secure));
    response
}

/// 200 `{accessToken, expiresIn}` with the refresh cookie; never cached
/// (RFC 6749 §5.1).
fn tokens(access: &AccessToken, cookie: &str) -> Response {
    let mut response = json(200, access);
    set_cookie(&mut response, cookie);
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn set_cookie(response: &mut Response, cookie: &str) {
    let value = HeaderValue::from_str(cookie).expect("cookies are built from header-safe text");
    response.headers_mut().append(SET_COOKIE, value);
}
