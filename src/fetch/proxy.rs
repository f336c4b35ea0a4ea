//! The proxies reqwest takes from the environment (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY,
//! NO_PROXY), so the private-address guard can tell a proxy from the hosts it is asked to reach.

use std::collections::HashSet;
use std::sync::Arc;

use hyper_util::client::proxy::matcher::Matcher;
use url::Url;

pub struct Proxies {
    /// The same rules reqwest applies, read the same way.
    matcher: Matcher,
    /// The proxies' own host names.
    pub hosts: Arc<HashSet<String>>,
}

const VARIABLES: [&str; 6] = [
    "ALL_PROXY",
    "all_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
];

impl Proxies {
    pub fn from_env() -> Proxies {
        let hosts = VARIABLES
            .iter()
            .filter_map(|name| std::env::var(name).ok())
            .filter_map(|value| host_of(&value))
            .collect();
        Proxies {
            matcher: Matcher::from_system(),
            hosts: Arc::new(hosts),
        }
    }

    /// Whether a request for `url` goes through a proxy, which then resolves its host itself.
    pub fn intercept(&self, url: &Url) -> bool {
        // Without a proxy setting, nothing is: the usual case costs nothing.
        !self.hosts.is_empty()
            && url
                .as_str()
                .parse::<http::Uri>()
                .is_ok_and(|uri| self.matcher.intercept(&uri).is_some())
    }
}

/// A proxy setting's host: a URL, or a bare `host:port` as curl also takes.
fn host_of(value: &str) -> Option<String> {
    let value = value.trim();
    let url = match value.contains("://") {
        true => Url::parse(value),
        false => Url::parse(&format!("http://{value}")),
    };
    Some(
        url.ok()?
            .host_str()?
            .trim_matches(['[', ']'])
            .to_ascii_lowercase(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proxy_setting_names_its_host_with_or_without_a_scheme() {
        assert_eq!(
            host_of("http://Proxy.Corp:3128").as_deref(),
            Some("proxy.corp")
        );
        assert_eq!(host_of("proxy.corp:3128").as_deref(), Some("proxy.corp"));
        assert_eq!(
            host_of("socks5h://10.0.0.3:1080").as_deref(),
            Some("10.0.0.3")
        );
        assert_eq!(host_of("").as_deref(), None);
    }
}
