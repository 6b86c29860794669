//! `GET /api/sync/changes?since=&wait=`: the long-poll form of the feed.
//! Answers as soon as there is something after `since` (or at once with
//! `wait=0`), at the latest after `wait` seconds (≤ 30), with
//! `{changes, cursor, reset}`; without `since`, it starts at the head (only
//! changes from now on).

use std::time::Duration;

use todo_core::sync::feed::{parse_wait, start_cursor, Backoff, ChangesPage};
use todo_core::Problem;
use todo_dapr::Transport;
use todo_http::respond::{json, OrProblem};
use todo_http::{query_pairs, Request, Response};

use crate::store::{self, Step};
use crate::Ctx;

pub async fn changes<T: Transport>(ctx: &Ctx<T>, request: &Request) -> Result<Response, Problem> {
    let user = ctx.user(request).await?;
    let (mut since, mut wait) = (None, None);
    for (key, value) in query_pairs(request) {
        match key.as_str() {
            "since" => since = Some(value),
            "wait" => wait = Some(value),
            other => {
                return Err(Problem::bad_request(format!(
                    "unknown query parameter {other:?}"
                )))
            }
        }
    }
    let since = start_cursor(None, since.as_deref())?;
    let wait = parse_wait(wait.as_deref())?;
    let deadline = ctx.now() + chrono::Duration::from_std(wait).unwrap_or_default();
    let mut cursor = match since {
        Some(cursor) => cursor,
        None => store::head(ctx, &user).await.or_problem()?,
    };
    let mut backoff = Backoff::default();
    loop {
        let page = |changes, cursor, reset| ChangesPage {
            changes,
            cursor,
            reset,
        };
        match store::read_after(ctx, &user, cursor).await.or_problem()? {
            Step::Changes(changes) => {
                cursor = changes.last().map_or(cursor, |c| c.seq);
                return Ok(json(200, &page(changes, cursor, false)));
            }
            Step::Reset(head) => return Ok(json(200, &page(Vec::new(), head, true))),
            Step::UpToDate => {
                let left = (deadline - ctx.now()).to_std().unwrap_or(Duration::ZERO);
                if left.is_zero() {
                    return Ok(json(200, &page(Vec::new(), cursor, false)));
                }
                ctx.config.pause(backoff.next_wait().min(left)).await;
            }
        }
    }
}
