//! Reading a delivered `account-events` message as a consumer (audit,
//! notify): whether it is a `todo.account.created.v1` and whether its
//! `data` is the schema that type promises (architecture §4), plus
//! [`scrub_addresses`], which keeps e-mail addresses out of log lines.
//!
//! Consumers answer anything that fails here with DROP, as for task events
//! ([`crate::events::task`]): a message that cannot be read now will not
//! become readable by redelivering it. The `type` is checked before `data`
//! is decoded, so `todo.account.created.v2` is reported as an unknown
//! version, not as bad data.
//!
//! The data carries an e-mail address, which is personal data: no message
//! of [`Unreadable`] built here quotes it (the checks name the field, never
//! its value, and serde's own messages are passed through
//! [`scrub_addresses`]).

use serde_json::Value;

pub use crate::events::task::Unreadable;
use crate::events::{types, AccountCreatedData, CloudEvent, SPEC_VERSION};
use crate::identity::account::validate_name;
use crate::identity::email::normalize_email;

/// Every account event type this version understands.
pub const KNOWN_TYPES: [&str; 1] = [types::ACCOUNT_CREATED];

/// A `todo.account.created.v1` that passed every check of [`read`].
#[derive(Debug, Clone, PartialEq)]
pub struct AccountEvent {
    pub envelope: CloudEvent<AccountCreatedData>,
}

impl AccountEvent {
    /// The user the event is about: the account id, hyphenated, as the
    /// `sub` of the account's access tokens (so it names the same user as
    /// the `userId` of that user's task events).
    pub fn user_id(&self) -> String {
        self.envelope.data.account_id.hyphenated().to_string()
    }
}

/// Checks an envelope (already parsed with any `data`) and decodes its data:
///
/// - `specversion` is `1.0` and `type` is `todo.account.created.v1`;
/// - `data` is an [`AccountCreatedData`];
/// - `email` is a valid address in identity's normal form
///   ([`normalize_email`] leaves it as it is);
/// - `name` is a valid display name, already trimmed ([`validate_name`]).
pub fn read(envelope: CloudEvent<Value>) -> Result<AccountEvent, Unreadable> {
    if envelope.specversion != SPEC_VERSION {
        return Err(Unreadable::UnknownType(format!(
            "specversion {:?} (expected {SPEC_VERSION:?})",
            envelope.specversion
        )));
    }
    if !KNOWN_TYPES.contains(&envelope.kind.as_str()) {
        return Err(Unreadable::UnknownType(format!(
            "{:?} is not one of {}",
            envelope.kind,
            KNOWN_TYPES.join(", ")
        )));
    }
    let envelope = envelope.try_map_data(|data| {
        serde_json::from_value::<AccountCreatedData>(data)
            .map_err(|e| Unreadable::BadData(scrub_addresses(&e.to_string())))
    })?;
    let (kind, data) = (&envelope.kind, &envelope.data);
    let bad = |why: String| Err(Unreadable::BadData(format!("{kind}: {why}")));
    match normalize_email(&data.email) {
        Ok(normal) if normal == data.email => {}
        Ok(_) => return bad("email is not in its normal form".into()),
        Err(e) => return bad(format!("email {}", e.message)),
    }
    match validate_name(&data.name) {
        Ok(name) if name == data.name => {}
        Ok(_) => return bad("name is not trimmed".into()),
        Err(e) => return bad(format!("name {}", e.message)),
    }
    Ok(AccountEvent { envelope })
}

