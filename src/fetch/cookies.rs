//! -b and --cookie-jar: one cookie store every client shares, so a cookie a server sets is
//! sent back by the usual domain and path rules (cookie_store keeps them), and the store can
//! be read in and written out as Netscape cookies.txt, the file curl and wget write.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use cookie_store::{Cookie, CookieDomain, CookieExpiration, CookieStore, RawCookie};
use reqwest::header::HeaderValue;

use super::headers::to_seed;
use reqwest_cookie_store::CookieStoreMutex;
use url::Url;

/// The crawl's cookies: the store the clients read and fill, and -b's `k=v` pairs, which go to
/// the seeds' hosts.
#[derive(Debug)]
pub struct Cookies {
    store: Arc<CookieStoreMutex>,
    given: Vec<(String, String)>,
    /// Seeds -b's pairs were put in the store for: once each, so that a value the server sets
    /// later stands, as it would in a browser.
    seeded: Mutex<HashSet<String>>,
}

/// The store as the clients see it. cookie_store knows no public suffix without a list (which
/// would have to be downloaded and kept up to date), so a server could set a cookie for
/// `com` that every `.com` site would then get; as curl does without libpsl, a Set-Cookie
/// whose Domain is a single label is refused, unless that label is the host itself.
pub struct Guarded(Arc<CookieStoreMutex>);

impl reqwest::cookie::CookieStore for Guarded {
    fn set_cookies(&self, headers: &mut dyn Iterator<Item = &HeaderValue>, url: &Url) {
        let host = url.host_str().unwrap_or_default();
        let mut kept = headers.filter(|value| !too_wide(value, host));
        self.0.set_cookies(&mut kept, url);
    }

    fn cookies(&self, url: &Url) -> Option<HeaderValue> {
        self.0.cookies(url)
    }
}

/// Whether a Set-Cookie value names a single-label domain other than `host`.
fn too_wide(value: &HeaderValue, host: &str) -> bool {
    let Some(cookie) = value.to_str().ok().and_then(|v| RawCookie::parse(v).ok()) else {
        // The store parses it the same way and drops it too.
        return false;
    };
    let Some(domain) = cookie.domain() else {
        return false;
    };
    let domain = domain.trim_start_matches('.').trim_end_matches('.');
    !domain.is_empty()
        && !domain.contains('.')
        && !domain.eq_ignore_ascii_case(host.trim_end_matches('.'))
}

/// A cookies.txt line that is not one, by its number (from 1).
#[derive(Debug)]
pub struct BadLine(pub usize, pub &'static str);

impl Cookies {
    /// An empty store, with `given` pairs for the seeds' hosts.
    pub fn new(given: Vec<(String, String)>) -> Cookies {
        Cookies {
            store: Arc::new(CookieStoreMutex::new(CookieStore::default())),
            given,
            seeded: Mutex::new(HashSet::new()),
        }
    }

    /// Adds the cookies of a cookies.txt text.
    pub fn read(&self, text: &str) -> Result<(), BadLine> {
        read(&mut self.store.lock().unwrap(), text)
    }

    /// What the clients are given as their cookie provider: the store, behind the check
    /// that keeps a cookie off a whole top-level domain.
    pub fn provider(&self) -> Arc<Guarded> {
        Arc::new(Guarded(self.store.clone()))
    }

    /// Before a request to `url`, on behalf of a page whose seed is `seed` (see
    /// `headers::to_seed`): -b's pairs join the store for the seed's host the first time it
    /// is asked, as secure cookies when the seed's line was https, so that the store never
    /// sends them over plain http.
    pub fn before(&self, url: &Url, seed: Option<&str>) {
        let Some(seed) = seed.filter(|_| to_seed(url, seed)) else {
            return;
        };
        if self.given.is_empty() || !self.seeded.lock().unwrap().insert(seed.to_string()) {
            return;
        }
        let secure = seed.starts_with("https:");
        let Ok(at) = Url::parse(&format!("{}://{}/", url.scheme(), url.authority())) else {
            return;
        };
        let mut store = self.store.lock().unwrap();
        for (name, value) in &self.given {
            let mut raw = RawCookie::new(name.clone(), value.clone());
            raw.set_path("/");
            raw.set_secure(secure);
            // Refused only for an impossible host, which is then sent none.
            let _ = store.insert_raw(&raw, &at);
        }
    }

    /// The store as Netscape cookies.txt: every cookie that has not expired, a session one
    /// with expiry 0, as curl writes them.
    pub fn netscape(&self) -> String {
        let store = self.store.lock().unwrap();
        let mut text = String::from("# Netscape HTTP Cookie File\n# Written by crawl.\n\n");
        let mut lines: Vec<String> = store.iter_unexpired().map(line).collect();
        lines.sort();
        for l in lines {
            text.push_str(&l);
            text.push('\n');
        }
        text
    }
}

/// A `k=v; k2=v2` Cookie header value as pairs, or why it is not one.
pub fn pairs(s: &str) -> Result<Vec<(String, String)>, String> {
    s.split(';')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .map(|part| match part.split_once('=') {
            Some((name, value)) if !name.trim().is_empty() && valid(name) && valid(value) => {
                Ok((name.trim().to_string(), value.trim().to_string()))
            }
            _ => Err(format!("'{part}' is not a cookie (NAME=VALUE)")),
        })
        .collect()
}

fn valid(s: &str) -> bool {
    !s.chars().any(|c| c.is_control())
}

fn flag(b: bool) -> &'static str {
    if b {
        "TRUE"
    } else {
        "FALSE"
    }
}

