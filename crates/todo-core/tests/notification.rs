//! The inbox (ordering, bound, dedupe, read marks, paging), delivery records,
//! reminder e-mails and webhook signatures.

use chrono::{DateTime, Duration, TimeZone, Utc};
use todo_core::delivery::{
    escape_html, reminder_email, ChannelState, Claim, External, FiredRecord, CLAIM_LEASE_SECS,
};
use todo_core::events::ReminderEventData;
use todo_core::notification::{
    Inbox, InboxQuery, Notification, NotificationEventData, DEFAULT_PAGE, INBOX_CAPACITY,
};
use todo_core::notify_settings::NotifySettings;
use todo_core::webhook::{self, judge, signed_request, AttemptOutcome};
use todo_core::Channel;
use uuid::Uuid;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 0).unwrap()
}

fn reminder(channels: Vec<Channel>) -> ReminderEventData {
    ReminderEventData {
        user_id: "alice".into(),
        task_id: Uuid::from_u128(7),
        title: "Pay <rent> & \"bills\"".into(),
        due_at: Some(t0() + Duration::minutes(30)),
        remind_at: Some(t0()),
        channels,
        version: 2,
    }
}

fn note(n: u128, minute: i64) -> Notification {
    Notification::for_reminder(
        Uuid::from_u128(n),
        &reminder(vec![Channel::Inbox]),
        t0() + Duration::minutes(minute),
    )
    .unwrap()
}

#[test]
fn a_notification_copies_the_reminder() {
    let r = reminder(vec![Channel::Inbox, Channel::Webhook]);
    let n = Notification::for_reminder(Uuid::from_u128(1), &r, t0()).unwrap();
    assert_eq!(n.task_id, r.task_id);
    assert_eq!(n.title, r.title);
    assert_eq!(n.remind_at, t0());
    assert_eq!(n.channels, r.channels);
    assert!(!n.read);
    let json = serde_json::to_value(&n).unwrap();
    assert_eq!(json["kind"], "reminder");
    assert_eq!(json["taskId"], r.task_id.to_string());
    assert_eq!(json["read"], false);

    let without = ReminderEventData {
        remind_at: None,
        ..r
    };
    assert!(Notification::for_reminder(Uuid::from_u128(1), &without, t0()).is_none());
}

#[test]
fn inbox_keeps_newest_first_dedupes_and_is_bounded() {
    let mut inbox = Inbox::default();
    assert!(inbox.insert(note(1, 1)));
    assert!(inbox.insert(note(3, 3)));
    assert!(inbox.insert(note(2, 2)));
    assert!(!inbox.insert(note(2, 2)), "same id twice");
    let ids: Vec<u128> = inbox.items.iter().map(|n| n.id.as_u128()).collect();
    assert_eq!(ids, [3, 2, 1]);

    for i in 10..(10 + INBOX_CAPACITY as u128) {
        inbox.insert(note(i, i as i64));
    }
    assert_eq!(inbox.items.len(), INBOX_CAPACITY);
    assert!(
        inbox.items.iter().all(|n| n.id.as_u128() >= 10),
        "the oldest fell off"
    );
    assert!(!inbox.insert(note(4, 0)), "older than everything kept");
}

#[test]
fn mark_read_is_idempotent() {
    let mut inbox = Inbox::default();
    inbox.insert(note(1, 1));
    let (n, changed) = inbox.mark_read(Uuid::from_u128(1), t0()).unwrap();
    assert!(changed && n.read && n.read_at == Some(t0()));
    let (n, changed) = inbox
        .mark_read(Uuid::from_u128(1), t0() + Duration::hours(1))
        .unwrap();
    assert!(!changed);
    assert_eq!(n.read_at, Some(t0()), "the first readAt stays");
    assert!(inbox.mark_read(Uuid::from_u128(9), t0()).is_none());
}

