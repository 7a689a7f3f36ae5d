//! API Gateway (HTTP API) as the dev server plays it.
//!
//! For each request: find the route in the template's table with the matcher
//! the functions use (`shared::web::RouteTable`; 404/405 as JSON error bodies
//! otherwise); on a protected route, with no Authorization header
//! answer 401 `{"message":"Unauthorized"}` without calling anything, else run
//! the authorizer function and answer 403 `{"message":"Forbidden"}` when it
//! refuses; then build the payload-2.0 event AWS would send, with the
//! authorizer's context, and hand it to the function through the same
//! deserialisation `lambda_http` uses in Lambda.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::body::{Body as AxumBody, to_bytes};
use axum::extract::{ConnectInfo, State};
use axum::response::{IntoResponse, Response as AxumResponse};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use http::{HeaderMap, Method, Request as HttpRequest, StatusCode};
use serde_json::{Value, json};
use shared::auth::TokenKeys;
use shared::domain::Timestamp;
use shared::web::{Params, RouteTable, error_response};
use shared::{App, AppError};

use crate::Settings;
use crate::cors::Cors;
use crate::functions::{Handler, http_handler};
use crate::template::{self, RouteSpec};

/// API Gateway's own limit on a request payload (10 MB). Functions apply the
/// API's tighter 64 KiB limit themselves.
const GATEWAY_MAX_BODY: usize = 10 * 1024 * 1024;

struct Route {
    spec: RouteSpec,
    handler: Handler,
}

pub struct Gateway {
    app: Arc<App>,
    keys: Arc<TokenKeys>,
    routes: RouteTable<Route>,
    /// The template's `$default` route: every request no route matches. Without
    /// one the dev server answers 404/405 itself, as API Gateway answers its own.
    default: Option<Route>,
    cors: Option<Cors>,
    next_id: AtomicU64,
}

impl Gateway {
    /// Loads the routes and the CORS configuration from the template; every
    /// function it names must be one this server can run.
    pub fn new(
        app: Arc<App>,
        template_path: &Path,
        settings: &Settings,
    ) -> Result<Gateway, String> {
        let specs = template::load(template_path)?;
        let mut default = None;
        let mut routes = Vec::new();
        for spec in specs {
            let handler = http_handler(&spec.binary).ok_or_else(|| {
                format!(
                    "template route {} {} names unknown binary {}",
                    spec.method, spec.path, spec.binary
                )
            })?;
            if spec.is_default() {
                if default.is_some() {
                    return Err("template.yaml has more than one $default route".into());
                }
                default = Some(Route { spec, handler });
                continue;
            }
            let method = Method::from_bytes(spec.method.as_bytes())
                .map_err(|_| format!("template route has an invalid method {}", spec.method))?;
            routes.push((method, spec.path.clone(), Route { spec, handler }));
        }
        let cors = Cors::new(
            template::load_cors(template_path)?,
            &settings.cors_allowed_origins,
        )?;
        let keys = app.tokens.clone();
        Ok(Gateway {
            app,
            keys,
            routes: RouteTable::new(routes),
            default,
            cors,
            next_id: AtomicU64::new(1),
        })
    }

    pub fn route_specs(&self) -> Vec<RouteSpec> {
        self.routes
            .values()
            .chain(&self.default)
            .map(|r| r.spec.clone())
            .collect()
    }

    pub fn into_router(self) -> axum::Router {
        axum::Router::new()
            .fallback(handle)
            .with_state(Arc::new(self))
    }

    fn request_id(&self) -> String {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        format!("local-{:x}-{n}", Timestamp::now().unix())
    }
}

