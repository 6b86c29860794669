//! recurrence's configuration, and its per-request context (the shared
//! [`todo_http::context::Ctx`] over this configuration). recurrence keeps no
//! state of its own (architecture §5).

use todo_http::auth::AuthConfig;
use todo_http::context::WithAuth;
use todo_http::env_var;

/// From WASI env: `TASK_API_APP_ID` (default `task-api`), the app-id the
/// next occurrence is created through, and the [`AuthConfig`] variables
/// (`SECRET_STORE`, `JWT_*`, `APP_TOKEN_SECRET`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub task_api: String,
    pub auth: AuthConfig,
}

impl Config {
    pub fn from_env() -> Config {
        Config {
            task_api: env_var("TASK_API_APP_ID").unwrap_or_else(|| "task-api".into()),
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
