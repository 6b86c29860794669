//! Sign-ups end to end: the real identity, audit, notify and task-api
//! `.wasm` behind devstack's gateway; identity's `todo.account.created.v1`
//! delivered on `account-events` by the subscriptions in
//! `k8s/dapr/subscriptions/audit.yaml` and `notify.yaml`; the welcome
//! e-mail sent by the SMTP binding to an SMTP listener in the test.
//!
//! Covered: a sign-up through the gateway becomes the first entry of the
//! account's audit chain (no task, no address, no name), which the account
//! reads with the access token identity issued, and its chain verifies, also
//! after a task entry follows it; the welcome e-mail arrives once, at the
//! address signed up with; the same event published again (as identity's
//! outbox would after a lost acknowledgement) adds no entry and no mail —
//! shown once another sign-up published after it on the same key, which
//! both consumers take after the duplicate, has been audited and welcomed.

mod support;

use serde_json::{json, Value};
use support::*;

// ---------------------------------------------------------------------------
// The test

/// The account's audit log page, through the gateway.
async fn audit(api: &Api) -> Value {
    let r = api.get("/api/audit").await;
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_up_is_audited_on_the_accounts_chain_and_welcomed_by_e_mail_once() {
    let smtp = Smtp::start().await;
    let env = start_with_smtp(&["identity", "audit", "notify"], smtp.addr.port()).await;
    let anon = env.anonymous();
    let email = format!("{}@example.org", unique_user("welcome"));
    let password = "tangerine-sky-42";
    let name = "Ana <Lopez> & co";

    // Sign up through the gateway, sign in for identity's access token.
    let r = anon
        .post(
            "/api/auth/signup",
            &json!({"email": email, "password": password, "name": name}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let account = r.json();
    let id = account["id"].as_str().unwrap().to_string();
    let r = anon
        .post(
            "/api/auth/login",
            &json!({"email": email, "password": password}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let user = anon.with_token(Some(r.json()["accessToken"].as_str().unwrap().to_string()));

    // audit: the sign-up is the first entry of the account's own chain.
    let page = eventually("the sign-up in the audit log", || async {
        let page = audit(&user).await;
        (page["total"] == 1).then_some(page)
    })
    .await;
    let entry = &page["items"][0];
    assert_eq!(entry["seq"], 1);
    assert_eq!(entry["type"], "todo.account.created.v1");
    assert_eq!(entry["actor"], id);
    assert_eq!(entry["changes"], json!([]));
    assert_eq!(entry["prevHash"], "0".repeat(64));
    assert!(entry.get("taskId").is_none(), "{entry}");
    let text = page.to_string();
    assert!(
        !text.contains(&email) && !text.contains("Lopez"),
        "no personal data in the log: {text}"
    );
    let r = user.get("/api/audit/verify").await;
    assert_eq!(r.json(), json!({"ok": true, "entries": 1}), "{}", r.text());

    // notify: the welcome e-mail, to the address signed up with.
    let mails = eventually("the welcome e-mail", || async {
        let mails = smtp.mails();
        (!mails.is_empty()).then_some(mails)
    })
    .await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].to, std::slice::from_ref(&email));
    assert!(
        mails[0]
            .data
            .contains("Subject: Welcome to Todo, Ana <Lopez> & co"),
        "{}",
        mails[0].data
    );
    assert!(
        mails[0].data.contains("Hello Ana &lt;Lopez&gt; &amp; co,"),
        "{}",
        mails[0].data
    );

    // The account's first task chains on after the sign-up.
    let task = user.create(json!({"title": "First task"})).await;
    let page = eventually("the task in the audit log", || async {
        let page = audit(&user).await;
        (page["total"] == 2).then_some(page)
    })
    .await;
    assert_eq!(page["items"][0]["type"], "todo.task.created.v1");
    assert_eq!(page["items"][0]["taskId"], task["id"]);
    assert_eq!(page["items"][0]["prevHash"], entry["hash"]);
    let r = user.get("/api/audit/verify").await;
    assert_eq!(r.json(), json!({"ok": true, "entries": 2}), "{}", r.text());

    // The same event again (identity republishes an event whose removal
    // from its outbox failed): no second entry, no second mail.
    let again = json!({
        "specversion": "1.0",
        "id": entry["eventId"],
        "source": "identity",
        "type": "todo.account.created.v1",
        "subject": id,
        "time": entry["at"],
        "datacontenttype": "application/json",
        "data": {
            "accountId": id,
            "email": email,
            "name": name,
            "createdAt": account["createdAt"],
        },
    });
    publish_to(
        &env,
        "account-events",
        &id,
        &serde_json::to_vec(&again).unwrap(),
        false,
    )
    .await;
    // A sentinel after it on the same partition key: another account's
    // sign-up. audit and notify each take one key's messages one at a time,
    // so once the sentinel is audited and welcomed, the duplicate was
    // handled before it.
    let sentinel_id = uuid::Uuid::new_v4().to_string();
    let sentinel_email = format!("{}@example.org", unique_user("sentinel"));
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let sentinel = json!({
        "specversion": "1.0",
        "id": uuid::Uuid::new_v4().to_string(),
        "source": "identity",
        "type": "todo.account.created.v1",
        "subject": sentinel_id,
        "time": now,
        "datacontenttype": "application/json",
        "data": {
            "accountId": sentinel_id,
            "email": sentinel_email,
            "name": "Sentinel",
            "createdAt": now,
        },
    });
    publish_to(
        &env,
        "account-events",
        &id,
        &serde_json::to_vec(&sentinel).unwrap(),
        false,
    )
    .await;
    let sentinel_to = std::slice::from_ref(&sentinel_email);
    eventually("the sentinel's welcome e-mail", || async {
        smtp.mails()
            .iter()
            .any(|m| m.to == sentinel_to)
            .then_some(())
    })
    .await;
    let sentinel_user = env.api(&sentinel_id);
    eventually("the sentinel's sign-up in its audit log", || async {
        (audit(&sentinel_user).await["total"] == 1).then_some(())
    })
    .await;
    assert_eq!(audit(&user).await["total"], 2);
    let mails = smtp.mails();
    assert_eq!(mails.len(), 2, "the welcome and the sentinel's: {mails:?}");
    assert_eq!(
        mails.iter().filter(|m| m.to == [email.clone()]).count(),
        1,
        "{mails:?}"
    );
    for group in ["audit/audit-account-events", "notify/notify-account-events"] {
        assert!(dead_letters(env.store(), group).await.is_empty(), "{group}");
    }
    env.shutdown().await;
}
