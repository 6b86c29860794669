//! Tokens of an external OIDC issuer (architecture §3): its JWK Set fetched
//! from `JWT_JWKS_URL` and kept in the component's state store for the
//! response's `Cache-Control` lifetime ([`todo_core::auth::jwks`] says how long
//! and within which bounds).
//!
//! A component instance lives for one request, so the state store is the
//! only place a fetched key set can outlive it; every instance of every
//! replica shares the copy. Per request this costs one state read, the same
//! as reading the HS256 secret. A token whose `kid` the kept set lacks (the
//! issuer rotated its keys) fetches the set again, at most once a minute:
//! the instance that wins an ETag-guarded claim on the kept copy fetches,
//! the others use what is kept.
//!
//! The set is fetched straight from the issuer (an allowed outbound host,
//! not a Dapr call), without the sidecar's API token.

use chrono::{DateTime, Utc};
use todo_core::auth::jwks::{lifetime_from_cache_control, CachedKeySet, JwkSet};
use todo_core::auth::{self, AuthError, ClaimRules, Claims, Keys};
use todo_core::Problem;
use todo_dapr::document::{is_conflict, key_segment};
use todo_dapr::state::{SaveItem, StateStore};
use todo_dapr::{DaprClient, Transport};

use crate::auth::AuthConfig;
use crate::respond::OrProblem;

/// Largest key-set response read (a set of a few RSA keys is ~2–5 KB).
const MAX_JWKS_BYTES: usize = 256 * 1024;

/// Verifies `token` against the key set at `jwks_url`, requiring the
/// configured issuer and audience. 401 for a token the keys refuse; 503 when
/// neither a kept nor a fetched key set is available; 500 when the
/// configuration is incomplete.
pub async fn verify<T: Transport>(
    dapr: &DaprClient<T>,
    config: &AuthConfig,
    jwks_url: &str,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Claims, Problem> {
    let (Some(issuer), Some(audience)) = (&config.issuer, &config.audience) else {
        return Err(Problem::internal(
            "JWT_JWKS_URL is set without JWT_ISSUER and JWT_AUDIENCE: an external \
             issuer's tokens are only accepted for a named issuer and audience",
        ));
    };
    check_url(jwks_url)?;
    let rules = ClaimRules {
        issuer: Some(issuer),
        audience: Some(audience),
        leeway_secs: auth::DEFAULT_LEEWAY_SECS,
    };
    let check = |kept: &CachedKeySet| -> Result<Claims, AuthError> {
        let keys = JwkSet::parse(&kept.jwks).unwrap_or_default();
        auth::verify_with(token, Keys::Published(&keys), &rules, now)
    };

    let store = dapr.state(&config.state_store);
    let key = cache_key(jwks_url);
    let at = now.timestamp();
    let kept = store
        .get::<CachedKeySet>(&key)
        .await
        .or_problem()?
        .filter(|kept| kept.value.is_fresh(at));
    let Some(kept) = kept else {
        let fetched = fetch(dapr, jwks_url, at).await?;
        keep(&store, &key, &fetched, None).await.or_problem()?;
        return Ok(check(&fetched)?);
    };
    match check(&kept.value) {
        Err(AuthError::UnknownKey) if kept.value.may_refetch(at) => {
            let claim = CachedKeySet {
                last_refetch_at: Some(at),
                ..kept.value.clone()
            };
            match keep(&store, &key, &claim, kept.etag.clone()).await {
                Ok(()) => {
                    let fetched = fetch(dapr, jwks_url, at).await?;
                    keep(&store, &key, &fetched, None).await.or_problem()?;
                    Ok(check(&fetched)?)
                }
                // Another instance claimed the refetch: use what it keeps.
                Err(err) if is_conflict(&err) => {
                    let now_kept = store.get::<CachedKeySet>(&key).await.or_problem()?;
                    let kept = now_kept.map_or(kept.value, |v| v.value);
                    Ok(check(&kept)?)
                }
                Err(err) => Err(crate::respond::dapr_problem(&err)),
            }
        }
        verdict => Ok(verdict?),
    }
}

/// The kept copy's key: one per key-set URL, so a changed URL never reads
/// the old issuer's keys.
fn cache_key(jwks_url: &str) -> String {
    format!("oidc-jwks/{}", key_segment(jwks_url))
}

/// `https://…`, or plain `http://` to a loopback host (local development,
/// as webhook URLs).
fn check_url(jwks_url: &str) -> Result<(), Problem> {
    let uri: http::Uri = jwks_url
        .parse()
        .map_err(|_| Problem::internal(format!("JWT_JWKS_URL {jwks_url:?} is not a URL")))?;
    let loopback = matches!(uri.host(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match uri.scheme_str() {
        Some("https") => Ok(()),
        Some("http") if loopback => Ok(()),
        _ => Err(Problem::internal(format!(
            "JWT_JWKS_URL {jwks_url:?} must be https (plain http only to localhost)"
        ))),
    }
}

async fn keep<T: Transport>(
    store: &StateStore<'_, T>,
    key: &str,
    kept: &CachedKeySet,
    etag: Option<String>,
) -> Result<(), todo_dapr::DaprError> {
    let remaining = kept
        .fetched_at
        .saturating_add(i64::try_from(kept.lifetime_secs).unwrap_or(i64::MAX))
        .saturating_sub(kept.last_refetch_at.unwrap_or(kept.fetched_at));
    let mut item = SaveItem::new(
        key,
        serde_json::to_value(kept).expect("a key set serializes"),
    );
    item.etag = etag;
    item.ttl_seconds = Some(u64::try_from(remaining).unwrap_or(0).max(1));
    store.save(&[item]).await
}

async fn fetch<T: Transport>(
    dapr: &DaprClient<T>,
    jwks_url: &str,
    now: i64,
) -> Result<CachedKeySet, Problem> {
    let unavailable =
        |why: String| Problem::unavailable(format!("the token issuer's keys: {why}"), 5);
    let request = http::Request::get(jwks_url)
        .header(
            http::header::ACCEPT,
            "application/json, application/jwk-set+json",
        )
        .body(Vec::new())
        .map_err(|e| unavailable(e.to_string()))?;
    // Straight to the issuer: not `DaprClient::send`, which adds the
    // sidecar's API token.
    let response = dapr
        .transport()
        .send(request)
        .await
        .map_err(|e| unavailable(e.to_string()))?;
    if response.status() != http::StatusCode::OK {
        return Err(unavailable(format!(
            "{jwks_url} answered {}",
            response.status()
        )));
    }
    if response.body().len() > MAX_JWKS_BYTES {
        return Err(unavailable(format!(
            "{jwks_url} sent more than {MAX_JWKS_BYTES} bytes"
        )));
    }
    let jwks: serde_json::Value = serde_json::from_slice(response.body())
        .map_err(|_| unavailable(format!("{jwks_url} did not send JSON")))?;
    JwkSet::parse(&jwks).map_err(unavailable)?;
    let cache_control = response
        .headers()
        .get(http::header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok());
    Ok(CachedKeySet {
        fetched_at: now,
        lifetime_secs: lifetime_from_cache_control(cache_control),
        last_refetch_at: None,
        jwks,
    })
}
