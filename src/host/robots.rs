//! robots.txt, fetched once per host and obeyed with RFC 9309 semantics, so crawl is welcome back.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use url::Url;

use crate::fetch::Fetched;
use crate::output::record::{ErrorKind, PageError};
use crate::urls::normalize::{normalize, normalize_escapes};

/// The longest Crawl-delay obeyed: a robots.txt asking for more (or for an absurd number) gets
/// this, so that one host cannot stall its part of a crawl for hours.
pub const MAX_CRAWL_DELAY: Duration = Duration::from_secs(60);

/// What one host's robots.txt says to us.
pub enum Rules {
    /// 4xx, or no robots.txt: everything is allowed.
    AllowAll,
    /// 5xx: the host is treated as fully disallowed (RFC 9309, section 2.3.1.4).
    DisallowAll,
    /// No response at all, or one whose parsing panicked: disallowed too, but the record tells
    /// why (connect, timeout, parse...).
    Unreachable(PageError),
    Parsed(texting_robots::Robot),
}

impl Rules {
    pub fn allowed(&self, url: &Url) -> bool {
        match self {
            Rules::AllowAll => true,
            Rules::DisallowAll | Rules::Unreachable(_) => false,
            // RFC 9309 section 2.2.2: escapes of unreserved characters are decoded before
            // matching, so `/%70rivate` is `/private` to its rules, as to the server.
            Rules::Parsed(robot) => robot.allowed(normalize(url).as_str()),
        }
    }

    /// The Crawl-delay asked for, up to MAX_CRAWL_DELAY; none for zero, negative or NaN.
    pub fn crawl_delay(&self) -> Option<Duration> {
        match self {
            Rules::Parsed(robot) => robot.delay.filter(|s| *s > 0.0).map(|s| {
                Duration::try_from_secs_f32(s).map_or(MAX_CRAWL_DELAY, |d| d.min(MAX_CRAWL_DELAY))
            }),
            _ => None,
        }
    }

    /// Judges a robots.txt response: the status first, then the body.
    pub fn from_response(agent: &str, status: Option<u16>, body: &[u8]) -> Rules {
        match status {
            Some(200..=299) => {
                let parse = || {
                    crate::hooks::panic_on("robots", body);
                    texting_robots::Robot::new(agent, &rules_normalized(body))
                };
                // A bug that this robots.txt trips must not take a crawler thread down with it.
                match std::panic::catch_unwind(parse) {
                    Ok(parsed) => parsed.map_or(Rules::AllowAll, Rules::Parsed),
                    Err(panic) => Rules::Unreachable(PageError::new(
                        ErrorKind::Parse,
                        format!(
                            "robots.txt parser panicked: {}",
                            crate::parse::panic_message(&*panic)
                        ),
                    )),
                }
            }
            Some(400..=499) => Rules::AllowAll,
            _ => Rules::DisallowAll,
        }
    }

    pub fn from_fetch(agent: &str, fetched: &Fetched) -> Rules {
        match (&fetched.error, fetched.status) {
            // The host itself is refused: its pages would be refused the same way.
            (Some(error), _) if refused_host(fetched) => Rules::Unreachable(error.clone()),
            // Redirects that never reach a robots.txt make it unavailable, like a 4xx
            // (RFC 9309, section 2.3.1.2).
            (Some(error), _) if matches!(error.kind, ErrorKind::Redirect | ErrorKind::Blocked) => {
                Rules::AllowAll
            }
            (Some(error), None) => Rules::Unreachable(error.clone()),
            // Past ROBOTS_MAX_BYTES, the part read is obeyed.
            (_, status) => Rules::from_response(agent, status, &fetched.body),
        }
    }
}

/// robots.txt with the paths of its Allow and Disallow rules in the spelling URLs are matched
/// in (RFC 9309 section 2.2.2: escapes of unreserved characters decoded, hex upper-cased), so
/// that `/%70rivate` in a rule and `/private` in a URL, or the other way round, are one path.
/// Other lines, and lines that are not UTF-8, stay as they are.
fn rules_normalized(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    for line in body.split_inclusive(|&b| b == b'\n') {
        let rule = std::str::from_utf8(line).ok().and_then(|text| {
            let (field, value) = text.split_once(':')?;
            let field = field.trim();
            let is_rule =
                field.eq_ignore_ascii_case("allow") || field.eq_ignore_ascii_case("disallow");
            is_rule.then(|| format!("{field}:{}", normalize_escapes(value)))
        });
        match rule {
            Some(rule) => out.extend_from_slice(rule.as_bytes()),
            None => out.extend_from_slice(line),
        }
    }
    out
}

