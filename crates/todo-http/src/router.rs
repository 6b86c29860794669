//! A route table as data: `(method, "/api/tasks/{id}", endpoint)`.
//!
//! Keeping routes as a table (not a `match`) lets one list drive dispatch, the
//! 405 `Allow` header, and the test that keeps `openapi.json` honest. Patterns
//! use OpenAPI's `{name}` syntax; a `{name}` segment matches one non-empty
//! path segment.

use percent_encoding::percent_decode_str;

/// The outcome of matching a request path against a route table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteMatch<'p, E> {
    /// The endpoint and the values of its `{…}` segments, in order.
    Found(E, Vec<&'p str>),
    /// The path exists, but not for this method; lists the methods it has.
    MethodNotAllowed(Vec<&'static str>),
    NotFound,
}

/// One row of a route table.
pub type Route<E> = (&'static str, &'static str, E);

/// Matches `method` and `path` (no query string) against `routes`.
pub fn match_route<'p, E: Copy>(
    routes: &[Route<E>],
    method: &str,
    path: &'p str,
) -> RouteMatch<'p, E> {
    let mut allowed = Vec::new();
    for &(route_method, pattern, endpoint) in routes {
        let Some(params) = match_pattern(pattern, path) else {
            continue;
        };
        if route_method == method {
            return RouteMatch::Found(endpoint, params);
        }
        if !allowed.contains(&route_method) {
            allowed.push(route_method);
        }
    }
    if allowed.is_empty() {
        RouteMatch::NotFound
    } else {
        RouteMatch::MethodNotAllowed(allowed)
    }
}

fn match_pattern<'p>(pattern: &str, path: &'p str) -> Option<Vec<&'p str>> {
    let mut params = Vec::new();
    let mut path_segments = path.split('/');
    for expected in pattern.split('/') {
        let actual = path_segments.next()?;
        if expected.starts_with('{') && expected.ends_with('}') {
            if actual.is_empty() {
                return None;
            }
            params.push(actual);
        } else if expected != actual {
            return None;
        }
    }
    path_segments.next().is_none().then_some(params)
}

/// Routes a whole request: its endpoint and the values of its `{…}`
/// segments, percent-decoded (a handler never sees `%2F` for `/`), or the
/// response to send instead — 413 for a body over
/// [`MAX_BODY_BYTES`](crate::body::MAX_BODY_BYTES) (the spin edge already
/// stops reading there; this keeps the rule true for any other caller), 404
/// (no route, or a segment that does not decode to UTF-8), or 405 with
/// `Allow`. Every component's `handle` starts here.
pub fn route<E: Copy>(
    routes: &[Route<E>],
    request: &crate::Request,
) -> Result<(E, Vec<String>), Box<crate::Response>> {
    use crate::body::MAX_BODY_BYTES;
    if request.body().len() > MAX_BODY_BYTES {
        return Err(Box::new(crate::respond::problem(
            &todo_core::Problem::payload_too_large(MAX_BODY_BYTES),
        )));
    }
    let path = request.uri().path();
    match match_route(routes, request.method().as_str(), path) {
        RouteMatch::Found(endpoint, params) => params
            .into_iter()
            .map(|p| percent_decode_str(p).decode_utf8().map(String::from))
            .collect::<Result<_, _>>()
            .map(|params| (endpoint, params))
            .map_err(|_| Box::new(unmatched_response(&[], path))),
        RouteMatch::MethodNotAllowed(allowed) => Err(Box::new(unmatched_response(&allowed, path))),
        RouteMatch::NotFound => Err(Box::new(unmatched_response(&[], path))),
    }
}

/// The response for a request no route takes: 404, or 405 with `Allow`.
pub fn unmatched_response(allowed: &[&str], path: &str) -> crate::Response {
    use todo_core::Problem;
    if allowed.is_empty() {
        return crate::respond::problem(&Problem::not_found(format!("no route for {path}")));
    }
    let mut response = crate::respond::problem(&Problem::method_not_allowed(format!(
        "{path} supports {}",
        allowed.join(", ")
    )));
    let allow =
        http::HeaderValue::from_str(&allowed.join(", ")).expect("methods are valid header text");
    response.headers_mut().insert(http::header::ALLOW, allow);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTES: &[Route<u8>] = &[
        ("GET", "/api/tasks", 1),
        ("POST", "/api/tasks", 2),
        ("GET", "/api/tasks/{id}", 3),
        ("POST", "/api/tasks/{id}/complete", 4),
    ];

    #[test]
    fn matches_exact_and_parameterised_paths() {
        assert_eq!(
            match_route(ROUTES, "POST", "/api/tasks"),
            RouteMatch::Found(2, vec![])
        );
        assert_eq!(
            match_route(ROUTES, "GET", "/api/tasks/abc"),
            RouteMatch::Found(3, vec!["abc"])
        );
        assert_eq!(
            match_route(ROUTES, "POST", "/api/tasks/abc/complete"),
            RouteMatch::Found(4, vec!["abc"])
        );
    }

    #[test]
    fn rejects_extra_missing_and_empty_segments() {
        assert_eq!(
            match_route(ROUTES, "GET", "/api/tasks/"),
            RouteMatch::NotFound
        );
        assert_eq!(
            match_route(ROUTES, "GET", "/api/tasks/a/b"),
            RouteMatch::NotFound
        );
        assert_eq!(match_route(ROUTES, "GET", "/api"), RouteMatch::NotFound);
    }

    fn request(method: &str, path: &str) -> crate::Request {
        http::Request::builder()
            .method(method)
            .uri(path)
            .body(Vec::new())
            .unwrap()
    }

    #[test]
    fn route_decodes_the_parameters_it_matched() {
        let (endpoint, params) = route(ROUTES, &request("GET", "/api/tasks/a%2Fb%7C%7Cc")).unwrap();
        assert_eq!((endpoint, params), (3, vec!["a/b||c".to_string()]));
        let (_, params) = route(ROUTES, &request("POST", "/api/tasks/x/complete?y=1")).unwrap();
        assert_eq!(params, ["x"]);
    }

    #[test]
    fn route_answers_404_405_and_413_itself() {
        let status = |r: Result<(u8, Vec<String>), Box<crate::Response>>| r.unwrap_err().status();
        assert_eq!(
            status(route(ROUTES, &request("GET", "/api/tasks/%FF"))),
            404
        );
        assert_eq!(status(route(ROUTES, &request("GET", "/nope"))), 404);
        let refused = route(ROUTES, &request("DELETE", "/api/tasks")).unwrap_err();
        assert_eq!(refused.status(), 405);
        assert_eq!(refused.headers()[http::header::ALLOW], "GET, POST");
        let mut big = request("POST", "/api/tasks");
        *big.body_mut() = vec![b' '; crate::body::MAX_BODY_BYTES + 1];
        assert_eq!(status(route(ROUTES, &big)), 413);
    }

    #[test]
    fn wrong_method_lists_allowed_ones() {
        assert_eq!(
            match_route(ROUTES, "DELETE", "/api/tasks"),
            RouteMatch::MethodNotAllowed(vec!["GET", "POST"])
        );
    }
}
