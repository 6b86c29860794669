//! daprd's policy runner around an app's calls to its components (state,
//! publish), as `targets.components.<name>.outbound` of the Resiliency
//! resources says (dapr/dapr `pkg/resiliency/policy.go`): each attempt is
//! bounded by the timeout (its error: `context deadline exceeded`), a failed
//! attempt is retried by the retry policy, and an error the caller calls
//! permanent is answered at once. daprd makes only a save's ETag mismatch
//! permanent (`pkg/components/state/bulk.go`, `backoff.Permanent`); deletes
//! and transactions are retried even on an ETag mismatch, and whatever still
//! fails is answered as without a policy. Circuit breakers are not run.

use std::future::Future;

use crate::config::OutboundPolicy;

/// The error text of an attempt cut off by the timeout (Go's
/// `context.DeadlineExceeded`).
pub const DEADLINE_EXCEEDED: &str = "context deadline exceeded";

/// Runs `attempt` under `policy`. `permanent` says which errors end the
/// retries; `timed_out` makes the error of an attempt the timeout cut off.
pub async fn run<T, E, F, Fut>(
    policy: &OutboundPolicy,
    permanent: impl Fn(&E) -> bool,
    timed_out: impl Fn() -> E,
    mut attempt: F,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut retries = 0;
    loop {
        let outcome = match policy.timeout {
            Some(limit) => tokio::time::timeout(limit, attempt())
                .await
                .unwrap_or_else(|_| Err(timed_out())),
            None => attempt().await,
        };
        let error = match outcome {
            Ok(value) => return Ok(value),
            Err(e) if permanent(&e) => return Err(e),
            Err(e) => e,
        };
        match &policy.retry {
            Some(retry) if retry.allows_retry(retries) => {
                tokio::time::sleep(retry.delay(retries)).await;
                retries += 1;
            }
            _ => return Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::time::Duration;

    use super::*;
    use crate::config::RetryPolicy;

    fn policy(retries: u64, timeout_ms: Option<u64>) -> OutboundPolicy {
        OutboundPolicy {
            retry: Some(RetryPolicy::constant(
                Duration::from_millis(1),
                Some(retries),
            )),
            timeout: timeout_ms.map(Duration::from_millis),
        }
    }

    #[tokio::test]
    async fn failures_are_retried_up_to_the_policy_then_answered() {
        let calls = Cell::new(0);
        let result: Result<(), String> = run(
            &policy(2, None),
            |_| false,
            || "timeout".to_string(),
            || {
                calls.set(calls.get() + 1);
                async { Err("down".to_string()) }
            },
        )
        .await;
        assert_eq!(result, Err("down".to_string()));
        assert_eq!(calls.get(), 3, "one try and two retries");
    }

    #[tokio::test]
    async fn a_permanent_error_is_not_retried_and_a_success_ends_it() {
        let calls = Cell::new(0);
        let result: Result<(), String> = run(
            &policy(5, None),
            |e: &String| e == "etag",
            || "timeout".to_string(),
            || {
                calls.set(calls.get() + 1);
                async { Err("etag".to_string()) }
            },
        )
        .await;
        assert_eq!((result, calls.get()), (Err("etag".to_string()), 1));

        let calls = Cell::new(0);
        let result: Result<u32, String> = run(
            &policy(5, None),
            |_| false,
            || "timeout".to_string(),
            || {
                calls.set(calls.get() + 1);
                let n = calls.get();
                async move {
                    if n < 3 {
                        Err("down".to_string())
                    } else {
                        Ok(n)
                    }
                }
            },
        )
        .await;
        assert_eq!(result, Ok(3));
    }

    #[tokio::test]
    async fn each_attempt_is_cut_off_by_the_timeout() {
        let result: Result<(), String> = run(
            &policy(1, Some(10)),
            |_| false,
            || DEADLINE_EXCEEDED.to_string(),
            || async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                Ok(())
            },
        )
        .await;
        assert_eq!(result, Err(DEADLINE_EXCEEDED.to_string()));
    }
}
