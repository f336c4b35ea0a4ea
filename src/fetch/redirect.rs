//! Redirects followed one hop at a time, so that every hop is judged before it is requested:
//! its scheme, loops and the hop limit, the private-address guard, robots.txt, and the Referer
//! it may carry to another host.

use reqwest::header::{HeaderMap, HeaderValue, LOCATION};
use reqwest::StatusCode;
use url::Url;

use super::Limits;
use crate::fetch::private;
use crate::output::record::{ErrorKind, PageError};
use crate::urls::redact;

/// What each redirect hop must also pass, beyond the rules of this module: robots.txt, for
/// pages. It may block, to fetch a host's robots.txt.
pub trait Hops: Sync {
    /// Whether the hop to `to` may be requested; `guarded` says whether that request must
    /// refuse private DNS answers. Err becomes the page's error.
    fn allow(&self, to: &Url, guarded: bool) -> Result<(), PageError>;
}

/// For robots.txt itself, whose hops robots.txt does not judge.
pub struct NoRules;

impl Hops for NoRules {
    fn allow(&self, _: &Url, _: bool) -> Result<(), PageError> {
        Ok(())
    }
}

/// One request of a redirect chain.
#[derive(Debug, Clone)]
pub struct Hop {
    pub url: Url,
    /// Refuse private DNS answers: the hop was reached from a public page or host.
    pub guarded: bool,
    pub referer: Option<HeaderValue>,
}

impl Hop {
    pub fn first(url: &Url, guarded: bool) -> Hop {
        Hop {
            url: url.clone(),
            guarded,
            referer: None,
        }
    }
}

/// Why a redirect was not followed. The kind `redirect` refusals leave the redirect's response
/// in the record (a response did arrive); the others are hops that were never requested.
#[derive(Debug)]
pub struct Refusal {
    pub error: PageError,
    pub answered: bool,
}

/// Whether a response redirects: one of the statuses that do, with a Location.
pub fn asks(status: StatusCode, headers: &HeaderMap) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308) && headers.contains_key(LOCATION)
}

/// The hop a response leads to: None when it is not a redirect (it is the page), else the next
/// hop, or why there is none. `chain` holds the URLs requested so far, `from_public` whether this
/// response came from a public address.
pub fn next(
    limits: &Limits,
    current: &Hop,
    status: StatusCode,
    headers: &HeaderMap,
    from_public: bool,
    chain: &mut Vec<Url>,
    hops: &dyn Hops,
) -> Option<Result<Hop, Refusal>> {
    if !asks(status, headers) {
        return None;
    }
    let location = headers.get(LOCATION)?;
    chain.push(current.url.clone());
    Some(judge(limits, current, location, from_public, chain, hops))
}

fn judge(
    limits: &Limits,
    current: &Hop,
    location: &HeaderValue,
    from_public: bool,
    chain: &[Url],
    hops: &dyn Hops,
) -> Result<Hop, Refusal> {
    let answered = |message: String| Refusal {
        error: PageError::new(ErrorKind::Redirect, message),
        answered: true,
    };
    // Bytes that are not UTF-8 (a Latin-1 path, say) are sent escaped, as browsers follow them.
    let to = current
        .url
        .join(super::url_text(location.as_bytes()).trim())
        .map_err(|_| answered("redirect to a Location that is not a URL".into()))?;
    if !matches!(to.scheme(), "http" | "https") {
        let scheme = to.scheme();
        return Err(answered(format!(
            "redirect to {scheme}: refused: only http and https are followed"
        )));
    }
    let mut to = to;
    // The fragment never reaches the server, and a loop is a loop whatever it says.
    to.set_fragment(None);
    if chain.contains(&to) {
        return Err(answered("redirect loop".into()));
    }
    if chain.len() > limits.max_redirects {
        return Err(answered(format!(
            "more than {} redirects",
            limits.max_redirects
        )));
    }
    let guard = from_public && !limits.allow_private;
    if guard && private::is_private(&to) {
        let to = redact::mask(to.as_str()).into_owned();
        return Err(Refusal {
            error: PageError::new(
                ErrorKind::Blocked,
                format!(
                    "redirect from a public host to a private address ({to}); \
                     --allow-private permits it"
                ),
            ),
            answered: false,
        });
    }
    hops.allow(&to, guard).map_err(|error| Refusal {
        error,
        answered: false,
    })?;
    Ok(Hop {
        referer: referer(&current.url, &to),
        url: to,
        guarded: guard,
    })
}

