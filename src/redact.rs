//! A password written into a URL (`http://user:secret@host/`) authenticates the requests, and is
//! shown nowhere else: records, messages and the frontier's keys carry `user:***@` instead.

use std::borrow::Cow;

use url::Url;

use crate::record::Record;

/// What a password is shown as.
pub const MASK: &str = "***";

/// `text` with the password of every URL in it masked, for text that may not parse as a URL
/// (a URL line as given, a message that quotes one). A URL's userinfo is what lies between
/// `://` and the last `@` before the end of its authority.
pub fn mask(text: &str) -> Cow<'_, str> {
    let mut out = String::new();
    let mut rest = text;
    let mut changed = false;
    while let Some(start) = rest.find("://") {
        let authority = &rest[start + 3..];
        let end = authority
            .find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace())
            .unwrap_or(authority.len());
        let userinfo = authority[..end]
            .rfind('@')
            .map(|at| &authority[..at])
            .and_then(|info| info.find(':').map(|colon| (colon, info.len())));
        let cut = start + 3 + end;
        match userinfo {
            Some((colon, len)) if &authority[colon + 1..len] != MASK => {
                out.push_str(&rest[..start + 3 + colon + 1]);
                out.push_str(MASK);
                out.push_str(&rest[start + 3 + len..cut]);
                changed = true;
            }
            _ => out.push_str(&rest[..cut]),
        }
        rest = &rest[cut..];
    }
    if !changed {
        return Cow::Borrowed(text);
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// A parsed URL with its password masked: the form it is recorded and deduplicated by.
pub fn mask_url(url: &mut Url) {
    if url.password().is_some_and(|p| p != MASK) {
        // Only URLs that can hold a password have one, so this cannot fail.
        let _ = url.set_password(Some(MASK));
    }
}

/// Masks every URL a record holds, and its error message, which may quote one.
pub fn record(record: &mut Record) {
    let fields = [
        Some(&mut record.url),
        record.final_url.as_mut(),
        record.parent.as_mut(),
        record.meta.canonical.as_mut(),
        record.error.as_mut().map(|e| &mut e.message),
    ];
    let links = record.links.iter_mut().map(|link| &mut link.href);
    for text in fields.into_iter().flatten().chain(links) {
        if let Cow::Owned(masked) = mask(text) {
            *text = masked;
        }
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
