//! The refresh-token cookie (architecture §3): written with `Set-Cookie`, read back
//! from `Cookie` (RFC 6265).
//!
//! `HttpOnly` keeps it from scripts, `SameSite=Strict` from cross-site
//! requests, `Path=/api/auth` from every route but the identity ones, and
//! `Secure` from plain HTTP. Browsers drop a `Secure` cookie set over
//! `http://` (except on localhost, and not all of them), so plain-HTTP
//! development may turn `Secure` off; production must not.

/// The cookie's name.
pub const REFRESH_COOKIE: &str = "refresh";
/// The only path the cookie is sent to.
pub const REFRESH_COOKIE_PATH: &str = "/api/auth";

/// Whether a request's `Host` (`host[:port]`) is the machine itself:
/// `localhost`, `127.0.0.1` or `[::1]` (ASCII case-insensitive). Plain-HTTP
/// development happens there, so the cookie may leave out `Secure` — the same
/// loopback exception webhooks have
/// ([`crate::notify::settings::WebhookPolicy::allow_http_loopback`]). Any
/// other host, or none, gets a `Secure` cookie. The `Host` header is the
/// client's word: a client that lies gets a weaker cookie for its own
/// session only.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim();
    let name = if let Some(rest) = host.strip_prefix('[') {
        // An IPv6 literal: `[::1]` or `[::1]:8080`.
        match rest.split_once(']') {
            Some((ip, port)) if port.is_empty() || port.starts_with(':') => ip,
            _ => return false,
        }
    } else {
        match host.split_once(':') {
            Some((name, _port)) => name,
            None => host,
        }
    };
    name.eq_ignore_ascii_case("localhost") || name == "127.0.0.1" || name == "::1"
}

/// Whether the refresh cookie sent in answer to a request for `host` (its
/// `Host` header, if any) carries `Secure`: always, except on loopback
/// ([`is_loopback_host`]).
pub fn secure_for_host(host: Option<&str>) -> bool {
    !host.is_some_and(is_loopback_host)
}

/// `Set-Cookie` value carrying `token` for `max_age_secs` (negative → 0).
/// `token` must be cookie-safe, as [`super::tokens`] tokens are (base64url,
/// dots, digits).
pub fn refresh_cookie(token: &str, max_age_secs: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{REFRESH_COOKIE}={token}; HttpOnly{secure}; SameSite=Strict; Path={REFRESH_COOKIE_PATH}; Max-Age={}",
        max_age_secs.max(0)
    )
}

/// `Set-Cookie` value deleting the cookie (empty value, `Max-Age=0`, same
/// attributes so the browser matches the cookie it holds).
pub fn clear_refresh_cookie(secure: bool) -> String {
    refresh_cookie("", 0, secure)
}

/// The refresh cookie's value in a `Cookie` header (`a=1; refresh=…; b=2`),
/// if present and non-empty; the first one wins when several are sent. Names
/// match exactly (RFC 6265 names are case-sensitive); a value in double
/// quotes is unquoted. Join several `Cookie` header fields with `"; "` first
/// (RFC 9113 §8.2.3).
pub fn refresh_token_from_cookie_header(cookie_header: Option<&str>) -> Option<&str> {
    cookie_header?
        .split(';')
        .filter_map(|pair| pair.split_once('='))
        .filter(|(name, _)| name.trim_matches([' ', '\t']) == REFRESH_COOKIE)
        .map(|(_, value)| {
            let value = value.trim_matches([' ', '\t']);
            value
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(value)
        })
        .find(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_cookie_has_every_attribute() {
        assert_eq!(
            refresh_cookie("fam.3.secret", 2_592_000, true),
            "refresh=fam.3.secret; HttpOnly; Secure; SameSite=Strict; Path=/api/auth; Max-Age=2592000"
        );
        assert_eq!(
            refresh_cookie("fam.3.secret", 60, false),
            "refresh=fam.3.secret; HttpOnly; SameSite=Strict; Path=/api/auth; Max-Age=60"
        );
        assert!(refresh_cookie("t", -5, true).ends_with("Max-Age=0"));
    }

    #[test]
    fn clearing_cookie_expires_at_once() {
        assert_eq!(
            clear_refresh_cookie(true),
            "refresh=; HttpOnly; Secure; SameSite=Strict; Path=/api/auth; Max-Age=0"
        );
    }

    #[test]
    fn loopback_hosts_may_go_without_secure() {
        for host in [
            "localhost",
            "LocalHost:3000",
            "127.0.0.1",
            "127.0.0.1:3000",
            "[::1]",
            "[::1]:8080",
            " localhost ",
        ] {
            assert!(is_loopback_host(host), "{host}");
            assert!(!secure_for_host(Some(host)), "{host}");
        }
        for host in [
            "todo.example.org",
            "localhost.example.org",
            "127.0.0.2",
            "10.0.0.1:80",
            "[::2]",
            "[::1]x",
            "",
        ] {
            assert!(!is_loopback_host(host), "{host}");
            assert!(secure_for_host(Some(host)), "{host}");
        }
        assert!(secure_for_host(None));
    }

    #[test]
    fn reads_the_cookie_among_others() {
        let read = refresh_token_from_cookie_header;
        assert_eq!(read(Some("refresh=abc.0.def")), Some("abc.0.def"));
        assert_eq!(
            read(Some("theme=dark; refresh=abc.0.def; lang=de")),
            Some("abc.0.def")
        );
        assert_eq!(
            read(Some("theme=dark;refresh=\"abc.0.def\"")),
            Some("abc.0.def")
        );
        assert_eq!(read(Some("refresh=; refresh=second")), Some("second"));
        assert_eq!(read(Some("refresh=first; refresh=second")), Some("first"));
        assert_eq!(
            read(Some("Refresh=abc; xrefresh=abc; refresh_old=abc")),
            None
        );
        assert_eq!(read(Some("refresh")), None);
        assert_eq!(read(Some("")), None);
        assert_eq!(read(None), None);
    }
}
