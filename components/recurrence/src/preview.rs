//! `GET /api/recurrence/preview?rrule=&dtstart=&timezone=&count=`: the next
//! dates of a rule, so a client can show a series before saving it.

use todo_core::recurrence::query::PreviewQuery;
use todo_core::Problem;
use todo_dapr::Transport;
use todo_http::respond::json;
use todo_http::{Request, Response};

use crate::Ctx;

/// → `{rrule, dtstart, timezone, dates}`; a bad rule, timezone, date or
/// count → 400 problem naming the parameter.
pub async fn preview<T: Transport>(ctx: &Ctx<T>, request: &Request) -> Result<Response, Problem> {
    ctx.user(request).await?;
    let query = PreviewQuery::parse(request.uri().query().unwrap_or(""))?;
    let dates = query.dates()?;
    Ok(json(
        200,
        &serde_json::json!({
            "rrule": query.rrule,
            "dtstart": query.dtstart,
            "timezone": query.timezone,
            "dates": dates,
        }),
    ))
}
