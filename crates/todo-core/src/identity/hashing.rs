//! Password hashes: argon2id (RFC 9106) stored as PHC strings, and the dummy
//! verification that makes "no such account" cost what "wrong password" costs.
//!
//! Parameters: the OWASP Password Storage Cheat Sheet
//! (cheatsheetseries.owasp.org, "Argon2id") recommends argon2id with "a
//! minimum configuration of 19 MiB of memory, an iteration count of 2, and 1
//! degree of parallelism" — m=19456 KiB, t=2, p=1 — and lists equivalent
//! trade-offs (m=47104/t=1, m=12288/t=3, m=9216/t=4, m=7168/t=5, all p=1).
//! [`PasswordParams::default`] is that minimum; the component may configure
//! more. RustCrypto's `argon2` 0.5 uses the same values as its defaults.
//!
//! The stored form is the PHC string
//! `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`: it carries its own
//! parameters, so [`verify_password`] uses the parameters a hash was made
//! with, parameters can be raised later, and [`needs_rehash`] tells when a
//! successful sign-in should store a fresh hash. Salts are 16 random bytes
//! from the caller (todo-core does no I/O); the hash is 32 bytes.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use serde::{Deserialize, Serialize};

use crate::problem::Problem;

/// Bytes of salt [`hash_password`] takes (RFC 9106 §3.1 recommends 16).
pub const SALT_LEN: usize = 16;
/// Bytes of the argon2 output stored in the PHC string.
pub const HASH_LEN: usize = 32;

/// argon2id cost parameters. The default is OWASP's minimum (see the module doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordParams {
    /// Memory per hash in KiB (argon2 `m`).
    pub memory_kib: u32,
    /// Passes over the memory (argon2 `t`).
    pub iterations: u32,
    /// Lanes (argon2 `p`); the component runs single-threaded, so 1.
    pub parallelism: u32,
}

impl PasswordParams {
    /// OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1.
    pub const OWASP_MINIMUM: PasswordParams = PasswordParams {
        memory_kib: 19 * 1024,
        iterations: 2,
        parallelism: 1,
    };

    fn hasher(&self) -> Result<Argon2<'static>, HashError> {
        let params = Params::new(
            self.memory_kib,
            self.iterations,
            self.parallelism,
            Some(HASH_LEN),
        )
        .map_err(|e| HashError::Params(e.to_string()))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

impl Default for PasswordParams {
    fn default() -> PasswordParams {
        PasswordParams::OWASP_MINIMUM
    }
}

/// Why a hash could not be made or checked: a configuration or storage bug,
/// never a wrong password (that is `Ok(false)`). Answers 500.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    #[error("invalid argon2 parameters: {0}")]
    Params(String),
    #[error("the stored password hash is not an argon2id PHC string: {0}")]
    Stored(String),
}

impl From<HashError> for Problem {
    fn from(err: HashError) -> Problem {
        Problem::internal(err.to_string())
    }
}

/// The PHC string of `password` hashed with argon2id, `params` and `salt`.
pub fn hash_password(
    password: &str,
    salt: &[u8; SALT_LEN],
    params: &PasswordParams,
) -> Result<String, HashError> {
    let salt = SaltString::encode_b64(salt).map_err(|e| HashError::Params(e.to_string()))?;
    let hash = params
        .hasher()?
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| HashError::Params(e.to_string()))?;
    Ok(hash.to_string())
}

/// Whether `password` matches the stored PHC string, with the parameters and
/// salt the string carries (constant-time comparison). Only argon2id hashes
/// are accepted: anything else in storage is an error, not a mismatch.
pub fn verify_password(password: &str, phc: &str) -> Result<bool, HashError> {
    let hash = parse(phc)?;
    match Argon2::default().verify_password(password.as_bytes(), &hash) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::Password) => Ok(false),
        Err(e) => Err(HashError::Stored(e.to_string())),
    }
}

/// The parameters a stored PHC string was made with.
pub fn params_of(phc: &str) -> Result<PasswordParams, HashError> {
    let hash = parse(phc)?;
    let params = Params::try_from(&hash).map_err(|e| HashError::Stored(e.to_string()))?;
    Ok(PasswordParams {
        memory_kib: params.m_cost(),
        iterations: params.t_cost(),
        parallelism: params.p_cost(),
    })
}

/// Whether a stored hash should be replaced (after a successful sign-in, when
/// the password is at hand): other parameters than `params`, another argon2
/// version, or unreadable.
pub fn needs_rehash(phc: &str, params: &PasswordParams) -> bool {
    let version_ok = parse(phc).is_ok_and(|h| h.version == Some(Version::V0x13.into()));
    !version_ok || params_of(phc).ok().as_ref() != Some(params)
}

/// A default-parameters ([`PasswordParams::OWASP_MINIMUM`]) argon2id hash that
/// no account has: what [`dummy_verify`] verifies against.
pub const DUMMY_PHC: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$aWRlbnRpdHktZHVtbXktcw$cCvyqm8N1RaQ2DGc0Mehsroaaiv3DHwAVCBybHt91rg";

/// The salt [`DUMMY_PHC`] was made with.
const DUMMY_SALT: [u8; SALT_LEN] = *b"identity-dummy-s";

