//! At-least-once delivery of pub/sub messages to subscribing apps, as daprd
//! does it (`pkg/runtime/subscription/subscription.go`,
//! `pkg/runtime/subscription/postman/http/http.go`).
//!
//! One worker per declarative subscription scoped to the app — a consumer
//! group named `<app-id>/<subscription>` — pulls its topic's messages from
//! the durable log and delivers each with
//! `POST <route>`, `Content-Type: application/cloudevents+json`, the
//! envelope bytes as published, `traceparent`/`tracestate` from the
//! envelope, `dapr-api-token` (the app token, when set) and the message
//! metadata as headers (`pubsubName`, and Kafka's `__key`, `__topic`,
//! `__partition`, `__offset`, `__timestamp`).
//!
//! Per message, in daprd's order:
//! 1. not a CloudEvent (unless the subscription has `rawPayload: "true"`,
//!    which wraps it) → the dead-letter topic, or without one back to the
//!    broker (see 4); expired (`expiration` passed) → dead-lettered or
//!    dropped; the app is not called;
//! 2. routing rules in order (the default route last); no match → acked
//!    (and copied to the dead-letter topic, if any, as daprd does);
//! 3. the app's reply: 2xx with `{"status":"SUCCESS"}`, `{}`, an empty or
//!    non-JSON body → ack; `"DROP"` or HTTP 404 → drop; `"RETRY"`, any
//!    other status string (even `"success"`), any other HTTP status or a
//!    connection error → retry under the Resiliency inbound retry policy of
//!    the pubsub component;
//! 4. retries exhausted (or no policy): with a `deadLetterTopic` the
//!    original message (its `topic` field untouched) is published there;
//!    without one the error goes back to "the broker", which — like Kafka's
//!    component — redelivers it every 5 s, forever, holding up that key.
//!
//! Drops and dead letters are also recorded in the store's `dead_letters`
//! table. Ordering, as a Kafka consumer has it (components-contrib's
//! consumer hands one partition's messages to the app one at a time, and
//! a message being retried holds up its partition): the key picks the
//! partition as the producer does ([`crate::kafka_partition`], the topic's
//! `KafkaTopic.spec.partitions`), a message is attempted only after every
//! earlier message of its partition is done, and partitions run in
//! parallel (up to [`MAX_IN_FLIGHT`] per subscription). A topic no
//! `KafkaTopic` declares (resources without any) is ordered per key. One
//! structured log line per attempt says what happened.
//!
//! Latency: a worker does not wait for a tick to see a new message. Every
//! publish (dead letters included) signals the store's `changes()` channel,
//! which wakes the workers at once — as daprd hands a Kafka message to the
//! app as soon as its consumer reads it; a finished delivery wakes its
//! worker too (the next message of that key may go), and a retry is slept
//! on until it is due. [`IDLE_RECHECK`] is only a safety net.
//!
//! Here: the workers, the order of the checks and the bookkeeping of each
//! outcome (ack, retry, dead letter, redelivery); `attempt.rs`: one
//! attempt's envelope, request and the reading of the app's answer.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::{Resources, RetryPolicy, Subscription};
use crate::metrics::metrics;
use crate::sidecar::app::{AppChannel, AppTarget};
use crate::sidecar::resilient::{Breaker, Breakers};
use crate::store::{now_ms, Delivery, Store};
use crate::worker;

mod attempt;
use attempt::{event_id_of, expired, Outcome};

/// Concurrent deliveries per subscription (each for a different partition).
pub const MAX_IN_FLIGHT: usize = 16;

/// How long "the broker" waits before redelivering a message whose
/// retries are exhausted and that has no dead-letter topic (Kafka's
/// component default).
pub const BROKER_REDELIVERY: Duration = Duration::from_secs(5);

/// How long an app may take to answer a delivery when the pubsub's
/// Resiliency target sets no `inbound.timeout` (with one, that: the
/// repository's `appCall` is 30 s). A delivery cut off counts as failed
/// and is retried, as daprd's policy runner treats `context deadline exceeded`.
const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// The longest a worker sleeps when nothing wakes it. Publishes wake it
/// through the store's change signal and retries are slept on until due, so
/// this only bounds how late anything the signal missed is noticed.
pub const IDLE_RECHECK: Duration = Duration::from_secs(1);

