//! Handlers of `/api/notifications…`: the inbox, read marks, settings.

use todo_core::notification::{Inbox, InboxQuery};
use todo_core::notify_settings::{self, NotifySettings, SettingsInput, SettingsView};
use todo_core::Problem;
use todo_dapr::Transport;
use todo_http::respond::{dapr_problem, json};
use todo_http::{body, Request, Response};
use uuid::Uuid;

use crate::store::{self, inbox_key, settings_key};
use crate::Ctx;

/// `GET /api/notifications?unread=&limit=&cursor=` → `{items, nextCursor, unread}`.
pub async fn list<T: Transport, W: Transport>(
    ctx: &Ctx<T, W>,
    request: &Request,
) -> Result<Response, Problem> {
    let user = ctx.user(request).await?;
    let query = InboxQuery::parse(request.uri().query().unwrap_or(""))?;
    let inbox = store::load::<T, W, Inbox>(ctx, &inbox_key(&user))
        .await
        .map_err(|e| dapr_problem(&e))?;
    Ok(json(200, &inbox.value.page(&query)))
}

/// `POST /api/notifications/{id}/read` → the notification (idempotent).
pub async fn read<T: Transport, W: Transport>(
    ctx: &Ctx<T, W>,
    request: &Request,
    id: &str,
) -> Result<Response, Problem> {
    let user = ctx.user(request).await?;
    let not_found = || Problem::not_found(format!("no notification {id}"));
    let id: Uuid = id.parse().map_err(|_| not_found())?;
    let now = ctx.now();
    let mut found = None;
    store::update(ctx, &inbox_key(&user), None, |inbox: &mut Inbox| {
        let (notification, changed) = inbox.mark_read(id, now)?;
        found = Some(notification);
        changed.then_some(())
    })
    .await
    .map_err(|e| dapr_problem(&e))?;
    found.map(|n| json(200, &n)).ok_or_else(not_found)
}

/// `GET /api/notifications/settings` → `{email, webhookUrl, webhookSecretSet}`.
pub async fn get_settings<T: Transport, W: Transport>(
    ctx: &Ctx<T, W>,
    request: &Request,
) -> Result<Response, Problem> {
    let user = ctx.user(request).await?;
    let settings = store::load::<T, W, NotifySettings>(ctx, &settings_key(&user))
        .await
        .map_err(|e| dapr_problem(&e))?;
    Ok(json(200, &SettingsView::from(&settings.value)))
}

/// `PUT /api/notifications/settings`: replaces the settings (the write-only
/// `webhookSecret` is kept when absent); 422 lists every invalid field.
pub async fn put_settings<T: Transport, W: Transport>(
    ctx: &Ctx<T, W>,
    request: &Request,
) -> Result<Response, Problem> {
    let user = ctx.user(request).await?;
    let input: SettingsInput = body::json(request)?;
    let mut invalid = None;
    let saved = store::update(
        ctx,
        &settings_key(&user),
        None,
        |stored: &mut NotifySettings| match notify_settings::apply(
            stored,
            input.clone(),
            &ctx.config.webhooks,
        ) {
            Ok(next) => {
                *stored = next;
                Some(SettingsView::from(&*stored))
            }
            Err(errors) => {
                invalid = Some(errors);
                None
            }
        },
    )
    .await
    .map_err(|e| dapr_problem(&e))?;
    match (saved, invalid) {
        (Some(view), _) => Ok(json(200, &view)),
        (None, Some(errors)) => Err(Problem::validation(errors)),
        (None, None) => Err(Problem::internal("settings were not saved")),
    }
}
