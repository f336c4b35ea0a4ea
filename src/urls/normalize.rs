//! One spelling per page, so a crawl fetches each URL once however pages link to it.

use url::Url;

use crate::urls::redact;

/// The form a URL is deduplicated by. Parsing already lower-cases the scheme and host, drops
/// the default port, resolves dot segments and percent-encodes raw non-ASCII; this also drops
/// the fragment and normalizes escapes, so `/博客`, `/%E5%8D%9A%E5%AE%A2` and `/%e5%8d%9a%e5%ae%a2`
/// are one page, and so are `/%7Euser` and `/~user`.
pub fn normalize(url: &Url) -> Url {
    let mut url = url.clone();
    url.set_fragment(None);
    // The form a link is recorded by, too: a password in it is shown nowhere.
    redact::mask_url(&mut url);
    let path = normalize_escapes(url.path());
    url.set_path(&path);
    if let Some(query) = url.query() {
        let query = normalize_escapes(query);
        url.set_query(Some(&query));
    }
    url
}

/// Upper-cases the hex digits of every escape and decodes escapes of unreserved characters,
/// which mean the same either way (RFC 3986, section 6.2.2). robots.txt rules are read so too,
/// so that a rule and a URL compare in one spelling.
pub fn normalize_escapes(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                let byte = hi << 4 | lo;
                if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
                    out.push(byte as char);
                } else {
                    out.push('%');
                    out.push(bytes[i + 1].to_ascii_uppercase() as char);
                    out.push(bytes[i + 2].to_ascii_uppercase() as char);
                }
                i += 3;
                continue;
            }
        }
        // Everything else is ASCII already: Url keeps paths and queries percent-encoded.
        out.push(bytes[i] as char);
        i += 1;
    }
    out
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> String {
        normalize(&Url::parse(s).unwrap()).into()
    }

    #[test]
    fn spellings_of_one_page_are_one_key() {
        let k = key("http://Blog.Example:80/a/./b/../博客?q=1#top");
        assert_eq!(k, "http://blog.example/a/%E5%8D%9A%E5%AE%A2?q=1");
        assert_eq!(key("HTTP://blog.example/a/%e5%8d%9a%e5%ae%a2?q=1"), k);
        assert_eq!(key("http://blog.example/a/%E5%8D%9A%E5%AE%A2?q=1#x"), k);
        assert_eq!(
            key("http://blog.example/%7Euser/%41"),
            "http://blog.example/~user/A"
        );
        assert_eq!(key("https://blog.example:443"), "https://blog.example/");
        assert_ne!(
            key("http://blog.example/a%2Fb"),
            key("http://blog.example/a/b")
        );
    }
}
