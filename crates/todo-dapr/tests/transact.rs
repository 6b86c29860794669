//! `document::transact`: the read → decide → commit → re-read-on-conflict
//! loop, against scripted sidecar answers.
mod common;

use std::cell::RefCell;

use common::*;
use serde_json::json;
use todo_dapr::document::{transact, Decided, Seen, TransactError, Write};
use todo_dapr::state::{SaveItem, TxOperation};
use todo_dapr::DaprError;

/// One attempt's write: a transaction of one upsert of `seq`.
fn write(seq: u64) -> Write {
    Write::Transaction(vec![TxOperation::Upsert(SaveItem::new(
        "head",
        json!({ "seq": seq }),
    ))])
}

fn conflict() -> Result<http::Response<Vec<u8>>, todo_dapr::TransportError> {
    dapr_error(500, "ERR_STATE_TRANSACTION", "etag mismatch")
}

#[test]
fn a_lost_race_is_paused_for_then_read_and_decided_again() {
    let c = client(vec![conflict(), no_content()]);
    let store = c.state("statestore");
    let (decided, paused) = (RefCell::new(Vec::new()), RefCell::new(Vec::new()));
    let answer = run(transact(
        &store,
        4,
        async |attempt| paused.borrow_mut().push(attempt),
        async |attempt| -> Result<_, DaprError> {
            decided.borrow_mut().push(attempt);
            Ok(Decided::Commit(write(attempt.into()), attempt))
        },
    ))
    .unwrap();
    assert_eq!(answer, 2, "the answer of the attempt that committed");
    assert_eq!(*decided.borrow(), [1, 2]);
    assert_eq!(*paused.borrow(), [1], "a pause after the lost race only");
    let sent = c.transport().requests();
    assert_eq!(sent.len(), 2);
    assert!(sent
        .iter()
        .all(|r| r.uri == "/v1.0/state/statestore/transaction"));
    assert_eq!(
        sent[1].json()["operations"][0]["request"]["value"]["seq"],
        2
    );
}

#[test]
fn when_every_attempt_loses_the_last_conflict_is_returned() {
    let c = client(vec![
        dapr_error(409, "ERR_STATE_SAVE", "first"),
        dapr_error(409, "ERR_STATE_SAVE", "second"),
        dapr_error(409, "ERR_STATE_SAVE", "third"),
    ]);
    let store = c.state("statestore");
    let paused = RefCell::new(Vec::new());
    let err = run(transact(
        &store,
        3,
        async |attempt| paused.borrow_mut().push(attempt),
        async |_| -> Result<_, DaprError> {
            Ok(Decided::Commit(
                Write::Save(vec![SaveItem::new("k", json!(1))]),
                (),
            ))
        },
    ))
    .unwrap_err();
    match err {
        TransactError::Contended(DaprError::EtagMismatch(message)) => {
            assert!(message.contains("third"), "{message}")
        }
        other => panic!("expected the last conflict, got {other:?}"),
    }
    assert_eq!(
        c.transport().requests().len(),
        3,
        "exactly `attempts` commits"
    );
    assert_eq!(*paused.borrow(), [1, 2, 3]);
}

#[test]
fn a_commit_that_fails_otherwise_ends_the_loop_at_once() {
    let c = client(vec![unreachable()]);
    let store = c.state("statestore");
    let paused = RefCell::new(0);
    let err = run(transact(
        &store,
        5,
        async |_| *paused.borrow_mut() += 1,
        async |_| -> Result<_, DaprError> {
            Ok(Decided::Commit(
                Write::Delete {
                    key: "k".into(),
                    etag: Some("3".into()),
                },
                (),
            ))
        },
    ))
    .unwrap_err();
    assert!(
        matches!(err, TransactError::Commit(DaprError::Unavailable(_))),
        "{err:?}"
    );
    assert_eq!(c.transport().only().header("if-match"), Some("3"));
    assert_eq!(*paused.borrow(), 0);
}

#[test]
fn an_answer_or_a_failed_decision_writes_nothing() {
    let c = client(Vec::new());
    let store = c.state("statestore");
    let answer = run(transact(
        &store,
        5,
        todo_dapr::document::at_once,
        async |_| -> Result<_, DaprError> { Ok(Decided::Answer("as it was")) },
    ))
    .unwrap();
    assert_eq!(answer, "as it was");
    let err = run(transact(
        &store,
        5,
        todo_dapr::document::at_once,
        async |_| -> Result<Decided<()>, _> { Err("unreadable") },
    ))
    .unwrap_err();
    assert_eq!(err, TransactError::Decide("unreadable"));
    assert!(c.transport().requests().is_empty());
}

#[test]
fn a_reread_uses_up_an_attempt_without_a_pause() {
    let c = client(vec![no_content()]);
    let store = c.state("statestore");
    let paused = RefCell::new(0);
    let answer = run(transact(
        &store,
        2,
        async |_| *paused.borrow_mut() += 1,
        async |attempt| -> Result<_, DaprError> {
            Ok(match attempt {
                1 => Decided::Reread,
                _ => Decided::Commit(write(1), attempt),
            })
        },
    ))
    .unwrap();
    assert_eq!(answer, 2);
    assert_eq!(*paused.borrow(), 0);
    let err = run(transact(
        &store,
        2,
        todo_dapr::document::at_once,
        async |_| -> Result<Decided<()>, DaprError> { Ok(Decided::Reread) },
    ))
    .unwrap_err();
    assert!(matches!(err, TransactError::Contended(_)), "{err:?}");
    assert_eq!(c.transport().requests().len(), 1);
}

#[test]
fn the_seen_marker_is_written_insert_only_with_its_ttl() {
    let item = Seen {
        user_id: "alice".into(),
        seq: 7,
    }
    .write("ev/1", 60)
    .unwrap();
    assert_eq!(item.key, "seen/ev%2F1");
    assert_eq!(Seen::key("ev/1"), item.key);
    assert_eq!(item.value, json!({ "userId": "alice", "seq": 7 }));
    assert_eq!(item.etag, None);
    assert_eq!(
        item.concurrency,
        Some(todo_dapr::state::Concurrency::FirstWrite)
    );
    assert_eq!(item.ttl_seconds, Some(60));
}
