//! `Idempotency-Key` on the creating routes (`POST /orders`, `POST
//! /orders/{username}`, `POST /invoices`): claim the key, run the request once,
//! remember its final answer, replay it to retries.
//!
//! A creating route comes in two phases: `prepare` only reads (parses the
//! body, looks up what the request refers to) and `create` writes. Two ways to
//! hold the key while `create` runs, chosen by the store:
//! - The SQL stores take the key in the unit of work that creates
//!   (`IdempotencyRepo::takes_keys_when_creating`): the order or invoice and
//!   the answered key are written together, when the key is free. A keyed
//!   request then costs the round trips of an unkeyed one; a separate claim
//!   runs only when the key was not free (to replay it, or say why not) or to
//!   remember a refusal. Requests racing with one key queue on the key's row
//!   and the losers replay the winner's answer.
//! - The others claim first, alongside `prepare`, since neither depends on
//!   the other: a keyed request waits for the slower of the two rather than
//!   for both in turn, and when the claim says the key is answered or in use,
//!   what `prepare` read is dropped unused. `create` runs only once the key
//!   is claimed.
//!
//! A claim holds a lease: locally a fixed bound, in Lambda never past the
//! invocation's deadline (a request cannot outlive it). Once the lease lapses a
//! retry takes over; the old holder, if it still runs, can no longer finish
//! (its unit of work is conditional on the claim) so nothing is created twice.

use std::sync::{Mutex, PoisonError};

use http::HeaderValue;
use http::header::{CONTENT_TYPE, LOCATION};
use lambda_http::{Body, Request, RequestExt, Response};

use super::{HttpResult, error_response, request_id};
use crate::domain::idempotency::{fingerprint, is_remembered};
use crate::domain::{
    ClaimOutcome, IdemClaim, IdemFinish, IdempotencyKey, StoredResponse, Timestamp,
};
use crate::error::{AppError, AppResult};
use crate::repo::Store;

pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
pub const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";
/// The longest a claim holds off retries when nothing else bounds it.
pub const LEASE_SECONDS: i64 = 30;

