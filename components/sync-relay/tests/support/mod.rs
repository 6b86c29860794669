//! Test harness: sync-relay's handler over the in-memory fake sidecar, with
//! a clock that pauses move, and a script of deliveries that land while a
//! stream or long-poll waits (as another instance would append them).

#![allow(dead_code)]

pub use fake_dapr::harness::*;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use fake_dapr::FakeDapr;
use serde_json::{json, Value};
use sync_relay::context::Config;
use sync_relay::stream::EventSink;
use sync_relay::{Answer, Ctx};

pub const LIFETIME: Duration = Duration::from_secs(60);

/// Deliveries to make once the clock reaches their time.
type Script = Arc<Mutex<VecDeque<(DateTime<Utc>, Value)>>>;

/// At each pause: the clock, and how many sidecar calls were made by then.
type Marks = Arc<Mutex<Vec<(DateTime<Utc>, usize)>>>;

pub struct Harness {
    pub dapr: FakeDapr,
    pub clock: Clock,
    pub pauses: Arc<Mutex<Vec<Duration>>>,
    script: Script,
    /// When each scripted delivery was made (clock time).
    pub delivered_at: Arc<Mutex<Vec<DateTime<Utc>>>>,
    /// At each pause: the clock, and how many sidecar calls were made by
    /// then (see [`Harness::timed_calls`]).
    marks: Marks,
    pub ctx: Ctx<FakeDapr>,
}

fn config(pause: sync_relay::context::Pause) -> Config {
    Config {
        state_store: STORE.into(),
        stream_lifetime: LIFETIME,
        auth: auth_config(),
        pause,
    }
}

fn context(dapr: &FakeDapr, clock: &Clock, pause: sync_relay::context::Pause) -> Ctx<FakeDapr> {
    Ctx::new(client(dapr), config(pause), clock.reader())
}

pub fn harness() -> Harness {
    let dapr = sidecar();
    let clock = Clock::default();
    let pauses: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let script: Script = Arc::default();
    let delivered_at: Arc<Mutex<Vec<DateTime<Utc>>>> = Arc::default();
    let marks: Marks = Arc::default();
    let pause: sync_relay::context::Pause = {
        let (dapr, clock, pauses, script, delivered_at, marks) = (
            dapr.clone(),
            clock.clone(),
            pauses.clone(),
            script.clone(),
            delivered_at.clone(),
            marks.clone(),
        );
        Box::new(move |d| {
            pauses.lock().unwrap().push(d);
            marks
                .lock()
                .unwrap()
                .push((clock.now(), dapr.calls().len()));
            let now = clock.advance(chrono::Duration::from_std(d).unwrap());
            let mut due = Vec::new();
            {
                let mut script = script.lock().unwrap();
                while script.front().is_some_and(|(at, _)| *at <= now) {
                    due.push(script.pop_front().unwrap().1);
                }
            }
            let (dapr, clock, delivered_at) = (dapr.clone(), clock.clone(), delivered_at.clone());
            Box::pin(async move {
                let other = context(&dapr, &clock, Box::new(|_| Box::pin(async {})));
                for event in due {
                    let reply = full(sync_relay::handle(&other, delivery(&event)).await);
                    assert_eq!(reply.status(), 200);
                    delivered_at.lock().unwrap().push(now);
                }
            })
        })
    };
    let ctx = context(&dapr, &clock, pause);
    Harness {
        dapr,
        clock,
        pauses,
        script,
        delivered_at,
        marks,
        ctx,
    }
}

impl Harness {
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Every sidecar call so far as `(clock time, METHOD, path)`: the clock
    /// only moves in pauses, so a call was made at the time of the first
    /// pause after it (or now).
    pub fn timed_calls(&self) -> Vec<(DateTime<Utc>, String, String)> {
        let marks = self.marks.lock().unwrap().clone();
        self.dapr
            .calls()
            .into_iter()
            .enumerate()
            .map(|(i, (method, path))| {
                let at = marks
                    .iter()
                    .find(|(_, made)| *made > i)
                    .map_or_else(|| self.now(), |(at, _)| *at);
                (at, method, path)
            })
            .collect()
    }

    /// Delivers `event` once the clock reaches `at` (during some pause).
    pub fn deliver_at(&self, at: DateTime<Utc>, event: Value) {
        self.script.lock().unwrap().push_back((at, event));
    }

    /// Delivers `event` now and returns Dapr's reply status.
    pub fn deliver(&self, event: &Value) -> String {
        let reply = self.send(delivery(event));
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.body["status"].as_str().unwrap().to_string()
    }

