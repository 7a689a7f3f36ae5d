//! The JSON bodies of the HTTP API that are not domain types: what the handlers
//! read from requests and the envelopes they answer with. They live here, not
//! in each function, so that the OpenAPI description (`crate::openapi`, feature
//! `openapi`) is derived from the very structs the handlers (de)serialise.

use serde::{Deserialize, Deserializer, Serialize};

use crate::domain::{Money, Role, Timestamp, User};

/// `POST /register` and `POST /login`.
#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Credentials {
    /// 3 to 32 characters of `[A-Za-z0-9_.-]`, unique case-insensitively.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "alice", pattern = "^[A-Za-z0-9_.-]{3,32}$")
    )]
    pub username: String,
    /// 8 to 128 characters.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "correct horse battery", min_length = 8, max_length = 128)
    )]
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

/// `200` of `POST /login` and `POST /token/refresh`.
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
    /// Opaque; `POST /token/refresh` trades it for new tokens, once.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "q3pY0n7k0Jt9m1m4d0c2Jc8pLQn4mJ1bQ2a3s4d5f6g")
    )]
    pub refresh_token: String,
    /// Seconds until the refresh token expires.
    #[cfg_attr(feature = "openapi", schema(example = 2592000))]
    pub refresh_expires_in: u64,
    pub user: LoginUser,
}

/// `POST /token/refresh` and `POST /logout`.
#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RefreshRequest {
    /// A refresh token from login or from the last refresh (43 characters of
    /// URL-safe base64).
    #[cfg_attr(
        feature = "openapi",
        schema(
            example = "q3pY0n7k0Jt9m1m4d0c2Jc8pLQn4mJ1bQ2a3s4d5f6g",
            pattern = "^[A-Za-z0-9_-]{43}$"
        )
    )]
    pub refresh_token: String,
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
    /// 1 to 200 characters, not all white space, no control characters.
    #[cfg_attr(
        feature = "openapi",
        schema(
            example = "Desk lamp",
            max_length = 200,
            pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$"
        )
    )]
    pub name: String,
    /// At most 2000 characters, no control characters.
    #[cfg_attr(
        feature = "openapi",
        schema(max_length = 2000, pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*$")
    )]
    pub description: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::openapi::Price))]
    pub price: Money,
    /// 1 to 64 characters, not all white space, no control characters.
    #[cfg_attr(
        feature = "openapi",
        schema(
            example = "Home",
            max_length = 64,
            pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$"
        )
    )]
    pub category: String,
    pub in_stock: Option<bool>,
}

/// `PUT /products/{id}`: any of the fields, at least one not `null` (`null`
/// counts as not given).
#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateProduct {
    #[cfg_attr(
        feature = "openapi",
        schema(
            max_length = 200,
            pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$"
        )
    )]
    pub name: Option<String>,
    #[cfg_attr(
        feature = "openapi",
        schema(max_length = 2000, pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*$")
    )]
    pub description: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::openapi::Price>))]
    pub price: Option<Money>,
    #[cfg_attr(
        feature = "openapi",
        schema(
            max_length = 64,
            pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$"
        )
    )]
    pub category: Option<String>,
    pub in_stock: Option<bool>,
}

/// Text with a character other than white space and no control character
/// (what `domain::product` accepts after trimming). The schema attributes
/// above repeat it (utoipa takes literals only); a test holds them equal.
#[cfg(feature = "openapi")]
pub const TEXT_PATTERN: &str =
    "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$";
/// Text without control characters, possibly empty.
#[cfg(feature = "openapi")]
pub const ANY_TEXT_PATTERN: &str = "^[^\\x00-\\x1f\\x7f-\\x9f]*$";

/// `PUT /products/{id}/stock`.
#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SetStock {
    pub in_stock: bool,
}

/// `POST /orders` and `POST /orders/{username}`: `{"items": [{"product_id",
/// "quantity"}, ...]}` or the single-line form `{"product_id", "quantity"}`.
/// (Its schema, in `crate::openapi`, says "one form or the other".)
#[derive(Deserialize)]
pub struct PlaceOrder {
    /// 1 to 50 lines; the same product twice is merged into one line.
    pub items: Option<Vec<OrderLineBody>>,
    /// The single-line form, with `quantity`, instead of `items`.
    #[serde(default, deserialize_with = "optional_integer")]
    pub product_id: Option<i64>,
    #[serde(default, deserialize_with = "optional_integer")]
    pub quantity: Option<i64>,
}

/// One line of an order request.
#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderLineBody {
    #[serde(deserialize_with = "integer")]
    #[cfg_attr(
        feature = "openapi",
        schema(example = 1, minimum = 1, maximum = 9007199254740991_i64)
    )]
    pub product_id: i64,
    /// 1 to 1000.
    #[serde(deserialize_with = "integer")]
    #[cfg_attr(feature = "openapi", schema(example = 2, minimum = 1, maximum = 1000))]
    pub quantity: i64,
}

/// `POST /invoices`.
#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreateInvoice {
    #[serde(deserialize_with = "integer")]
    #[cfg_attr(
        feature = "openapi",
        schema(example = 1, minimum = 1, maximum = 9007199254740991_i64)
    )]
    pub order_id: i64,
}

/// `PUT /invoices/{id}`: one of `draft`, `sent`, `paid`, `cancelled`.
#[derive(Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SetInvoiceStatus {
    #[cfg_attr(feature = "openapi", schema(example = "sent", value_type = crate::domain::InvoiceStatus))]
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

/// An integer, also when written with a zero fraction (`5.0`): JSON Schema
/// calls that an integer, and clients that only have doubles send it so.
fn integer<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    let number = serde_json::Number::deserialize(deserializer)?;
    if let Some(n) = number.as_i64() {
        return Ok(n);
    }
    match number.as_f64() {
        // Exactly representable integers only (|n| <= 2^53).
        Some(f) if f.fract() == 0.0 && f.abs() <= 9_007_199_254_740_992.0 => Ok(f as i64),
        _ => Err(serde::de::Error::custom(format!(
            "invalid value: {number}, expected an integer"
        ))),
    }
}

fn optional_integer<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    struct Wrapped(#[serde(deserialize_with = "integer")] i64);
    Ok(Option::<Wrapped>::deserialize(deserializer)?.map(|Wrapped(n)| n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_may_be_written_with_a_zero_fraction_only() {
        let line: OrderLineBody =
            serde_json::from_str(r#"{"product_id": 7.0, "quantity": 2}"#).unwrap();
        assert_eq!((line.product_id, line.quantity), (7, 2));
        assert!(
            serde_json::from_str::<OrderLineBody>(r#"{"product_id": 7.5, "quantity": 2}"#).is_err()
        );
        assert!(
            serde_json::from_str::<OrderLineBody>(r#"{"product_id": "7", "quantity": 2}"#).is_err()
        );
        let order: PlaceOrder =
            serde_json::from_str(r#"{"product_id": 3.0, "quantity": null}"#).unwrap();
        assert_eq!((order.product_id, order.quantity), (Some(3), None));
        let order: PlaceOrder = serde_json::from_str(r#"{"items": []}"#).unwrap();
        assert_eq!((order.product_id, order.quantity), (None, None));
    }
}
