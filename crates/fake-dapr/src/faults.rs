//! The fault-injection controls: the sidecar or its store down, publishes
//! and output bindings failing, a racing writer landing between a client's
//! read and its commit.

use crate::{FakeDapr, StateView};

/// A write that lands between a client's read and its commit.
pub(crate) type RacingWriter = Box<dyn FnOnce(&mut StateView) + Send>;

impl FakeDapr {
    /// While down, every call fails like a refused connection.
    pub fn set_down(&self, down: bool) {
        self.lock().down = down;
    }

    /// The next `n` publishes answer 500 `ERR_PUBSUB_PUBLISH_MESSAGE`.
    pub fn fail_publishes(&self, n: usize) {
        self.lock().failing_publishes = n;
    }

    /// Runs `writer` against the state just before the next transaction is
    /// applied, to simulate a concurrent request winning the race.
    pub fn race_next_transaction(&self, writer: impl FnOnce(&mut StateView) + Send + 'static) {
        self.lock().race = Some(Box::new(writer));
    }

    /// Runs `writer` against the state just before the next single save
    /// (`POST /v1.0/state/{store}`) is applied: a concurrent request winning.
    pub fn race_next_save(&self, writer: impl FnOnce(&mut StateView) + Send + 'static) {
        self.lock().race_save = Some(Box::new(writer));
    }

    /// The next `n` output-binding calls answer 500 `ERR_INVOKE_OUTPUT_BINDING`.
    pub fn fail_bindings(&self, n: usize) {
        self.lock().failing_bindings = n;
    }

    /// While down, state calls answer 500 (the store is unreachable) while
    /// the rest of the sidecar works.
    pub fn set_state_down(&self, down: bool) {
        self.lock().state_down = down;
    }
}
