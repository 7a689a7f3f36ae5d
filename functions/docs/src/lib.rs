//! The docs function: `GET /openapi.json` (the OpenAPI 3.1 description, built
//! from the code by `shared::openapi`), `GET /docs` (Swagger UI rendering it,
//! with its assets embedded in this binary and served from this origin only),
//! and the API's `$default` route: every request no other route takes gets the
//! same JSON 404, or 405 with `Allow`, as the dev server answers.
//!
//! The `$default` route lives here, not in a function of its own, because
//! answering it needs the whole API's route table (to tell 404 from 405 and
//! list `Allow`), and this function already carries that table: the OpenAPI
//! description, which a test holds equal to the template's routes. The price
//! is the Swagger UI assets in the artifact that answers unknown routes (about
//! 0.5 MB zipped), which only the docs function carries.

use std::sync::LazyLock;

use lambda_http::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use lambda_http::http::{HeaderValue, Method, StatusCode};
use lambda_http::{Body, Request, Response};
use shared::AppError;
use shared::web::{self, HttpResult, RouteTable};

/// What this function serves; `Elsewhere` is a route of another function.
#[derive(Clone, Copy)]
enum Route {
    OpenApi,
    Page,
    Asset,
    Elsewhere,
}

/// Every route of the API, from its OpenAPI description.
static ROUTES: LazyLock<RouteTable<Route>> = LazyLock::new(|| {
    RouteTable::new(
        shared::openapi::routes()
            .into_iter()
            .map(|(method, path, _)| {
                let route = match path {
                    "/openapi.json" => Route::OpenApi,
                    "/docs" => Route::Page,
                    "/docs/{asset}" => Route::Asset,
                    _ => Route::Elsewhere,
                };
                let method =
                    Method::from_bytes(method.as_bytes()).expect("routes use valid methods");
                (method, path, route)
            }),
    )
});

/// The page may load scripts, styles and images from this origin only, and
/// talk to nothing else (Swagger UI fetches /openapi.json and, on "Try it
/// out", the API itself). Swagger UI's stylesheet embeds its icons as data:
/// URLs.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// The page and its assets, as vendored by local/scripts/vendor-docs-assets.sh.
const INDEX_HTML: &str = include_str!("../assets/index.html");
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "swagger-ui-bundle.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/swagger-ui-bundle.js"),
    ),
    (
        "swagger-ui.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/swagger-ui.css"),
    ),
    (
        "docs.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/docs.js"),
    ),
];

pub async fn handle(req: Request) -> Response<Body> {
    let result = route(&req);
    web::finish(&req, result)
}

fn route(req: &Request) -> HttpResult {
    let (route, params) = ROUTES.find(req.method(), req.uri().path())?;
    match route {
        Route::OpenApi => Ok(respond(
            "application/json",
            Body::Text(shared::openapi::document_json().to_owned()),
        )),
        Route::Page => {
            let mut response = respond("text/html; charset=utf-8", Body::Text(INDEX_HTML.into()));
            let headers = response.headers_mut();
            headers.insert(
                "content-security-policy",
                HeaderValue::from_static(CONTENT_SECURITY_POLICY),
            );
            headers.insert(
                "x-content-type-options",
                HeaderValue::from_static("nosniff"),
            );
            headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
            Ok(response)
        }
        Route::Asset => {
            let name = params["asset"].as_str();
            let (_, content_type, bytes) = ASSETS
                .iter()
                .find(|(asset, _, _)| *asset == name)
                .ok_or_else(|| AppError::RouteNotFound {
                    method: req.method().to_string(),
                    path: req.uri().path().to_owned(),
                })?;
            let mut response = respond(content_type, Body::Binary(bytes.to_vec()));
            response.headers_mut().insert(
                "x-content-type-options",
                HeaderValue::from_static("nosniff"),
            );
            Ok(response)
        }
        // API Gateway sends a route's requests to its own function: one of
        // them here means the template routes it to the wrong function.
        Route::Elsewhere => {
            tracing::error!(
                method = %req.method(),
                path = req.uri().path(),
                "a route of another function reached the docs function"
            );
            Err(AppError::RouteNotFound {
                method: req.method().to_string(),
                path: req.uri().path().to_owned(),
            })
        }
    }
}

fn respond(content_type: &'static str, body: Body) -> Response<Body> {
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    // The same for a whole deployment; an hour keeps a new one visible soon.
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_exactly_the_assets_the_description_lists() {
        let served: Vec<&str> = ASSETS.iter().map(|(name, _, _)| *name).collect();
        assert_eq!(served, shared::openapi::DOCS_ASSETS);
    }

    #[test]
    fn the_page_loads_only_files_it_serves() {
        for (attr, end) in [("src=\"", '"'), ("href=\"", '"')] {
            for part in INDEX_HTML.split(attr).skip(1) {
                let url = &part[..part.find(end).unwrap()];
                let name = url
                    .strip_prefix("/docs/")
                    .unwrap_or_else(|| panic!("{url} is not ours"));
                assert!(ASSETS.iter().any(|(n, _, _)| *n == name), "{url}");
            }
        }
    }
}
