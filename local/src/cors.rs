//! CORS as API Gateway plays it for the HttpApi's `CorsConfiguration`: the
//! methods, headers and max age come from `template.yaml`, the allowed origins
//! from the dev server's setting (`CORS_ALLOWED_ORIGINS`), as the deployed
//! stack takes them from its `CorsAllowedOrigins` parameter. With no origin,
//! there is no CORS at all, as the template's condition removes the block.
//!
//! A preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`)
//! is answered here, for any path, without calling a function. Every other
//! answer to an allowed origin gets `Access-Control-Allow-Origin` and the
//! exposed headers; whatever CORS headers a function sent are dropped, as
//! API Gateway ignores them.

use axum::body::Body as AxumBody;
use axum::response::Response as AxumResponse;
use http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_METHOD, ORIGIN,
    VARY,
};
use http::{HeaderMap, HeaderValue, Method, StatusCode};

use crate::template::{CorsOrigins, CorsSpec};

pub struct Cors {
    /// Exact origins, or `*` for any.
    origins: Vec<String>,
    allow_methods: HeaderValue,
    allow_headers: HeaderValue,
    expose_headers: HeaderValue,
    max_age: Option<HeaderValue>,
}

/// The origins of a comma-separated setting: `*`, or `scheme://host[:port]`
/// each, as a browser sends them in `Origin`. Blank entries are skipped, so
/// an empty setting is no origin at all.
pub fn parse_origins(text: &str) -> Result<Vec<String>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|origin| {
            let valid = origin == "*"
                || origin.split_once("://").is_some_and(|(scheme, host)| {
                    matches!(scheme, "http" | "https")
                        && !host.is_empty()
                        && !host.contains(['/', '?', '#', ' '])
                });
            if valid {
                Ok(origin.to_owned())
            } else {
                Err(format!(
                    "`{origin}` is not an origin: give `*` or scheme://host[:port], with no path \
                     or trailing slash"
                ))
            }
        })
        .collect()
}

impl Cors {
    /// The configuration to play: the template's block with the origins it
    /// lists, or with `setting` when it takes them from a parameter. `None`
    /// (no CORS) when that leaves no origin.
    pub fn new(spec: Option<CorsSpec>, setting: &[String]) -> Result<Option<Cors>, String> {
        let Some(spec) = spec else {
            if setting.is_empty() {
                return Ok(None);
            }
            return Err(
                "CORS origins are set, but template.yaml's HttpApi has no CorsConfiguration".into(),
            );
        };
        let origins = match spec.origins {
            CorsOrigins::Parameter(_) => setting.to_vec(),
            CorsOrigins::Listed(listed) if setting.is_empty() => listed,
            CorsOrigins::Listed(_) => {
                return Err(
                    "CORS origins are set, but template.yaml lists its own AllowOrigins".into(),
                );
            }
        };
        if origins.is_empty() {
            return Ok(None);
        }
        let joined = |items: &[String]| {
            HeaderValue::from_str(&items.join(",")).map_err(|_| {
                format!(
                    "CorsConfiguration: `{}` is not a header value",
                    items.join(",")
                )
            })
        };
        Ok(Some(Cors {
            origins,
            allow_methods: joined(&spec.allow_methods)?,
            allow_headers: joined(&spec.allow_headers)?,
            expose_headers: joined(&spec.expose_headers)?,
            max_age: spec.max_age.map(HeaderValue::from),
        }))
    }

    /// `Access-Control-Allow-Origin` for this request's `Origin`, if allowed.
    fn allow_origin(&self, headers: &HeaderMap) -> Option<HeaderValue> {
        let origin = headers.get(ORIGIN)?;
        if self.origins.iter().any(|o| o == "*") {
            return Some(HeaderValue::from_static("*"));
        }
        let text = origin.to_str().ok()?;
        self.origins
            .iter()
            .any(|o| o == text)
            .then(|| origin.clone())
    }

    /// The answer to a preflight, or `None` when the request is not one. An
    /// origin that is not allowed gets no `Access-Control-*` header, so the
    /// browser refuses the request it asked about.
    pub fn preflight(&self, method: &Method, headers: &HeaderMap) -> Option<AxumResponse> {
        let is_preflight = method == Method::OPTIONS
            && headers.contains_key(ORIGIN)
            && headers.contains_key(ACCESS_CONTROL_REQUEST_METHOD);
        if !is_preflight {
            return None;
        }
        let mut response = AxumResponse::new(AxumBody::empty());
        *response.status_mut() = StatusCode::NO_CONTENT;
        let out = response.headers_mut();
        out.append(VARY, HeaderValue::from_static("Origin"));
        if let Some(origin) = self.allow_origin(headers) {
            out.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            out.insert(ACCESS_CONTROL_ALLOW_METHODS, self.allow_methods.clone());
            out.insert(ACCESS_CONTROL_ALLOW_HEADERS, self.allow_headers.clone());
            if let Some(max_age) = &self.max_age {
                out.insert(ACCESS_CONTROL_MAX_AGE, max_age.clone());
            }
        }
        Some(response)
    }

    /// Adds the CORS headers of an actual (not preflight) answer.
    pub fn decorate(&self, request: &HeaderMap, response: &mut HeaderMap) {
        let theirs: Vec<_> = response
            .keys()
            .filter(|name| name.as_str().starts_with("access-control-"))
            .cloned()
            .collect();
        for name in theirs {
            response.remove(name);
        }
        response.append(VARY, HeaderValue::from_static("Origin"));
        if let Some(origin) = self.allow_origin(request) {
            response.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            if !self.expose_headers.is_empty() {
                response.insert(ACCESS_CONTROL_EXPOSE_HEADERS, self.expose_headers.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_parsed_strictly_and_blank_means_none() {
        assert_eq!(parse_origins("").unwrap(), Vec::<String>::new());
        assert_eq!(parse_origins(" , ").unwrap(), Vec::<String>::new());
        assert_eq!(
            parse_origins("https://shop.example, http://localhost:5173").unwrap(),
            ["https://shop.example", "http://localhost:5173"]
        );
        assert_eq!(parse_origins("*").unwrap(), ["*"]);
        for bad in [
            "shop.example",
            "https://shop.example/",
            "ftp://x",
            "https://",
        ] {
            assert!(parse_origins(bad).is_err(), "{bad}");
        }
    }

    fn spec(origins: CorsOrigins) -> Option<CorsSpec> {
        Some(CorsSpec {
            origins,
            allow_methods: vec!["GET".into()],
            allow_headers: vec![],
            expose_headers: vec![],
            max_age: None,
        })
    }

    #[test]
    fn no_origin_is_no_cors_and_origins_without_a_template_block_are_refused() {
        let param = || spec(CorsOrigins::Parameter("P".into()));
        assert!(Cors::new(param(), &[]).unwrap().is_none());
        assert!(Cors::new(param(), &["*".into()]).unwrap().is_some());
        assert!(Cors::new(None, &[]).unwrap().is_none());
        assert!(Cors::new(None, &["https://a.example".into()]).is_err());
        let listed = || spec(CorsOrigins::Listed(vec!["https://a.example".into()]));
        assert!(Cors::new(listed(), &[]).unwrap().is_some());
        assert!(Cors::new(listed(), &["https://b.example".into()]).is_err());
    }
}
