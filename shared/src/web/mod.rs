//! The HTTP glue between `lambda_http` and the services: routing inside a
//! function, JSON bodies with a size cap and field-naming errors, identity,
//! pagination, and the error body of the API contract.

pub mod idempotency;
mod router;

pub use router::{Params, RouteTable};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::header::{ALLOW, AUTHORIZATION, CONTENT_TYPE, LINK, LOCATION};
use http::{HeaderValue, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::api::ErrorBody;
use crate::auth::TokenKeys;
use crate::domain::{Identity, Page, PageRequest, Role, Timestamp};
use crate::error::AppError;

/// Request bodies above this size are refused with 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

pub type HttpResult = Result<Response<Body>, AppError>;

/// The id API Gateway (or the dev server) gave this request, echoed in error bodies.
pub fn request_id(req: &Request) -> String {
    if let Some(RequestContext::ApiGatewayV2(ctx)) = req.request_context_ref()
        && let Some(id) = &ctx.request_id
    {
        return id.clone();
    }
    req.lambda_context_ref()
        .map(|c| c.request_id.clone())
        .unwrap_or_else(|| "unknown".into())
}

pub fn json<T: Serialize + ?Sized>(status: StatusCode, body: &T) -> Response<Body> {
    let text = serde_json::to_string(body).unwrap_or_else(|_| "{}".into());
    let mut response = Response::new(Body::Text(text));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// 201 with the resource as the whole body and its `Location`.
pub fn created<T: Serialize + ?Sized>(location: &str, body: &T) -> Response<Body> {
    let mut response = json(StatusCode::CREATED, body);
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, value);
    }
    response
}

/// 200 with a bare JSON array, and a `Link: <...>; rel="next"` header when more remain.
/// The next link repeats the request's path and filters with the new cursor.
pub fn list<T: Serialize>(req: &Request, page: &Page<T>, limit: u32) -> Response<Body> {
    let mut response = json(StatusCode::OK, &page.items);
    if let Some(after) = page.next_after {
        let mut query = format!("limit={limit}&cursor={}", encode_cursor(after));
        if let Some(params) = req.query_string_parameters_ref() {
            for (key, value) in params
                .iter()
                .filter(|(k, _)| *k != "limit" && *k != "cursor")
            {
                query.push_str(&format!(
                    "&{}={}",
                    router::encode_component(key),
                    router::encode_component(value)
                ));
            }
        }
        let link = format!("<{}?{query}>; rel=\"next\"", req.uri().path());
        if let Ok(value) = HeaderValue::from_str(&link) {
            response.headers_mut().insert(LINK, value);
        }
    }
    response
}

/// The API's error body, with the headers the status calls for: a 405
/// names the methods the path takes in `Allow` (RFC 9110).
pub fn error_response(err: &AppError, request_id: &str) -> Response<Body> {
    let mut response = json(
        err.status(),
        &ErrorBody {
            error: err.public_message(),
            code: err.code(),
            timestamp: Timestamp::now().rfc3339(),
            request_id,
        },
    );
    if let AppError::MethodNotAllowed { allowed, .. } = err
        && let Ok(value) = HeaderValue::from_str(&allowed.join(", "))
    {
        response.headers_mut().insert(ALLOW, value);
    }
    if let Some(value) = idempotency::retry_after(err) {
        response
            .headers_mut()
            .insert(http::header::RETRY_AFTER, value);
    }
    response
}

/// Turns a handler's result into the response, logging failures: 5xx with their
/// internal detail (never sent to the client), 4xx briefly.
pub fn finish(req: &Request, result: HttpResult) -> Response<Body> {
    match result {
        Ok(response) => response,
        Err(err) => {
            let request_id = request_id(req);
            match &err {
                AppError::Internal(detail) => {
                    tracing::error!(request_id, method = %req.method(), path = req.uri().path(), detail, "request failed");
                }
                AppError::Unavailable(detail) => {
                    tracing::warn!(request_id, method = %req.method(), path = req.uri().path(), detail, "store unavailable");
                }
                other => {
                    tracing::info!(request_id, method = %req.method(), path = req.uri().path(), code = other.code(), "request refused");
                }
            }
            error_response(&err, &request_id)
        }
    }
}

/// Parses the JSON body into `T`: 413 above 64 KiB, 400 `invalid_json` for
/// malformed JSON, 400 `validation_error` naming the field for wrong types and
/// missing fields. Unknown fields are ignored.
pub fn parse_json<T: DeserializeOwned>(req: &Request) -> Result<T, AppError> {
    let bytes = req.body().as_ref();
    if bytes.len() > MAX_BODY_BYTES {
        return Err(AppError::PayloadTooLarge {
            limit: MAX_BODY_BYTES,
        });
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(AppError::InvalidJson("the body is empty".into()));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data if path == "." => {
                AppError::Validation(strip_position(&inner))
            }
            serde_json::error::Category::Data => {
                AppError::Validation(format!("{path}: {}", strip_position(&inner)))
            }
            _ => AppError::InvalidJson(strip_position(&inner)),
        }
    })?;
    de.end()
        .map_err(|e| AppError::InvalidJson(strip_position(&e)))?;
    Ok(value)
}