/// The Referer a browser's default policy (strict-origin-when-cross-origin) sends on a hop:
/// the whole URL within one origin, only the origin to another, nothing from https to http.
/// Never the userinfo or the fragment.
fn referer(from: &Url, to: &Url) -> Option<HeaderValue> {
    if from.scheme() == "https" && to.scheme() != "https" {
        return None;
    }
    let mut sent = from.clone();
    let _ = sent.set_username("");
    let _ = sent.set_password(None);
    sent.set_fragment(None);
    if from.origin() != to.origin() {
        sent.set_path("/");
        sent.set_query(None);
    }
    HeaderValue::from_str(sent.as_str()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn sent(from: &str, to: &str) -> Option<String> {
        referer(&url(from), &url(to)).map(|v| v.to_str().unwrap().to_string())
    }

    #[test]
    fn the_referer_keeps_paths_and_queries_within_their_origin() {
        assert_eq!(
            sent("http://u:p@a.test/tags?x=1#top", "http://a.test/tags/").as_deref(),
            Some("http://a.test/tags?x=1")
        );
        assert_eq!(
            sent("https://a.test/secret/path?token=1", "https://b.test/").as_deref(),
            Some("https://a.test/")
        );
        assert_eq!(
            sent("http://a.test:8080/p", "http://a.test:9090/p").as_deref(),
            Some("http://a.test:8080/"),
            "another port is another origin"
        );
        assert_eq!(sent("https://a.test/p", "http://a.test/p"), None);
        assert_eq!(
            sent("http://a.test/p", "https://a.test/p").as_deref(),
            Some("http://a.test/")
        );
    }

    struct Deny;

    impl Hops for Deny {
        fn allow(&self, to: &Url, _: bool) -> Result<(), PageError> {
            Err(PageError::new(ErrorKind::Robots, to.path()))
        }
    }

    fn follow(location: &str, from_public: bool, hops: &dyn Hops) -> Result<Hop, Refusal> {
        let mut headers = HeaderMap::new();
        headers.insert(LOCATION, HeaderValue::from_str(location).unwrap());
        let current = Hop::first(&url("http://a.test/from"), false);
        let limits = Limits::default();
        let mut chain = Vec::new();
        next(
            &limits,
            &current,
            StatusCode::FOUND,
            &headers,
            from_public,
            &mut chain,
            hops,
        )
        .unwrap()
    }

    #[test]
    fn each_hop_is_judged_before_it_is_requested() {
        for (location, message) in [
            ("ftp://a.test/f", "redirect to ftp: refused"),
            ("about:blank", "redirect to about: refused"),
            ("gopher://a.test/", "redirect to gopher: refused"),
            ("javascript:alert(1)", "redirect to javascript: refused"),
            ("file:///etc/passwd", "redirect to file: refused"),
            ("data:text/html,hi", "redirect to data: refused"),
            ("/from", "redirect loop"),
        ] {
            let refusal = follow(location, true, &NoRules).unwrap_err();
            assert_eq!(refusal.error.kind, ErrorKind::Redirect, "{location}");
            assert!(refusal.answered, "{location}");
            assert!(
                refusal.error.message.starts_with(message),
                "{location}: {}",
                refusal.error.message
            );
        }
        let blocked = follow("http://10.0.0.1/", true, &NoRules).unwrap_err();
        assert_eq!(
            (blocked.error.kind, blocked.answered),
            (ErrorKind::Blocked, false)
        );
        let hop = follow("http://10.0.0.1/", false, &NoRules).unwrap();
        assert!(!hop.guarded, "from a private host, a hop is not guarded");
        let hop = follow("/tags/#x", true, &NoRules).unwrap();
        assert_eq!(
            (hop.url.as_str(), hop.guarded),
            ("http://a.test/tags/", true)
        );
        let robots = follow("/tags/", true, &Deny).unwrap_err();
        assert_eq!(
            (
                robots.error.kind,
                robots.error.message.as_str(),
                robots.answered
            ),
            (ErrorKind::Robots, "/tags/", false)
        );
    }

    #[test]
    fn a_response_without_a_location_is_the_page() {
        let limits = Limits::default();
        let current = Hop::first(&url("http://a.test/"), false);
        let headers = HeaderMap::new();
        for status in [StatusCode::FOUND, StatusCode::OK, StatusCode::NOT_MODIFIED] {
            assert!(next(
                &limits,
                &current,
                status,
                &headers,
                true,
                &mut Vec::new(),
                &NoRules
            )
            .is_none());
        }
    }
}
