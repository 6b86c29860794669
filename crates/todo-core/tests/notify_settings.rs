//! Notification settings: e-mail and webhook URL rules, the write-only secret.

use serde_json::json;
use todo_core::notify::settings::{
    apply, parse_webhook_url, validate_email, validate_webhook_url, NotifySettings, SettingsInput,
    SettingsView, WebhookPolicy,
};

const SECRET: &str = "0123456789abcdef";

fn input(body: serde_json::Value) -> SettingsInput {
    serde_json::from_value(body).unwrap()
}

fn dev() -> WebhookPolicy {
    WebhookPolicy {
        allow_http_loopback: true,
        blocked_loopback_ports: vec![3500],
    }
}

#[test]
fn plain_addresses_are_accepted() {
    for ok in [
        "a@example.com",
        "first.last+tag@sub.example.co",
        "x@localhost",
    ] {
        assert!(validate_email(ok).is_ok(), "{ok}");
    }
    for bad in [
        "",
        "no-at",
        "@example.com",
        "a@",
        "a@@example.com",
        "Alice <a@example.com>",
        "a@example.com;b@example.com",
        "a@example.com,b@example.com",
        ".a@example.com",
        "a..b@example.com",
        "a@-example.com",
        "a b@example.com",
        "a@exa mple.com",
    ] {
        assert!(validate_email(bad).is_err(), "{bad}");
    }
    assert!(validate_email(&format!("{}@example.com", "a".repeat(65))).is_err());
}

#[test]
fn webhook_urls_must_be_https_or_dev_loopback() {
    let prod = WebhookPolicy::default();
    assert!(validate_webhook_url("https://hooks.example.com/todo?x=1", &prod).is_ok());
    assert!(validate_webhook_url("https://hooks.example.com:8443/", &prod).is_ok());
    assert!(validate_webhook_url("http://hooks.example.com/", &prod).is_err());
    assert!(validate_webhook_url("http://localhost:8080/", &prod).is_err());

    assert!(validate_webhook_url("http://localhost:8080/hook", &dev()).is_ok());
    assert!(validate_webhook_url("http://127.0.0.1:9000/hook", &dev()).is_ok());
    assert!(validate_webhook_url("http://LOCALHOST:9000", &dev()).is_ok());
    assert!(
        validate_webhook_url("http://hooks.example.com/", &dev()).is_err(),
        "http only to loopback"
    );
    assert!(
        validate_webhook_url("http://localhost:3500/v1.0/state/statestore", &dev()).is_err(),
        "never the sidecar"
    );
    assert!(validate_webhook_url("http://[::1]:8080/", &dev()).is_err());
}

#[test]
fn https_to_internal_ip_literals_is_refused() {
    let prod = WebhookPolicy::default();
    for bad in [
        "https://127.0.0.1/",
        "https://10.1.2.3/",
        "https://192.168.0.10:8443/",
        "https://172.16.0.1/",
        "https://169.254.169.254/latest/meta-data",
        "https://100.64.0.1/",
        "https://0.0.0.0/",
        "https://[::1]/",
        "https://[fd00::1]/",
        "https://[fe80::1]/",
        "https://[::ffff:10.0.0.1]/",
    ] {
        assert!(validate_webhook_url(bad, &prod).is_err(), "{bad}");
    }
    assert!(validate_webhook_url("https://8.8.8.8/", &prod).is_ok());
    assert!(validate_webhook_url("https://[2001:db8::1]/", &prod).is_ok());
}

#[test]
fn malformed_urls_are_refused() {
    for bad in [
        "hooks.example.com",
        "ftp://hooks.example.com",
        "https://",
        "https://user:pw@hooks.example.com/",
        "https://hooks.example.com:99999/",
        "https://hooks.example.com:0/",
        "https://hooks.example.com/a b",
        "https://hooks.example.com/#frag",
        "https://bad_host.example.com/",
        "https://[not-v6]/",
    ] {
        assert!(parse_webhook_url(bad).is_err(), "{bad}");
    }
    let target = parse_webhook_url("https://Hooks.Example.com:8443/Path").unwrap();
    assert!(target.https);
    assert_eq!(target.host, "hooks.example.com");
    assert_eq!(target.port, Some(8443));
    assert!(parse_webhook_url(&format!("https://a.com/{}", "x".repeat(2100))).is_err());
}

#[test]
fn put_replaces_fields_and_keeps_the_write_only_secret() {
    let empty = NotifySettings::default();
    let set = apply(
        &empty,
        input(json!({
            "email": " a@example.com ",
            "webhookUrl": "https://hooks.example.com/x",
            "webhookSecret": SECRET
        })),
        &dev(),
    )
    .unwrap();
    assert_eq!(set.email.as_deref(), Some("a@example.com"));
    assert_eq!(set.webhook_secret.as_deref(), Some(SECRET));

    // Absent secret: kept. Absent email: cleared (PUT replaces).
    let moved = apply(
        &set,
        input(json!({ "webhookUrl": "https://hooks.example.com/y" })),
        &dev(),
    )
    .unwrap();
    assert_eq!(moved.email, None);
    assert_eq!(
        moved.webhook_url.as_deref(),
        Some("https://hooks.example.com/y")
    );
    assert_eq!(moved.webhook_secret.as_deref(), Some(SECRET));

    // Dropping the webhook forgets the secret.
    let none = apply(&moved, input(json!({})), &dev()).unwrap();
    assert_eq!(none, NotifySettings::default());

    // null clears the secret, which a webhook needs.
    let errors = apply(
        &moved,
        input(json!({ "webhookUrl": "https://hooks.example.com/y", "webhookSecret": null })),
        &dev(),
    )
    .unwrap_err();
    assert_eq!(errors[0].field, "webhookSecret");
}

#[test]
fn every_bad_field_is_reported() {
    let errors = apply(
        &NotifySettings::default(),
        input(json!({ "email": "nope", "webhookUrl": "http://example.com", "webhookSecret": "short" })),
        &dev(),
    )
    .unwrap_err();
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["email", "webhookUrl", "webhookSecret"]);

    let errors = apply(
        &NotifySettings::default(),
        input(json!({ "webhookUrl": "https://hooks.example.com" })),
        &dev(),
    )
    .unwrap_err();
    assert_eq!(errors[0].field, "webhookSecret");
    assert!(errors[0].message.contains("required"));
}

#[test]
fn input_denies_unknown_fields_and_wrong_types() {
    assert!(serde_json::from_value::<SettingsInput>(json!({ "phone": "1" })).is_err());
    assert!(serde_json::from_value::<SettingsInput>(json!({ "email": 5 })).is_err());
}

#[test]
fn the_view_never_shows_the_secret() {
    let s = NotifySettings {
        email: None,
        webhook_url: Some("https://h.example.com".into()),
        webhook_secret: Some(SECRET.into()),
    };
    let view = serde_json::to_value(SettingsView::from(&s)).unwrap();
    assert_eq!(
        view,
        json!({ "email": null, "webhookUrl": "https://h.example.com", "webhookSecretSet": true })
    );
}
