//! Sitemaps list a blog's pages directly, so reading them finds posts that links alone would miss.

use std::io::Read;

use crate::hooks;
use crate::parse::html::lexer::is_space;

/// A sitemap (https://www.sitemaps.org/protocol.html) body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sitemap {
    /// <urlset>: the page URLs in its <url><loc> elements, in document order.
    UrlSet(Vec<String>),
    /// <sitemapindex>: the sitemap URLs in its <sitemap><loc> elements.
    Index(Vec<String>),
}

/// True when `body` (its first bytes) is gzip data (magic 1f 8b).
pub fn is_gzip(body: &[u8]) -> bool {
    body.starts_with(&[0x1f, 0x8b])
}

/// Why a gzipped body could not be unpacked.
#[derive(Debug, PartialEq, Eq)]
pub enum GunzipError {
    Corrupt(String),
    /// More than the cap once decompressed.
    TooLarge,
}

/// Decompresses gzip `body`, reading at most `cap` output bytes.
pub fn gunzip(body: &[u8], cap: u64) -> Result<Vec<u8>, GunzipError> {
    // Multi-member streams are valid gzip (RFC 1952), so accept them rather than
    // silently dropping every member after the first.
    let decoder = flate2::read::MultiGzDecoder::new(body);
    // One byte past the cap tells "exactly cap" apart from "too big" without
    // ever holding more than cap + 1 bytes, which is what defuses gzip bombs.
    let mut limited = decoder.take(cap.saturating_add(1));
    let mut out = Vec::new();
    limited
        .read_to_end(&mut out)
        .map_err(|e| GunzipError::Corrupt(format!("corrupt gzip data: {e}")))?;
    if out.len() as u64 > cap {
        return Err(GunzipError::TooLarge);
    }
    Ok(out)
}

/// Recognizes a sitemap: skips a UTF-8 BOM, whitespace, the <?xml ...?> declaration, comments and
/// processing instructions, then the root element must be `urlset` or `sitemapindex` (any namespace
/// prefix, e.g. <ns:urlset>, case-sensitive local name per the protocol, attributes ignored).
/// Returns None for anything else (HTML, RSS, other XML). Extracts <loc> text of urlset's <url> /
/// sitemapindex's <sitemap> children: trimmed, XML entities decoded (&amp; &lt; &gt; &quot; &apos;
/// and numeric &#...; / &#x...;), CDATA sections supported, empty locs skipped. Never panics on any input.
/// Linear time; no full XML parser needed (a small hand scanner is fine). Not the HTML lexer's:
/// XML names keep their case, `<![CDATA[` and `<?...?>` are XML's own, and only XML's five
/// named references exist (`&copy;` stays as written); whitespace is still HTML's one class.
pub fn parse(body: &[u8]) -> Option<Sitemap> {
    hooks::panic_on("sitemap", body);
    let mut s = Scanner { b: body, i: 0 };
    s.i = if body.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let root = s.skip_prolog()?;
    let (entry, is_index) = match local_name(root.name) {
        b"urlset" => (&b"url"[..], false),
        b"sitemapindex" => (&b"sitemap"[..], true),
        _ => return None,
    };
    let locs = if root.self_closing {
        Vec::new()
    } else {
        s.collect_locs(entry)
    };
    Some(if is_index {
        Sitemap::Index(locs)
    } else {
        Sitemap::UrlSet(locs)
    })
}

struct StartTag<'a> {
    name: &'a [u8],
    self_closing: bool,
}