    /// Opens a stream and runs it into a recorder that hangs up after
    /// `max_chunks` writes (or when the stream ends).
    pub fn stream(&self, request: http::Request<Vec<u8>>, max_chunks: usize) -> Streamed {
        match futures::executor::block_on(sync_relay::handle(&self.ctx, request)) {
            Answer::Full(response) => Streamed::Refused(Reply::from(response)),
            Answer::Stream(stream) => {
                let mut sink = Recorder {
                    chunks: Vec::new(),
                    max_chunks,
                    clock: self.clock.clone(),
                };
                futures::executor::block_on(stream.run(&self.ctx, &mut sink));
                Streamed::Ran(sink.chunks)
            }
        }
    }
}

impl Handler for Harness {
    /// A buffered response (panics on a stream).
    fn handle(&self, request: http::Request<Vec<u8>>) -> http::Response<Vec<u8>> {
        full(futures::executor::block_on(sync_relay::handle(
            &self.ctx, request,
        )))
    }
}

fn full(answer: Answer) -> http::Response<Vec<u8>> {
    match answer {
        Answer::Full(response) => response,
        Answer::Stream(_) => panic!("expected a buffered response"),
    }
}

/// Records what a stream writes (and when).
pub struct Recorder {
    pub chunks: Vec<(DateTime<Utc>, String)>,
    max_chunks: usize,
    clock: Clock,
}

impl EventSink for Recorder {
    async fn send(&mut self, chunk: String) -> bool {
        if self.chunks.len() >= self.max_chunks {
            return false;
        }
        self.chunks.push((self.clock.now(), chunk));
        true
    }
}

pub enum Streamed {
    Refused(Reply),
    Ran(Vec<(DateTime<Utc>, String)>),
}

impl Streamed {
    pub fn chunks(self) -> Vec<(DateTime<Utc>, String)> {
        match self {
            Streamed::Ran(chunks) => chunks,
            Streamed::Refused(reply) => panic!("stream refused: {} {}", reply.status, reply.body),
        }
    }

    /// Every event of the stream, with when it was written.
    pub fn frames(self) -> Vec<(DateTime<Utc>, Frame)> {
        self.chunks()
            .into_iter()
            .flat_map(|(at, chunk)| parse_frames(&chunk).into_iter().map(move |f| (at, f)))
            .collect()
    }

    pub fn refused(self) -> Reply {
        match self {
            Streamed::Refused(reply) => reply,
            Streamed::Ran(_) => panic!("stream was not refused"),
        }
    }
}

/// One SSE frame (blank-line separated block).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Frame {
    pub id: Option<u64>,
    pub event: Option<String>,
    pub data: Option<Value>,
    pub retry: Option<u64>,
    pub comment: Option<String>,
}

pub fn parse_frames(text: &str) -> Vec<Frame> {
    assert!(
        text.ends_with("\n\n"),
        "frames end with a blank line: {text:?}"
    );
    text.split("\n\n")
        .filter(|block| !block.is_empty())
        .map(|block| {
            let mut frame = Frame::default();
            for line in block.lines() {
                if let Some(c) = line.strip_prefix(": ") {
                    frame.comment = Some(c.to_string());
                } else if let Some((field, value)) = line.split_once(": ") {
                    match field {
                        "id" => frame.id = Some(value.parse().unwrap()),
                        "event" => frame.event = Some(value.to_string()),
                        "data" => frame.data = Some(serde_json::from_str(value).unwrap()),
                        "retry" => frame.retry = Some(value.parse().unwrap()),
                        other => panic!("unknown field {other}"),
                    }
                } else {
                    panic!("malformed line {line:?}");
                }
            }
            frame
        })
        .collect()
}

pub fn get(path: &str, user: Option<&str>, headers: &[(&str, &str)]) -> http::Request<Vec<u8>> {
    let mut request = call("GET", path);
    if let Some(user) = user {
        request = request.user(user);
    }
    for (k, v) in headers {
        request = request.header(k, v);
    }
    request.request()
}

/// A delivery of `event` as Dapr makes it.
pub fn delivery(event: &Value) -> http::Request<Vec<u8>> {
    cloud_event(
        "/events/sync-relay/task-updates",
        &serde_json::to_vec(event).unwrap(),
    )
    .request()
}

/// A `todo.sync.task-changed.v1` envelope for `user` (event id `id`).
pub fn task_changed(user: &str, id: &str) -> Value {
    json!({
        "specversion": "1.0",
        "id": id,
        "source": "task-api",
        "type": "todo.sync.task-changed.v1",
        "time": "2026-11-27T10:00:00Z",
        "datacontenttype": "application/json",
        "data": {
            "userId": user,
            "taskId": "0193b2c4-1111-7000-8000-000000000001",
            "version": 2,
            "change": "deleted",
            "task": null
        },
        "topic": "task-updates",
        "pubsubname": "kafka-pubsub"
    })
}

/// Delivers `n` task changes for `user` with ids `{prefix}-1…`.
pub fn fill(h: &Harness, user: &str, prefix: &str, n: usize) {
    for i in 1..=n {
        assert_eq!(
            h.deliver(&task_changed(user, &format!("{prefix}-{i}"))),
            "SUCCESS"
        );
    }
}
