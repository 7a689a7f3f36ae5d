//! `Idempotency-Key` on the creating routes (`POST /orders`, `POST
//! /orders/{username}`, `POST /invoices`): claim the key, run the request once,
//! remember its final answer, replay it to retries.
//!
//! A creating route comes in two phases: `prepare` only reads (parses the
//! body, looks up what the request refers to) and `create` writes. The claim
//! runs alongside `prepare`, since neither depends on the other: a keyed
//! request waits for the slower of the two rather than for both in turn, and
//! when the claim says the key is answered or in use, what `prepare` read is
//! dropped unused. `create` runs only once the key is claimed.
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
    let (outcome, prepared) = tokio::join!(store.claim_idempotency_key(&claim), prepare());
    match outcome? {
        ClaimOutcome::Claimed => {}
        ClaimOutcome::Replay(stored) => return Ok(replay(&stored)),
        ClaimOutcome::InProgress { lease_until } => {
            return Err(AppError::IdempotencyKeyInUse {
                retry_after_seconds: u64::try_from(lease_until.unix() - now.unix())
                    .unwrap_or(0)
                    .max(1),
            });
        }
        ClaimOutcome::Mismatch => return Err(AppError::IdempotencyKeyReused),
    }

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
    let created = match prepared {
        Ok(prepared) => create(prepared, Some(&finish)).await,
        Err(err) => Err(err),
    };
    match created {
        Ok(value) => {
            let rendered = rendered
                .into_inner()
                .unwrap_or_else(PoisonError::into_inner);
            match rendered {
                Some(response) => Ok(response),
                None => {
                    let response = respond(&value);
                    store
                        .complete_idempotency_key(&claim, &stored(&response))
                        .await?;
                    Ok(response)
                }
            }
        }
        Err(err) => {
            let in_use = matches!(err, AppError::IdempotencyKeyInUse { .. });
            if is_remembered(err.status().as_u16(), in_use) {
                tracing::info!(
                    code = err.code(),
                    "request refused; answer remembered for its key"
                );
                let response = error_response(&err, &request_id(req));
                store
                    .complete_idempotency_key(&claim, &stored(&response))
                    .await?;
                Ok(response)
            } else {
                if !in_use && let Err(e) = store.release_idempotency_key(&claim).await {
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