enum Token<'a> {
    Text(&'a [u8]),
    CData(&'a [u8]),
    Start(StartTag<'a>),
    End,
    /// Comments, processing instructions and declarations: nothing a sitemap carries.
    Ignored,
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Scanner<'a> {
    /// Returns the root start tag, or None when something other than markup
    /// noise comes first (text before the root means it is not XML we want).
    fn skip_prolog(&mut self) -> Option<StartTag<'a>> {
        loop {
            while self.i < self.b.len() && is_space(self.b[self.i]) {
                self.i += 1;
            }
            if self.b[self.i..].starts_with(b"<!DOCTYPE") {
                self.skip_doctype();
                continue;
            }
            match self.next()? {
                Token::Start(tag) => return Some(tag),
                Token::Ignored => {}
                Token::Text(_) | Token::CData(_) | Token::End => return None,
            }
        }
    }

    /// A DOCTYPE may carry an internal subset whose declarations contain `>`,
    /// so the bracketed part has to be stepped over before looking for the end.
    fn skip_doctype(&mut self) {
        let mut in_subset = false;
        while self.i < self.b.len() {
            let c = self.b[self.i];
            self.i += 1;
            match c {
                b'[' => in_subset = true,
                b']' => in_subset = false,
                b'>' if !in_subset => return,
                _ => {}
            }
        }
    }

    /// Walks the root's content, keeping only depth and two flags: a sitemap
    /// is shallow and fixed in shape, so a full element stack is unnecessary.
    fn collect_locs(&mut self, entry: &[u8]) -> Vec<String> {
        let mut locs = Vec::new();
        // Depth 1 is inside the root, 2 inside an entry, 3 inside its <loc>.
        let mut depth = 1usize;
        let mut in_entry = false;
        let mut loc: Option<Vec<u8>> = None;
        while let Some(tok) = self.next() {
            match tok {
                Token::Start(tag) => {
                    if tag.self_closing {
                        continue;
                    }
                    let name = local_name(tag.name);
                    if depth == 1 && name == entry {
                        in_entry = true;
                    } else if depth == 2 && in_entry && name == b"loc" {
                        loc = Some(Vec::new());
                    }
                    depth += 1;
                }
                Token::End => {
                    if depth == 3 {
                        if let Some(raw) = loc.take() {
                            let text = String::from_utf8_lossy(&raw);
                            let url = text.trim();
                            if !url.is_empty() {
                                locs.push(url.to_string());
                            }
                        }
                    }
                    depth -= 1;
                    if depth == 1 {
                        in_entry = false;
                    }
                    if depth == 0 {
                        break;
                    }
                }
                Token::Text(t) => {
                    if depth == 3 {
                        if let Some(buf) = loc.as_mut() {
                            decode_entities(t, buf);
                        }
                    }
                }
                Token::CData(t) => {
                    if depth == 3 {
                        if let Some(buf) = loc.as_mut() {
                            buf.extend_from_slice(t);
                        }
                    }
                }
                Token::Ignored => {}
            }
        }
        // A <loc> cut off by the end of the body is dropped: half a URL is worse than none.
        locs
    }

    fn next(&mut self) -> Option<Token<'a>> {
        let b = self.b;
        let start = self.i;
        if start >= b.len() {
            return None;
        }
        if b[start] != b'<' {
            let end = find_byte(b, start, b'<').unwrap_or(b.len());
            self.i = end;
            return Some(Token::Text(&b[start..end]));
        }
        let rest = &b[start..];
        if rest.starts_with(b"<!--") {
            self.i = skip_past(b, start + 4, b"-->");
            return Some(Token::Ignored);
        }
        if rest.starts_with(b"<![CDATA[") {
            let body = start + 9;
            return Some(match find(b, body, b"]]>") {
                Some(end) => {
                    self.i = end + 3;
                    Token::CData(&b[body..end])
                }
                None => {
                    // Unterminated: treat as noise so a truncated body yields no partial URL.
                    self.i = b.len();
                    Token::Ignored
                }
            });
        }
        if rest.starts_with(b"<?") {
            self.i = skip_past(b, start + 2, b"?>");
            return Some(Token::Ignored);
        }
        if rest.starts_with(b"<!") {
            self.i = skip_past(b, start + 2, b">");
            return Some(Token::Ignored);
        }
        if rest.starts_with(b"</") {
            self.i = skip_past(b, start + 2, b">");
            return Some(Token::End);
        }
        let name_start = start + 1;
        let mut j = name_start;
        while j < b.len() && !is_space(b[j]) && b[j] != b'>' && b[j] != b'/' {
            j += 1;
        }
        let name = &b[name_start..j];
        // Attribute values may legally contain '>' and '/', so only unquoted
        // ones can end the tag or mark it self-closing.
        let mut quote: Option<u8> = None;
        let mut prev = 0u8;
        while j < b.len() {
            let c = b[j];
            j += 1;
            match quote {
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None if c == b'"' || c == b'\'' => quote = Some(c),
                None if c == b'>' => {
                    self.i = j;
                    return Some(Token::Start(StartTag {
                        name,
                        self_closing: prev == b'/',
                    }));
                }
                None => {}
            }
            prev = c;
        }
        // An unclosed tag at the end of the body is not an element.
        self.i = b.len();
        None
    }
}

