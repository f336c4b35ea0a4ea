//! A password written into a URL (`http://user:secret@host/`) authenticates the requests, and is
//! shown nowhere else: records, messages and the frontier's keys carry `user:***@` instead.

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;

use url::Url;

/// What a password is shown as.
pub const MASK: &str = "***";

/// `text` with the password of every URL in it masked, for text that may not parse as a URL
/// (a URL line as given, a message that quotes one). A URL starts at `scheme://`, or at `http:`
/// or `https:` followed by any slashes or backslashes (`http:\\u:p@h/` and `http:u:p@h/` parse as
/// URLs too). Its authority runs to the next `/`, `\\`, `?` or `#`, whitespace included (a
/// password may hold a space), and its userinfo to the last `@` in it; the password is what
/// follows the userinfo's first `:`. Tab, CR and LF are read past wherever they are, as the URL
/// parser drops them. Where that reads too much, more is masked, never less. Time is linear in
/// the text, whatever a page puts in its links.
pub fn mask(text: &str) -> Cow<'_, str> {
    // No userinfo without an '@': most text, every link without one, costs a scan for it.
    if !text.contains('@') {
        return Cow::Borrowed(text);
    }
    let dropped = |b: &u8| matches!(b, b'\t' | b'\r' | b'\n');
    // What the URL parser reads, and where each of its bytes stands in the text as given.
    let (read, places): (Cow<[u8]>, Option<Vec<usize>>) = if text.bytes().any(|b| dropped(&b)) {
        let (places, read): (Vec<usize>, Vec<u8>) = text
            .bytes()
            .enumerate()
            .filter(|(_, b)| !dropped(b))
            .unzip();
        (Cow::Owned(read), Some(places))
    } else {
        (Cow::Borrowed(text.as_bytes()), None)
    };
    let place = |i: usize| {
        places
            .as_ref()
            .map_or(i, |p| p.get(i).copied().unwrap_or(text.len()))
    };
    let found = passwords(&read);
    if found.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for password in found {
        // From just after the `:` to the `@`, whatever dropped bytes lie between.
        let (start, end) = (place(password.start - 1) + 1, place(password.end));
        out.push_str(&text[copied..start]);
        out.push_str(MASK);
        copied = end;
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// Where the passwords are in `bytes`, each once. Each authority is scanned once, however many
/// `http:` it holds: a page could otherwise make every link cost its length squared.
fn passwords(bytes: &[u8]) -> Vec<Range<usize>> {
    let mut found = Vec::new();
    // The authority last scanned (it ends at `end`) and the last '@' in it.
    let (mut end, mut last_at) = (0, None);
    // Nothing before this is looked at again: it is a password's or its userinfo's.
    let mut covered = 0;
    for colon in memchr::memchr_iter(b':', bytes) {
        if colon < covered || !starts_url(bytes, colon) {
            continue;
        }
        let slashes = bytes[colon + 1..]
            .iter()
            .take_while(|&&b| b == b'/' || b == b'\\')
            .count();
        let start = colon + 1 + slashes;
        if start >= end {
            end = start
                + bytes[start..]
                    .iter()
                    .position(|b| matches!(b, b'/' | b'\\' | b'?' | b'#'))
                    .unwrap_or(bytes.len() - start);
            last_at = memchr::memrchr(b'@', &bytes[start..end]).map(|i| start + i);
        }
        let Some(at) = last_at.filter(|&at| at >= start) else {
            continue;
        };
        let Some(sep) = memchr::memchr(b':', &bytes[start..at]).map(|i| start + i) else {
            continue;
        };
        if &bytes[sep + 1..at] != MASK.as_bytes() {
            found.push(sep + 1..at);
        }
        covered = at;
    }
    found
}

/// Whether the `:` at `colon` ends a URL's scheme: `://` after any scheme, or http and https
/// however they are followed.
fn starts_url(bytes: &[u8], colon: usize) -> bool {
    let before = &bytes[..colon];
    let ends_with = |word: &[u8]| {
        before.len() >= word.len() && before[before.len() - word.len()..].eq_ignore_ascii_case(word)
    };
    bytes[colon + 1..].starts_with(b"//") || ends_with(b"http") || ends_with(b"https")
}

/// A parsed URL with its password masked: the form it is recorded and deduplicated by.
pub fn mask_url(url: &mut Url) {
    if url.password().is_some_and(|p| p != MASK) {
        // Only URLs that can hold a password have one, so this cannot fail.
        let _ = url.set_password(Some(MASK));
    }
}

/// The passwords of the URL lines, for the URLs an earlier run's records give back with theirs
/// masked (--resume follows the links of recorded pages): the mask is never sent as a password.
#[derive(Debug, Default)]
pub struct Passwords(HashMap<String, String>);

impl Passwords {
    /// Remembers the password `url` carries, for its user on its host and port.
    pub fn learn(&mut self, url: &Url) {
        if let Some(password) = url.password().filter(|p| *p != MASK) {
            self.0.insert(Self::key(url), password.to_string());
        }
    }

    /// Gives a masked URL its password back, or none when it is not known: a request without
    /// a password is refused at worst, where one with the mask would be wrong.
    pub fn restore(&self, url: &mut Url) {
        if url.password() != Some(MASK) {
            return;
        }
        let password = self.0.get(&Self::key(url)).map(String::as_str);
        // Only URLs that can hold a password have one, so this cannot fail.
        let _ = url.set_password(password);
    }

    fn key(url: &Url) -> String {
        let host = url.host_str().unwrap_or_default();
        let port = url.port_or_known_default().unwrap_or_default();
        format!("{}@{host}:{port}", url.username())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked_wherever_a_url_appears() {
        for (given, shown) in [
            ("http://user:secret@host/p", "http://user:***@host/p"),
            (
                "https://u:p@x.org:8080/a?b=c@d",
                "https://u:***@x.org:8080/a?b=c@d",
            ),
            ("http://u:p:q@h/", "http://u:***@h/"),
            ("http://a:b@c@h/", "http://a:***@h/"),
            (
                "redirect to http://u:s@h/x refused; see http://v:t@i/",
                "redirect to http://u:***@h/x refused; see http://v:***@i/",
            ),
            ("http://user@host/", "http://user@host/"),
            ("http://host/a:b@c", "http://host/a:b@c"),
            ("http://u:***@h/", "http://u:***@h/"),
            ("no url here: a:b@c", "no url here: a:b@c"),
            ("http://u:p@h", "http://u:***@h"),
            // Spellings the URL parser takes as well, and passwords with blanks in them.
            ("http:\\\\user:hunter2@h:1/e", "http:\\\\user:***@h:1/e"),
            ("http:user:hunter2@h/f", "http:user:***@h/f"),
            ("HTTPS:/user:hunter2@h/h", "HTTPS:/user:***@h/h"),
            ("http://user:hun\tter2@h/i", "http://user:***@h/i"),
            ("http://user:hun ter2@h/sp", "http://user:***@h/sp"),
            ("ftp://u:p@h/", "ftp://u:***@h/"),
            ("mailto:me@example.com", "mailto:me@example.com"),
            // Tab, CR and LF, which the URL parser drops, anywhere.
            ("http:\t//user:pw1@h/a", "http:\t//user:***@h/a"),
            ("ht\ttp:user:pw2@h/b", "ht\ttp:user:***@h/b"),
            ("http:/\t/user:pw4@h/d", "http:/\t/user:***@h/d"),
            ("http:\r\\\\user:p\tw6@h/f", "http:\r\\\\user:***@h/f"),
            ("http://u:\t@h/", "http://u:***@h/"),
        ] {
            assert_eq!(mask(given), shown, "{given}");
        }
    }

    #[test]
    fn a_page_cannot_make_masking_slow() {
        // Every `http:` starts a URL whose authority runs to the end: read once, not once each.
        let href = format!("/@{}", "http:".repeat(200_000));
        let started = std::time::Instant::now();
        assert_eq!(mask(&href), href);
        let long = format!("http://u:{}@h/", "p".repeat(1 << 20));
        assert_eq!(mask(&long), "http://u:***@h/");
        // Quadratic, the first would take minutes; linear, milliseconds even in a debug build.
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn a_masked_url_gets_its_password_back_or_none() {
        let mut passwords = Passwords::default();
        passwords.learn(&Url::parse("http://me:hunter2@blog.example/").unwrap());
        let mut known = Url::parse("http://me:***@blog.example:80/x").unwrap();
        passwords.restore(&mut known);
        assert_eq!(known.as_str(), "http://me:hunter2@blog.example/x");
        let mut unknown = Url::parse("http://you:***@blog.example/x").unwrap();
        passwords.restore(&mut unknown);
        assert_eq!(unknown.as_str(), "http://you@blog.example/x");
    }

    #[test]
    fn a_parsed_url_keeps_its_user_and_loses_its_password() {
        let mut url = Url::parse("http://me:hunter2@blog.example/a").unwrap();
        mask_url(&mut url);
        assert_eq!(url.as_str(), "http://me:***@blog.example/a");
        let mut plain = Url::parse("http://blog.example/").unwrap();
        mask_url(&mut plain);
        assert_eq!(plain.as_str(), "http://blog.example/");
    }
}
