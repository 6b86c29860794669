//! The welcome e-mail: `todo.account.created.v1` delivered on
//! `account-events` sends one e-mail through the `email` binding to the
//! address in the event, once per account (`welcome/{accountId}` claimed
//! before sending, marked sent after), with Dapr's reply semantics.

mod support;

use chrono::Duration;
use serde_json::{json, Value};
use support::*;
use todo_core::events::account_created_event;
use todo_core::identity::account::Account;
use uuid::Uuid;

const DELIVERY: &str = "/events/notify/account-events";
const ACCOUNT: &str = "0193b2c4-0000-7000-8000-00000000a11c";
const EMAIL: &str = "ana.lopez@example.org";

fn welcome_key() -> String {
    format!("welcome/{ACCOUNT}")
}

/// The event identity publishes for a new account, as Dapr delivers it.
fn sign_up_as(event_id: u128, email: &str, name: &str, age: Duration) -> Value {
    let account = Account {
        id: Uuid::parse_str(ACCOUNT).unwrap(),
        email: email.into(),
        name: name.into(),
        password_hash: "$argon2id$…".into(),
        created_at: t0() - age,
    };
    let mut event =
        account_created_event(&account, account.created_at, Uuid::from_u128(event_id)).event;
    event["topic"] = json!("account-events");
    event["pubsubname"] = json!("kafka-pubsub");
    event
}

fn sign_up(event_id: u128) -> Value {
    sign_up_as(event_id, EMAIL, "Ana <López>", Duration::zero())
}

fn deliver_raw(h: &Harness, body: &[u8]) -> String {
    cloud_event(DELIVERY, body)
        .send(h)
        .dapr_status()
        .to_string()
}

fn deliver_sign_up(h: &Harness, event: &Value) -> String {
    deliver_raw(h, event.to_string().as_bytes())
}

#[test]
fn a_new_account_gets_one_welcome_e_mail() {
    let h = harness();
    assert_eq!(deliver_sign_up(&h, &sign_up(1)), "SUCCESS");

    let mails = h.dapr.bindings();
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].name, "email");
    assert_eq!(mails[0].body["operation"], "create");
    assert_eq!(
        mails[0].body["metadata"],
        json!({ "emailTo": EMAIL, "subject": "Welcome to Todo, Ana <López>" })
    );
    let html = mails[0].body["data"].as_str().unwrap();
    assert!(html.contains("Hello Ana &lt;López&gt;,"), "{html}");

    // The record: sent, kept 30 days, no address or name in it.
    let record = h.dapr.get(STORE, &welcome_key()).unwrap();
    assert_eq!(
        record.value,
        json!({
            "state": "sent",
            "eventId": "00000000-0000-0000-0000-000000000001",
            "attempts": 1,
            "sentAt": "2026-11-27T10:00:00Z"
        })
    );
    assert_eq!(record.ttl_seconds, Some(30 * 24 * 3600));
    assert_eq!(h.dapr.keys(STORE), [welcome_key()]);
    // Nothing else: no inbox entry, no event.
    assert!(h.dapr.published().is_empty());
}

#[test]
fn redeliveries_and_a_republished_event_send_nothing_more() {
    let h = harness();
    let event = sign_up(1);
    for _ in 0..3 {
        assert_eq!(deliver_sign_up(&h, &event), "SUCCESS");
    }
    // Once per account, whatever the event id.
    assert_eq!(deliver_sign_up(&h, &sign_up(2)), "SUCCESS");
    assert_eq!(h.dapr.bindings().len(), 1);
    assert_eq!(state(&h, &welcome_key())["attempts"], 1);
}

#[test]
fn the_claim_is_written_before_sending_so_a_store_outage_sends_nothing() {
    let h = harness();
    h.dapr.set_state_down(true);
    assert_eq!(deliver_sign_up(&h, &sign_up(1)), "RETRY");
    assert!(h.dapr.bindings().is_empty(), "nothing sent without a claim");
    h.dapr.set_state_down(false);
    assert_eq!(deliver_sign_up(&h, &sign_up(1)), "SUCCESS");
    assert_eq!(h.dapr.bindings().len(), 1);
    // The claim (a save) came before the binding call, the record after.
    let calls: Vec<String> = h
        .dapr
        .calls()
        .into_iter()
        .filter(|(m, _)| m == "POST")
        .map(|(_, p)| p)
        .collect();
    let claim = calls
        .iter()
        .position(|p| p == "/v1.0/state/statestore")
        .unwrap();
    let send = calls
        .iter()
        .position(|p| p == "/v1.0/bindings/email")
        .unwrap();
    let record = calls
        .iter()
        .rposition(|p| p == "/v1.0/state/statestore")
        .unwrap();
    assert!(claim < send && send < record, "{calls:?}");
}

#[test]
fn a_failing_binding_is_retry_and_the_redelivery_sends_at_once() {
    let h = harness();
    h.dapr.fail_bindings(1);
    assert_eq!(deliver_sign_up(&h, &sign_up(1)), "RETRY");
    assert!(h.dapr.bindings().is_empty());
    // The claim was released: the next delivery need not wait for its lease.
    assert_eq!(
        state(&h, &welcome_key()),
        json!({
            "state": "pending",
            "eventId": "00000000-0000-0000-0000-000000000001",
            "attempts": 1
        })
    );
    assert_eq!(deliver_sign_up(&h, &sign_up(1)), "SUCCESS");
    assert_eq!(h.dapr.bindings().len(), 1);
    assert_eq!(state(&h, &welcome_key())["state"], "sent");
    assert_eq!(state(&h, &welcome_key())["attempts"], 2);
}

