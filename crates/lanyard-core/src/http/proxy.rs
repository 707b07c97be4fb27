//! Which proxy a request goes through: `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY`
//! (upper or lower case), read as curl reads them, with one rule of Lanyard's own: loopback
//! hosts (`localhost`, `*.localhost`, `127.0.0.0/8`, `::1`) are always reached directly.
//!
//! Why: plain `http://` is allowed only to loopback hosts because such a request never leaves
//! the machine ([`super::check_url`]). Through a proxy it would — in clear text, to a proxy
//! that resolves `localhost` to itself. So everything a proxy carries is `https://`, and TLS is
//! verified end to end against the trusted roots: a proxy can read a request only when the
//! user trusts its CA (an inspecting company proxy, configured with `LANYARD_CA_FILE`). Names
//! sent through a proxy are resolved by the proxy, not by Lanyard's resolver: that resolver
//! only pins `localhost` names to loopback, and those never go through a proxy.

use reqwest::{ClientBuilder, NoProxy, Proxy};
use url::Url;

use super::setting::SettingError;

/// Hosts never sent to a proxy, added to the user's `NO_PROXY`.
const ALWAYS_DIRECT: &str = "localhost,localhost.,127.0.0.0/8,::1";

/// `builder` with the proxies of the environment (`var` reads it), and nothing of reqwest's
/// own reading of it.
pub fn apply(
    builder: ClientBuilder,
    var: &dyn Fn(&str) -> Option<String>,
) -> Result<ClientBuilder, SettingError> {
    let first = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| var(n).map(|v| ((*n).to_owned(), v)))
    };
    let all = first(&["ALL_PROXY", "all_proxy"]);
    let https = first(&["HTTPS_PROXY", "https_proxy"]).or_else(|| all.clone());
    // Under CGI a request header sets HTTP_PROXY ("httpoxy"): only the lower-case one is read.
    let http = if var("REQUEST_METHOD").is_some() {
        first(&["http_proxy"])
    } else {
        first(&["HTTP_PROXY", "http_proxy"])
    }
    .or(all);
    let user_direct = first(&["NO_PROXY", "no_proxy"])
        .map(|(_, v)| v)
        .unwrap_or_default();
    let direct = NoProxy::from_string(&format!("{ALWAYS_DIRECT},{user_direct}"));

    let mut builder = builder.no_proxy();
    if let Some((name, value)) = https {
        let url = proxy_url(&name, &value)?;
        let proxy = Proxy::https(url).map_err(|e| unusable(&name, &value, e.to_string()))?;
        builder = builder.proxy(proxy.no_proxy(direct.clone()));
    }
    if let Some((name, value)) = http {
        let url = proxy_url(&name, &value)?;
        let proxy = Proxy::http(url).map_err(|e| unusable(&name, &value, e.to_string()))?;
        builder = builder.proxy(proxy.no_proxy(direct));
    }
    Ok(builder)
}

/// The variable whose proxy a `scheme` request takes (`HTTPS_PROXY=http://proxy:3128`,
/// password masked), for messages; NO_PROXY is not consulted.
pub fn configured(scheme: &str, var: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let names: &[&str] = if scheme == "https" {
        &["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]
    } else {
        &["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]
    };
    names
        .iter()
        .find_map(|n| var(n).map(|v| format!("{n}={}", masked(&v))))
}

/// A proxy variable's URL: `host:port` means `http://host:port`, as for curl; only HTTP(S)
/// proxies are spoken to.
fn proxy_url(name: &str, value: &str) -> Result<Url, SettingError> {
    let value = value.trim();
    let full = if value.contains("://") {
        value.to_owned()
    } else {
        format!("http://{value}")
    };
    let url = Url::parse(&full).map_err(|e| unusable(name, value, format!("not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(unusable(
            name,
            value,
            "Lanyard speaks to proxies over http:// or https:// only (not SOCKS)".into(),
        ));
    }
    Ok(url)
}

fn unusable(name: &str, value: &str, detail: String) -> SettingError {
    SettingError {
        setting: format!("{name}={}", masked(value)),
        detail,
    }
}

/// The value with any password in it hidden.
fn masked(value: &str) -> String {
    match value.rsplit_once('@') {
        Some((creds, host)) if creds.contains(':') => {
            let (scheme_user, _) = creds.rsplit_once(':').unwrap_or((creds, ""));
            format!("{scheme_user}:***@{host}")
        }
        _ => value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_connection_names_the_proxy_variable_it_went_through() {
        let env = |k: &str| (k == "all_proxy").then(|| "http://u:pw@proxy:3128".to_owned());
        assert_eq!(
            configured("https", &env).as_deref(),
            Some("all_proxy=http://u:***@proxy:3128")
        );
        assert_eq!(configured("https", &|_: &str| None), None);
    }

    #[test]
    fn a_socks_or_broken_proxy_is_an_error_that_hides_the_password() {
        let e = proxy_url("ALL_PROXY", "socks5://u:secret@proxy:1080").unwrap_err();
        assert_eq!(e.setting, "ALL_PROXY=socks5://u:***@proxy:1080");
        assert!(e.detail.contains("not SOCKS"), "{}", e.detail);
        assert!(proxy_url("HTTPS_PROXY", "http://[::1").is_err());
        assert_eq!(
            proxy_url("https_proxy", "proxy.corp:3128")
                .unwrap()
                .as_str(),
            "http://proxy.corp:3128/"
        );
    }
}