/// Starts one worker per subscription of `app`; the handle completes after
/// `shutdown`, once in-flight deliveries have been recorded.
/// `breakers` are the sidecar's, which an inbound breaker shares with the
/// outbound one of the same component (as in daprd).
pub fn start(
    store: Store,
    resources: Arc<Resources>,
    breakers: Arc<Breakers>,
    app: AppTarget,
    shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    start_with_recheck(store, resources, breakers, app, shutdown, IDLE_RECHECK)
}

/// [`start`] with another [`IDLE_RECHECK`] (a test sets an hour to show
/// that a publish alone wakes the workers).
pub fn start_with_recheck(
    store: Store,
    resources: Arc<Resources>,
    breakers: Arc<Breakers>,
    app: AppTarget,
    shutdown: watch::Receiver<bool>,
    recheck: Duration,
) -> JoinHandle<()> {
    let channel = AppChannel::new();
    let mut workers = Vec::new();
    for sub in resources.subscriptions_for(&app.app_id) {
        let Some(component) = resources
            .components_of(&app.app_id, "pubsub")
            .find(|c| c.name == sub.pubsubname)
        else {
            tracing::warn!(app_id = %app.app_id, subscription = %sub.name, pubsub = %sub.pubsubname,
                "subscription refers to a pubsub this app cannot use; skipped");
            continue;
        };
        let from_newest = component
            .meta("initialOffset")
            .is_some_and(|o| o.eq_ignore_ascii_case("newest"));
        let inbound = resources.inbound_policy(&app.app_id, &sub.pubsubname);
        let worker = Worker {
            store: store.clone(),
            app: app.clone(),
            channel: channel.clone(),
            group: format!("{}/{}", app.app_id, sub.name),
            policy: inbound.retry,
            breaker: inbound.breaker.map(|p| breakers.get(&sub.pubsubname, &p)),
            partitions: resources.partitions(&sub.topic),
            call_timeout: inbound.timeout.unwrap_or(DEFAULT_CALL_TIMEOUT),
            subscription: sub.clone(),
            recheck,
        };
        workers.push(tokio::spawn(worker.run(from_newest, shutdown.clone())));
    }
    tokio::spawn(async move {
        for w in workers {
            let _ = w.await;
        }
    })
}

#[derive(Clone)]
struct Worker {
    store: Store,
    app: AppTarget,
    channel: AppChannel,
    group: String,
    subscription: Subscription,
    policy: Option<RetryPolicy>,
    /// The inbound circuit breaker of the subscription's pubsub, if any.
    breaker: Option<Arc<Breaker>>,
    /// The topic's partition count (its `KafkaTopic`), if declared.
    partitions: Option<u32>,
    /// How long the app may take to answer one delivery.
    call_timeout: Duration,
    recheck: Duration,
}

impl Worker {
    async fn run(self, from_newest: bool, shutdown: watch::Receiver<bool>) {
        if let Err(e) = self
            .store
            .register_group(
                &self.group,
                &self.subscription.pubsubname,
                &self.subscription.topic,
                from_newest,
            )
            .await
        {
            tracing::error!(group = %self.group, error = %format!("{e:#}"), "cannot register consumer group");
            return;
        }
        let changes = self.store.changes();
        worker::run(self, MAX_IN_FLIGHT, changes, shutdown).await;
    }