/// `text` with every word that looks like an e-mail address (a run of
/// characters without whitespace, quotes, angle brackets, parentheses,
/// commas, semicolons or colons that contains an `@`) replaced by
/// `[address]`. For log lines that may quote one, such as an SMTP server's
/// "550 <bob@example.org>: recipient rejected" passed on by the binding.
pub fn scrub_addresses(text: &str) -> String {
    let separator = |c: char| {
        c.is_whitespace()
            || matches!(
                c,
                '<' | '>' | '"' | '\'' | '(' | ')' | ',' | ';' | ':' | '`' | '[' | ']'
            )
    };
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if word.contains('@') {
            out.push_str("[address]");
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if separator(c) {
            flush(&mut word, &mut out);
            out.push(c);
        } else {
            word.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::account_created_event;
    use crate::identity::account::Account;
    use chrono::{TimeZone, Utc};
    use serde_json::json;
    use uuid::Uuid;

    fn published() -> Value {
        let account = Account {
            id: Uuid::from_u128(7),
            email: "ana@example.org".into(),
            name: "Ana López".into(),
            password_hash: "$argon2id$…".into(),
            created_at: Utc.with_ymd_and_hms(2026, 11, 27, 10, 0, 0).unwrap(),
        };
        account_created_event(&account, account.created_at, Uuid::from_u128(1)).event
    }

    fn read_json(event: Value) -> Result<AccountEvent, Unreadable> {
        read(serde_json::from_value(event).unwrap())
    }

    #[test]
    fn reads_what_identity_publishes() {
        let event = read_json(published()).unwrap();
        assert_eq!(event.envelope.id, "00000000-0000-0000-0000-000000000001");
        assert_eq!(event.user_id(), "00000000-0000-0000-0000-000000000007");
        assert_eq!(event.envelope.data.email, "ana@example.org");
        assert_eq!(event.envelope.data.name, "Ana López");
    }

    #[test]
    fn refuses_other_types_versions_and_bad_data_without_quoting_the_address() {
        let edited = |edit: &dyn Fn(&mut Value)| {
            let mut e = published();
            edit(&mut e);
            read_json(e).unwrap_err()
        };
        for kind in ["todo.account.created.v2", "todo.task.created.v1"] {
            let err = edited(&|e| e["type"] = json!(kind));
            assert!(matches!(err, Unreadable::UnknownType(_)), "{err}");
        }
        let err = edited(&|e| e["specversion"] = json!("0.3"));
        assert!(matches!(err, Unreadable::UnknownType(_)), "{err}");
        type Edit<'a> = &'a dyn Fn(&mut Value);
        let bad: [(&str, Edit); 8] = [
            ("no email", &|e| {
                e["data"].as_object_mut().unwrap().remove("email");
            }),
            ("email not a string", &|e| e["data"]["email"] = json!(7)),
            ("no @", &|e| e["data"]["email"] = json!("ana.example.org")),
            ("upper case", &|e| {
                e["data"]["email"] = json!("Ana@example.org")
            }),
            ("accountId", &|e| {
                e["data"]["accountId"] = json!("ana@example.org")
            }),
            ("empty name", &|e| e["data"]["name"] = json!("  ")),
            ("untrimmed name", &|e| e["data"]["name"] = json!(" Ana")),
            ("createdAt", &|e| {
                e["data"]["createdAt"] = json!("ana@example.org")
            }),
        ];
        for (what, edit) in bad {
            let err = edited(edit);
            assert!(matches!(err, Unreadable::BadData(_)), "{what}: {err}");
            assert!(!err.to_string().contains("ana@"), "{what}: {err}");
            assert!(!err.to_string().contains("Ana@"), "{what}: {err}");
        }
    }

    #[test]
    fn scrubs_every_address_and_keeps_the_rest() {
        assert_eq!(
            scrub_addresses("550 5.1.1 <bob@example.org>: Recipient address rejected"),
            "550 5.1.1 <[address]>: Recipient address rejected"
        );
        assert_eq!(
            scrub_addresses("to ana@x.io, bob@y.io; done"),
            "to [address], [address]; done"
        );
        assert_eq!(scrub_addresses("no address here"), "no address here");
        assert_eq!(scrub_addresses(""), "");
        assert_eq!(
            scrub_addresses("\"özge@ärzte.de\" rejected"),
            "\"[address]\" rejected"
        );
    }
}
