//! The user's -H headers, and which requests may carry them: a header may hold a secret (a
//! token, a session), so it goes only to the host the crawl was given, unless the user says
//! every host may have it.

use std::sync::Arc;

use reqwest::header::HeaderMap;
use url::Url;

/// A seed as pages carry it: the scheme and host of the URL line (`https://a.test`), so that
/// what a line given as https may carry never goes over plain http.
pub fn seed_of(line: &Url) -> Option<Arc<str>> {
    Some(format!("{}://{}", line.scheme(), line.host_str()?).into())
}

/// Whether a request to `url` goes to `seed`'s host (by name, any port, as the crawl's scope
/// compares hosts), and not over plain http when the seed's line was https. None, or a seed
/// not spelled by `seed_of`, is no host's.
pub fn to_seed(url: &Url, seed: Option<&str>) -> bool {
    let Some((scheme, host)) = seed.and_then(|seed| seed.split_once("://")) else {
        return false;
    };
    url.host_str() == Some(host) && (scheme != "https" || url.scheme() == "https")
}

/// The headers -H gave, and whether --header-all-hosts lets them go anywhere.
#[derive(Debug, Clone, Default)]
pub struct Extra {
    pub headers: HeaderMap,
    pub all_hosts: bool,
}

impl Extra {
    /// The headers a request to `url` carries, when the page it is for descends from a URL
    /// line `seed` (see `to_seed`; None: no host is the seed's, as for a robots.txt a
    /// redirect asked for).
    pub fn for_url(&self, url: &Url, seed: Option<&str>) -> Option<&HeaderMap> {
        if self.headers.is_empty() {
            return None;
        }
        (self.all_hosts || to_seed(url, seed)).then_some(&self.headers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderName, HeaderValue};

    fn extra(all_hosts: bool) -> Extra {
        let mut headers = HeaderMap::new();
        headers.insert(
            HeaderName::from_static("x-token"),
            HeaderValue::from_static("s3cret"),
        );
        Extra { headers, all_hosts }
    }

    #[test]
    fn headers_go_to_the_seeds_host_only() {
        let url = |s: &str| Url::parse(s).unwrap();
        let e = extra(false);
        let (plain, tls) = (Some("http://a.test"), Some("https://a.test"));
        assert!(e.for_url(&url("http://a.test:8080/p"), plain).is_some());
        assert!(e.for_url(&url("https://a.test/p"), plain).is_some());
        assert!(e.for_url(&url("https://a.test:8443/p"), tls).is_some());
        assert!(
            e.for_url(&url("http://a.test/p"), tls).is_none(),
            "in clear"
        );
        assert!(e.for_url(&url("http://b.test/p"), plain).is_none());
        assert!(e.for_url(&url("http://a.test/robots.txt"), None).is_none());
        assert!(e.for_url(&url("http://a.test/p"), Some("a.test")).is_none());
        let e = extra(true);
        assert!(e.for_url(&url("http://b.test/p"), plain).is_some());
        assert!(Extra::default()
            .for_url(&url("http://a.test/"), plain)
            .is_none());
    }
}
