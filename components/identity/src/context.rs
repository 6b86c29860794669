//! identity's configuration and per-request context (the shared
//! [`todo_http::context::Ctx`] over it).
//!
//! Besides the Dapr names, the configuration carries what identity needs that
//! the other components do not: the argon2id cost ([`PasswordParams`]; OWASP's
//! in the wasm build, tiny ones in tests), the sign-in lockout policy, and a
//! source of random bytes (WASI `random` in wasm, a seeded generator in
//! tests). todo-core takes every random byte from here: salts, account and
//! event ids, refresh-token family ids and secrets.

use chrono::{DateTime, Utc};
use todo_core::auth::{JwtConfig, DEFAULT_LEEWAY_SECS};
use todo_core::identity::{LockoutPolicy, PasswordParams};
use todo_core::Problem;
use todo_dapr::{DaprError, Transport};
use todo_http::auth::AuthConfig;
use todo_http::context::WithAuth;
use todo_http::env_var;
use todo_http::respond::dapr_problem;
use uuid::Uuid;

/// Fills a buffer with random bytes (cryptographically secure in production).
pub type Random = Box<dyn Fn(&mut [u8])>;

/// From WASI env: `STATE_STORE` (default `statestore`), `PUBSUB_NAME`
/// (default `kafka-pubsub`), and the [`AuthConfig`] variables
/// (`SECRET_STORE`, `JWT_SECRET_NAME`/`JWT_SECRET_KEY`, `JWT_ISSUER`,
/// `JWT_AUDIENCE`): the access tokens identity signs carry the same issuer and
/// audience every component checks.
pub struct Config {
    pub state_store: String,
    pub pubsub: String,
    pub auth: AuthConfig,
    /// argon2id cost of new hashes (and of the dummy verification).
    pub password: PasswordParams,
    pub lockout: LockoutPolicy,
    pub random: Random,
}

impl Config {
    /// The production configuration: names from the environment, OWASP's
    /// argon2id parameters, the default lockout, randomness from `random`.
    pub fn from_env(random: Random) -> Config {
        Config {
            state_store: env_var("STATE_STORE").unwrap_or_else(|| "statestore".into()),
            pubsub: env_var("PUBSUB_NAME").unwrap_or_else(|| "kafka-pubsub".into()),
            auth: AuthConfig::from_env(),
            password: PasswordParams::default(),
            lockout: LockoutPolicy::default(),
            random,
        }
    }

    /// `N` fresh random bytes.
    pub fn random_bytes<const N: usize>(&self) -> [u8; N] {
        let mut bytes = [0u8; N];
        (self.random)(&mut bytes);
        bytes
    }

    /// A fresh UUIDv7 at `now` (time-ordered, 74 random bits), from this
    /// configuration's randomness rather than the uuid crate's own.
    pub fn new_id(&self, now: DateTime<Utc>) -> Uuid {
        let millis = u64::try_from(now.timestamp_millis()).unwrap_or(0);
        uuid::Builder::from_unix_timestamp_millis(millis, &self.random_bytes::<10>()).into_uuid()
    }
}

impl WithAuth for Config {
    fn auth(&self) -> &AuthConfig {
        &self.auth
    }
}

/// Per-request context (WASI p2 instances live for one request).
pub type Ctx<T> = todo_http::context::Ctx<T, Config>;

/// The JWT configuration access tokens are signed with: the key from the
/// secret store (read per request, as every component does), the configured
/// issuer and audience. Secret missing → 500; store down → 503.
pub async fn jwt_config<T: Transport>(ctx: &Ctx<T>) -> Result<JwtConfig, Problem> {
    let auth = &ctx.config.auth;
    let misconfigured = || {
        Problem::internal(format!(
            "secret {:?} (key {:?}) is missing from secret store {:?}",
            auth.jwt_secret_name, auth.jwt_secret_key, auth.secret_store
        ))
    };
    let secret = ctx
        .dapr
        .get_secret(&auth.secret_store, &auth.jwt_secret_name)
        .await
        .map_err(|err| match err {
            DaprError::NotFound(_) => misconfigured(),
            other => dapr_problem(&other),
        })?;
    let secret = secret
        .get(&auth.jwt_secret_key)
        .filter(|v| !v.is_empty())
        .ok_or_else(misconfigured)?;
    Ok(JwtConfig {
        secret: secret.clone().into_bytes(),
        issuer: auth.issuer.clone(),
        audience: auth.audience.clone(),
        leeway_secs: DEFAULT_LEEWAY_SECS,
    })
}

#[cfg(target_arch = "wasm32")]
mod wasm {
    use super::{Config, Ctx};

    /// The production context: the sidecar and names from the WASI
    /// environment, randomness from `wasi:random/random`.
    pub fn context() -> Ctx<todo_dapr::transport::SpinTransport> {
        Ctx::from_env(Config::from_env(Box::new(|buf: &mut [u8]| {
            let bytes = wasi::random::random::get_random_bytes(buf.len() as u64);
            buf.copy_from_slice(&bytes);
        })))
    }
}

#[cfg(target_arch = "wasm32")]
pub use wasm::context;