/// Namespace prefixes vary by generator (`<ns:urlset>`), so match on the part after the colon.
fn local_name(name: &[u8]) -> &[u8] {
    match name.iter().rposition(|&c| c == b':') {
        Some(p) => &name[p + 1..],
        None => name,
    }
}

fn find_byte(b: &[u8], from: usize, c: u8) -> Option<usize> {
    b.get(from..)?
        .iter()
        .position(|&x| x == c)
        .map(|p| from + p)
}

fn find(b: &[u8], from: usize, pat: &[u8]) -> Option<usize> {
    b.get(from..)?
        .windows(pat.len())
        .position(|w| w == pat)
        .map(|p| from + p)
}

/// Index just past `pat`, or the end of input so an unterminated construct swallows the rest.
fn skip_past(b: &[u8], from: usize, pat: &[u8]) -> usize {
    find(b, from, pat).map_or(b.len(), |p| p + pat.len())
}

/// Appends `text` to `out` with entity references resolved. Unknown or malformed
/// references are kept verbatim: a URL with a stray `&` is still worth crawling.
fn decode_entities(text: &[u8], out: &mut Vec<u8>) {
    // Longest reference we accept, "&#x10FFFF;" plus slack; the bound keeps a
    // lone '&' from scanning the rest of the text, which keeps this linear.
    const MAX_REF: usize = 12;
    let mut i = 0;
    while i < text.len() {
        if text[i] != b'&' {
            out.push(text[i]);
            i += 1;
            continue;
        }
        let window = &text[i + 1..text.len().min(i + 1 + MAX_REF)];
        let decoded = window
            .iter()
            .position(|&c| c == b';')
            .and_then(|semi| Some((resolve_entity(&window[..semi])?, semi)));
        match decoded {
            Some((ch, semi)) => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                i += semi + 2;
            }
            None => {
                out.push(b'&');
                i += 1;
            }
        }
    }
}

