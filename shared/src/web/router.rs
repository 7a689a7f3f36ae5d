//! The one route matcher of the API: every function matches its own routes
//! with it, and the dev server matches the whole template's table with it.
//! Patterns are the ones `template.yaml` declares (`/products/{id}`); when
//! several match for the request's method, the one with the most literal
//! segments wins, as in API Gateway.

use std::collections::HashMap;

use http::Method;

use crate::error::AppError;

/// Path parameters, percent-decoded.
pub type Params = HashMap<String, String>;

/// Routes by (method, path pattern), each carrying a value `R`: an enum for a
/// function, the handler and its template row for the dev server.
pub struct RouteTable<R> {
    routes: Vec<(Method, String, R)>,
}

impl<R> RouteTable<R> {
    pub fn new<P: Into<String>>(routes: impl IntoIterator<Item = (Method, P, R)>) -> Self {
        RouteTable {
            routes: routes
                .into_iter()
                .map(|(method, pattern, route)| (method, pattern.into(), route))
                .collect(),
        }
    }

    /// The route for this method and path, with its parameters; 404 when no
    /// pattern matches the path, 405 naming the methods the path takes when
    /// one does but not for this method.
    pub fn find(&self, method: &Method, path: &str) -> Result<(&R, Params), AppError> {
        let mut best: Option<(usize, &R, Params)> = None;
        let mut allowed: Vec<&str> = Vec::new();
        for (route_method, pattern, route) in &self.routes {
            let Some((literals, params)) = match_pattern(pattern, path) else {
                continue;
            };
            allowed.push(route_method.as_str());
            if route_method != method {
                continue;
            }
            if best.as_ref().is_none_or(|(l, _, _)| literals > *l) {
                best = Some((literals, route, params));
            }
        }
        match best {
            Some((_, route, params)) => Ok((route, params)),
            None if !allowed.is_empty() => {
                allowed.sort_unstable();
                allowed.dedup();
                Err(AppError::MethodNotAllowed {
                    method: method.to_string(),
                    path: path.to_owned(),
                    allowed: allowed.into_iter().map(str::to_owned).collect(),
                })
            }
            None => Err(AppError::RouteNotFound {
                method: method.to_string(),
                path: path.to_owned(),
            }),
        }
    }

    /// Every route's value, in the order the table was built.
    pub fn values(&self) -> impl Iterator<Item = &R> {
        self.routes.iter().map(|(_, _, route)| route)
    }
}

/// Matches a pattern; returns how many literal segments it has and the captures.
fn match_pattern(pattern: &str, path: &str) -> Option<(usize, Params)> {
    let pattern_segments: Vec<&str> = pattern.trim_matches('/').split('/').collect();
    let path_segments: Vec<&str> = path
        .trim_end_matches('/')
        .trim_start_matches('/')
        .split('/')
        .collect();
    if pattern_segments.len() != path_segments.len() {
        return None;
    }
    let mut literals = 0;
    let mut params = Params::new();
    for (pat, seg) in pattern_segments.iter().zip(&path_segments) {
        if let Some(name) = pat.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            let value = decode_component(seg)?;
            if value.is_empty() {
                return None;
            }
            params.insert(name.to_owned(), value);
        } else if pat == seg {
            literals += 1;
        } else {
            return None;
        }
    }
    Some((literals, params))
}

fn decode_component(text: &str) -> Option<String> {
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

pub(crate) fn encode_component(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn products() -> RouteTable<u8> {
        RouteTable::new([
            (Method::GET, "/products/{id}", 1),
            (Method::GET, "/products/category/{category}", 2),
            (Method::PUT, "/products/{id}/stock", 3),
            (Method::PUT, "/products/{id}", 4),
        ])
    }

    #[test]
    fn the_most_specific_pattern_for_the_method_wins() {
        let table = products();
        let (r, p) = table.find(&Method::GET, "/products/7").unwrap();
        assert_eq!((*r, p["id"].as_str()), (1, "7"));
        let (r, p) = table
            .find(&Method::GET, "/products/category/Home%20%26%20Garden")
            .unwrap();
        assert_eq!((*r, p["category"].as_str()), (2, "Home & Garden"));
        // Two literals beat one, but only among routes of the request's method.
        assert_eq!(
            *table
                .find(&Method::PUT, "/products/category/stock")
                .unwrap()
                .0,
            3
        );
        assert_eq!(*table.find(&Method::PUT, "/products/7/").unwrap().0, 4);
    }

    #[test]
    fn a_known_path_with_another_method_is_405_naming_the_methods_it_takes() {
        let table = products();
        match table.find(&Method::DELETE, "/products/7") {
            Err(AppError::MethodNotAllowed { allowed, .. }) => assert_eq!(allowed, ["GET", "PUT"]),
            other => panic!("expected 405, got {:?}", other.map(|(r, _)| *r)),
        }
        // Every pattern that matches the path counts, whichever function of the
        // table it is: GET from the category pattern, PUT from the stock one.
        match table.find(&Method::POST, "/products/category/stock") {
            Err(AppError::MethodNotAllowed { allowed, .. }) => assert_eq!(allowed, ["GET", "PUT"]),
            other => panic!("expected 405, got {:?}", other.map(|(r, _)| *r)),
        }
    }

    #[test]
    fn an_unknown_path_is_404_and_empty_or_undecodable_parameters_do_not_match() {
        let table = products();
        for path in [
            "/nope",
            "/products//stock",
            "/products/%FF",
            "/products/1/2/3",
        ] {
            assert!(
                matches!(
                    table.find(&Method::GET, path),
                    Err(AppError::RouteNotFound { .. })
                ),
                "{path}"
            );
        }
    }
}