/// A robots.txt whose own host the guarded resolver refused: no verdict on the host, only on how
/// it was reached, so it is not kept for requests that may go there.
fn refused_host(fetched: &Fetched) -> bool {
    fetched
        .error
        .as_ref()
        .is_some_and(|e| e.kind == ErrorKind::Blocked && fetched.redirects == 0)
}

/// The product token robots.txt groups are matched against: "crawl" from "crawl/0.1.0 (...)".
pub fn agent_token(user_agent: &str) -> &str {
    user_agent
        .split(['/', ' '])
        .next()
        .filter(|t| !t.is_empty())
        .unwrap_or("crawl")
}

/// robots.txt responses kept where every worker of a shared crawl sees them, so that one
/// worker fetches each host's.
pub trait Shelf: Send + Sync {
    /// The response to robots.txt at `origin`: one kept there, or else `fetch`'s (called at most
    /// once), kept for the others when it is a verdict.
    fn fetched(&self, origin: &str, fetch: &mut dyn FnMut() -> Fetched) -> Fetched;
}

/// One robots.txt per host for the whole crawl. Crawlers that need the same host's rules wait
/// for the first one to fetch them instead of fetching them again.
#[derive(Default)]
pub struct RobotsCache {
    hosts: Mutex<HashMap<String, Arc<Slot>>>,
}

/// One host's rules, once some crawler has them.
type Slot = Mutex<Option<Arc<Rules>>>;

