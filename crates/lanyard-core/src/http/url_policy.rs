//! Which URLs Lanyard talks to: `https://` anywhere, `http://` only to loopback hosts, whose
//! `localhost` names never reach DNS ([`LoopbackNames`]).

use std::net::IpAddr;

use url::Url;

use super::error::HttpError;

/// `localhost` or a name under it (trailing dot and case ignored).
fn is_localhost_name(d: &str) -> bool {
    let d = d.trim_end_matches('.').to_ascii_lowercase();
    d == "localhost" || d.ends_with(".localhost")
}

/// The resolver of every client [`build_client`](super::build_client) makes: `localhost`
/// names are answered with the loopback addresses without asking anyone; every other name
/// goes to the system resolver.
pub struct LoopbackNames;

impl reqwest::dns::Resolve for LoopbackNames {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<std::net::SocketAddr> = if is_localhost_name(&host) {
                vec![
                    (std::net::Ipv4Addr::LOCALHOST, 0).into(),
                    (std::net::Ipv6Addr::LOCALHOST, 0).into(),
                ]
            } else {
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect()
            };
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// True for hosts that never leave this machine: `127.0.0.0/8`, `::1`, `localhost`.
pub fn is_loopback_host(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
        url::Host::Domain(d) => is_localhost_name(d),
    }
}

/// True when the URL's host is a loopback host (see [`is_loopback_host`]).
pub fn is_loopback(url: &Url) -> bool {
    url.host().is_some_and(|h| is_loopback_host(&h))
}

/// The URL policy: `https://` with a host, or `http://` to a loopback host.
pub fn check_url(url: &Url) -> Result<(), HttpError> {
    match url.scheme() {
        "https" if url.host().is_some() => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => Err(HttpError::InsecureUrl {
            url: url.to_string(),
        }),
        _ => Err(HttpError::UnsupportedScheme {
            url: url.to_string(),
        }),
    }
}

/// Same scheme, host and port (after the `url` crate's normalisation: lower-case host,
/// default port elided).
pub fn same_origin(a: &Url, b: &Url) -> bool {
    a.origin() == b.origin()
}

/// `IpAddr` loopback check, for callers holding a socket address.
pub fn is_loopback_ip(ip: IpAddr) -> bool {
    ip.is_loopback()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn url_policy() {
        for ok in [
            "https://idp.example.com/x",
            "http://127.0.0.1:8080/",
            "http://127.9.9.9/",
            "http://[::1]:3000/mcp",
            "http://localhost:1/",
            "http://LOCALHOST./",
            "http://a.localhost/",
        ] {
            assert!(check_url(&u(ok)).is_ok(), "{ok}");
        }
        for bad in [
            "http://idp.example.com/",
            "http://10.0.0.1/",
            "http://localhost.example.com/",
            "http://128.0.0.1/",
            "http://[::2]/",
        ] {
            assert!(
                matches!(check_url(&u(bad)), Err(HttpError::InsecureUrl { .. })),
                "{bad}"
            );
        }
        assert!(matches!(
            check_url(&u("ftp://x/")),
            Err(HttpError::UnsupportedScheme { .. })
        ));
        assert!(matches!(
            check_url(&u("file:///etc/passwd")),
            Err(HttpError::UnsupportedScheme { .. })
        ));
    }

    #[test]
    fn origins() {
        assert!(same_origin(
            &u("https://A.com/x"),
            &u("https://a.com:443/y")
        ));
        assert!(!same_origin(&u("https://a.com/x"), &u("http://a.com/x")));
        assert!(!same_origin(&u("https://a.com/x"), &u("https://b.a.com/x")));
        assert!(!same_origin(
            &u("https://a.com/x"),
            &u("https://a.com:8443/x")
        ));
    }
}