/// Spends the time a [`verify_password`] of an existing account would, for a
/// sign-in whose account does not exist (or whose address does not parse),
/// so that the answer's timing does not tell which accounts exist. With the
/// default parameters it verifies against the precomputed [`DUMMY_PHC`];
/// with others it hashes once with them (the same work as verifying).
/// The result is thrown away: the caller answers "invalid credentials".
pub fn dummy_verify(password: &str, params: &PasswordParams) {
    let outcome = if *params == PasswordParams::OWASP_MINIMUM {
        verify_password(password, DUMMY_PHC).map(|_| ())
    } else {
        hash_password(password, &DUMMY_SALT, params).map(|_| ())
    };
    std::hint::black_box(outcome).ok();
}

fn parse(phc: &str) -> Result<PasswordHash<'_>, HashError> {
    let hash = PasswordHash::new(phc).map_err(|e| HashError::Stored(e.to_string()))?;
    if hash.algorithm != Algorithm::Argon2id.ident() {
        return Err(HashError::Stored(format!(
            "algorithm {} is not argon2id",
            hash.algorithm
        )));
    }
    Ok(hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Small parameters so the tests stay fast (argon2's minimum memory is 8p KiB).
    const FAST: PasswordParams = PasswordParams {
        memory_kib: 64,
        iterations: 1,
        parallelism: 1,
    };
    const SALT: [u8; SALT_LEN] = [7; SALT_LEN];
    /// The password [`DUMMY_PHC`] is the hash of.
    const DUMMY_PASSWORD: &str = "not the password of any account";

    #[test]
    fn hash_and_verify_round_trip() {
        let phc = hash_password("correct horse battery", &SALT, &FAST).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{phc}");
        assert_eq!(verify_password("correct horse battery", &phc), Ok(true));
        assert_eq!(verify_password("correct horse batterY", &phc), Ok(false));
        assert_eq!(verify_password("", &phc), Ok(false));
    }

    #[test]
    fn salt_changes_the_hash() {
        let a = hash_password("correct horse battery", &SALT, &FAST).unwrap();
        let b = hash_password("correct horse battery", &[8; SALT_LEN], &FAST).unwrap();
        assert_ne!(a, b);
        assert_eq!(verify_password("correct horse battery", &b), Ok(true));
    }

    #[test]
    fn verification_uses_the_parameters_in_the_phc_string() {
        let other = PasswordParams {
            memory_kib: 128,
            iterations: 2,
            parallelism: 2,
        };
        let phc = hash_password("correct horse battery", &SALT, &other).unwrap();
        assert_eq!(params_of(&phc), Ok(other));
        assert_eq!(verify_password("correct horse battery", &phc), Ok(true));
        assert!(needs_rehash(&phc, &FAST));
        assert!(!needs_rehash(&phc, &other));
    }

    #[test]
    fn unreadable_or_foreign_hashes_are_errors_not_mismatches() {
        assert!(matches!(
            verify_password("x", "not a phc string"),
            Err(HashError::Stored(_))
        ));
        let argon2i = "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$ZmFrZWhhc2hmYWtlaGFzaA";
        assert!(matches!(
            verify_password("x", argon2i),
            Err(HashError::Stored(_))
        ));
        assert!(needs_rehash(argon2i, &FAST));
        assert_eq!(Problem::from(HashError::Stored("x".into())).status, 500);
    }

    #[test]
    fn invalid_parameters_are_reported() {
        let zero = PasswordParams {
            iterations: 0,
            ..FAST
        };
        assert!(matches!(
            hash_password("correct horse battery", &SALT, &zero),
            Err(HashError::Params(_))
        ));
    }

    #[test]
    fn dummy_phc_carries_the_default_parameters() {
        assert_eq!(params_of(DUMMY_PHC), Ok(PasswordParams::default()));
        assert!(!needs_rehash(DUMMY_PHC, &PasswordParams::default()));
        // With other parameters the dummy work is a hash with them.
        dummy_verify("whatever", &FAST);
    }

    /// The one test with the real (OWASP) parameters: slow in debug builds.
    #[test]
    fn default_parameters_are_owasp_and_the_dummy_hash_is_genuine() {
        assert_eq!(
            PasswordParams::default(),
            PasswordParams {
                memory_kib: 19456,
                iterations: 2,
                parallelism: 1
            }
        );
        let phc = hash_password(DUMMY_PASSWORD, &DUMMY_SALT, &PasswordParams::default()).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        // DUMMY_PHC is exactly that hash, so dummy_verify does the full work.
        assert_eq!(phc, DUMMY_PHC);
    }

    /// `cargo test -p todo-core --release --lib -- --ignored --nocapture default_params_timing`
    /// Prints, never asserts: timings depend on the machine and its load.
    #[test]
    #[ignore = "timing print, run in release"]
    fn default_params_timing() {
        use std::time::{Duration, Instant};
        let params = PasswordParams::default();
        let stored = hash_password("correct horse battery", &SALT, &params).unwrap();
        let runs = 10;
        let (mut hash, mut verify, mut dummy) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
        // Interleaved, so load changes hit all three alike.
        for _ in 0..runs {
            let start = Instant::now();
            std::hint::black_box(hash_password("correct horse battery", &SALT, &params).unwrap());
            hash += start.elapsed();
            let start = Instant::now();
            std::hint::black_box(verify_password("wrong horse battery", &stored).unwrap());
            verify += start.elapsed();
            let start = Instant::now();
            dummy_verify("wrong horse battery", &params);
            dummy += start.elapsed();
        }
        println!(
            "argon2id m=19456 t=2 p=1, mean of {runs}: hash {:?}, verify {:?}, dummy_verify {:?}",
            hash / runs,
            verify / runs,
            dummy / runs
        );
    }
}