impl RobotsCache {
    /// The rules for `url`'s host; `fetch` gets a robots.txt URL. A host the guarded resolver
    /// refused gets rules that say so, kept for nobody: a request the user made may still go
    /// there, and must fetch its robots.txt then.
    pub fn rules(&self, url: &Url, fetch: impl FnOnce(&Url) -> Fetched, agent: &str) -> Arc<Rules> {
        let origin = url.origin().ascii_serialization();
        let cell = self
            .hosts
            .lock()
            .unwrap()
            .entry(origin)
            .or_default()
            .clone();
        // Held while fetching, so that the others wait for this fetch rather than repeat it.
        let mut kept = cell.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(rules) = &*kept {
            return rules.clone();
        }
        let mut robots = url.clone();
        robots.set_path("/robots.txt");
        robots.set_query(None);
        let fetched = fetch(&robots);
        let rules = Arc::new(Rules::from_fetch(agent, &fetched));
        if !refused_host(&fetched) {
            *kept = Some(rules.clone());
        }
        rules
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    const TXT: &[u8] = b"User-agent: *\nDisallow: /private\nAllow: /private/ok\nCrawl-delay: 2\n\nUser-agent: crawl\nDisallow: /no-crawl\nAllow: /no-crawl/but-this\nCrawl-delay: 0.5\nSitemap: http://a.test/sitemap.xml\n";

    #[test]
    fn our_group_wins_and_the_longest_match_decides() {
        let rules = Rules::from_response("crawl", Some(200), TXT);
        assert!(!rules.allowed(&url("http://a.test/no-crawl/x")));
        assert!(rules.allowed(&url("http://a.test/no-crawl/but-this/y")));
        assert!(rules.allowed(&url("http://a.test/private"))); // only the * group says so
        assert_eq!(rules.crawl_delay(), Some(Duration::from_millis(500)));
        let other = Rules::from_response("otherbot", Some(200), TXT);
        assert!(!other.allowed(&url("http://a.test/private/x")));
        assert!(other.allowed(&url("http://a.test/private/ok/x")));
    }

    #[test]
    fn escapes_of_unreserved_characters_do_not_get_past_the_rules() {
        let rules = Rules::from_response("crawl", Some(200), TXT);
        for path in [
            "/no-crawl/x",
            "/%6Eo-crawl/x",
            "/%6eo%2Dcrawl/x",
            "/no-crawl/%62ut-this/../x",
        ] {
            assert!(
                !rules.allowed(&url(&format!("http://a.test{path}"))),
                "{path}"
            );
        }
        assert!(rules.allowed(&url("http://a.test/no-crawl/%62ut-this/y")));
    }

    #[test]
    fn rules_written_with_escapes_match_as_they_read() {
        let txt = b"User-agent: *\nDisallow: /%e5%8d%9a%e5%ae%a2/\nDisallow: /%70ublic-secret\ndisallow:/a%2fb\nDisallow: /q?%73ession\n";
        let rules = Rules::from_response("crawl", Some(200), txt);
        for path in [
            "/%e5%8d%9a%e5%ae%a2/x",
            "/%E5%8D%9A%E5%AE%A2/x",
            "/博客/x",
            "/%70ublic-secret",
            "/public-secret",
            "/a%2fb",
            "/a%2Fb",
            "/q?%73ession=1",
            "/q?session=1",
        ] {
            assert!(
                !rules.allowed(&url(&format!("http://a.test{path}"))),
                "{path}"
            );
        }
        assert!(
            rules.allowed(&url("http://a.test/a/b")),
            "an escaped / is not a /"
        );
    }

    #[test]
    fn status_decides_before_the_body() {
        assert!(Rules::from_response("crawl", Some(404), b"").allowed(&url("http://a.test/x")));
        assert!(!Rules::from_response("crawl", Some(503), b"").allowed(&url("http://a.test/x")));
        assert!(!Rules::from_response("crawl", None, b"").allowed(&url("http://a.test/x")));
    }

    #[test]
    fn crawl_delay_is_capped_and_nonsense_ignored() {
        let delay = |value: &str| {
            let txt = format!("User-agent: *\nCrawl-delay: {value}\n");
            Rules::from_response("crawl", Some(200), txt.as_bytes()).crawl_delay()
        };
        assert_eq!(delay("2.5"), Some(Duration::from_millis(2500)));
        assert_eq!(delay("1e30"), Some(MAX_CRAWL_DELAY));
        assert_eq!(delay("inf"), Some(MAX_CRAWL_DELAY));
        assert_eq!(delay("3600"), Some(MAX_CRAWL_DELAY));
        for ignored in ["0", "-5", "NaN"] {
            assert_eq!(delay(ignored), None, "{ignored}");
        }
    }

    #[test]
    fn robots_txt_that_redirects_nowhere_is_unavailable() {
        for kind in [ErrorKind::Redirect, ErrorKind::Blocked] {
            let fetched = Fetched {
                redirects: 1,
                ..Fetched::failed(PageError::new(kind, "x"))
            };
            assert!(Rules::from_fetch("crawl", &fetched).allowed(&url("http://a.test/x")));
        }
        let refused = Fetched::failed(PageError::new(ErrorKind::Connect, "refused"));
        assert!(!Rules::from_fetch("crawl", &refused).allowed(&url("http://a.test/x")));
    }

    #[test]
    fn a_host_the_guard_refused_is_disallowed_and_asked_again() {
        let cache = RobotsCache::default();
        let mut calls = 0;
        for _ in 0..2 {
            let fetch = |_: &Url| {
                calls += 1;
                Fetched::failed(PageError::new(ErrorKind::Blocked, "resolves to 127.0.0.1"))
            };
            let rules = cache.rules(&url("http://sneaky.test/a"), fetch, "crawl");
            assert!(matches!(&*rules, Rules::Unreachable(e) if e.kind == ErrorKind::Blocked));
        }
        assert_eq!(calls, 2, "not kept");
        // A robots.txt that redirects to a private address is unavailable, so all is allowed.
        let redirected = Fetched {
            redirects: 1,
            ..Fetched::failed(PageError::new(ErrorKind::Blocked, "redirect"))
        };
        assert!(Rules::from_fetch("crawl", &redirected).allowed(&url("http://a.test/x")));
    }

    #[test]
    fn agent_token_is_the_product_name() {
        assert_eq!(agent_token("crawl/0.1.0"), "crawl");
        assert_eq!(agent_token("MyBot/2.0 (+http://x)"), "MyBot");
    }

    #[test]
    fn each_host_is_fetched_once() {
        let cache = RobotsCache::default();
        let mut calls = 0;
        for path in ["/a", "/b", "/c"] {
            let fetch = |_: &Url| {
                calls += 1;
                Fetched {
                    status: Some(404),
                    ..Fetched::default()
                }
            };
            cache.rules(&url(&format!("http://a.test{path}")), fetch, "crawl");
        }
        assert_eq!(calls, 1);
    }
}