#[test]
fn a_claim_held_by_another_delivery_is_retry_until_its_lease_ends() {
    let h = harness();
    // Another instance claimed it and is sending (or died doing so).
    let lease_until = t0() + Duration::seconds(30);
    h.dapr.put(
        STORE,
        &welcome_key(),
        json!({
            "state": "sending",
            "eventId": "00000000-0000-0000-0000-000000000001",
            "attempts": 0,
            "leaseUntil": rfc3339(lease_until)
        }),
    );
    assert_eq!(deliver_sign_up(&h, &sign_up(1)), "RETRY");
    h.clock.advance(Duration::seconds(29));
    assert_eq!(deliver_sign_up(&h, &sign_up(1)), "RETRY");
    assert!(h.dapr.bindings().is_empty());
    // Its owner never finished: after the lease, this delivery sends. (If
    // the owner had sent before dying, this is the one second mail the
    // design allows; a lost mail it does not.)
    h.clock.advance(Duration::seconds(1));
    assert_eq!(deliver_sign_up(&h, &sign_up(1)), "SUCCESS");
    assert_eq!(h.dapr.bindings().len(), 1);
    assert_eq!(state(&h, &welcome_key())["state"], "sent");
}

#[test]
fn of_two_racing_deliveries_only_the_one_that_claims_sends() {
    let h = harness();
    // Between our read and our insert-only claim, another delivery claims.
    h.dapr.race_next_save(|state| {
        state.put(
            STORE,
            "welcome/0193b2c4-0000-7000-8000-00000000a11c",
            json!({
                "state": "sending",
                "eventId": "00000000-0000-0000-0000-000000000001",
                "attempts": 0,
                "leaseUntil": "2026-11-27T10:00:30Z"
            }),
        );
    });
    assert_eq!(deliver_sign_up(&h, &sign_up(1)), "RETRY");
    assert!(h.dapr.bindings().is_empty(), "the lost claim sends nothing");
    let reads = h.dapr.reads();
    assert_eq!(
        reads.iter().filter(|k| **k == welcome_key()).count(),
        2,
        "the lost first-write was re-read: {reads:?}"
    );
}

#[test]
fn an_account_older_than_thirty_days_gets_no_welcome() {
    let h = harness();
    let old = sign_up_as(1, EMAIL, "Ana", Duration::days(30) + Duration::seconds(1));
    assert_eq!(deliver_sign_up(&h, &old), "SUCCESS");
    assert!(h.dapr.bindings().is_empty());
    assert!(h.dapr.keys(STORE).is_empty());
    let recent = sign_up_as(2, EMAIL, "Ana", Duration::days(30));
    assert_eq!(deliver_sign_up(&h, &recent), "SUCCESS");
    assert_eq!(h.dapr.bindings().len(), 1);
}

#[test]
fn malformed_events_and_lists_of_addresses_are_dropped_and_nothing_is_sent() {
    let h = harness();
    let good = sign_up(1);
    let edited = |edit: &dyn Fn(&mut Value)| {
        let mut e = good.clone();
        edit(&mut e);
        e.to_string().into_bytes()
    };
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("not JSON", b"{".to_vec()),
        (
            "not a CloudEvent",
            br#"{"email":"ana@example.org"}"#.to_vec(),
        ),
        (
            "unknown version",
            edited(&|e| e["type"] = json!("todo.account.created.v2")),
        ),
        (
            "another type",
            edited(&|e| e["type"] = json!("todo.reminder.scheduled.v1")),
        ),
        (
            "no email",
            edited(&|e| {
                e["data"].as_object_mut().unwrap().remove("email");
            }),
        ),
        (
            "not an address",
            edited(&|e| e["data"]["email"] = json!("ana at example.org")),
        ),
        (
            "a list of addresses",
            edited(&|e| e["data"]["email"] = json!("ana;victim@example.org")),
        ),
        (
            "no createdAt",
            edited(&|e| {
                e["data"].as_object_mut().unwrap().remove("createdAt");
            }),
        ),
    ];
    for (what, body) in bodies {
        assert_eq!(deliver_raw(&h, &body), "DROP", "{what}");
    }
    assert!(h.dapr.bindings().is_empty());
    assert!(h.dapr.keys(STORE).is_empty(), "{:?}", h.dapr.keys(STORE));
}

#[test]
fn a_sidecar_outage_is_retry() {
    let h = harness();
    h.dapr.set_down(true);
    assert_eq!(deliver_sign_up(&h, &sign_up(1)), "RETRY");
    h.dapr.set_down(false);
    assert_eq!(deliver_sign_up(&h, &sign_up(1)), "SUCCESS");
    assert_eq!(h.dapr.bindings().len(), 1);
}

#[test]
fn account_deliveries_need_the_app_token() {
    let h = harness();
    for token in [None, Some("wrong")] {
        let mut request = call("POST", DELIVERY).raw(
            "application/cloudevents+json",
            sign_up(1).to_string().as_bytes(),
        );
        if let Some(token) = token {
            request = request.header("dapr-api-token", token);
        }
        assert_eq!(request.send(&h).status, 401);
    }
    assert!(h.dapr.bindings().is_empty());
    assert!(h.dapr.keys(STORE).is_empty());
}
