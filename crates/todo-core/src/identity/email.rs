//! Email addresses as account keys: one normal form, so that `" Ana@Example.ORG"`
//! and `"ana@example.org"` are one account and sign-in finds it either way.
//!
//! The normal form is the address trimmed (Unicode whitespace) and lowercased
//! with Unicode-aware [`str::to_lowercase`] — the local part too: RFC 5321
//! allows case-sensitive local parts, but no mainstream provider has them, and
//! two accounts that differ only in case would be a support hazard. Nothing
//! else is folded (no dot or `+tag` removal: those rules are provider-specific).
//!
//! The syntax check is deliberately basic — the only real proof of an address
//! is a mail that arrives. It catches typos and garbage: exactly one `@`, a
//! non-empty local part, a domain with a dot and no empty label, no whitespace
//! or control characters, at most [`EMAIL_MAX_CHARS`] characters (RFC 5321's
//! 254-octet path limit, counted here in characters).

use crate::problem::FieldError;

/// Longest accepted address, in characters, after normalisation.
pub const EMAIL_MAX_CHARS: usize = 254;

/// The field name used in validation errors.
pub const FIELD: &str = "email";

/// The normal form of `raw` (see the module doc), or the first rule it breaks
/// as a field error on `email`.
pub fn normalize_email(raw: &str) -> Result<String, FieldError> {
    let fail = |message: &str| Err(FieldError::new(FIELD, message));
    let email = raw.trim().to_lowercase();
    if email.is_empty() {
        return fail("must not be empty");
    }
    if email.chars().count() > EMAIL_MAX_CHARS {
        return fail("must be at most 254 characters long");
    }
    if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return fail("must not contain spaces or control characters");
    }
    let mut parts = email.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return fail("must contain exactly one @");
    };
    if local.is_empty() {
        return fail("must have a name before the @");
    }
    if domain.is_empty() {
        return fail("must have a domain after the @");
    }
    if !domain.contains('.') || domain.split('.').any(str::is_empty) {
        return fail("must have a domain such as example.org after the @");
    }
    Ok(email)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(raw: &str) -> String {
        normalize_email(raw).unwrap_err().message
    }

    #[test]
    fn trims_and_lowercases_unicode() {
        assert_eq!(
            normalize_email("  Ana.Lopez@Example.ORG \t").unwrap(),
            "ana.lopez@example.org"
        );
        assert_eq!(normalize_email("ÖZGE@ÄRZTE.DE").unwrap(), "özge@ärzte.de");
        assert_eq!(normalize_email("ΣΟΦΙΑ@mail.gr").unwrap(), "σοφια@mail.gr");
    }

    #[test]
    fn keeps_plus_tags_and_dots() {
        assert_eq!(
            normalize_email("a.b+todo@example.org").unwrap(),
            "a.b+todo@example.org"
        );
    }

    #[test]
    fn each_rule_has_its_own_message() {
        assert_eq!(message("   "), "must not be empty");
        assert_eq!(message("a@b.c@d.e"), "must contain exactly one @");
        assert_eq!(message("example.org"), "must contain exactly one @");
        assert_eq!(message("@example.org"), "must have a name before the @");
        assert_eq!(message("ana@"), "must have a domain after the @");
        for bad in ["ana@localhost", "ana@.org", "ana@example.", "ana@a..org"] {
            assert_eq!(
                message(bad),
                "must have a domain such as example.org after the @",
                "{bad}"
            );
        }
        assert_eq!(
            message("ana lopez@example.org"),
            "must not contain spaces or control characters"
        );
        assert_eq!(
            message("ana\u{7}@example.org"),
            "must not contain spaces or control characters"
        );
        assert_eq!(normalize_email("x").unwrap_err().field, "email");
    }

    #[test]
    fn length_limit_is_254_characters() {
        let domain = "@example.org"; // 12 chars
        let ok = format!("{}{domain}", "a".repeat(254 - 12));
        assert_eq!(normalize_email(&ok).unwrap().chars().count(), 254);
        let too_long = format!("{}{domain}", "a".repeat(255 - 12));
        assert_eq!(message(&too_long), "must be at most 254 characters long");
        // Characters, not bytes: 242 two-byte letters still fit.
        let wide = format!("{}{domain}", "é".repeat(254 - 12));
        assert!(normalize_email(&wide).is_ok());
    }
}
