//! The inbox (ordering, bounded pages, the old layout, dedupe, read marks,
//! paging), delivery records, reminder e-mails and webhook signatures.

use chrono::{DateTime, Duration, TimeZone, Utc};
use todo_core::events::ReminderEventData;
use todo_core::notify::delivery::{
    escape_html, reminder_email, ChannelState, Claim, External, FiredRecord, CLAIM_LEASE_SECS,
};
use todo_core::notify::inbox::{
    mark_read, Inbox, InboxHead, InboxQuery, InboxSheet, Notification, NotificationEventData,
    DEFAULT_PAGE, INBOX_CAPACITY, INBOX_PAGE, MAX_DOCUMENT_BYTES, SHEETS_KEPT,
};
use todo_core::notify::settings::NotifySettings;
use todo_core::notify::webhook::{self, judge, signed_request, AttemptOutcome};
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

/// Inserts `notes` into a head as firings would; the sealed pages kept
/// (dropped ones removed) by number.
fn fill(
    head: &mut InboxHead,
    sheets: &mut std::collections::BTreeMap<u64, InboxSheet>,
    notes: impl IntoIterator<Item = Notification>,
) {
    for n in notes {
        if let Some(spill) = head.insert(n) {
            for gone in &spill.dropped {
                assert!(sheets.remove(gone).is_some(), "dropped page {gone} existed");
            }
            sheets.extend(spill.sealed);
        }
    }
}

fn ids(items: &[Notification]) -> Vec<u128> {
    items.iter().map(|n| n.id.as_u128()).collect()
}

/// An inbox of `n` notifications (ids and minutes 1..=n), assembled.
fn inbox_of(n: u128) -> Inbox {
    let (mut head, mut sheets) = (InboxHead::default(), Default::default());
    fill(&mut head, &mut sheets, (1..=n).map(|i| note(i, i as i64)));
    Inbox::assemble(head, sheets.into_values())
}

#[test]
fn the_head_keeps_newest_first_and_dedupes() {
    let mut head = InboxHead::default();
    assert!(head.insert(note(1, 1)).unwrap().is_empty());
    assert!(head.insert(note(3, 3)).unwrap().is_empty());
    assert!(head.insert(note(2, 2)).unwrap().is_empty());
    assert!(head.insert(note(2, 2)).is_none(), "same id twice");
    assert_eq!(ids(&head.items), [3, 2, 1]);
    // A short inbox keeps the old document shape exactly.
    let json = serde_json::to_value(&head).unwrap();
    assert_eq!(
        json.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["items"]
    );
}

#[test]
fn a_full_head_is_sealed_as_a_page_and_the_oldest_page_falls_off() {
    let (mut head, mut sheets) = (InboxHead::default(), std::collections::BTreeMap::new());
    fill(&mut head, &mut sheets, (1..=40).map(|i| note(i, i as i64)));
    assert_eq!(head.items.len(), INBOX_PAGE);
    assert!(sheets.is_empty());
    // The 41st seals the 40 as page 0.
    fill(&mut head, &mut sheets, [note(41, 41)]);
    assert_eq!(ids(&head.items), [41]);
    assert_eq!(head.sheets, [0]);
    assert_eq!(ids(&sheets[&0].items), (1..=40).rev().collect::<Vec<_>>());
    // Up to 200: four sealed pages and a full head.
    fill(
        &mut head,
        &mut sheets,
        (42..=200).map(|i| note(i, i as i64)),
    );
    assert_eq!(head.sheets, [0, 1, 2, 3]);
    assert_eq!(head.items.len(), INBOX_PAGE);
    let all = Inbox::assemble(head.clone(), sheets.values().cloned());
    assert_eq!(all.items.len(), INBOX_CAPACITY);
    assert_eq!(ids(&all.items), (1..=200).rev().collect::<Vec<_>>());
    // The 201st seals page 4 and drops page 0: the oldest 40 fall off.
    let spill = head.insert(note(201, 201)).unwrap();
    assert_eq!(spill.dropped, [0]);
    assert_eq!(spill.sealed.len(), 1);
    assert_eq!(spill.sealed[0].0, 4);
    for gone in &spill.dropped {
        sheets.remove(gone);
    }
    sheets.extend(spill.sealed);
    assert_eq!(head.sheets, [1, 2, 3, 4]);
    let all = Inbox::assemble(head.clone(), sheets.values().cloned());
    assert_eq!(ids(&all.items), (41..=201).rev().collect::<Vec<_>>());
    // However long it runs: never more than 200, never a page over 40.
    fill(
        &mut head,
        &mut sheets,
        (202..=1000).map(|i| note(i, i as i64)),
    );
    assert!(head.sheets.len() <= SHEETS_KEPT);
    assert_eq!(sheets.keys().copied().collect::<Vec<_>>(), head.sheets);
    assert!(sheets.values().all(|s| s.items.len() == INBOX_PAGE));
    let all = Inbox::assemble(head, sheets.into_values());
    assert!(all.items.len() <= INBOX_CAPACITY && all.items.len() > INBOX_CAPACITY - INBOX_PAGE);
    assert_eq!(all.items[0].id.as_u128(), 1000);
}

