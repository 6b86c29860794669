//! Accounts: `POST /api/auth/signup` and `GET /api/auth/me`.
//!
//! The rules (address normal form, password policy, name, the 409 and the
//! view) are `todo_core::identity::account`; this file orders the calls.

use todo_core::events::account_created_event;
use todo_core::identity::account::{self, email_key, Account};
use todo_core::identity::hashing::{self, SALT_LEN};
use todo_core::Problem;
use todo_dapr::Transport;
use todo_http::body::require_json;
use todo_http::respond::json;
use todo_http::{Request, Response};
use uuid::Uuid;

use crate::store::{self, AccountDocument, Created};
use crate::{outbox, Ctx};

/// `{email, password, name}` → 201 with the account's view.
///
/// Order: body (415/400) → every rule (422 naming each field) → the address
/// already claimed? (409, before any hashing) → argon2id hash → one
/// transaction writing `account/{id}` (with the account-created event in its
/// outbox) and the insert-only address claim (a concurrent sign-up with the
/// same address that wins → 409), after arming the outbox job → publish the
/// event and disarm the job (a failure is retried by the job, see
/// [`outbox`]) → 201.
pub async fn signup<T: Transport>(ctx: &Ctx<T>, request: &Request) -> Result<Response, Problem> {
    require_json(request)?;
    let input = account::parse_sign_up(request.body())?;
    let valid = account::validate_sign_up(input).map_err(Problem::validation)?;
    let claim_key = email_key(&valid.email);
    if store::email_claim(ctx, &claim_key).await?.is_some() {
        return Err(account::email_taken());
    }
    let now = ctx.now();
    let salt = ctx.config.random_bytes::<SALT_LEN>();
    let hash = hashing::hash_password(&valid.password, &salt, &ctx.config.password)?;
    let account = Account::new(ctx.config.new_id(now), &valid, hash, now);
    let event = account_created_event(&account, now, ctx.config.new_id(now));
    let doc = AccountDocument {
        account,
        outbox: vec![event],
    };
    let job = outbox::arm(ctx, doc.account.id).await?;
    // On an error the commit may still have happened (a lost answer): the
    // job stays armed and finds out.
    match store::create_account(ctx, &doc, &claim_key).await? {
        Created::Committed => {}
        Created::Taken => {
            outbox::disarm(ctx, &job).await;
            return Err(account::email_taken());
        }
    }
    if outbox::flush(ctx, &doc).await == 0 {
        outbox::disarm(ctx, &job).await;
    }
    Ok(json(201, &doc.account.view()))
}

/// The caller's account (bearer JWT, verified as every component does): 200
/// with its view; a token whose `sub` is no account (e.g. a `devstack
/// token` user) → 404. Publishes a pending account-created event.
pub async fn me<T: Transport>(ctx: &Ctx<T>, request: &Request) -> Result<Response, Problem> {
    let subject = ctx.user(request).await?;
    let id = Uuid::parse_str(&subject)
        .ok()
        .filter(|id| id.hyphenated().to_string() == subject);
    let found = match id {
        Some(id) => store::load_account(ctx, id).await?,
        None => None,
    };
    let Some(doc) = found else {
        return Err(Problem::not_found(
            "no account belongs to this access token's subject",
        ));
    };
    outbox::flush(ctx, &doc.value).await;
    Ok(json(200, &doc.value.account.view()))
}