/// Runs a creating route at most once per `Idempotency-Key` of `user_id`:
/// `prepare` (reads only: it may run for a request that then creates
/// nothing), then `create` with what it prepared, answering with `respond` of
/// the result. Without the header, just runs them. `create` receives the
/// finishing half of the claim to hand to the unit of work that creates
/// something; an answer that created nothing is remembered here.
pub async fn respond_once<P, T>(
    store: &dyn Store,
    req: &Request,
    user_id: i64,
    respond: &(dyn Fn(&T) -> Response<Body> + Send + Sync),
    prepare: impl AsyncFnOnce() -> AppResult<P>,
    create: impl AsyncFnOnce(P, Option<&IdemFinish<'_, T>>) -> AppResult<T>,
) -> HttpResult {
    let Some(header) = req.headers().get(IDEMPOTENCY_KEY) else {
        let prepared = prepare().await?;
        return create(prepared, None).await.map(|value| respond(&value));
    };
    let key = IdempotencyKey::parse(header.to_str().map_err(|_| {
        AppError::InvalidIdempotencyKey("Idempotency-Key must be printable ASCII")
    })?)?;
    let now = Timestamp::now();
    let claim = IdemClaim::new(
        user_id,
        key,
        fingerprint(req.method().as_str(), req.uri().path(), req.body().as_ref()),
        now,
        lease_until(req, now),
    )?;

    // The backend calls `render` for the unit of work it commits (it may
    // render a template first: `IdemFinish::template`), and the response it
    // rendered last is the one sent; if it never does, the request created
    // nothing and its answer is stored below.
    let rendered: Mutex<Option<Response<Body>>> = Mutex::new(None);
    let render = |value: &T| {
        let response = respond(value);
        let remembered = stored(&response);
        *rendered.lock().unwrap_or_else(PoisonError::into_inner) = Some(response);
        remembered
    };
    let finish = IdemFinish {
        claim: &claim,
        render: &render,
    };
    let answer = async |created: AppResult<T>| {
        let sent = rendered
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        answer(store, req, &claim, respond, created, sent).await
    };

    if store.takes_keys_when_creating() {
        // No claim ahead of the work: the unit of work that creates takes the
        // key if it is free, so the usual request (a new key) creates at once.
        // The claim runs after it only when the key was not free (to replay
        // or refuse), or to remember an answer that created nothing.
        let attempt = match prepare().await {
            Ok(ready) => create(ready, Some(&finish)).await,
            Err(err) => Err(err),
        };
        let sent = rendered
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let to_remember = match attempt {
            Ok(_) if let Some(response) = sent => return Ok(response),
            Ok(value) => Some(Ok(value)),
            Err(AppError::IdempotencyKeyInUse { .. }) => None,
            // Not remembered (a 5xx); nothing was taken, so nothing to release.
            Err(err) if !is_remembered(err.status().as_u16(), false) => return Err(err),
            Err(err) => Some(Err(err)),
        };
        let outcome = store.claim_idempotency_key(&claim).await?;
        if let Some(settled) = settled(outcome, now) {
            return settled;
        }
        return match to_remember {
            Some(result) => answer(result).await,
            // The key was not free when the work ran, and is now (its holder
            // failed, or its lease lapsed, in between): the work is not run
            // twice in one request; the client's retry runs it.
            None => {
                store.release_idempotency_key(&claim).await?;
                Err(AppError::IdempotencyKeyInUse {
                    retry_after_seconds: 1,
                })
            }
        };
    }

    // The claim runs alongside `prepare`.
    let (outcome, prepared) = tokio::join!(store.claim_idempotency_key(&claim), prepare());
    if let Some(settled) = settled(outcome?, now) {
        return settled;
    }
    let created = match prepared {
        Ok(prepared) => create(prepared, Some(&finish)).await,
        Err(err) => Err(err),
    };
    answer(created).await
}

/// The answer a claim decides by itself, if it does: a replay, or a refusal
/// while the key runs elsewhere or was used for another request; `None` when
/// it claimed the key.
fn settled(outcome: ClaimOutcome, now: Timestamp) -> Option<HttpResult> {
    match outcome {
        ClaimOutcome::Claimed => None,
        ClaimOutcome::Replay(stored) => Some(Ok(replay(&stored))),
        ClaimOutcome::InProgress { lease_until } => Some(Err(AppError::IdempotencyKeyInUse {
            retry_after_seconds: u64::try_from(lease_until.unix() - now.unix())
                .unwrap_or(0)
                .max(1),
        })),
        ClaimOutcome::Mismatch => Some(Err(AppError::IdempotencyKeyReused)),
    }
}

/// The answer to a keyed request that ran: the response the backend stored
/// with what it created (`sent`), or the one rendered and remembered here
/// when it created nothing; after an answer that is not remembered (a 5xx),
/// the key is released so that a retry runs again.
async fn answer<T>(
    store: &dyn Store,
    req: &Request,
    claim: &IdemClaim,
    respond: &(dyn Fn(&T) -> Response<Body> + Send + Sync),
    created: AppResult<T>,
    sent: Option<Response<Body>>,
) -> HttpResult {
    match created {
        Ok(value) => match sent {
            Some(response) => Ok(response),
            None => {
                let response = respond(&value);
                store
                    .complete_idempotency_key(claim, &stored(&response))
                    .await?;
                Ok(response)
            }
        },
        Err(err) => {
            let in_use = matches!(err, AppError::IdempotencyKeyInUse { .. });
            if is_remembered(err.status().as_u16(), in_use) {
                tracing::info!(
                    code = err.code(),
                    "request refused; answer remembered for its key"
                );
                let response = error_response(&err, &request_id(req));
                store
                    .complete_idempotency_key(claim, &stored(&response))
                    .await?;
                Ok(response)
            } else {
                if !in_use && let Err(e) = store.release_idempotency_key(claim).await {
                    // The lease lapses by itself; a retry then takes over.
                    tracing::warn!(error = %e, "could not release an idempotency key");
                }
                Err(err)
            }
        }
    }
}

/// Now plus the fixed lease, but never past the Lambda invocation's deadline.
fn lease_until(req: &Request, now: Timestamp) -> Timestamp {
    let bound = now.unix() + LEASE_SECONDS;
    let deadline = req
        .lambda_context_ref()
        .map(|ctx| i64::try_from(ctx.deadline / 1000).unwrap_or(i64::MAX))
        .filter(|&d| d > now.unix());
    Timestamp::from_unix(deadline.map_or(bound, |d| d.min(bound)))
}

fn stored(response: &Response<Body>) -> StoredResponse {
    StoredResponse {
        status: response.status().as_u16(),
        body: String::from_utf8_lossy(response.body().as_ref()).into_owned(),
        location: response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    }
}

fn replay(stored: &StoredResponse) -> Response<Body> {
    let mut response = Response::new(Body::Text(stored.body.clone()));
    *response.status_mut() =
        http::StatusCode::from_u16(stored.status).unwrap_or(http::StatusCode::OK);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    if let Some(location) = stored.location.as_deref().and_then(|l| l.parse().ok()) {
        headers.insert(LOCATION, location);
    }
    response
}

/// `Retry-After` for a 409 `idempotency_key_in_use` (and a 429 `too_many_attempts`).
pub(super) fn retry_after(err: &AppError) -> Option<HeaderValue> {
    err.retry_after_seconds()
        .and_then(|seconds| HeaderValue::from_str(&seconds.to_string()).ok())
}
