//! A password written into a URL (`http://user:secret@host/`) authenticates the requests, and is
//! shown nowhere else: records, messages and the frontier's keys carry `user:***@` instead.

use std::borrow::Cow;

use url::Url;

/// What a password is shown as.
pub const MASK: &str = "***";

/// `text` with the password of every URL in it masked, for text that may not parse as a URL
/// (a URL line as given, a message that quotes one). A URL starts at `scheme://`, or at `http:`
/// or `https:` followed by any slashes or backslashes (`http:\\u:p@h/` and `http:u:p@h/` parse as
/// URLs too). Its authority runs to the next `/`, `\\`, `?` or `#`, whitespace included (a
/// password may hold a space), and its userinfo to the last `@` in it; the password is what
/// follows the userinfo's first `:`. Where that reads too much, more is masked, never less.
pub fn mask(text: &str) -> Cow<'_, str> {
    // No userinfo without an '@': most text, every link without one, costs a scan for it.
    if !text.contains('@') {
        return Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let mut out = String::new();
    let mut copied = 0;
    for colon in memchr::memchr_iter(b':', bytes) {
        if colon < copied || !starts_url(bytes, colon) {
            continue;
        }
        let start = colon
            + 1
            + bytes[colon + 1..]
                .iter()
                .take_while(|&&b| b == b'/' || b == b'\\')
                .count();
        let end = start
            + bytes[start..]
                .iter()
                .position(|b| matches!(b, b'/' | b'\\' | b'?' | b'#'))
                .unwrap_or(bytes.len() - start);
        let authority = &text[start..end];
        let Some(at) = authority.rfind('@') else {
            continue;
        };
        let Some(sep) = authority[..at].find(':') else {
            continue;
        };
        if &authority[sep + 1..at] != MASK {
            out.push_str(&text[copied..start + sep + 1]);
            out.push_str(MASK);
            copied = start + at;
        }
    }
    if copied == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
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
        ] {
            assert_eq!(mask(given), shown, "{given}");
        }
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
