//! The password policy of sign-up: long enough, bounded, and not one of the
//! passwords every attacker tries first.
//!
//! Following NIST SP 800-63B §5.1.1.2 and the OWASP Authentication Cheat Sheet:
//! a minimum length and a blocklist instead of composition rules ("one digit,
//! one symbol"), no truncation, every character allowed (spaces included), the
//! password kept exactly as typed (not trimmed, not normalised). Lengths count
//! Unicode scalar values (`char`s), not bytes. The upper bound only keeps
//! requests reasonable; argon2 itself accepts any length.
//!
//! The blocklist (`common_passwords.txt` beside this file) holds a few hundred
//! of the most common passwords of 10 characters or more, lowercase. Lists of
//! this kind come from public breach corpora, e.g. SecLists'
//! `Passwords/Common-Credentials/10-million-password-list-top-10000.txt`
//! (Daniel Miessler, from Mark Burnett's 10 million passwords) or the
//! "Have I Been Pwned" Pwned Passwords top list, filtered to the length the
//! policy would otherwise accept. This copy was written from those well-known
//! lists' familiar entries (keyboard walks, digit runs, `password123`,
//! `iloveyou12`, sports teams, names with digits…), not downloaded: it is a
//! floor, not a breach check. Matching is case-insensitive (`PassWord123` is
//! as guessable as `password123`).

use crate::problem::FieldError;

/// Shortest accepted password, in characters.
pub const PASSWORD_MIN_CHARS: usize = 10;
/// Longest accepted password, in characters.
pub const PASSWORD_MAX_CHARS: usize = 256;

/// The field name used in validation errors.
pub const FIELD: &str = "password";

pub const TOO_SHORT: &str = "must be at least 10 characters long";
pub const TOO_LONG: &str = "must be at most 256 characters long";
pub const TOO_COMMON: &str =
    "is one of the most commonly used passwords, which are tried first by attackers; choose another";

/// The blocklist: lowercase, sorted, one per line (`# ` lines are comments).
const COMMON_PASSWORDS: &str = include_str!("common_passwords.txt");

/// Checks `password` against the policy; the error names the first rule
/// broken (length first, then the blocklist), on field `password`.
pub fn check_password(password: &str) -> Result<(), FieldError> {
    let chars = password.chars().count();
    let message = if chars < PASSWORD_MIN_CHARS {
        TOO_SHORT
    } else if chars > PASSWORD_MAX_CHARS {
        TOO_LONG
    } else if is_common_password(password) {
        TOO_COMMON
    } else {
        return Ok(());
    };
    Err(FieldError::new(FIELD, message))
}

/// Whether `password`, lowercased, is on the embedded blocklist.
pub fn is_common_password(password: &str) -> bool {
    let lowered = password.to_lowercase();
    common_passwords().any(|common| common == lowered)
}

/// The blocklist's entries.
pub fn common_passwords() -> impl Iterator<Item = &'static str> {
    COMMON_PASSWORDS
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with("# "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocklist_is_lowercase_sorted_unique_and_long_enough() {
        let list: Vec<&str> = common_passwords().collect();
        assert!(list.len() >= 200, "only {} entries", list.len());
        for pair in list.windows(2) {
            assert!(pair[0] < pair[1], "not sorted/unique: {pair:?}");
        }
        for entry in &list {
            assert_eq!(*entry, entry.to_lowercase(), "not lowercase: {entry}");
            assert!(
                entry.chars().count() >= PASSWORD_MIN_CHARS,
                "short: {entry}"
            );
            assert_eq!(*entry, entry.trim(), "surrounding space: {entry:?}");
        }
    }

    #[test]
    fn lengths_count_characters() {
        assert_eq!(check_password("abcdefgh9").unwrap_err().message, TOO_SHORT);
        assert!(check_password("tangerine9").is_ok());
        // 9 characters but 18 bytes: still too short.
        assert_eq!(check_password("ééééééééé").unwrap_err().message, TOO_SHORT);
        assert!(check_password("éééééééééé").is_ok());
        assert!(check_password(&"x".repeat(256)).is_ok());
        assert_eq!(
            check_password(&"x".repeat(257)).unwrap_err().message,
            TOO_LONG
        );
    }

    #[test]
    fn common_passwords_are_refused_in_any_case() {
        for p in ["1234567890", "Password123", "QWERTYUIOP", "iLoveYou12"] {
            let err = check_password(p).unwrap_err();
            assert_eq!(
                (err.field.as_str(), err.message.as_str()),
                (FIELD, TOO_COMMON)
            );
        }
    }

    #[test]
    fn messages_are_distinct() {
        assert_ne!(TOO_SHORT, TOO_LONG);
        assert_ne!(TOO_SHORT, TOO_COMMON);
        assert_ne!(TOO_LONG, TOO_COMMON);
    }
}
