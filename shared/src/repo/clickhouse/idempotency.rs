//! `Idempotency-Key` records on ClickHouse, decided by first claims like every
//! other race of this backend (see the module comment of `clickhouse/mod.rs`).
//!
//! - A **lease** is a row of `idem_leases` for `(owner, generation)`, owner
//!   being `<user id>:<key>`; the first row of a generation holds the key. A
//!   retry takes over a lapsed lease by claiming the next generation.
//! - A **result** is the first claim on `<period>:<owner>` in `idem_results`:
//!   it carries the remembered response and the order row the request created,
//!   so the response and the order are decided by one append. Only its winner
//!   writes the order row (a reader that finds it missing writes it from the
//!   claim), so a lapsed holder and the retry that took over cannot both
//!   create an order. A period spans the generations of one use of the key;
//!   after 24 hours the next claim opens a new period.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::rows::{from_json, to_json};
use super::sql;
use super::store::ClickHouseStore;
use crate::domain::{ClaimOutcome, IdemClaim, StoredResponse, Timestamp};
use crate::error::{AppError, AppResult};
use crate::repo::IdempotencyRepo;
use crate::repo::random;

/// How often a claim re-reads after losing a generation to a concurrent one.
const CLAIM_ATTEMPTS: usize = 4;

#[derive(Serialize, Deserialize)]
struct LeasePayload {
    fingerprint: String,
    lease_until: i64,
    expires_at: i64,
    period: u64,
}

#[derive(Serialize, Deserialize)]
struct ResultPayload {
    fingerprint: String,
    status: u16,
    body: String,
    location: Option<String>,
    /// The order row the request created, if it created one.
    order: Option<serde_json::Value>,
}

#[derive(Serialize)]
struct LeaseRow<'a> {
    owner: &'a str,
    generation: u64,
    token: u64,
    payload: String,
}

#[derive(Deserialize)]
struct Lease {
    generation: u64,
    payload: String,
}

fn owner(claim: &IdemClaim) -> String {
    format!("{}:{}", claim.user_id, claim.key.as_str())
}

fn result_key(period: u64, owner: &str) -> String {
    format!("{period}:{owner}")
}

/// The claim's random token, as this backend's 64-bit token column holds it.
fn token64(claim: &IdemClaim) -> AppResult<u64> {
    claim
        .token
        .get(..16)
        .and_then(|hex| u64::from_str_radix(hex, 16).ok())
        .ok_or_else(|| AppError::internal("claim token is not hex"))
}

#[async_trait]
impl IdempotencyRepo for ClickHouseStore {
    async fn claim_idempotency_key(&self, claim: &IdemClaim) -> AppResult<ClaimOutcome> {
        self.claim_key(claim).await
    }

    async fn complete_idempotency_key(
        &self,
        claim: &IdemClaim,
        response: &StoredResponse,
    ) -> AppResult<bool> {
        self.finish_key(claim, response, None).await
    }

    async fn release_idempotency_key(&self, claim: &IdemClaim) -> AppResult<()> {
        self.release_key(claim).await
    }
}

impl ClickHouseStore {
    async fn claim_key(&self, claim: &IdemClaim) -> AppResult<ClaimOutcome> {
        let http = self.ready().await?;
        let owner = owner(claim);
        let now = claim.now.unix();
        for _ in 0..CLAIM_ATTEMPTS {
            let latest: Option<Lease> = http.select_one(&sql::latest_lease(&owner)).await?;
            let (generation, period, expires_at) = match latest {
                None => (0, 0, claim.expires_at().unix()),
                Some(lease) => {
                    let held: LeasePayload = from_json(&lease.payload)?;
                    if held.expires_at <= now {
                        // The key's 24 hours are over: a new period.
                        let next = lease.generation + 1;
                        (next, next, claim.expires_at().unix())
                    } else if let Some(result) = self.result(&owner, held.period).await? {
                        return Ok(if result.fingerprint == claim.fingerprint {
                            self.write_order_if_missing(&result).await?;
                            ClaimOutcome::Replay(StoredResponse {
                                status: result.status,
                                body: result.body,
                                location: result.location,
                            })
                        } else {
                            ClaimOutcome::Mismatch
                        });
                    } else if held.fingerprint != claim.fingerprint {
                        return Ok(ClaimOutcome::Mismatch);
                    } else if held.lease_until > now {
                        return Ok(ClaimOutcome::InProgress {
                            lease_until: Timestamp::from_unix(held.lease_until),
                        });
                    } else {
                        // A lapsed lease: take over within the same period.
                        (lease.generation + 1, held.period, held.expires_at)
                    }
                }
            };
            let token = token64(claim)?;
            let payload = LeasePayload {
                fingerprint: claim.fingerprint.clone(),
                lease_until: claim.lease_until.unix(),
                expires_at,
                period,
            };
            self.append_lease(&owner, generation, token, &payload)
                .await?;
            #[derive(Deserialize)]
            struct Holder {
                token: u64,
            }
            let holder: Option<Holder> = http
                .select_one(&sql::lease_holder(&owner, generation))
                .await?;
            if holder.is_some_and(|h| h.token == token) {
                return Ok(ClaimOutcome::Claimed);
            }
            // A concurrent claim won this generation: read the key again.
        }
        Ok(ClaimOutcome::InProgress {
            lease_until: Timestamp::from_unix(now + 1),
        })
    }

