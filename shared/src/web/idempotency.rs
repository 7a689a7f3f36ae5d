//! `Idempotency-Key` on the creating routes (`POST /orders`, `POST
//! /orders/{username}`, `POST /invoices`): claim the key, run the request once,
//! remember its final answer, replay it to retries.
//!
//! A claim holds a lease: locally a fixed bound, in Lambda never past the
//! invocation's deadline (a request cannot outlive it). Once the lease lapses a
//! retry takes over; the old holder, if it still runs, can no longer finish
//! (its unit of work is conditional on the claim) so nothing is created twice.

use std::sync::atomic::{AtomicBool, Ordering};

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

/// Runs `work` at most once per `Idempotency-Key` of `user_id`, answering with
/// `respond` of its result. Without the header, just runs it. `work` receives
/// the finishing half of the claim to hand to the unit of work that creates
/// something; an answer that created nothing is remembered here.
pub async fn respond_once<T>(
    store: &dyn Store,
    req: &Request,
    user_id: i64,
    respond: &(dyn Fn(&T) -> Response<Body> + Send + Sync),
    work: impl AsyncFnOnce(Option<&IdemFinish<'_, T>>) -> AppResult<T>,
) -> HttpResult {
    let Some(header) = req.headers().get(IDEMPOTENCY_KEY) else {
        return work(None).await.map(|value| respond(&value));
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
    match store.claim_idempotency_key(&claim).await? {
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

    // The backend calls `render` inside the unit of work it commits; if it
    // never does, the request created nothing and its answer is stored below.
    let stored_by_work = AtomicBool::new(false);
    let render = |value: &T| {
        stored_by_work.store(true, Ordering::Relaxed);
        stored(&respond(value))
    };
    let finish = IdemFinish {
        claim: &claim,
        render: &render,
    };
    match work(Some(&finish)).await {
        Ok(value) => {
            let response = respond(&value);
            if !stored_by_work.load(Ordering::Relaxed) {
                store
                    .complete_idempotency_key(&claim, &stored(&response))
                    .await?;
            }
            Ok(response)
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