    /// One attempt at one delivery, then its bookkeeping.
    async fn process(&self, delivery: Delivery) {
        let started = Instant::now();
        let attempt = delivery.attempts + 1;
        let msg = &delivery.message;
        let (event, body) = match self.envelope(&delivery) {
            Ok(v) => v,
            Err(reason) => {
                self.fail_permanently(&delivery, reason, attempt, "", "", started)
                    .await;
                return;
            }
        };
        let event_id = event_id_of(&event);
        if expired(&event) {
            self.give_up(
                &delivery,
                Outcome::Drop("expired".into()),
                attempt,
                Some(&event_id),
                started,
            )
            .await;
            return;
        }
        let route = match self.subscription.route_for(&event) {
            Ok(Some(route)) => route.to_string(),
            Ok(None) => {
                self.give_up(
                    &delivery,
                    Outcome::Skip("no matching route".into()),
                    attempt,
                    Some(&event_id),
                    started,
                )
                .await;
                return;
            }
            // daprd (`pkg/runtime/subscription/subscription.go`): a rule that
            // cannot be evaluated fails the message without calling the app.
            Err(e) => {
                let reason = format!("error finding matching route: {e}");
                self.fail_permanently(&delivery, reason, attempt, &event_id, "", started)
                    .await;
                return;
            }
        };
        // The inbound circuit breaker wraps each attempt (with its timeout)
        // as daprd's policy runner does (`pkg/resiliency/policy.go`). While
        // it is open an attempt is refused without calling the app, and the
        // refusal is permanent (`breaker.IsErrorPermanent` ends the
        // retries).
        let admitted = match &self.breaker {
            Some(b) => b.before(Instant::now()).map(Some),
            None => Ok(None),
        };
        let generation = match admitted {
            Ok(generation) => generation,
            Err(refusal) => {
                let reason = format!("inbound policy: {refusal}");
                self.fail_permanently(&delivery, reason, attempt, &event_id, &route, started)
                    .await;
                return;
            }
        };
        let (outcome, status) = self.post(&route, &event, body, msg).await;
        if let (Some(b), Some(generation)) = (&self.breaker, generation) {
            // A drop is no error to the runner: daprd dead-letters it inside
            // the operation and returns nil.
            let failed = matches!(outcome, Outcome::Retry(_));
            b.after(generation, !failed, Instant::now());
        }
        let elapsed_ms = started.elapsed().as_millis() as u64;
        match outcome {
            Outcome::Success => {
                tracing::info!(target: "devstack::delivery", app_id = %self.app.app_id,
                    subscription = %self.subscription.name, topic = %msg.topic, seq = msg.seq,
                    event_id = %event_id, route = %route, attempt, status, elapsed_ms,
                    outcome = "success", "delivery");
                metrics().delivery(&self.group, "success");
                if let Err(e) = self.store.ack(delivery.id).await {
                    tracing::error!(group = %self.group, error = %format!("{e:#}"), "ack failed");
                }
            }
            Outcome::Retry(reason) => {
                self.retry(
                    &delivery, reason, attempt, &event_id, &route, status, elapsed_ms,
                )
                .await
            }
            other => {
                self.give_up(&delivery, other, attempt, Some(&event_id), started)
                    .await
            }
        }
    }

