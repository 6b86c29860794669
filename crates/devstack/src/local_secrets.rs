//! The local secrets devstack's `secretstores.local.file` component serves:
//! the JWT signing secret and the app token, generated on first start and
//! kept in the state directory (never committed), in the same shape as the
//! Kubernetes secrets production reads (`{"jwt-secret": …, "app-api-token":
//! {"token": …}}`).
//!
//! Apps read them through the Dapr secrets API, which is
//! [`crate::sidecar::secrets`]; this module only makes and reads the file.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

/// The two secrets every component may need.
#[derive(Clone, PartialEq, Eq)]
pub struct DevSecrets {
    pub path: PathBuf,
    pub jwt_secret: String,
    pub app_token: String,
}

impl std::fmt::Debug for DevSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevSecrets")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl DevSecrets {
    /// Reads `path`, creating it with fresh random secrets if it does not exist.
    pub fn load_or_create(path: &Path) -> Result<DevSecrets> {
        if !path.exists() {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
            }
            let doc = json!({
                "jwt-secret": random_secret(),
                "app-api-token": { "token": random_secret() },
            });
            write_private(path, &serde_json::to_vec_pretty(&doc)?)?;
        }
        Self::load(path)
    }

    /// Reads an existing secrets file.
    pub fn load(path: &Path) -> Result<DevSecrets> {
        let text =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let doc: Value = serde_json::from_slice(&text)
            .with_context(|| format!("{} is not valid JSON", path.display()))?;
        let jwt_secret = doc["jwt-secret"].as_str().unwrap_or_default().to_string();
        let app_token = doc["app-api-token"]["token"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if jwt_secret.len() < 32 {
            // RFC 7518 §3.2: an HS256 key must be at least as long as the hash.
            bail!(
                "{}: \"jwt-secret\" must be a string of at least 32 characters",
                path.display()
            );
        }
        if app_token.is_empty() {
            bail!(
                "{}: \"app-api-token\".\"token\" must be a non-empty string",
                path.display()
            );
        }
        Ok(DevSecrets {
            path: path.to_path_buf(),
            jwt_secret,
            app_token,
        })
    }

    /// A signed HS256 JWT for `user`, valid for `ttl_secs` from now.
    pub fn token_for(&self, user: &str, ttl_secs: i64) -> String {
        let now = chrono::Utc::now().timestamp();
        let claims = todo_core::auth::Claims {
            sub: user.to_string(),
            exp: now + ttl_secs,
            nbf: None,
            iat: Some(now),
            iss: None,
            aud: None,
        };
        todo_core::auth::sign_hs256(&claims, self.jwt_secret.as_bytes())
    }
}

/// 256 bits from the OS RNG, hex-encoded.
fn random_secret() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(bytes)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_once_then_reads_the_same_secrets() {
        let dir = std::env::temp_dir().join(format!("devstack-secrets-{}", uuid::Uuid::new_v4()));
        let path = dir.join("secrets.json");
        let first = DevSecrets::load_or_create(&path).unwrap();
        let second = DevSecrets::load_or_create(&path).unwrap();
        assert_eq!(first, second);
        assert_eq!(first.jwt_secret.len(), 64);
        assert_ne!(first.jwt_secret, first.app_token);
        let token = first.token_for("alice", 60);
        let config = todo_core::auth::JwtConfig {
            secret: first.jwt_secret.clone().into_bytes(),
            issuer: None,
            audience: None,
            leeway_secs: 0,
        };
        let claims = todo_core::auth::verify(&token, &config, chrono::Utc::now()).unwrap();
        assert_eq!(claims.sub, "alice");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn rejects_a_short_jwt_secret() {
        let dir = std::env::temp_dir().join(format!("devstack-secrets-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("secrets.json");
        std::fs::write(
            &path,
            r#"{"jwt-secret":"short","app-api-token":{"token":"t"}}"#,
        )
        .unwrap();
        let err = DevSecrets::load(&path).unwrap_err().to_string();
        assert!(err.contains("at least 32"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
