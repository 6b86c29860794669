//! Accounts (architecture §3 "Accounts"): the rules of the `identity` component —
//! sign-up, sign-in, refresh, sign-out — as pure functions, so they are tested
//! natively and the component only moves bytes between HTTP, Dapr and here.
//!
//! Like the rest of the crate this does no I/O: the clock (`now`), ids and
//! every random byte (salts, refresh-token secrets, family ids) come from the
//! caller, which in the component gets them from WASI.
//!
//! One module per job:
//! - [`email`]: the normal form of an address (the uniqueness key);
//! - [`password`]: the password policy (length, common passwords);
//! - [`hashing`]: argon2id PHC hashes, verification, the dummy verification
//!   that keeps "no such account" as slow as "wrong password";
//! - [`account`]: the stored account, its public view, request bodies;
//! - [`tokens`]: access tokens (the HS256 JWTs of [`crate::auth`]) and
//!   rotating refresh-token families with reuse detection;
//! - [`cookie`]: the refresh cookie's `Set-Cookie` and `Cookie` headers;
//! - [`lockout`]: failure counters per account and per client (429).
//!
//! The account-created event is built beside the task events, in
//! [`crate::events::account_created_event`].
//!
//! How the component is expected to combine them:
//! - **sign-up**: [`account::parse_sign_up`] → [`account::validate_sign_up`]
//!   (422 lists every field) → [`hashing::hash_password`] → store
//!   [`account::Account`] under [`account::account_key`] and claim
//!   [`account::email_key`] insert-only (taken → [`account::email_taken`], 409)
//!   → publish the account-created event → 201 with [`account::AccountView`].
//! - **sign-in**: [`account::parse_login`]; check both [`lockout`] counters
//!   first (locked → 429 + `Retry-After`, nothing hashed); look the account up
//!   by [`account::email_key`] of [`account::LoginInput::normalized_email`];
//!   found → [`hashing::verify_password`], not found (or an address that does
//!   not even parse) → [`hashing::dummy_verify`], so both take as long; failure →
//!   record it on both counters, answer [`account::invalid_credentials`] (same
//!   401 either way); success → clear the account counter, start a
//!   [`tokens::RefreshFamily`], answer [`tokens::issue_access_token`] plus
//!   [`cookie::refresh_cookie`].
//! - **refresh**: [`cookie::refresh_token_from_cookie_header`] →
//!   [`tokens::RefreshToken::parse`] → load the family by
//!   [`tokens::refresh_family_key`] → [`tokens::RefreshFamily::refresh`]:
//!   rotated → save (with its ETag) and answer a new access token and cookie;
//!   reuse → save the revoked family, 401, clear the cookie; invalid → 401,
//!   clear the cookie.
//! - **sign-out**: revoke the cookie's family (whatever the decision) and
//!   answer [`cookie::clear_refresh_cookie`].

pub mod account;
pub mod cookie;
pub mod email;
pub mod hashing;
pub mod lockout;
pub mod password;
pub mod tokens;

pub use account::{Account, AccountView};
pub use hashing::PasswordParams;
pub use lockout::{FailureCounter, LockStatus, LockoutPolicy};
pub use tokens::{RefreshDecision, RefreshFamily, RefreshToken};

use sha2::{Digest, Sha256};

/// Lowercase hex SHA-256 of `bytes`: how secrets and personal data appear in
/// state keys and stored token hashes.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut hex = String::with_capacity(64);
    for byte in digest {
        hex.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
        hex.push(char::from(b"0123456789abcdef"[usize::from(byte & 0x0f)]));
    }
    hex
}

#[cfg(test)]
mod tests {
    #[test]
    fn sha256_hex_matches_a_known_vector() {
        // FIPS 180-2 example "abc".
        assert_eq!(
            super::sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