async fn handle(
    State(gateway): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: HttpRequest<AxumBody>,
) -> AxumResponse {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = gateway.dispatch(peer, request).await;
    tracing::info!(
        method = %method,
        path,
        status = response.status().as_u16(),
        ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    response
}

impl Gateway {
    /// CORS first, as API Gateway does it: preflights never reach routing, and
    /// every other answer gets the headers for its origin.
    async fn dispatch(&self, peer: SocketAddr, request: HttpRequest<AxumBody>) -> AxumResponse {
        let Some(cors) = &self.cors else {
            return self.forward(peer, request).await;
        };
        if let Some(answer) = cors.preflight(request.method(), request.headers()) {
            return answer;
        }
        let request_headers = request.headers().clone();
        let mut response = self.forward(peer, request).await;
        cors.decorate(&request_headers, response.headers_mut());
        response
    }

    /// Routing, the authorizer step, and the function.
    async fn forward(&self, peer: SocketAddr, request: HttpRequest<AxumBody>) -> AxumResponse {
        let request_id = self.request_id();
        let (parts, body) = request.into_parts();
        let (route, params) = match self.routes.find(&parts.method, parts.uri.path()) {
            Ok(found) => found,
            Err(e) => match &self.default {
                Some(default) => (default, Params::new()),
                None => return to_axum(error_response(&e, &request_id)),
            },
        };
        let Ok(body) = to_bytes(body, GATEWAY_MAX_BODY).await else {
            return to_axum(error_response(
                &AppError::PayloadTooLarge {
                    limit: GATEWAY_MAX_BODY,
                },
                &request_id,
            ));
        };

        let authorizer_context = if route.spec.protected {
            match self.authorize(&parts, route, &request_id).await {
                Ok(context) => Some(context),
                Err(Refusal::NoCredentials) => {
                    return gateway_message(StatusCode::UNAUTHORIZED, "Unauthorized");
                }
                Err(Refusal::Denied) => return gateway_message(StatusCode::FORBIDDEN, "Forbidden"),
                Err(Refusal::Broken(e)) => return to_axum(error_response(&e, &request_id)),
                Err(Refusal::Failed(e)) => {
                    tracing::error!(error = %e, detail = ?e, "authorizer could not decide");
                    return gateway_message(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "Internal Server Error",
                    );
                }
            }
        } else {
            None
        };

        let event = api_gateway_event(
            &parts,
            &body,
            route,
            &params,
            authorizer_context,
            &request_id,
            peer,
        );
        let request = match lambda_http::request::from_str(&event.to_string()) {
            Ok(request) => request,
            Err(e) => {
                tracing::error!(error = %e, "could not build the Lambda request");
                return to_axum(error_response(&AppError::internal(e), &request_id));
            }
        };
        to_axum((route.handler)(self.app.clone(), request).await)
    }

    /// API Gateway's authorizer step: 401 without a header (the authorizer is
    /// not called), 403 when it refuses, its context when it allows.
    async fn authorize(
        &self,
        parts: &http::request::Parts,
        route: &Route,
        request_id: &str,
    ) -> Result<Value, Refusal> {
        let Some(header) = parts
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        else {
            return Err(Refusal::NoCredentials);
        };
        let event = json!({
            "version": "2.0",
            "type": "REQUEST",
            "routeArn": format!("arn:aws:execute-api:local:000000000000:local/$default/{}", route_key(&route.spec)),
            "identitySource": [header],
            "routeKey": route_key(&route.spec),
            "rawPath": parts.uri.path(),
            "rawQueryString": parts.uri.query().unwrap_or(""),
            "headers": header_map(&parts.headers),
            "requestContext": request_context(parts, route, None, request_id, None),
        });
        let event: authorizer::AuthorizerRequest =
            serde_json::from_value(event).map_err(|e| Refusal::Broken(AppError::internal(e)))?;
        let decision = authorizer::authorize(&self.keys, &event)
            .await
            .map_err(Refusal::Failed)?;
        if decision.is_authorized {
            Ok(decision.context)
        } else {
            Err(Refusal::Denied)
        }
    }
}

/// Why the authorizer step stopped a request.
enum Refusal {
    /// No Authorization header: API Gateway answers 401 without calling the authorizer.
    NoCredentials,
    /// The authorizer said no: 403.
    Denied,
    /// The event could not be built (a bug): 500.
    Broken(AppError),
    /// The authorizer failed instead of deciding: API Gateway answers 500.
    Failed(AppError),
}

/// The route key API Gateway puts in events: `GET /products/{id}`, or `$default`.
fn route_key(spec: &RouteSpec) -> String {
    if spec.is_default() {
        spec.path.clone()
    } else {
        format!("{} {}", spec.method, spec.path)
    }
}

/// The payload-2.0 event of API Gateway's HTTP API.
fn api_gateway_event(
    parts: &http::request::Parts,
    body: &[u8],
    route: &Route,
    params: &Params,
    authorizer_context: Option<Value>,
    request_id: &str,
    peer: SocketAddr,
) -> Value {
    let (body, is_base64) = match std::str::from_utf8(body) {
        Ok(text) => (text.to_owned(), false),
        Err(_) => (BASE64.encode(body), true),
    };
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key(&route.spec),
        "rawPath": parts.uri.path(),
        "rawQueryString": parts.uri.query().unwrap_or(""),
        "headers": header_map(&parts.headers),
        "requestContext": request_context(parts, route, authorizer_context, request_id, Some(peer)),
        "isBase64Encoded": is_base64,
    });
    let cookies: Vec<&str> = parts
        .headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split("; "))
        .collect();
    if !cookies.is_empty() {
        event["cookies"] = json!(cookies);
    }
    let query = query_map(parts.uri.query());
    if !query.is_empty() {
        event["queryStringParameters"] = json!(query);
    }
    if !params.is_empty() {
        let params: BTreeMap<&String, &String> = params.iter().collect();
        event["pathParameters"] = json!(params);
    }
    if !body.is_empty() {
        event["body"] = json!(body);
    }
    event
}