    /// Claims the result of the claim's period with `response` (and the order
    /// row it created); `false` when another result won or the claim holds no
    /// lease. The winner writes the order row.
    pub(super) async fn finish_key(
        &self,
        claim: &IdemClaim,
        response: &StoredResponse,
        order: Option<serde_json::Value>,
    ) -> AppResult<bool> {
        let http = self.ready().await?;
        let owner = owner(claim);
        let Some(lease) = self.lease_of(&owner, claim).await? else {
            return Ok(false);
        };
        // A claim released or taken over no longer holds the latest generation.
        // (Should a takeover land between this read and the result claim, the
        // two contend for the period's one result: still one winner.)
        #[derive(Deserialize)]
        struct Latest {
            token: u64,
        }
        let latest: Option<Latest> = http.select_one(&sql::latest_lease(&owner)).await?;
        let mine = token64(claim)?;
        if latest.is_none_or(|l| l.token != mine) {
            return Ok(false);
        }
        let payload = ResultPayload {
            fingerprint: claim.fingerprint.clone(),
            status: response.status,
            body: response.body.clone(),
            location: response.location.clone(),
            order,
        };
        let won = self
            .claim(
                sql::IDEM_RESULTS,
                &result_key(lease.period, &owner),
                to_json(&payload)?,
            )
            .await?
            .won;
        if won && let Some(order) = &payload.order {
            http.insert(sql::ORDERS, &[order]).await?;
        }
        Ok(won)
    }

    /// Ends the claim's lease early (after a 5xx), so a retry runs at once:
    /// appends the next generation with a lapsed lease. If another claim has
    /// taken that generation, this row is not its first and changes nothing.
    async fn release_key(&self, claim: &IdemClaim) -> AppResult<()> {
        let owner = owner(claim);
        let Some(mine) = self.lease_of(&owner, claim).await? else {
            return Ok(());
        };
        let lapsed = LeasePayload {
            lease_until: 0,
            ..mine
        };
        let next = self.lease_generation(&owner, claim).await? + 1;
        self.append_lease(&owner, next, random::token(), &lapsed)
            .await
    }

    async fn append_lease(
        &self,
        owner: &str,
        generation: u64,
        token: u64,
        payload: &LeasePayload,
    ) -> AppResult<()> {
        self.ready()
            .await?
            .insert(
                sql::IDEM_LEASES,
                &[LeaseRow {
                    owner,
                    generation,
                    token,
                    payload: to_json(payload)?,
                }],
            )
            .await
    }

    async fn lease_of(&self, owner: &str, claim: &IdemClaim) -> AppResult<Option<LeasePayload>> {
        #[derive(Deserialize)]
        struct Mine {
            payload: String,
        }
        let mine: Option<Mine> = self
            .ready()
            .await?
            .select_one(&sql::lease_of(owner, token64(claim)?))
            .await?;
        mine.map(|m| from_json(&m.payload)).transpose()
    }

    async fn lease_generation(&self, owner: &str, claim: &IdemClaim) -> AppResult<u64> {
        #[derive(Deserialize)]
        struct Mine {
            generation: u64,
        }
        let mine: Option<Mine> = self
            .ready()
            .await?
            .select_one(&sql::lease_of(owner, token64(claim)?))
            .await?;
        Ok(mine.map_or(0, |m| m.generation))
    }

    async fn result(&self, owner: &str, period: u64) -> AppResult<Option<ResultPayload>> {
        let key = result_key(period, owner);
        #[derive(Deserialize)]
        struct First {
            token: u64,
        }
        let first: Option<First> = self
            .ready()
            .await?
            .select_one(&sql::first_claim(sql::IDEM_RESULTS, &key))
            .await?;
        match first {
            None => Ok(None),
            Some(first) => Ok(Some(from_json(
                &self
                    .claim_payload(sql::IDEM_RESULTS, &key, first.token)
                    .await?,
            )?)),
        }
    }

    /// A result won but whose winner died before writing the order: write it
    /// from the claim (the same row; reads collapse duplicates).
    async fn write_order_if_missing(&self, result: &ResultPayload) -> AppResult<()> {
        let Some(order) = &result.order else {
            return Ok(());
        };
        let id = order["id"]
            .as_i64()
            .ok_or_else(|| AppError::internal("remembered order row has no id"))?;
        let http = self.ready().await?;
        let existing: Option<serde_json::Value> = http.select_one(&sql::order_by_id(id)).await?;
        if existing.is_none() {
            http.insert(sql::ORDERS, &[order]).await?;
        }
        Ok(())
    }
}
