//! The one error type of the service. Every failure a client can see is a variant
//! here, with a stable `code` (part of the API contract) and an HTTP status.

use http::StatusCode;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Input failed validation; the message names the field.
    #[error("{0}")]
    Validation(String),
    #[error("request body must be valid JSON: {0}")]
    InvalidJson(String),
    #[error("request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// No usable credentials (no token, malformed, expired, forged).
    #[error("{0}")]
    Unauthorized(String),
    #[error("invalid username or password")]
    InvalidCredentials,
    /// A refresh token that is unknown, spent, expired, revoked or someone else's.
    #[error("the refresh token is invalid, expired or revoked")]
    InvalidRefreshToken,
    /// Too many failed logins for this username; login reopens after the window.
    #[error("too many failed login attempts; retry later")]
    TooManyAttempts { retry_after_seconds: u64 },
    #[error("{0}")]
    Forbidden(String),
    #[error("no route for {method} {path}")]
    RouteNotFound { method: String, path: String },
    /// The path exists, but not for this method; `allowed` are the methods it takes.
    #[error("method {method} is not allowed on {path}; it takes {}", .allowed.join(", "))]
    MethodNotAllowed {
        method: String,
        path: String,
        allowed: Vec<String>,
    },
    #[error("product {0} not found")]
    ProductNotFound(i64),
    /// A product named inside a request body (an order line) does not exist: 400, not 404.
    #[error("items: product {0} does not exist")]
    UnknownProductInOrder(i64),
    #[error("order {0} not found")]
    OrderNotFound(i64),
    #[error("invoice {0} not found")]
    InvoiceNotFound(i64),
    #[error("order {0} has no invoice")]
    InvoiceNotFoundForOrder(i64),
    #[error("user {0} not found")]
    UserNotFound(String),
    #[error("username is already taken")]
    UsernameTaken,
    #[error("product {0} is out of stock")]
    ProductOutOfStock(i64),
    #[error("cannot change invoice status from {from} to {to}")]
    InvalidStatusTransition { from: String, to: String },
    /// The invoice changed while we were updating it, more times than we retry.
    #[error("the invoice was changed concurrently; retry the request")]
    Conflict,
    /// A malformed `Idempotency-Key` header.
    #[error("{0}")]
    InvalidIdempotencyKey(&'static str),
    /// The key was used before with a different method, path or body.
    #[error("this Idempotency-Key was used with a different request")]
    IdempotencyKeyReused,
    /// The first request with this key is still running.
    #[error("a request with this Idempotency-Key is still running; retry later")]
    IdempotencyKeyInUse { retry_after_seconds: u64 },
    /// The store did not answer (down, timed out, throttled).
    #[error("the service is temporarily unavailable; retry later")]
    Unavailable(String),
    /// A bug or an unexpected store failure. The detail is logged, never sent.
    #[error("internal server error")]
    Internal(String),
}

impl AppError {
    pub fn validation(msg: impl Into<String>) -> Self {
        AppError::Validation(msg.into())
    }

    pub fn internal(detail: impl std::fmt::Display) -> Self {
        AppError::Internal(detail.to_string())
    }

    pub fn unavailable(detail: impl std::fmt::Display) -> Self {
        AppError::Unavailable(detail.to_string())
    }

    /// The stable machine-readable code of the error body.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Validation(_) => "validation_error",
            AppError::InvalidJson(_) => "invalid_json",
            AppError::PayloadTooLarge { .. } => "payload_too_large",
            AppError::Unauthorized(_) => "unauthorized",
            AppError::InvalidCredentials => "invalid_credentials",
            AppError::InvalidRefreshToken => "invalid_refresh_token",
            AppError::TooManyAttempts { .. } => "too_many_attempts",
            AppError::Forbidden(_) => "forbidden",
            AppError::RouteNotFound { .. } => "route_not_found",
            AppError::MethodNotAllowed { .. } => "method_not_allowed",
            AppError::ProductNotFound(_) | AppError::UnknownProductInOrder(_) => {
                "product_not_found"
            }
            AppError::OrderNotFound(_) => "order_not_found",
            AppError::InvoiceNotFound(_) | AppError::InvoiceNotFoundForOrder(_) => {
                "invoice_not_found"
            }
            AppError::UserNotFound(_) => "user_not_found",
            AppError::UsernameTaken => "username_taken",
            AppError::ProductOutOfStock(_) => "product_out_of_stock",
            AppError::InvalidStatusTransition { .. } => "invalid_status_transition",
            AppError::Conflict => "conflict",
            AppError::InvalidIdempotencyKey(_) => "invalid_idempotency_key",
            AppError::IdempotencyKeyReused => "idempotency_key_reused",
            AppError::IdempotencyKeyInUse { .. } => "idempotency_key_in_use",
            AppError::Unavailable(_) => "service_unavailable",
            AppError::Internal(_) => "internal_error",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Validation(_)
            | AppError::InvalidJson(_)
            | AppError::UnknownProductInOrder(_)
            | AppError::InvalidIdempotencyKey(_) => StatusCode::BAD_REQUEST,
            AppError::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Unauthorized(_)
            | AppError::InvalidCredentials
            | AppError::InvalidRefreshToken => StatusCode::UNAUTHORIZED,
            AppError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::RouteNotFound { .. }
            | AppError::ProductNotFound(_)
            | AppError::OrderNotFound(_)
            | AppError::InvoiceNotFound(_)
            | AppError::InvoiceNotFoundForOrder(_)
            | AppError::UserNotFound(_) => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            AppError::UsernameTaken
            | AppError::ProductOutOfStock(_)
            | AppError::InvalidStatusTransition { .. }
            | AppError::Conflict
            | AppError::IdempotencyKeyInUse { .. } => StatusCode::CONFLICT,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The sentence sent to the client. Internals (store errors) never leave the
    /// process: 5xx bodies carry a fixed sentence and the detail goes to the log.
    /// Seconds for a `Retry-After` header, for the errors that say "later".
    pub fn retry_after_seconds(&self) -> Option<u64> {
        match self {
            AppError::IdempotencyKeyInUse {
                retry_after_seconds,
            }
            | AppError::TooManyAttempts {
                retry_after_seconds,
            } => Some(*retry_after_seconds),
            _ => None,
        }
    }

    pub fn public_message(&self) -> String {
        self.to_string()
    }
}

pub type AppResult<T> = Result<T, AppError>;
