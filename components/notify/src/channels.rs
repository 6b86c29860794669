//! Delivery to the external channels of a fired reminder: a signed webhook
//! POST and an e-mail through the Dapr SMTP output binding. Each gets up to
//! [`MAX_ATTEMPTS`] attempts inside the callback (a WASI instance lives for
//! one request, so there is no "later" here), with short waits between them;
//! every attempt is logged and the result is recorded by the caller.

use std::collections::BTreeMap;
use std::time::Duration;

use todo_core::events::account::scrub_addresses;
use todo_core::notify::delivery::{
    reminder_email, External, FiredRecord, MAX_ATTEMPTS, RETRY_DELAYS_MS,
};
use todo_core::notify::settings::{validate_webhook_url, NotifySettings};
use todo_core::notify::webhook::{judge, signed_request, AttemptOutcome};
use todo_dapr::Transport;

use crate::Ctx;

/// Delivers `record`'s notification on `channel` with the user's current
/// `settings`; returns the result and the number of attempts made.
pub async fn send<T: Transport, W: Transport>(
    ctx: &Ctx<T, W>,
    channel: External,
    record: &FiredRecord,
    settings: &NotifySettings,
) -> (Result<(), String>, u32) {
    let id = record.notification.id;
    let mut last = String::new();
    for attempt in 1..=MAX_ATTEMPTS {
        let outcome = match channel {
            External::Webhook => webhook(ctx, record, settings).await,
            External::Email => email(ctx, record, settings).await,
        };
        let label = match channel {
            External::Webhook => "webhook",
            External::Email => "email",
        };
        match outcome {
            Ok(()) => {
                eprintln!("notify: {label} for notification {id}: delivered (attempt {attempt})");
                return (Ok(()), attempt);
            }
            Err((AttemptOutcome::Retry, error)) if attempt < MAX_ATTEMPTS => {
                eprintln!("notify: {label} for notification {id}: attempt {attempt} failed, retrying: {error}");
                let wait = RETRY_DELAYS_MS[(attempt as usize - 1).min(RETRY_DELAYS_MS.len() - 1)];
                ctx.config.pause(Duration::from_millis(wait)).await;
                last = error;
            }
            Err((_, error)) => {
                eprintln!(
                    "notify: {label} for notification {id}: failed (attempt {attempt}): {error}"
                );
                return (Err(error), attempt);
            }
        }
    }
    (Err(last), MAX_ATTEMPTS)
}

type Attempt = Result<(), (AttemptOutcome, String)>;

async fn webhook<T: Transport, W: Transport>(
    ctx: &Ctx<T, W>,
    record: &FiredRecord,
    settings: &NotifySettings,
) -> Attempt {
    let refused = |why: String| Err((AttemptOutcome::Refused, why));
    let (Some(url), Some(secret)) = (&settings.webhook_url, &settings.webhook_secret) else {
        return refused("no webhook is configured any more".into());
    };
    // Settings may predate the current policy: check again before sending.
    if let Err(why) = validate_webhook_url(url, &ctx.config.webhooks) {
        return refused(format!("webhookUrl {why}"));
    }
    let signed = signed_request(&record.user_id, &record.notification, secret, ctx.now());
    let mut request = http::Request::builder().method("POST").uri(url.as_str());
    for (name, value) in &signed.headers {
        request = request.header(*name, value);
    }
    let mut request = match request.body(signed.body) {
        Ok(r) => r,
        Err(e) => return refused(format!("cannot build the request: {e}")),
    };
    // The receiver joins the trace of the job that fired the reminder.
    todo_dapr::trace::propagate(request.headers_mut());
    match ctx.config.web.send(request).await {
        Ok(response) => {
            let status = response.status().as_u16();
            match judge(Some(status)) {
                AttemptOutcome::Delivered => Ok(()),
                other => Err((other, format!("the receiver answered {status}"))),
            }
        }
        Err(err) => Err((judge(None), err.to_string())),
    }
}

async fn email<T: Transport, W: Transport>(
    ctx: &Ctx<T, W>,
    record: &FiredRecord,
    settings: &NotifySettings,
) -> Attempt {
    let Some(to) = &settings.email else {
        return Err((
            AttemptOutcome::Refused,
            "no e-mail address is configured any more".into(),
        ));
    };
    let email = reminder_email(&record.notification);
    let metadata = BTreeMap::from([
        ("emailTo".to_string(), to.clone()),
        ("subject".to_string(), email.subject),
    ]);
    ctx.dapr
        .invoke_binding(
            &ctx.config.email_binding,
            "create",
            &serde_json::Value::String(email.html),
            &metadata,
        )
        .await
        .map(|_| ())
        .map_err(|err| {
            let outcome = if err.is_transient() {
                AttemptOutcome::Retry
            } else {
                AttemptOutcome::Refused
            };
            // SMTP servers echo the recipient ("550 <addr> rejected"): the
            // error is logged and stored on the notification, so no address.
            (outcome, scrub_addresses(&err.to_string()))
        })
}