fn resolve_entity(name: &[u8]) -> Option<char> {
    match name {
        b"amp" => Some('&'),
        b"lt" => Some('<'),
        b"gt" => Some('>'),
        b"quot" => Some('"'),
        b"apos" => Some('\''),
        _ => {
            let num = name.strip_prefix(b"#")?;
            let (digits, radix) = match num.strip_prefix(b"x").or(num.strip_prefix(b"X")) {
                Some(hex) => (hex, 16),
                None => (num, 10),
            };
            let digits = std::str::from_utf8(digits).ok()?;
            // from_str_radix accepts a leading '+', which XML does not.
            if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_hexdigit()) {
                return None;
            }
            char::from_u32(u32::from_str_radix(digits, radix).ok()?)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    const URLSET: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<ns:urlset xmlns:ns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <ns:url>
    <ns:loc>
      https://example.com/a?x=1&amp;y=2
    </ns:loc>
    <ns:lastmod>2024-01-01</ns:lastmod>
  </ns:url>
  <ns:url><ns:loc>https://example.com/&#x63;af&#233;&lt;&gt;&quot;&apos;&#47;</ns:loc></ns:url>
  <ns:url><ns:loc>   </ns:loc></ns:url>
  <ns:url><ns:loc>https://example.com/&bogus;&amp</ns:loc></ns:url>
</ns:urlset>"#;

    #[test]
    fn urlset_with_namespace_entities_and_whitespace() {
        assert_eq!(
            parse(URLSET.as_bytes()),
            Some(Sitemap::UrlSet(vec![
                "https://example.com/a?x=1&y=2".into(),
                "https://example.com/café<>\"'/".into(),
                "https://example.com/&bogus;&amp".into(),
            ]))
        );
    }

    #[test]
    fn sitemapindex() {
        let body = br#"<?xml version="1.0"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>https://example.com/s1.xml</loc><lastmod>2024-01-01</lastmod></sitemap>
  <sitemap>
    <loc>https://example.com/s2.xml.gz</loc>
  </sitemap>
  <loc>https://example.com/not-in-a-sitemap-element.xml</loc>
  <url><loc>https://example.com/wrong-child.xml</loc></url>
</sitemapindex>"#;
        assert_eq!(
            parse(body),
            Some(Sitemap::Index(vec![
                "https://example.com/s1.xml".into(),
                "https://example.com/s2.xml.gz".into(),
            ]))
        );
    }

    #[test]
    fn only_direct_loc_children_of_entries_count() {
        // Image and video extensions nest their own <loc>s; those are media, not pages.
        let body = br#"<urlset><url><loc>https://e.com/p</loc>
<image:image><image:loc>https://e.com/i.png</image:loc></image:image></url></urlset>"#;
        assert_eq!(
            parse(body),
            Some(Sitemap::UrlSet(vec!["https://e.com/p".into()]))
        );
    }

    #[test]
    fn gzipped_urlset_round_trip() {
        let gz = gzip(URLSET.as_bytes());
        assert!(is_gzip(&gz));
        assert!(!is_gzip(URLSET.as_bytes()));
        assert!(!is_gzip(&[0x1f]));
        let plain = gunzip(&gz, 1 << 20).unwrap();
        assert_eq!(plain, URLSET.as_bytes());
        assert!(matches!(parse(&plain), Some(Sitemap::UrlSet(v)) if v.len() == 3));
        // Exactly at the cap is allowed.
        assert_eq!(gunzip(&gz, URLSET.len() as u64).unwrap(), URLSET.as_bytes());
        assert!(gunzip(&gz, u64::MAX).is_ok());
    }

    #[test]
    fn gunzip_cap_exceeded() {
        let gz = gzip(&vec![b'a'; 10_000]);
        assert_eq!(gunzip(&gz, 9_999), Err(GunzipError::TooLarge));
    }

    #[test]
    fn corrupt_gzip() {
        let mut gz = gzip(URLSET.as_bytes());
        let mid = gz.len() / 2;
        gz[mid] ^= 0xff;
        gz[mid + 1] ^= 0x55;
        assert!(gunzip(&gz, 1 << 20).is_err());
        let truncated = &gzip(URLSET.as_bytes())[..20];
        assert!(gunzip(truncated, 1 << 20).is_err());
        assert!(gunzip(b"\x1f\x8bnot really gzip", 1 << 20).is_err());
        assert!(gunzip(b"", 1 << 20).is_err());
    }

    #[test]
    fn html_rss_and_other_xml_are_not_sitemaps() {
        let html =
            b"<!DOCTYPE html>\n<html><body><urlset><url><loc>x</loc></url></urlset></body></html>";
        assert_eq!(parse(html), None);
        let rss = br#"<?xml version="1.0"?><rss version="2.0"><channel><item><link>https://e.com/</link></item></channel></rss>"#;
        assert_eq!(parse(rss), None);
        assert_eq!(
            parse(b"<feed xmlns=\"http://www.w3.org/2005/Atom\"/>"),
            None
        );
        // The protocol's element names are case-sensitive.
        assert_eq!(parse(b"<URLSET><url><loc>x</loc></url></URLSET>"), None);
        assert_eq!(parse(b"<urlsetx></urlsetx>"), None);
        assert_eq!(parse(b"text <urlset></urlset>"), None);
        assert_eq!(parse(b""), None);
        assert_eq!(parse(b"   "), None);
    }

    #[test]
    fn bom_comments_and_instructions_before_root() {
        let body = b"\xEF\xBB\xBF  <?xml version=\"1.0\"?>\n<!-- generated by <urlset> maker -->\n\
<?xml-stylesheet type=\"text/xsl\" href=\"s.xsl\"?>\n<!DOCTYPE urlset [ <!ENTITY x \"y>\"> ]>\n\
<urlset a='1>' b=\"/\"><!-- <url><loc>https://e.com/hidden</loc></url> -->\
<url><loc>https://e.com/1</loc></url></urlset>";
        assert_eq!(
            parse(body),
            Some(Sitemap::UrlSet(vec!["https://e.com/1".into()]))
        );
        assert_eq!(parse(b"<urlset/>"), Some(Sitemap::UrlSet(vec![])));
        assert_eq!(
            parse(b"<sitemapindex xmlns='x' />"),
            Some(Sitemap::Index(vec![]))
        );
    }

    #[test]
    fn form_feed_is_whitespace_as_everywhere_else() {
        let body = b"<urlset\x0c><url\x0c><loc>https://e.com/1</loc></url></urlset>";
        assert_eq!(
            parse(body),
            Some(Sitemap::UrlSet(vec!["https://e.com/1".into()]))
        );
    }

    #[test]
    fn cdata_loc() {
        let body = b"<urlset><url><loc> <![CDATA[ https://e.com/?a=1&b=<2> ]]> </loc></url>\
<url><loc>https://e.com/<![CDATA[x&amp;]]>&amp;y</loc></url></urlset>";
        assert_eq!(
            parse(body),
            Some(Sitemap::UrlSet(vec![
                "https://e.com/?a=1&b=<2>".into(),
                "https://e.com/x&amp;&y".into(),
            ]))
        );
    }

    #[test]
    fn truncated_body_keeps_complete_locs_only() {
        let body = b"<urlset><url><loc>https://e.com/1</loc></url><url><loc>https://e.com/2";
        assert_eq!(
            parse(body),
            Some(Sitemap::UrlSet(vec!["https://e.com/1".into()]))
        );
    }

    #[test]
    fn random_bytes_never_panic() {
        // xorshift64: deterministic and dependency-free, enough to shake the scanner.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut rand = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        // Bytes that steer the scanner into its interesting branches.
        const ALPHABET: &[u8] =
            b"<>/?!-[]&#;x:'\" \nCDATAurlsetsitemapindexloc\xEF\xBB\xBF\x1f\x8b09";
        let seed = URLSET.as_bytes();
        for round in 0..20_000 {
            let len = (rand() % 200) as usize;
            let body: Vec<u8> = match round % 3 {
                0 => (0..len).map(|_| rand() as u8).collect(),
                1 => (0..len)
                    .map(|_| ALPHABET[(rand() % ALPHABET.len() as u64) as usize])
                    .collect(),
                _ => {
                    let mut b = seed.to_vec();
                    for _ in 0..(rand() % 8) {
                        let at = (rand() % b.len() as u64) as usize;
                        b[at] = ALPHABET[(rand() % ALPHABET.len() as u64) as usize];
                    }
                    b.truncate((rand() % (b.len() as u64 + 1)) as usize);
                    b
                }
            };
            let _ = parse(&body);
            let _ = is_gzip(&body);
            let _ = gunzip(&body, 1 << 16);
        }
    }
}
