//! The JSON bodies of the HTTP API that are not domain types: what the handlers
//! read from requests and the envelopes they answer with. They live here, not
//! in each function, so that the OpenAPI description (`crate::openapi`, feature
//! `openapi`) is derived from the very structs the handlers (de)serialise.

use serde::{Deserialize, Serialize};

use crate::domain::{Money, Role, Timestamp, User};

/// `POST /register` and `POST /login`.
#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Credentials {
    /// 3 to 32 characters of `[A-Za-z0-9_.-]`, unique case-insensitively.
    #[cfg_attr(feature = "openapi", schema(example = "alice"))]
    pub username: String,
    /// 8 to 128 characters.
    #[cfg_attr(feature = "openapi", schema(example = "correct horse battery"))]
    pub password: String,
}

/// `201` of `POST /register`.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Registered {
    #[cfg_attr(feature = "openapi", schema(example = "User created successfully"))]
    pub message: &'static str,
    pub user: User,
}

/// `200` of `POST /login`.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoggedIn {
    #[cfg_attr(feature = "openapi", schema(example = "Login successful"))]
    pub message: &'static str,
    /// The access token (a JWT) for `Authorization: Bearer`.
    pub token: String,
    #[cfg_attr(feature = "openapi", schema(example = "Bearer"))]
    pub token_type: &'static str,
    /// Seconds until the token expires.
    #[cfg_attr(feature = "openapi", schema(example = 3600))]
    pub expires_in: u64,
    pub user: LoginUser,
}

/// Who logged in.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginUser {
    pub id: i64,
    pub username: String,
    pub role: Role,
}

/// `POST /products`. `description` defaults to `""`, `in_stock` to true.
#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateProduct {
    /// 1 to 200 characters.
    #[cfg_attr(feature = "openapi", schema(example = "Desk lamp"))]
    pub name: String,
    /// At most 2000 characters.
    pub description: Option<String>,
    pub price: Money,
    /// 1 to 64 characters.
    #[cfg_attr(feature = "openapi", schema(example = "Home"))]
    pub category: String,
    pub in_stock: Option<bool>,
}

/// `PUT /products/{id}`: any of the fields, at least one.
#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateProduct {
    pub name: Option<String>,
    pub description: Option<String>,
    pub price: Option<Money>,
    pub category: Option<String>,
    pub in_stock: Option<bool>,
}

/// `PUT /products/{id}/stock`.
#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SetStock {
    pub in_stock: bool,
}

/// `POST /orders` and `POST /orders/{username}`: `{"items": [{"product_id",
/// "quantity"}, ...]}` or the single-line form `{"product_id", "quantity"}`.
#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PlaceOrder {
    /// 1 to 50 lines; the same product twice is merged into one line.
    pub items: Option<Vec<OrderLineBody>>,
    /// The single-line form, with `quantity`, instead of `items`.
    pub product_id: Option<i64>,
    pub quantity: Option<i64>,
}

/// One line of an order request.
#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderLineBody {
    #[cfg_attr(feature = "openapi", schema(example = 1))]
    pub product_id: i64,
    /// 1 to 1000.
    #[cfg_attr(feature = "openapi", schema(example = 2))]
    pub quantity: i64,
}

/// `POST /invoices`.
#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateInvoice {
    #[cfg_attr(feature = "openapi", schema(example = 1))]
    pub order_id: i64,
}

/// `PUT /invoices/{id}`: one of `draft`, `sent`, `paid`, `cancelled`.
#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SetInvoiceStatus {
    #[cfg_attr(feature = "openapi", schema(example = "sent"))]
    pub status: String,
}

/// `GET /health`.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    /// `ok`, or `degraded` (with 503) when the store does not answer.
    #[cfg_attr(feature = "openapi", schema(example = "ok"))]
    pub status: &'static str,
    pub timestamp: Timestamp,
    pub database: HealthStore,
}

/// The store's part of `GET /health`.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HealthStore {
    #[cfg_attr(feature = "openapi", schema(example = "sqlite"))]
    pub driver: &'static str,
    pub ok: bool,
}

/// The error body of every 4xx and 5xx a function answers.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = Error))]
pub struct ErrorBody<'a> {
    /// A sentence for people.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "product 7 not found"))]
    pub error: String,
    /// Stable, machine-readable, snake_case.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "product_not_found"))]
    pub code: &'a str,
    /// RFC 3339, UTC.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime, example = "2026-11-24T09:30:00Z"))]
    pub timestamp: String,
    /// The id of the request, to quote when reporting a problem.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "c2VydmVy-1"))]
    pub request_id: &'a str,
}

/// The platform's own answers in front of protected routes (API Gateway's
/// authorizer step): 401 `Unauthorized` without an Authorization header, 403
/// `Forbidden` for a token the authorizer rejects.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GatewayMessage {
    #[cfg_attr(feature = "openapi", schema(example = "Unauthorized"))]
    pub message: String,
}
