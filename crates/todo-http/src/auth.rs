//! Who is calling: end users by JWT (architecture §3), our own sidecar by app token (architecture §4).
//!
//! Both secrets come from the Dapr secret store on every request: a WASI p2
//! component lives for one request, so there is nothing to cache them in, and
//! Spin-only variables are off limits (the component must also run outside Spin).
//! With `JWT_JWKS_URL` set, end users' tokens come from an external OIDC
//! issuer instead and are checked against its published keys
//! ([`crate::published_keys`]); the HS256 secret is then not read at all.

use chrono::{DateTime, Utc};
use todo_core::auth::{self, JwtConfig};
use todo_core::Problem;
use todo_dapr::{DaprClient, DaprError, Transport};

use crate::respond::dapr_problem;
use crate::{env_var, header, query_pairs, Request};

/// Where the secrets are and which JWT claims to insist on. From WASI env:
/// `SECRET_STORE` (default `todo-secrets`), `JWT_SECRET_NAME` / `JWT_SECRET_KEY`
/// (default `jwt-secret` / `jwt-secret`), `JWT_ISSUER`, `JWT_AUDIENCE` (checked
/// only when set; both required with `JWT_JWKS_URL`), `JWT_JWKS_URL` (an
/// external issuer's JWK Set: RS256/ES256 tokens instead of HS256; the URL's
/// host must be in the component's `allowed_outbound_hosts`), `STATE_STORE`
/// (where that key set is kept; default `statestore`), `APP_TOKEN_SECRET`
/// (name of the secret whose `token` key is the app token; when unset,
/// Dapr-only routes are not token-protected).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthConfig {
    pub secret_store: String,
    pub jwt_secret_name: String,
    pub jwt_secret_key: String,
    pub issuer: Option<String>,
    pub audience: Option<String>,
    pub jwks_url: Option<String>,
    pub state_store: String,
    pub app_token_secret: Option<String>,
}

/// Key of the app token inside its secret, as `dapr.io/app-token-secret` expects.
pub const APP_TOKEN_KEY: &str = "token";

impl AuthConfig {
    pub fn from_env() -> AuthConfig {
        AuthConfig {
            secret_store: env_var("SECRET_STORE").unwrap_or_else(|| "todo-secrets".into()),
            jwt_secret_name: env_var("JWT_SECRET_NAME").unwrap_or_else(|| "jwt-secret".into()),
            jwt_secret_key: env_var("JWT_SECRET_KEY").unwrap_or_else(|| "jwt-secret".into()),
            issuer: env_var("JWT_ISSUER"),
            audience: env_var("JWT_AUDIENCE"),
            jwks_url: env_var("JWT_JWKS_URL"),
            state_store: env_var("STATE_STORE").unwrap_or_else(|| "statestore".into()),
            app_token_secret: env_var("APP_TOKEN_SECRET"),
        }
    }
}

/// Whether the token may also come from `?access_token=` (only for SSE, whose
/// browser API cannot set headers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    HeaderOnly,
    HeaderOrQuery,
}

/// Authenticates the end user and returns their id (the JWT `sub`).
/// Missing/invalid tokens → 401 before any sidecar call where possible;
/// secret store (or, with `JWT_JWKS_URL`, state store and issuer) down → 503.
pub async fn authenticate<T: Transport>(
    dapr: &DaprClient<T>,
    config: &AuthConfig,
    request: &Request,
    source: TokenSource,
    now: DateTime<Utc>,
) -> Result<String, Problem> {
    let token = presented_token(request, source)?;
    if let Some(jwks_url) = &config.jwks_url {
        let claims = crate::published_keys::verify(dapr, config, jwks_url, &token, now).await?;
        return Ok(claims.sub);
    }
    let secret = read_secret(
        dapr,
        config,
        &config.jwt_secret_name,
        &config.jwt_secret_key,
    )
    .await?;
    let jwt = JwtConfig {
        secret: secret.into_bytes(),
        issuer: config.issuer.clone(),
        audience: config.audience.clone(),
        leeway_secs: auth::DEFAULT_LEEWAY_SECS,
    };
    let claims = auth::verify(&token, &jwt, now)?;
    Ok(claims.sub)
}

/// For Dapr-only routes (deliveries, job callbacks, service invocation, cron):
/// when an app token is configured, `dapr-api-token` must match it, else 401.
pub async fn require_app_token<T: Transport>(
    dapr: &DaprClient<T>,
    config: &AuthConfig,
    request: &Request,
) -> Result<(), Problem> {
    let Some(secret_name) = &config.app_token_secret else {
        return Ok(());
    };
    let expected = read_secret(dapr, config, secret_name, APP_TOKEN_KEY).await?;
    if todo_dapr::inbound::app_token_matches(Some(&expected), header(request, "dapr-api-token")) {
        Ok(())
    } else {
        Err(Problem::unauthorized("missing or wrong dapr-api-token"))
    }
}

fn presented_token(request: &Request, source: TokenSource) -> Result<String, Problem> {
    let from_header = header(request, "authorization");
    if from_header.is_none() && source == TokenSource::HeaderOrQuery {
        if let Some((_, token)) = query_pairs(request)
            .into_iter()
            .find(|(k, _)| k == "access_token")
        {
            return Ok(token);
        }
    }
    Ok(auth::bearer_token(from_header)?.to_string())
}

async fn read_secret<T: Transport>(
    dapr: &DaprClient<T>,
    config: &AuthConfig,
    name: &str,
    key: &str,
) -> Result<String, Problem> {
    let secret = dapr
        .get_secret(&config.secret_store, name)
        .await
        .map_err(|err| match err {
            DaprError::NotFound(_) => misconfigured(config, name, key),
            other => dapr_problem(&other),
        })?;
    secret
        .get(key)
        .filter(|v| !v.is_empty())
        .cloned()
        .ok_or_else(|| misconfigured(config, name, key))
}

fn misconfigured(config: &AuthConfig, name: &str, key: &str) -> Problem {
    Problem::internal(format!(
        "secret {name:?} (key {key:?}) is missing from secret store {:?}",
        config.secret_store
    ))
}