#[test]
fn pages_walk_the_inbox_once_and_filter_unread() {
    let mut inbox = Inbox::default();
    for i in 1..=7 {
        inbox.insert(note(i, i as i64));
    }
    inbox.mark_read(Uuid::from_u128(6), t0());
    inbox.mark_read(Uuid::from_u128(2), t0());

    let mut seen = Vec::new();
    let mut query = InboxQuery::parse("limit=3").unwrap();
    loop {
        let page = inbox.page(&query);
        assert_eq!(page.unread, 5);
        seen.extend(page.items.iter().map(|n| n.id.as_u128()));
        match page.next_cursor {
            Some(cursor) => query = InboxQuery::parse(&format!("limit=3&cursor={cursor}")).unwrap(),
            None => break,
        }
    }
    assert_eq!(seen, [7, 6, 5, 4, 3, 2, 1]);

    // A notification arriving between pages does not shift later pages.
    let first = inbox.page(&InboxQuery::parse("limit=2").unwrap());
    inbox.insert(note(8, 8));
    let cursor = first.next_cursor.unwrap();
    let next = inbox.page(&InboxQuery::parse(&format!("limit=2&cursor={cursor}")).unwrap());
    let ids: Vec<u128> = next.items.iter().map(|n| n.id.as_u128()).collect();
    assert_eq!(ids, [5, 4]);

    let unread = inbox.page(&InboxQuery::parse("unread=true").unwrap());
    let ids: Vec<u128> = unread.items.iter().map(|n| n.id.as_u128()).collect();
    assert_eq!(ids, [8, 7, 5, 4, 3, 1]);
    assert_eq!(unread.next_cursor, None);
}

#[test]
fn inbox_query_rejects_what_it_does_not_understand() {
    assert_eq!(InboxQuery::parse("").unwrap().limit, DEFAULT_PAGE);
    for bad in [
        "unread=yes",
        "limit=0",
        "limit=201",
        "limit=x",
        "cursor=%%%",
        "cursor=bm9wZQ",
        "sort=asc",
    ] {
        assert_eq!(InboxQuery::parse(bad).unwrap_err().status, 400, "{bad}");
    }
}

#[test]
fn notification_event_data_round_trips() {
    let data = NotificationEventData {
        user_id: "alice".into(),
        notification: note(1, 0),
    };
    let json = serde_json::to_value(&data).unwrap();
    assert_eq!(json["userId"], "alice");
    assert_eq!(json["notification"]["id"], Uuid::from_u128(1).to_string());
    assert_eq!(
        serde_json::from_value::<NotificationEventData>(json).unwrap(),
        data
    );
}

#[test]
fn fired_record_tracks_requested_and_configured_channels() {
    let n = Notification::for_reminder(
        Uuid::from_u128(1),
        &reminder(vec![Channel::Inbox, Channel::Email, Channel::Webhook]),
        t0(),
    )
    .unwrap();
    let nothing = FiredRecord::new("alice", n.clone(), &NotifySettings::default());
    assert_eq!(nothing.webhook.state, ChannelState::NotConfigured);
    assert_eq!(nothing.email.state, ChannelState::NotConfigured);
    assert!(!nothing.published);

    let settings = NotifySettings {
        email: Some("a@example.com".into()),
        webhook_url: Some("https://hooks.example.com/x".into()),
        webhook_secret: Some("0123456789abcdef".into()),
    };
    let all = FiredRecord::new("alice", n.clone(), &settings);
    assert_eq!(all.webhook.state, ChannelState::Pending);
    assert_eq!(all.email.state, ChannelState::Pending);

    let inbox_only = Notification {
        channels: vec![Channel::Inbox],
        ..n
    };
    let some = FiredRecord::new("alice", inbox_only, &settings);
    assert_eq!(some.webhook.state, ChannelState::NotRequested);
    assert_eq!(some.email.state, ChannelState::NotRequested);
    assert!(some.webhook.is_settled() && some.email.is_settled());
}