#[test]
fn an_old_layout_inbox_reads_and_is_cut_into_pages_by_its_next_write() {
    let notes: Vec<Notification> = (1..=200).rev().map(|i| note(i, i as i64)).collect();
    let old: InboxHead = serde_json::from_value(serde_json::json!({ "items": notes })).unwrap();
    assert!(old.sheets.is_empty());
    let all = Inbox::assemble(old.clone(), []);
    assert_eq!(ids(&all.items), (1..=200).rev().collect::<Vec<_>>());

    // A read mark: the head is cut down to 40, the rest sealed, none lost.
    let mut marked = old.clone();
    assert!(marked.mark_read(Uuid::from_u128(200), t0()).unwrap().1);
    let spill = marked.spill();
    assert!(spill.dropped.is_empty());
    assert_eq!(
        spill.sealed.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        [0, 1, 2, 3]
    );
    assert_eq!(ids(&marked.items), (161..=200).rev().collect::<Vec<_>>());
    assert_eq!(
        ids(&spill.sealed[0].1.items),
        (1..=40).rev().collect::<Vec<_>>()
    );
    let all = Inbox::assemble(marked, spill.sealed.into_iter().map(|(_, s)| s));
    assert_eq!(all.items.len(), 200);
    assert_eq!(all.unread_count(), 199);

    // A firing: 201 → five pages' worth sealed, the oldest never written.
    let mut fired = old;
    let spill = fired.insert(note(201, 201)).unwrap();
    assert!(spill.dropped.is_empty(), "page 0 was never stored");
    assert_eq!(
        spill.sealed.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    assert_eq!(fired.sheets, [1, 2, 3, 4]);
    assert_eq!(ids(&fired.items), [201]);
    let all = Inbox::assemble(fired, spill.sealed.into_iter().map(|(_, s)| s));
    assert_eq!(ids(&all.items), (41..=201).rev().collect::<Vec<_>>());
}

#[test]
fn forty_of_the_largest_notification_fit_in_a_document() {
    use todo_core::task::validate::TITLE_MAX_CHARS;
    let mut r = reminder(vec![Channel::Webhook; 50]);
    r.channels
        .extend([Channel::Email, Channel::Inbox, Channel::Email]);
    // Longer than a title may be, in 4-byte characters and control characters.
    r.title = format!("\u{1}{}", "\u{1D11E}".repeat(2 * TITLE_MAX_CHARS));
    let at = t0() + Duration::nanoseconds(123_456_789);
    let mut largest = Notification::for_reminder(Uuid::from_u128(u128::MAX), &r, at).unwrap();
    assert_eq!(largest.title.chars().count(), TITLE_MAX_CHARS);
    assert!(
        largest.title.starts_with(' '),
        "control characters become spaces"
    );
    assert_eq!(
        largest.channels,
        [Channel::Webhook, Channel::Email, Channel::Inbox]
    );
    largest.read = true;
    largest.read_at = Some(at);
    largest.kind = "reminder".into();
    let one = serde_json::to_vec(&largest).unwrap().len();
    assert!(one < 1300, "a notification is {one} bytes");

    let head = InboxHead {
        items: vec![largest.clone(); INBOX_PAGE],
        sheets: (0..SHEETS_KEPT as u64).map(|n| u64::MAX - n).collect(),
        next_sheet: u64::MAX,
    };
    let bytes = serde_json::to_vec(&head).unwrap().len();
    assert!(bytes <= MAX_DOCUMENT_BYTES, "head {bytes} bytes");
    let sheet = InboxSheet {
        items: vec![largest; INBOX_PAGE],
    };
    let bytes = serde_json::to_vec(&sheet).unwrap().len();
    assert!(bytes <= MAX_DOCUMENT_BYTES, "sheet {bytes} bytes");
}

#[test]
fn mark_read_is_idempotent() {
    let mut head = InboxHead::default();
    head.insert(note(1, 1));
    let (n, changed) = head.mark_read(Uuid::from_u128(1), t0()).unwrap();
    assert!(changed && n.read && n.read_at == Some(t0()));
    let (n, changed) = head
        .mark_read(Uuid::from_u128(1), t0() + Duration::hours(1))
        .unwrap();
    assert!(!changed);
    assert_eq!(n.read_at, Some(t0()), "the first readAt stays");
    assert!(head.mark_read(Uuid::from_u128(9), t0()).is_none());
    let mut sheet = InboxSheet {
        items: vec![note(2, 2)],
    };
    assert!(sheet.mark_read(Uuid::from_u128(2), t0()).unwrap().1);
    assert!(!sheet.mark_read(Uuid::from_u128(2), t0()).unwrap().1);
}

#[test]
fn pages_walk_the_inbox_once_and_filter_unread() {
    // 47 notifications: the head and a sealed page, walked as one inbox.
    let mut inbox = inbox_of(47);
    mark_read(&mut inbox.items, Uuid::from_u128(46), t0());
    mark_read(&mut inbox.items, Uuid::from_u128(2), t0());

    let mut seen = Vec::new();
    let mut query = InboxQuery::parse("limit=3").unwrap();
    loop {
        let page = inbox.page(&query);
        assert_eq!(page.unread, 45);
        seen.extend(page.items.iter().map(|n| n.id.as_u128()));
        match page.next_cursor {
            Some(cursor) => query = InboxQuery::parse(&format!("limit=3&cursor={cursor}")).unwrap(),
            None => break,
        }
    }
    assert_eq!(seen, (1..=47).rev().collect::<Vec<_>>());

    // A notification arriving between pages does not shift later pages.
    let first = inbox.page(&InboxQuery::parse("limit=2").unwrap());
    inbox.items.insert(0, note(48, 48));
    let cursor = first.next_cursor.unwrap();
    let next = inbox.page(&InboxQuery::parse(&format!("limit=2&cursor={cursor}")).unwrap());
    assert_eq!(ids(&next.items), [45, 44]);

    let unread = inbox.page(&InboxQuery::parse("unread=true&limit=4").unwrap());
    assert_eq!(ids(&unread.items), [48, 47, 45, 44]);
    let small = inbox_of(3);
    let all = small.page(&InboxQuery::parse("unread=true").unwrap());
    assert_eq!(ids(&all.items), [3, 2, 1]);
    assert_eq!(all.next_cursor, None);
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