/// serde_json's message without its " at line 1 column 9" tail.
fn strip_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

/// Who the request acts as: the authorizer's context when API Gateway ran it,
/// otherwise the bearer token, verified here with the same keys.
pub async fn identity(req: &Request, tokens: &TokenKeys) -> Result<Identity, AppError> {
    if let Some(identity) = authorizer_identity(req) {
        return Ok(identity);
    }
    let header = req.headers().get(AUTHORIZATION).ok_or_else(|| {
        AppError::Unauthorized("an Authorization: Bearer token is required".into())
    })?;
    let token = bearer_token(header.to_str().unwrap_or_default()).ok_or_else(|| {
        AppError::Unauthorized("the Authorization header must be `Bearer <token>`".into())
    })?;
    tokens.verify(token).await
}

/// The token of an `Authorization: Bearer <token>` header value.
pub fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn authorizer_identity(req: &Request) -> Option<Identity> {
    let Some(RequestContext::ApiGatewayV2(ctx)) = req.request_context_ref() else {
        return None;
    };
    let fields = &ctx.authorizer.as_ref()?.fields;
    let user_id = match fields.get("user_id")? {
        serde_json::Value::String(s) => s.parse().ok()?,
        serde_json::Value::Number(n) => n.as_i64()?,
        _ => return None,
    };
    let username = fields.get("username")?.as_str()?.to_owned();
    let role = Role::parse(fields.get("role")?.as_str()?)?;
    Some(Identity {
        user_id,
        username,
        role,
    })
}

/// `?limit=` (default 50, 1 to 200) and `?cursor=` (opaque).
pub fn page_request(req: &Request) -> Result<PageRequest, AppError> {
    let limit = match query(req, "limit") {
        None => PageRequest::DEFAULT_LIMIT,
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=PageRequest::MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                AppError::validation(format!("limit must be 1 to {}", PageRequest::MAX_LIMIT))
            })?,
    };
    let after = query(req, "cursor")
        .map(|c| decode_cursor(&c))
        .transpose()?;
    Ok(PageRequest { limit, after })
}

pub fn query(req: &Request, name: &str) -> Option<String> {
    req.query_string_parameters_ref()
        .and_then(|q| q.first(name))
        .map(str::to_owned)
}

fn encode_cursor(after: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("v1:{after}"))
}

fn decode_cursor(cursor: &str) -> Result<i64, AppError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| text.strip_prefix("v1:").and_then(|id| id.parse().ok()))
        .ok_or_else(|| AppError::validation("cursor is invalid"))
}

/// Runs an HTTP function under the Lambda runtime: the `App` (config, store,
/// keys) is built once per cold start, then every invocation shares it. A
/// function without a valid configuration (no `JWT_SECRET`, say) refuses to start.
pub async fn run_function<F, Fut>(handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(std::sync::Arc<crate::App>, Request) -> Fut + Copy + Send + Sync + 'static,
    Fut: std::future::Future<Output = Response<Body>> + Send,
{
    run_function_with(crate::config::SecretPolicy::Required, handler).await
}

/// [`run_function`] for a function whose token needs differ: health, which
/// handles no token, runs with [`SecretPolicy::NoTokens`](crate::config::SecretPolicy).
pub async fn run_function_with<F, Fut>(
    policy: crate::config::SecretPolicy,
    handler: F,
) -> Result<(), lambda_http::Error>
where
    F: Fn(std::sync::Arc<crate::App>, Request) -> Fut + Copy + Send + Sync + 'static,
    Fut: std::future::Future<Output = Response<Body>> + Send,
{
    crate::telemetry::init();
    let app = crate::App::from_env(policy).await.map_err(|e| {
        tracing::error!(error = %e, detail = ?e, "cold start failed");
        e
    })?;
    crate::metrics::count(crate::metrics::Metric::ColdStarts);
    let app = std::sync::Arc::new(app);
    lambda_http::run(lambda_http::service_fn(move |req: Request| {
        let app = app.clone();
        async move { Ok::<_, std::convert::Infallible>(handler(app, req).await) }
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        assert_eq!(decode_cursor(&encode_cursor(42)).unwrap(), 42);
        assert!(decode_cursor("garbage!").is_err());
        assert!(decode_cursor(&URL_SAFE_NO_PAD.encode("v2:1")).is_err());
    }

    #[test]
    fn bearer_tokens_are_parsed_strictly() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer"), None);
    }
}