#[test]
fn a_channel_is_claimed_once_until_its_lease_runs_out() {
    let n = note(1, 0);
    let settings = NotifySettings {
        email: Some("a@example.com".into()),
        ..NotifySettings::default()
    };
    let mut record = FiredRecord::new(
        "alice",
        Notification {
            channels: vec![Channel::Email],
            ..n
        },
        &settings,
    );
    let email = record.channel_mut(External::Email);
    assert_eq!(email.claim(t0()), Claim::Claimed);
    assert_eq!(email.state, ChannelState::Sending);
    assert_eq!(email.claim(t0() + Duration::seconds(1)), Claim::Busy);
    let later = t0() + Duration::seconds(CLAIM_LEASE_SECS);
    assert_eq!(email.claim(later), Claim::Claimed, "an abandoned claim");

    email.finish(Err("smtp down".into()), 3, later);
    assert_eq!(email.state, ChannelState::Failed);
    assert_eq!(email.attempts, 3);
    assert_eq!(email.last_error.as_deref(), Some("smtp down"));
    assert_eq!(email.claim(later), Claim::Settled);
    assert!(record.channel(External::Email).is_settled());
    assert_eq!(
        record.channel_mut(External::Webhook).claim(t0()),
        Claim::Settled
    );

    let mut ok = FiredRecord::new("alice", note(2, 0), &settings);
    ok.email.state = ChannelState::Pending;
    ok.email.claim(t0());
    ok.email.finish(Ok(()), 1, t0());
    assert_eq!(ok.email.state, ChannelState::Delivered);
    assert_eq!(ok.email.lease_until, None);
}

#[test]
fn reminder_email_escapes_the_title() {
    let n = note(1, 0);
    let email = reminder_email(&n);
    assert_eq!(email.subject, "Reminder: Pay <rent> & \"bills\"");
    assert!(
        email
            .html
            .contains("<strong>Pay &lt;rent&gt; &amp; &quot;bills&quot;</strong>"),
        "{}",
        email.html
    );
    assert!(email.html.contains("2026-05-01T12:30:00Z"));
    assert_eq!(escape_html("it's"), "it&#39;s");

    let nasty = Notification {
        title: "a\r\nBcc: x@evil".into(),
        ..n
    };
    assert!(!reminder_email(&nasty).subject.contains(['\r', '\n']));
}

#[test]
fn webhooks_are_signed_over_the_exact_body() {
    let n = note(1, 0);
    let signed = signed_request("alice", &n, "0123456789abcdef", t0());
    let header = |name: &str| {
        signed
            .headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    let signature = header(webhook::SIGNATURE_HEADER);
    assert!(signature.starts_with("sha256=") && signature.len() == 7 + 64);
    assert!(webhook::verify(
        b"0123456789abcdef",
        &signed.body,
        &signature
    ));
    assert!(!webhook::verify(
        b"another-secret!!",
        &signed.body,
        &signature
    ));
    let mut tampered = signed.body.clone();
    tampered[5] ^= 1;
    assert!(!webhook::verify(b"0123456789abcdef", &tampered, &signature));

    assert_eq!(
        header(webhook::TIMESTAMP_HEADER),
        t0().timestamp().to_string()
    );
    assert_eq!(header(webhook::DELIVERY_HEADER), n.id.to_string());
    let body: serde_json::Value = serde_json::from_slice(&signed.body).unwrap();
    assert_eq!(body["id"], n.id.to_string());
    assert_eq!(body["userId"], "alice");
    assert_eq!(body["sentAt"], "2026-05-01T12:00:00.000Z");
    assert_eq!(body["notification"]["title"], n.title);

    // A known vector (RFC 4231 test case 2).
    assert_eq!(
        webhook::sign(b"Jefe", b"what do ya want for nothing?"),
        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
}

#[test]
fn answers_are_judged_for_retry() {
    assert_eq!(judge(Some(200)), AttemptOutcome::Delivered);
    assert_eq!(judge(Some(204)), AttemptOutcome::Delivered);
    for retry in [None, Some(408), Some(425), Some(429), Some(500), Some(503)] {
        assert_eq!(judge(retry), AttemptOutcome::Retry, "{retry:?}");
    }
    for refused in [Some(301), Some(400), Some(401), Some(404), Some(410)] {
        assert_eq!(judge(refused), AttemptOutcome::Refused, "{refused:?}");
    }
}
