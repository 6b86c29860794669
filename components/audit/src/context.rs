//! audit's configuration, and its per-request context (the shared
//! [`todo_http::context::Ctx`] over this configuration).

use todo_http::auth::AuthConfig;
use todo_http::context::WithAuth;
use todo_http::env_var;

/// From WASI env: `STATE_STORE` (default `statestore`) and the
/// [`AuthConfig`] variables (`SECRET_STORE`, `JWT_*`, `APP_TOKEN_SECRET`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub state_store: String,
    pub auth: AuthConfig,
}

impl Config {
    pub fn from_env() -> Config {
        Config {
            state_store: env_var("STATE_STORE").unwrap_or_else(|| "statestore".into()),
            auth: AuthConfig::from_env(),
        }
    }
}

impl WithAuth for Config {
    fn auth(&self) -> &AuthConfig {
        &self.auth
    }
}

/// Per-request context (WASI p2 instances live for one request).
pub type Ctx<T> = todo_http::context::Ctx<T, Config>;