    /// A failure no retry policy retries (the message cannot be read, no
    /// route can be decided, the breaker refuses): daprd sends the message
    /// to the dead-letter topic when there is one, else returns the error to
    /// the broker, which redelivers it (`subscription.go`).
    async fn fail_permanently(
        &self,
        delivery: &Delivery,
        reason: String,
        attempt: u64,
        event_id: &str,
        route: &str,
        started: Instant,
    ) {
        if self.subscription.dead_letter_topic.is_some() {
            let event_id = Some(event_id).filter(|id| !id.is_empty());
            self.give_up(delivery, Outcome::Drop(reason), attempt, event_id, started)
                .await;
        } else {
            let elapsed_ms = started.elapsed().as_millis() as u64;
            self.redeliver(
                delivery, &reason, attempt, event_id, route, None, elapsed_ms,
            )
            .await;
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn retry(
        &self,
        delivery: &Delivery,
        reason: String,
        attempt: u64,
        event_id: &str,
        route: &str,
        status: Option<u16>,
        elapsed_ms: u64,
    ) {
        let msg = &delivery.message;
        let retries_done = delivery.attempts;
        let now = now_ms();
        if let Some(policy) = self
            .policy
            .as_ref()
            .filter(|p| p.allows_retry(retries_done))
        {
            let delay = policy.delay(retries_done);
            tracing::warn!(target: "devstack::delivery", app_id = %self.app.app_id,
                subscription = %self.subscription.name, topic = %msg.topic, seq = msg.seq,
                event_id, route, attempt, status, elapsed_ms, reason = %reason,
                retry_in_ms = delay.as_millis() as u64, outcome = "retry", "delivery");
            metrics().delivery(&self.group, "retry");
            let at = now + delay.as_millis() as i64;
            if let Err(e) = self
                .store
                .retry_later(delivery.id, attempt, at, &reason)
                .await
            {
                tracing::error!(group = %self.group, error = %format!("{e:#}"), "recording retry failed");
            }
            return;
        }
        if let Some(dlq) = &self.subscription.dead_letter_topic {
            tracing::warn!(target: "devstack::delivery", app_id = %self.app.app_id,
                subscription = %self.subscription.name, topic = %msg.topic, seq = msg.seq,
                event_id, route, attempt, status, elapsed_ms, reason = %reason,
                dead_letter_topic = %dlq, outcome = "dead-lettered", "delivery");
            metrics().delivery(&self.group, "dead_letter");
            let why = format!("retries exhausted: {reason}");
            if let Err(e) = self
                .store
                .dead_letter(delivery.id, &self.group, msg, Some(dlq), &why)
                .await
            {
                tracing::error!(group = %self.group, error = %format!("{e:#}"), "dead-lettering failed");
            }
            return;
        }
        self.redeliver(
            delivery, &reason, attempt, event_id, route, status, elapsed_ms,
        )
        .await;
    }

    /// No dead-letter topic: "the broker" redelivers after
    /// [`BROKER_REDELIVERY`], starting a fresh round of policy retries.
    #[allow(clippy::too_many_arguments)]
    async fn redeliver(
        &self,
        delivery: &Delivery,
        reason: &str,
        attempt: u64,
        event_id: &str,
        route: &str,
        status: Option<u16>,
        elapsed_ms: u64,
    ) {
        let msg = &delivery.message;
        tracing::warn!(target: "devstack::delivery", app_id = %self.app.app_id,
            subscription = %self.subscription.name, topic = %msg.topic, seq = msg.seq,
            event_id, route, attempt, status, elapsed_ms, reason = %reason,
            retry_in_ms = BROKER_REDELIVERY.as_millis() as u64, outcome = "redeliver",
            "delivery (no deadLetterTopic: the broker redelivers)");
        let at = now_ms() + BROKER_REDELIVERY.as_millis() as i64;
        if let Err(e) = self.store.retry_later(delivery.id, 0, at, reason).await {
            tracing::error!(group = %self.group, error = %format!("{e:#}"), "recording redelivery failed");
        }
    }

    /// Drop or skip: the message is done for this subscription.
    async fn give_up(
        &self,
        delivery: &Delivery,
        outcome: Outcome,
        attempt: u64,
        event_id: Option<&str>,
        started: Instant,
    ) {
        let msg = &delivery.message;
        let dlq = self.subscription.dead_letter_topic.as_deref();
        let elapsed_ms = started.elapsed().as_millis() as u64;
        let (label, reason, record) = match &outcome {
            Outcome::Drop(r) => ("dropped", r.clone(), true),
            Outcome::Skip(r) => ("skipped", r.clone(), dlq.is_some()),
            _ => return,
        };
        tracing::warn!(target: "devstack::delivery", app_id = %self.app.app_id,
            subscription = %self.subscription.name, topic = %msg.topic, seq = msg.seq,
            event_id = event_id.unwrap_or(""), attempt, elapsed_ms, reason = %reason,
            dead_letter_topic = dlq.unwrap_or(""), outcome = label, "delivery");
        metrics().delivery(
            &self.group,
            match (label, dlq.is_some() && record) {
                (_, true) => "dead_letter",
                ("dropped", false) => "drop",
                _ => "skip",
            },
        );
        let result = if record {
            self.store
                .dead_letter(delivery.id, &self.group, msg, dlq, &reason)
                .await
        } else {
            self.store.ack(delivery.id).await
        };
        if let Err(e) = result {
            tracing::error!(group = %self.group, error = %format!("{e:#}"), "recording outcome failed");
        }
    }
}

/// One subscription's pending deliveries, as a [`worker::Work`]: at most
/// [`MAX_IN_FLIGHT`] at once, one per ordering key.
impl worker::Work for Worker {
    type Key = i64;
    type Item = Delivery;

    async fn due(&self, in_flight: Vec<i64>, room: usize) -> Vec<(i64, Delivery)> {
        if let Err(e) = self
            .store
            .pull(
                &self.group,
                &self.subscription.pubsubname,
                &self.subscription.topic,
                self.partitions,
            )
            .await
        {
            tracing::error!(group = %self.group, error = %format!("{e:#}"), "pulling messages failed");
        }
        if room == 0 {
            return Vec::new();
        }
        match self
            .store
            .ready_deliveries(&self.group, now_ms(), in_flight, room)
            .await
        {
            Ok(ready) => ready.into_iter().map(|d| (d.id, d)).collect(),
            Err(e) => {
                tracing::error!(group = %self.group, error = %format!("{e:#}"), "reading deliveries failed");
                Vec::new()
            }
        }
    }

    async fn idle(&self) -> Duration {
        let now = now_ms();
        let due = self
            .store
            .next_delivery_due(&self.group)
            .await
            .ok()
            .flatten();
        match due {
            Some(t) if t > now => Duration::from_millis((t - now) as u64).min(self.recheck),
            _ => self.recheck,
        }
    }

    async fn handle(&self, delivery: Delivery) {
        self.process(delivery).await;
    }
}
