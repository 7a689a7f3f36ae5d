//! Matches a request path against a function's route patterns
//! (`/products/{id}`), the same patterns `template.yaml` declares. When several
//! match, the one with the most literal segments wins, as in API Gateway.

use std::collections::HashMap;

use crate::error::AppError;

/// Path parameters, percent-decoded.
pub type Params = HashMap<String, String>;

pub struct RouteTable<R: Copy> {
    routes: Vec<(http::Method, &'static str, R)>,
}

impl<R: Copy> RouteTable<R> {
    pub fn new(routes: Vec<(http::Method, &'static str, R)>) -> Self {
        RouteTable { routes }
    }

    /// The route for this method and path, with its parameters; 404 when no
    /// pattern matches the path, 405 when one does but not for this method.
    pub fn find(&self, method: &http::Method, path: &str) -> Result<(R, Params), AppError> {
        let mut best: Option<(usize, R, Params)> = None;
        let mut path_known = false;
        for (route_method, pattern, route) in &self.routes {
            let Some((literals, params)) = match_pattern(pattern, path) else {
                continue;
            };
            path_known = true;
            if route_method != method {
                continue;
            }
            if best.as_ref().is_none_or(|(l, _, _)| literals > *l) {
                best = Some((literals, *route, params));
            }
        }
        match best {
            Some((_, route, params)) => Ok((route, params)),
            None if path_known => Err(AppError::MethodNotAllowed {
                method: method.to_string(),
                path: path.to_owned(),
            }),
            None => Err(AppError::RouteNotFound {
                method: method.to_string(),
                path: path.to_owned(),
            }),
        }
    }
}

/// Matches a pattern; returns how many literal segments it has and the captures.
pub fn match_pattern(pattern: &str, path: &str) -> Option<(usize, Params)> {
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
    use http::Method;

    #[test]
    fn most_specific_route_wins_and_methods_are_checked() {
        let table = RouteTable::new(vec![
            (Method::GET, "/products/{id}", 1),
            (Method::GET, "/products/category/{category}", 2),
            (Method::PUT, "/products/{id}/stock", 3),
        ]);
        let (r, p) = table.find(&Method::GET, "/products/7").unwrap();
        assert_eq!((r, p["id"].as_str()), (1, "7"));
        let (r, p) = table
            .find(&Method::GET, "/products/category/Home%20%26%20Garden")
            .unwrap();
        assert_eq!((r, p["category"].as_str()), (2, "Home & Garden"));
        assert_eq!(
            table
                .find(&Method::PUT, "/products/category/stock")
                .unwrap()
                .0,
            3
        );
        assert!(matches!(
            table.find(&Method::DELETE, "/products/7"),
            Err(AppError::MethodNotAllowed { .. })
        ));
        assert!(matches!(
            table.find(&Method::GET, "/nope"),
            Err(AppError::RouteNotFound { .. })
        ));
    }
}
