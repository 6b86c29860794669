//! The web component natively: files, SPA fallback, caching, compression and
//! the security headers, against whatever `web/dist` was embedded (the real
//! build or the placeholder).

use web::{asset, handle, ASSETS, CONTENT_SECURITY_POLICY};

fn get(path: &str, headers: &[(&str, &str)]) -> todo_http::Response {
    let mut builder = http::Request::builder().method("GET").uri(path);
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    handle(&builder.body(Vec::new()).unwrap())
}

fn header<'a>(r: &'a todo_http::Response, name: &str) -> Option<&'a str> {
    r.headers().get(name).and_then(|v| v.to_str().ok())
}

#[test]
fn root_is_index_html_with_strict_csp() {
    let r = get("/", &[]);
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(
        header(&r, "content-security-policy"),
        Some(CONTENT_SECURITY_POLICY)
    );
    assert!(!CONTENT_SECURITY_POLICY.contains("unsafe"));
    assert_eq!(header(&r, "cache-control"), Some("no-cache"));
    assert_eq!(header(&r, "x-content-type-options"), Some("nosniff"));
    assert_eq!(r.body(), asset("/index.html").unwrap().body);
}

#[test]
fn spa_routes_fall_back_to_index_but_files_and_api_do_not() {
    let index = asset("/index.html").unwrap().body;
    assert_eq!(get("/tasks/123", &[]).body(), index);
    assert_eq!(get("/assets/missing.js", &[]).status(), 404);
    assert_eq!(get("/nope.png", &[]).status(), 404);
    for path in [
        "/api/nope",
        "/internal/tasks/next",
        "/events/x",
        "/job/x",
        "/api",
    ] {
        let r = get(path, &[]);
        assert_eq!(r.status(), 404, "{path}");
        assert_eq!(
            header(&r, "content-type"),
            Some("application/problem+json"),
            "{path}"
        );
    }
}

#[test]
fn every_file_has_a_type_and_hashed_assets_are_immutable() {
    assert!(ASSETS.windows(2).all(|w| w[0].path < w[1].path), "sorted");
    for a in ASSETS {
        let r = get(a.path, &[]);
        assert_eq!(r.status(), 200, "{}", a.path);
        assert_ne!(a.content_type, "application/octet-stream", "{}", a.path);
        if a.path.starts_with("/assets/") {
            assert_eq!(
                header(&r, "cache-control"),
                Some("public, max-age=31536000, immutable")
            );
        }
    }
}

#[test]
fn gzip_when_accepted_and_304_on_a_matching_etag() {
    let Some(a) = ASSETS.iter().find(|a| a.gzip.is_some()) else {
        return; // the placeholder is too small to compress
    };
    let r = get(a.path, &[("accept-encoding", "br, gzip;q=0.8")]);
    assert_eq!(header(&r, "content-encoding"), Some("gzip"));
    assert_eq!(header(&r, "vary"), Some("Accept-Encoding"));
    assert_eq!(r.body(), a.gzip.unwrap());
    let gz_etag = header(&r, "etag").unwrap().to_string();
    assert_ne!(gz_etag, a.etag);

    let r = get(a.path, &[("accept-encoding", "gzip;q=0")]);
    assert_eq!(header(&r, "content-encoding"), None);
    assert_eq!(r.body(), a.body);

    for tag in [a.etag, gz_etag.as_str(), "W/\"x\", *"] {
        let r = get(a.path, &[("if-none-match", tag)]);
        assert_eq!(r.status(), 304, "{tag}");
        assert!(r.body().is_empty());
    }
    assert_eq!(get(a.path, &[("if-none-match", "\"other\"")]).status(), 200);
}

#[test]
fn only_get_and_head() {
    let r = handle(
        &http::Request::builder()
            .method("POST")
            .uri("/")
            .body(Vec::new())
            .unwrap(),
    );
    assert_eq!(r.status(), 405);
    assert_eq!(header(&r, "allow"), Some("GET, HEAD"));
    let r = handle(
        &http::Request::builder()
            .method("HEAD")
            .uri("/")
            .body(Vec::new())
            .unwrap(),
    );
    assert_eq!(r.status(), 200);
    assert!(r.body().is_empty());
    assert_eq!(get("/healthz/web", &[]).status(), 200);
}

#[test]
fn api_paths_no_component_serves_are_problem_404s_for_any_method() {
    for method in ["GET", "POST", "PUT", "DELETE"] {
        for path in ["/api/auth/login", "/api/nope", "/api", "/job/x"] {
            let r = handle(
                &http::Request::builder()
                    .method(method)
                    .uri(path)
                    .body(br#"{"email":"a@b.c"}"#.to_vec())
                    .unwrap(),
            );
            assert_eq!(r.status(), 404, "{method} {path}");
            assert_eq!(
                header(&r, "content-type"),
                Some("application/problem+json"),
                "{method} {path}"
            );
            let body: serde_json::Value = serde_json::from_slice(r.body()).unwrap();
            assert_eq!(body["status"], 404);
        }
    }
}
