//! Which proxy each request goes through: -x and --noproxy, else HTTP_PROXY, HTTPS_PROXY,
//! ALL_PROXY and NO_PROXY, read once into rules that both reqwest's clients and the
//! private-address guard are given, so the guard knows exactly which requests a proxy makes.

use std::collections::HashSet;
use std::sync::Arc;

use hyper_util::client::proxy::matcher::Matcher;
use url::Url;

/// The proxy options as the command line gave them.
#[derive(Debug, Clone, Default)]
pub struct Setting {
    /// -x: every request goes through this proxy (an http, https or socks5h URL).
    pub proxy: Option<String>,
    /// --noproxy: the hosts that bypass it, curl's syntax; replaces NO_PROXY.
    pub noproxy: Option<String>,
}

/// One run's proxy rules, as proxy URLs per scheme (empty: none) and the hosts that bypass them.
#[derive(Debug, Default)]
struct Rules {
    http: String,
    https: String,
    all: String,
    no: String,
}

impl Rules {
    fn new(setting: &Setting) -> Rules {
        let no = match &setting.noproxy {
            Some(no) => no.clone(),
            None => env(&["NO_PROXY", "no_proxy"]),
        };
        // `*` is every host, IP addresses too, as curl reads it; the matchers would leave IP
        // addresses to the proxy, so no proxy is set up at all.
        if no.trim() == "*" {
            return Rules::default();
        }
        if let Some(proxy) = &setting.proxy {
            return Rules {
                all: normalized(proxy),
                no,
                ..Rules::default()
            };
        }
        // As reqwest and curl do: under CGI, HTTP_PROXY may come from a request's Proxy
        // header, so no variable is trusted.
        if std::env::var_os("REQUEST_METHOD").is_some() {
            return Rules::default();
        }
        Rules {
            http: normalized(&env(&["HTTP_PROXY", "http_proxy"])),
            https: normalized(&env(&["HTTPS_PROXY", "https_proxy"])),
            all: normalized(&env(&["ALL_PROXY", "all_proxy"])),
            no,
        }
    }
}

/// The first of the variables that is set, as hyper-util reads them.
fn env(names: &[&str]) -> String {
    names
        .iter()
        .find_map(|name| std::env::var(name).ok())
        .unwrap_or_default()
}

/// A proxy setting as one URL string both readers take alike, or empty when it is not one: a
/// bare `host:port`, as curl also takes, is an http proxy.
fn normalized(value: &str) -> String {
    let value = value.trim();
    if value.is_empty() {
        return String::new();
    }
    let url = match value.contains("://") {
        true => Url::parse(value),
        false => Url::parse(&format!("http://{value}")),
    };
    url.ok()
        .filter(|url| url.host_str().is_some_and(|h| !h.is_empty()))
        .map(String::from)
        .unwrap_or_default()
}

pub struct Proxies {
    rules: Rules,
    /// The same rules reqwest applies, built the same way.
    matcher: Matcher,
    /// The proxies' own host names.
    pub hosts: Arc<HashSet<String>>,
}

impl Proxies {
    pub fn new(setting: &Setting) -> Proxies {
        let rules = Rules::new(setting);
        let hosts = [&rules.http, &rules.https, &rules.all]
            .into_iter()
            .filter_map(|value| host_of(value))
            .collect();
        let matcher = Matcher::builder()
            .http(rules.http.clone())
            .https(rules.https.clone())
            .all(rules.all.clone())
            .no(rules.no.clone())
            .build();
        Proxies {
            rules,
            matcher,
            hosts: Arc::new(hosts),
        }
    }

    /// The rules as reqwest takes them: a client given these reads no variable itself. In the
    /// order reqwest tries them, a scheme's own proxy before ALL_PROXY, as hyper-util's matcher
    /// does.
    pub fn for_reqwest(&self) -> Vec<reqwest::Proxy> {
        let no = || reqwest::NoProxy::from_string(&self.rules.no);
        type Make = fn(&str) -> reqwest::Result<reqwest::Proxy>;
        let made: [(&String, Make); 3] = [
            (&self.rules.http, |url| reqwest::Proxy::http(url)),
            (&self.rules.https, |url| reqwest::Proxy::https(url)),
            (&self.rules.all, |url| reqwest::Proxy::all(url)),
        ];
        made.into_iter()
            .filter(|(url, _)| !url.is_empty())
            .filter_map(|(url, make)| Some(make(url).ok()?.no_proxy(no())))
            .collect()
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
