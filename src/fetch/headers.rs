//! The user's -H headers, and which requests may carry them: a header may hold a secret (a
//! token, a session), so it goes only to the host the crawl was given, unless the user says
//! every host may have it.

use reqwest::header::HeaderMap;
use url::Url;

/// The headers -H gave, and whether --header-all-hosts lets them go anywhere.
#[derive(Debug, Clone, Default)]
pub struct Extra {
    pub headers: HeaderMap,
    pub all_hosts: bool,
}

impl Extra {
    /// The headers a request to `url` carries, when the page it is for descends from a URL
    /// line on `seed` (None: no host is the seed's, as for a robots.txt a redirect asked
    /// for). Hosts compare as the crawl's scope compares them: by name, any port.
    pub fn for_url(&self, url: &Url, seed: Option<&str>) -> Option<&HeaderMap> {
        if self.headers.is_empty() {
            return None;
        }
        let to_seed = seed.is_some_and(|seed| url.host_str() == Some(seed));
        (self.all_hosts || to_seed).then_some(&self.headers)
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
        assert!(e
            .for_url(&url("http://a.test:8080/p"), Some("a.test"))
            .is_some());
        assert!(e.for_url(&url("http://b.test/p"), Some("a.test")).is_none());
        assert!(e.for_url(&url("http://a.test/robots.txt"), None).is_none());
        let e = extra(true);
        assert!(e.for_url(&url("http://b.test/p"), Some("a.test")).is_some());
        assert!(Extra::default()
            .for_url(&url("http://a.test/"), Some("a.test"))
            .is_none());
    }
}
