//! Handlers of `/api/notifications…`: the inbox, read marks, settings.

use todo_core::notify::inbox::{InboxHead, InboxQuery, Notification};
use todo_core::notify::settings::{self, NotifySettings, SettingsInput, SettingsView};
use todo_core::Problem;
use todo_dapr::document::{
    at_once, guarded_upsert, transact, Decided, TransactError, Write, MAX_ATTEMPTS,
};
use todo_dapr::state::TxOperation;
use todo_dapr::{DaprError, Transport};
use todo_http::respond::{json, OrProblem};
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
    let inbox = store::load_inbox(ctx, &user).await.or_problem()?;
    Ok(json(200, &inbox.page(&query)))
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
    match mark_read(ctx, &user, id).await.or_problem()? {
        Some(notification) => Ok(json(200, &notification)),
        None => Err(not_found()),
    }
}

/// Marks notification `id` of `user` read where it is stored: in the head
/// (written with its ETag, and cut into pages if it is of the old layout)
/// or in a sealed page (written with that page's ETag). Nothing is written
/// when it was read already. `None`: no such notification.
async fn mark_read<T: Transport, W: Transport>(
    ctx: &Ctx<T, W>,
    user: &str,
    id: Uuid,
) -> Result<Option<Notification>, DaprError> {
    let key = inbox_key(user);
    let state = ctx.dapr.state(&ctx.config.state_store);
    transact(&state, MAX_ATTEMPTS, at_once, async |_| {
        let now = ctx.now();
        let mut head = store::load::<T, W, InboxHead>(ctx, &key).await?;
        if let Some((notification, changed)) = head.value.mark_read(id, now) {
            let spill = head.value.spill();
            if !changed && spill.is_empty() {
                return Ok(Decided::Answer(Some(notification)));
            }
            let mut operations = vec![TxOperation::Upsert(guarded_upsert(
                key.as_str(),
                &head.value,
                head.etag,
            )?)];
            operations.extend(store::spill_operations(user, &spill)?);
            return Ok(Decided::Commit(
                Write::Transaction(operations),
                Some(notification),
            ));
        }
        let sheets = store::load_sheets(ctx, user, &head.value.sheets).await?;
        let Some((number, mut sheet, (notification, changed))) = sheets
            .into_iter()
            .find_map(|(n, mut s)| s.value.mark_read(id, now).map(|found| (n, s, found)))
        else {
            return Ok(Decided::Answer(None));
        };
        if !changed {
            return Ok(Decided::Answer(Some(notification)));
        }
        let item = guarded_upsert(
            store::inbox_sheet_key(user, number),
            &sheet.value,
            sheet.etag.take(),
        )?;
        Ok(Decided::Commit(Write::Save(vec![item]), Some(notification)))
    })
    .await
    .map_err(TransactError::into_inner)
}

/// `GET /api/notifications/settings` → `{email, webhookUrl, webhookSecretSet}`.
pub async fn get_settings<T: Transport, W: Transport>(
    ctx: &Ctx<T, W>,
    request: &Request,
) -> Result<Response, Problem> {
    let user = ctx.user(request).await?;
    let settings = store::load::<T, W, NotifySettings>(ctx, &settings_key(&user))
        .await
        .or_problem()?;
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
        |stored: &mut NotifySettings| match settings::apply(
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
    .or_problem()?;
    match (saved, invalid) {
        (Some(view), _) => Ok(json(200, &view)),
        (None, Some(errors)) => Err(Problem::validation(errors)),
        (None, None) => Err(Problem::internal("settings were not saved")),
    }
}