fn request_context(
    parts: &http::request::Parts,
    route: &Route,
    authorizer_context: Option<Value>,
    request_id: &str,
    peer: Option<SocketAddr>,
) -> Value {
    let now = time::OffsetDateTime::now_utc();
    let mut context = json!({
        "accountId": "000000000000",
        "apiId": "local",
        "domainName": parts.headers.get(http::header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost"),
        "domainPrefix": "local",
        "http": {
            "method": parts.method.as_str(),
            "path": parts.uri.path(),
            "protocol": "HTTP/1.1",
            "sourceIp": peer.map(|p| p.ip().to_string()).unwrap_or_else(|| "127.0.0.1".into()),
            "userAgent": parts.headers.get(http::header::USER_AGENT).and_then(|h| h.to_str().ok()).unwrap_or(""),
        },
        "requestId": request_id,
        "routeKey": route_key(&route.spec),
        "stage": "$default",
        "time": now.format(&time::format_description::well_known::Rfc2822).unwrap_or_default(),
        "timeEpoch": now.unix_timestamp() * 1000,
    });
    if let Some(lambda) = authorizer_context {
        context["authorizer"] = json!({ "lambda": lambda });
    }
    context
}

/// Headers as API Gateway sends them: lower-case names, repeats joined by commas.
fn header_map(headers: &HeaderMap) -> BTreeMap<String, String> {
    let mut map: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in headers {
        if name == http::header::COOKIE {
            continue;
        }
        let Ok(value) = value.to_str() else { continue };
        map.entry(name.as_str().to_owned())
            .and_modify(|v| {
                v.push(',');
                v.push_str(value);
            })
            .or_insert_with(|| value.to_owned());
    }
    map
}

/// Query parameters as API Gateway sends them: decoded, repeats joined by commas.
fn query_map(query: Option<&str>) -> BTreeMap<String, String> {
    let mut map: BTreeMap<String, String> = BTreeMap::new();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(&s.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        };
        map.entry(decode(key))
            .and_modify(|v| {
                v.push(',');
                v.push_str(&decode(value));
            })
            .or_insert_with(|| decode(value));
    }
    map
}

/// The platform's own answers (401/403 from the authorizer step).
fn gateway_message(status: StatusCode, message: &str) -> AxumResponse {
    (
        status,
        [(http::header::CONTENT_TYPE, "application/json")],
        json!({ "message": message }).to_string(),
    )
        .into_response()
}

fn to_axum(response: lambda_http::Response<lambda_http::Body>) -> AxumResponse {
    let (parts, body) = response.into_parts();
    let bytes = match body {
        lambda_http::Body::Empty => Vec::new(),
        lambda_http::Body::Text(text) => text.into_bytes(),
        lambda_http::Body::Binary(bytes) => bytes,
        _ => Vec::new(),
    };
    AxumResponse::from_parts(parts, AxumBody::from(bytes))
}
