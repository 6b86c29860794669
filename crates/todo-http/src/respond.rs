//! Building responses: JSON, RFC 9457 problems, and Dapr failures mapped to them.

use http::header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use serde::Serialize;
use todo_core::problem::{self, Problem};
use todo_dapr::document::TransactError;
use todo_dapr::DaprError;

use crate::Response;

/// `status` with a JSON body.
pub fn json<T: Serialize + ?Sized>(status: u16, value: &T) -> Response {
    let body = serde_json::to_vec(value).expect("response values always serialize");
    http::Response::builder()
        .status(status)
        .header(CONTENT_TYPE, "application/json")
        .body(body)
        .expect("static response parts are valid")
}

/// 204 No Content.
pub fn no_content() -> Response {
    http::Response::builder()
        .status(204)
        .body(Vec::new())
        .expect("static response parts are valid")
}

/// A problem+json response, with `Retry-After` when the problem carries one.
pub fn problem(problem: &Problem) -> Response {
    let mut builder = http::Response::builder()
        .status(problem.status)
        .header(CONTENT_TYPE, problem::CONTENT_TYPE);
    if let Some(secs) = problem.retry_after {
        builder = builder.header(RETRY_AFTER, secs.to_string());
    }
    if problem.status == 401 {
        // RFC 6750 §3: a 401 names the scheme the client should use.
        builder = builder.header(WWW_AUTHENTICATE, "Bearer realm=\"todo\"");
    }
    builder
        .body(problem.to_json())
        .expect("static response parts are valid")
}

/// How a failed sidecar call looks to an API client: transient failures are
/// 503 + `Retry-After` (the client may simply retry), anything else is our bug.
pub fn dapr_problem(err: &DaprError) -> Problem {
    if err.is_transient() {
        Problem::unavailable(
            format!("a backing service is unavailable, try again shortly ({err})"),
            1,
        )
    } else {
        Problem::internal(format!("unexpected sidecar answer: {err}"))
    }
}

/// A sidecar call's result as a handler's: its failure as [`dapr_problem`].
pub trait OrProblem<T> {
    fn or_problem(self) -> Result<T, Problem>;
}

impl<T> OrProblem<T> for Result<T, DaprError> {
    fn or_problem(self) -> Result<T, Problem> {
        self.map_err(|e| dapr_problem(&e))
    }
}

/// How a change that [`todo_dapr::document::transact`] gave up on answers an
/// API client: a failed read or decision with its own problem, a failed
/// commit as [`dapr_problem`], a race lost on every attempt as `contended`
/// (a 503 saying what kept changing).
pub fn transact_problem(
    err: TransactError<Problem>,
    contended: impl FnOnce() -> Problem,
) -> Problem {
    match err {
        TransactError::Decide(problem) => problem,
        TransactError::Commit(err) => dapr_problem(&err),
        TransactError::Contended(_) => contended(),
    }
}

/// Renders a handler's outcome: the response, or its problem as problem+json.
pub fn outcome(result: Result<Response, Problem>) -> Response {
    result.unwrap_or_else(|p| problem(&p))
}

/// How a pub/sub delivery route answers when its app token check failed: a
/// wrong token is 401 (the caller is not our sidecar); a secret store that
/// could not be read is transient, so `{"status":"RETRY"}` — never a DROP of
/// a message that may be perfectly good.
pub fn delivery_auth_failed(p: &Problem) -> Response {
    if p.status == 401 {
        problem(p)
    } else {
        todo_dapr::inbound::DeliveryStatus::Retry.reply()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unavailable_problem_sets_retry_after() {
        let response = problem(&dapr_problem(&DaprError::Unavailable("down".into())));
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()[RETRY_AFTER], "1");
        assert_eq!(response.headers()[CONTENT_TYPE], "application/problem+json");
    }

    #[test]
    fn rejected_call_is_an_internal_error() {
        let err = DaprError::Rejected {
            status: 400,
            code: "ERR_X".into(),
            message: "bad".into(),
        };
        assert_eq!(dapr_problem(&err).status, 500);
    }
}