/// One cookie as a cookies.txt line: domain, include-subdomains, path, secure, expiry, name,
/// value; an HttpOnly cookie's domain is prefixed `#HttpOnly_`, as curl marks it.
fn line(cookie: &Cookie) -> String {
    let (domain, subdomains) = match &cookie.domain {
        CookieDomain::Suffix(d) => (format!(".{d}"), true),
        other => (String::from(other), false),
    };
    let expiry = match &cookie.expires {
        CookieExpiration::AtUtc(at) => at.unix_timestamp().max(1),
        CookieExpiration::SessionEnd => 0,
    };
    let mut l = String::new();
    if cookie.http_only().unwrap_or(false) {
        l.push_str("#HttpOnly_");
    }
    let path = String::from(&cookie.path);
    let secure = flag(cookie.secure().unwrap_or(false));
    let (name, value) = (cookie.name(), cookie.value());
    let _ = write!(
        l,
        "{domain}\t{}\t{path}\t{secure}\t{expiry}\t{name}\t{value}",
        flag(subdomains)
    );
    l
}

/// Reads a cookies.txt text into `store`: comments and blank lines are skipped, as are
/// cookies that have expired; any other line must have its seven tab-separated fields (six
/// when the value is empty, as curl allows).
fn read(store: &mut CookieStore, text: &str) -> Result<(), BadLine> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    for (n, raw_line) in text.lines().enumerate() {
        let bad = |why| BadLine(n + 1, why);
        let (http_only, l) = match raw_line.strip_prefix("#HttpOnly_") {
            Some(rest) => (true, rest),
            None => (false, raw_line),
        };
        let l = l.trim_end_matches('\r');
        if l.trim().is_empty() || l.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = l.split('\t').collect();
        let [domain, subdomains, path, secure, expiry, name, value @ ..] = fields.as_slice() else {
            return Err(bad("not 7 tab-separated fields"));
        };
        let value = match value {
            [] => "",
            [value] => value,
            _ => return Err(bad("more than 7 tab-separated fields")),
        };
        let truth = |s: &str| match s.to_ascii_uppercase().as_str() {
            "TRUE" => Ok(true),
            "FALSE" => Ok(false),
            _ => Err(bad("a flag that is neither TRUE nor FALSE")),
        };
        let (subdomains, secure) = (truth(subdomains)?, truth(secure)?);
        let expiry: i64 = expiry
            .parse()
            .map_err(|_| bad("an expiry that is not a number"))?;
        if expiry != 0 && expiry <= now {
            continue;
        }
        let host = domain.trim_start_matches('.');
        if host.is_empty() || name.is_empty() {
            return Err(bad("an empty domain or name"));
        }
        let scheme = if secure { "https" } else { "http" };
        let path = if path.starts_with('/') { *path } else { "/" };
        let at = Url::parse(&format!("{scheme}://{host}{path}"))
            .map_err(|_| bad("a domain or path that makes no URL"))?;
        let mut raw = RawCookie::new(name.to_string(), value.to_string());
        raw.set_path(path.to_string());
        raw.set_secure(secure);
        raw.set_http_only(http_only);
        if subdomains {
            raw.set_domain(host.to_string());
        }
        let mut cookie = Cookie::try_from_raw_cookie(&raw, &at)
            .map_err(|_| bad("a cookie its own domain and path refuse"))?
            .into_owned();
        if expiry != 0 {
            cookie.expires = CookieExpiration::from((expiry - now) as u64);
        }
        store
            .insert(cookie, &at)
            .map_err(|_| bad("a cookie its own domain and path refuse"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_header_value_is_pairs() {
        let got = pairs(" a=1;b = x=y ;; c=").unwrap();
        let want = [("a", "1"), ("b", "x=y"), ("c", "")];
        assert_eq!(got, want.map(|(k, v)| (k.to_string(), v.to_string())));
        assert!(pairs("a=1; nonsense").is_err());
        assert!(pairs("=v").is_err());
    }

    #[test]
    fn cookies_txt_reads_and_writes_alike_and_keeps_the_domain_rules() {
        let far = 4_000_000_000u64;
        let text = format!(
            "# comment\n\
             .example.test\tTRUE\t/\tTRUE\t{far}\twide\t1\n\
             #HttpOnly_only.test\tFALSE\t/p\tFALSE\t0\tnarrow\t\n"
        );
        let cookies = Cookies::new(Vec::new());
        cookies.read(&text).unwrap();
        let written = cookies.netscape();
        let lines: Vec<&str> = written.lines().filter(|l| l.contains('\t')).collect();
        assert_eq!(
            lines,
            [
                "#HttpOnly_only.test\tFALSE\t/p\tFALSE\t0\tnarrow\t",
                &format!(".example.test\tTRUE\t/\tTRUE\t{far}\twide\t1"),
            ]
        );
        let store = cookies.store.lock().unwrap();
        let names = |url: &str| {
            let url = Url::parse(url).unwrap();
            let mut names: Vec<_> = store
                .matches(&url)
                .iter()
                .map(|c| c.name().to_string())
                .collect();
            names.sort();
            names
        };
        assert_eq!(names("https://www.example.test/x"), ["wide"]);
        assert!(names("http://www.example.test/x").is_empty(), "secure");
        assert!(names("http://sub.only.test/p").is_empty(), "host only");
        assert_eq!(names("http://only.test/p/q"), ["narrow"]);
        assert!(names("http://only.test/other").is_empty(), "path");
    }

    #[test]
    fn a_line_that_is_not_cookies_txt_is_named() {
        let cookies = Cookies::new(Vec::new());
        let err = cookies.read("# ok\n\na\tb\n").unwrap_err();
        assert_eq!(err.0, 3);
        let err = cookies.read("x\tMAYBE\t/\tFALSE\t0\tn\tv\n").unwrap_err();
        assert_eq!(err.1, "a flag that is neither TRUE nor FALSE");
    }
}
