//! Judges and decodes bodies as browsers do, because many crawled blogs are GBK or Big5 and mislabelled.

use chardetng::{EncodingDetector, Iso2022JpDetection, Utf8Detection};
use encoding_rs::{
    Encoding, GB18030, GBK, REPLACEMENT, UTF_16BE, UTF_16LE, UTF_8, WINDOWS_1252, X_USER_DEFINED,
};
use std::borrow::Cow;

use crate::parse::html::lexer::{self, is_space, Step};

/// What a response body is, judged from its Content-Type header and, when that is missing or
/// generic (application/octet-stream, text/plain is NOT generic), by sniffing the first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    Html,
    Xml,
    Other,
}

/// How many leading bytes `classify` and the meta prescan look at.
pub const SNIFF_LEN: usize = 1024;

#[derive(Debug, Clone)]
pub struct Decoded<'a> {
    /// Borrowed from the body when it already is UTF-8, the common case.
    pub text: Cow<'a, str>,
    /// Lower-case WHATWG name of the encoding used, e.g. "utf-8", "gb18030", "big5", "shift_jis", "windows-1252".
    pub encoding: &'static str,
}

/// `content_type` is the raw header value if there was one; `prefix` is the first bytes of the
/// body (up to 1024; may be shorter or empty).
pub fn classify(content_type: Option<&str>, prefix: &[u8]) -> BodyKind {
    let raw = content_type.unwrap_or("");
    let media = raw.split_once(';').map_or(raw, |(m, _)| m).trim();
    let is = |m: &str| media.eq_ignore_ascii_case(m);
    // A value that is not type/subtype is as good as none (WHATWG sniffing does the same);
    // S3 labels untyped uploads binary/octet-stream, and static blogs live there.
    let generic = media.is_empty()
        || !media.contains('/')
        || is("application/octet-stream")
        || is("binary/octet-stream")
        || is("application/unknown")
        || is("unknown/unknown")
        || is("*/*");
    if generic {
        sniff(&prefix[..prefix.len().min(SNIFF_LEN)])
    } else if is("text/html") || is("application/xhtml+xml") {
        BodyKind::Html
    } else if is("application/xml") || is("text/xml") || ends_with_ci(media.as_bytes(), b"+xml") {
        BodyKind::Xml
    } else {
        BodyKind::Other
    }
}

/// Decodes an HTML body in this order: 1. BOM (UTF-8, UTF-16LE/BE), 2. charset= parameter of
/// the Content-Type header, 3. <meta charset=...> or <meta http-equiv="Content-Type" content="...charset=...">
/// found by prescanning the first SNIFF_LEN bytes (skip comments; attribute values quoted or not,
/// any case), 4. UTF-8 if the body is valid UTF-8, 5. the encoding chardetng (Firefox's
/// detector) guesses from the body up to DETECT_LEN bytes past its first byte beyond ASCII and
/// from `tld`, the last label of the page's host. Labels are resolved with
/// encoding_rs::Encoding::for_label (WHATWG labels); an unknown label falls through to the
/// next step. "gbk", "gb2312" and every label or guess that resolves
/// to GBK decode as GB18030 (and report "gb18030"). A meta that declares UTF-16 means UTF-8 (as
/// the HTML spec says). Malformed bytes become U+FFFD; NUL bytes must not panic. Never panics on
/// any input.
pub fn decode<'a>(body: &'a [u8], content_type: Option<&str>, tld: Option<&str>) -> Decoded<'a> {
    let (enc, bom_len) = match declared(body, content_type) {
        Some(declared) => declared,
        None => match UTF_8.decode_without_bom_handling_and_without_replacement(body) {
            // The common case costs the one pass that decoding it as UTF-8 costs anyway.
            Some(text) => {
                return Decoded {
                    text,
                    encoding: lower_name(UTF_8),
                }
            }
            None => (detect(body, tld), 0),
        },
    };
    let (text, _) = enc.decode_without_bom_handling(&body[bom_len..]);
    Decoded {
        text,
        encoding: lower_name(enc),
    }
}

/// The encoding the body declares, by BOM, header or meta, and the length of the BOM to skip.
fn declared(body: &[u8], content_type: Option<&str>) -> Option<(&'static Encoding, usize)> {
    if let Some(found) = Encoding::for_bom(body) {
        return Some(found);
    }
    if let Some(enc) = content_type.and_then(header_charset).and_then(resolve) {
        return Some((enc, 0));
    }
    let window = &body[..body.len().min(SNIFF_LEN)];
    prescan(window).map(|enc| (enc, 0))
}

/// How far past its first byte beyond ASCII the detector reads an undeclared body that is not
/// UTF-8. chardetng skips the ASCII before that byte almost for free but costs about 70 ns a
/// byte after it: these 4 KiB add 0.28 ms to a corpus page recoded to GBK (whose streaming
/// parse takes 0.1 ms), where the whole page would add 1.9 ms. Up to 2 000 CJK characters or
/// 4 000 accented letters are more than it needs for a sure guess: it guesses every page of the
/// corpus recoded to GBK, Big5 or Shift_JIS right from the first 128 bytes. Pages that are
/// UTF-8 or say what they are never get here and pay nothing.
const DETECT_LEN: usize = 4 * 1024;

/// The encoding of a body that declares none and is not UTF-8, guessed as Firefox guesses it,
/// except that a UTF-8 page with a few stray bytes stays UTF-8.
fn detect(body: &[u8], tld: Option<&str>) -> &'static Encoding {
    let first = body
        .iter()
        .position(|&b| !b.is_ascii())
        .unwrap_or(body.len());
    let prefix = &body[..body.len().min(first.saturating_add(DETECT_LEN))];
    if nearly_utf8(&prefix[first..]) {
        return UTF_8;
    }
    let mut detector = EncodingDetector::new(Iso2022JpDetection::Deny);
    detector.feed(prefix, prefix.len() == body.len());
    // chardetng panics on a label that is not lower-case ASCII without dots.
    let tld = tld.filter(|t| {
        t.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    });
    // UTF-8 can still be the answer when the bytes that are not UTF-8 lie past the prefix.
    widen(detector.guess(tld.map(str::as_bytes), Utf8Detection::Allow))
}

/// A label to an encoding we are willing to decode with.
fn resolve(label: &[u8]) -> Option<&'static Encoding> {
    match Encoding::for_label(label)? {
        // The replacement encoding turns a whole page into one U+FFFD; a browser does that for
        // safety, but a crawler learns more by trying the next source.
        enc if enc == REPLACEMENT => None,
        enc => Some(widen(enc)),
    }
}

/// Whether bytes that are not UTF-8 are strays in UTF-8 text, like a windows-1252 quote pasted
/// into one post of a UTF-8 blog: chardetng drops UTF-8 at the first bad byte and would turn
/// the whole page into mojibake for it. Text in a legacy encoding has about as many bad
/// sequences as sequences that happen to be valid UTF-8 (GBK, Big5, Shift_JIS) or none of the
/// latter (single-byte encodings), so ten times as many valid characters as bad sequences is
/// far from either.
fn nearly_utf8(bytes: &[u8]) -> bool {
    let (mut chars, mut bad) = (0, 0);
    for chunk in bytes.utf8_chunks() {
        // Every character that is not ASCII starts with one byte of 0xC0 or above.
        chars += chunk.valid().bytes().filter(|&b| b >= 0xC0).count();
        bad += usize::from(!chunk.invalid().is_empty());
    }
    bad * 10 <= chars
}

/// GB18030 is a superset of GBK, and pages labelled gb2312 or gbk routinely use characters only
/// GB18030 has.
fn widen(enc: &'static Encoding) -> &'static Encoding {
    if enc == GBK {
        GB18030
    } else {
        enc
    }
}

fn header_charset(content_type: &str) -> Option<&[u8]> {
    content_type.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        if !key.trim().eq_ignore_ascii_case("charset") {
            return None;
        }
        let value = value.trim();
        let value = match value.strip_prefix('"') {
            Some(quoted) => quoted.split('"').next().unwrap_or(quoted),
            None => value,
        };
        Some(value.as_bytes())
    })
}

/// The name records use for the encoding `label` names (a record read back, for --since).
pub fn record_name(label: &str) -> Option<&'static str> {
    Encoding::for_label(label.as_bytes()).map(lower_name)
}

/// encoding_rs names follow the WHATWG spelling, which is mixed-case; callers want one spelling.
fn lower_name(enc: &'static Encoding) -> &'static str {
    match enc.name() {
        "UTF-8" => "utf-8",
        "UTF-16LE" => "utf-16le",
        "UTF-16BE" => "utf-16be",
        "GBK" => "gbk",
        "Big5" => "big5",
        "Shift_JIS" => "shift_jis",
        "EUC-JP" => "euc-jp",
        "ISO-2022-JP" => "iso-2022-jp",
        "EUC-KR" => "euc-kr",
        "IBM866" => "ibm866",
        "KOI8-R" => "koi8-r",
        "KOI8-U" => "koi8-u",
        "ISO-8859-2" => "iso-8859-2",
        "ISO-8859-3" => "iso-8859-3",
        "ISO-8859-4" => "iso-8859-4",
        "ISO-8859-5" => "iso-8859-5",
        "ISO-8859-6" => "iso-8859-6",
        "ISO-8859-7" => "iso-8859-7",
        "ISO-8859-8" => "iso-8859-8",
        "ISO-8859-8-I" => "iso-8859-8-i",
        "ISO-8859-10" => "iso-8859-10",
        "ISO-8859-13" => "iso-8859-13",
        "ISO-8859-14" => "iso-8859-14",
        "ISO-8859-15" => "iso-8859-15",
        "ISO-8859-16" => "iso-8859-16",
        other => other,
    }
}

// ---- meta prescan (WHATWG "prescan a byte stream to determine its encoding") ----

/// Walks tags rather than grepping for "charset" so that comments, scripts' attribute values
/// and other tags' attributes cannot fake a declaration. The walk itself is WHATWG's prescan,
/// not the tokenizer's: it knows no raw text (a `<meta>` inside a `<script>` counts), a tag
/// name ends only at whitespace or `>`, and a comment only at `-->`.
fn prescan(buf: &[u8]) -> Option<&'static Encoding> {
    let mut i = 0;
    // Only a '<' can start anything that matters.
    while let Some(lt) = buf
        .get(i..)
        .and_then(|rest| rest.iter().position(|&b| b == b'<'))
    {
        i += lt;
        let rest = &buf[i..];
        if rest.starts_with(b"<!--") {
            // The closing "-->" may reuse the opening dashes: "<!-->" is a whole comment.
            i += 2 + find(&rest[2..], b"-->")? + 2;
        } else if starts_with_ci(rest, b"<meta")
            && rest.get(5).is_some_and(|&b| is_space(b) || b == b'/')
        {
            i += 5;
            if let Some(enc) = meta_encoding(buf, &mut i) {
                return Some(enc);
            }
        } else if starts_tag_name(&rest[1..]) {
            i += rest.iter().position(|&b| is_space(b) || b == b'>')?;
            while attribute(buf, &mut i).is_some() {}
        } else if rest.starts_with(b"<!") || rest.starts_with(b"</") || rest.starts_with(b"<?") {
            i += rest.iter().position(|&b| b == b'>')?;
        }
        i += 1;
    }
    None
}

fn starts_tag_name(rest: &[u8]) -> bool {
    match rest {
        [b'/', c, ..] | [c, ..] => c.is_ascii_alphabetic(),
        [] => false,
    }
}

/// Reads the attributes of a meta tag (position just after "<meta") and says which encoding it
/// declares, if it declares a usable one.
fn meta_encoding(buf: &[u8], i: &mut usize) -> Option<&'static Encoding> {
    // Only the first occurrence of each attribute name counts, as in an HTML parser.
    let (mut seen_equiv, mut seen_content, mut seen_charset) = (false, false, false);
    let mut got_pragma = false;
    let mut need_pragma = None;
    // None: nothing declared yet; Some(None): declared but unusable.
    let mut charset: Option<Option<&'static Encoding>> = None;
    while let Some((name, value)) = attribute(buf, i) {
        if name.eq_ignore_ascii_case(b"http-equiv") && !seen_equiv {
            seen_equiv = true;
            got_pragma = value.eq_ignore_ascii_case(b"content-type");
        } else if name.eq_ignore_ascii_case(b"content") && !seen_content {
            seen_content = true;
            if charset.is_none() {
                if let Some(enc) = charset_in_content(value).and_then(resolve) {
                    charset = Some(Some(enc));
                    need_pragma = Some(true);
                }
            }
        } else if name.eq_ignore_ascii_case(b"charset") && !seen_charset {
            seen_charset = true;
            charset = Some(resolve(value));
            need_pragma = Some(false);
        }
    }
    // content="...charset=x" only counts next to http-equiv="Content-Type".
    if need_pragma? && !got_pragma {
        return None;
    }
    let enc = charset??;
    // A meta is read as ASCII, so a document that has one cannot really be UTF-16.
    Some(if enc == UTF_16LE || enc == UTF_16BE {
        UTF_8
    } else if enc == X_USER_DEFINED {
        WINDOWS_1252
    } else {
        enc
    })
}

/// One attribute starting at `*i`, leaving `*i` on the byte after it. WHATWG's prescan reads
/// attributes by the tokenizer's rules, without character references, so the one lexer reads
/// them. `None` at the end of the tag (`*i` on its `>`), or when the window ends
/// mid-attribute: then `*i` moves to the end, because a cut-off value would give a wrong label
/// and its text must not be rescanned as markup.
fn attribute<'a>(buf: &'a [u8], i: &mut usize) -> Option<(&'a [u8], &'a [u8])> {
    match lexer::step(buf, *i) {
        Some((Step::Attr { name, value }, next)) => {
            *i = next;
            Some((&buf[name.0..name.1], &buf[value.0..value.1]))
        }
        Some((Step::End(_), end)) => {
            *i = end - 1;
            None
        }
        None => {
            *i = buf.len();
            None
        }
    }
}

/// The label in a content="text/html; charset=..." value (WHATWG "extracting a character
/// encoding from a meta element").
fn charset_in_content(value: &[u8]) -> Option<&[u8]> {
    let mut i = 0;
    loop {
        i += find_ci(&value[i..], b"charset")? + b"charset".len();
        while value.get(i).copied().is_some_and(is_space) {
            i += 1;
        }
        if value.get(i) != Some(&b'=') {
            continue;
        }
        i += 1;
        while value.get(i).copied().is_some_and(is_space) {
            i += 1;
        }
        let rest = &value[i..];
        return match rest.first()? {
            &quote @ (b'"' | b'\'') => {
                let len = rest[1..].iter().position(|&b| b == quote)?;
                Some(&rest[1..1 + len])
            }
            _ => {
                let len = rest
                    .iter()
                    .position(|&b| is_space(b) || b == b';')
                    .unwrap_or(rest.len());
                Some(&rest[..len])
            }
        };
    }
}

// ---- sniffing ----

/// The WHATWG MIME-sniffing patterns that mark HTML; "<!--" is checked separately.
const HTML_STARTS: [&[u8]; 16] = [
    b"!doctype html",
    b"html",
    b"head",
    b"script",
    b"iframe",
    b"h1",
    b"div",
    b"font",
    b"table",
    b"a",
    b"style",
    b"title",
    b"b",
    b"body",
    b"br",
    b"p",
];

/// Tags that only a document has, looked for anywhere so that a page with a stray PHP warning
/// or a blank banner line before its doctype is still HTML.
const DOCUMENT_TAGS: [&[u8]; 4] = [b"!doctype html", b"html", b"head", b"body"];

fn sniff(prefix: &[u8]) -> BodyKind {
    if let Some((enc, bom_len)) = Encoding::for_bom(prefix) {
        if enc != UTF_8 {
            // UTF-16 markup is ASCII markup with NULs between; look at it as UTF-8 instead.
            let (text, _) = enc.decode_without_bom_handling(&prefix[bom_len..]);
            return sniff(text.as_bytes());
        }
    }
    let bytes = prefix.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(prefix);
    let start = bytes
        .iter()
        .position(|&b| !is_space(b))
        .unwrap_or(bytes.len());
    let bytes = &bytes[start..];
    if bytes.is_empty() {
        // An empty page is still a page; it just has no title.
        return BodyKind::Html;
    }
    if bytes.starts_with(b"<!--")
        || (bytes[0] == b'<' && HTML_STARTS.iter().any(|t| tag_then_end(&bytes[1..], t)))
    {
        return BodyKind::Html;
    }
    if let Some(rest) = bytes.strip_prefix(b"<?xml") {
        return if xml_root_is_html(rest).unwrap_or(false) {
            BodyKind::Html
        } else {
            BodyKind::Xml
        };
    }
    if bytes.iter().any(|&b| is_binary(b)) {
        return BodyKind::Other;
    }
    let has_document_tag = bytes.iter().enumerate().any(|(i, &b)| {
        b == b'<'
            && DOCUMENT_TAGS
                .iter()
                .any(|t| tag_then_end(&bytes[i + 1..], t))
    });
    if has_document_tag {
        BodyKind::Html
    } else {
        BodyKind::Other
    }
}

/// XHTML served without a type starts like any XML document; its root (or doctype) tells.
fn xml_root_is_html(after_decl: &[u8]) -> Option<bool> {
    let mut rest = &after_decl[find(after_decl, b"?>")? + 2..];
    loop {
        let start = rest.iter().position(|&b| !is_space(b))?;
        rest = &rest[start..];
        if rest.starts_with(b"<?") {
            rest = &rest[find(rest, b"?>")? + 2..];
        } else if rest.starts_with(b"<!--") {
            rest = &rest[4 + find(&rest[4..], b"-->")? + 3..];
        } else if starts_with_ci(rest, b"<!doctype") {
            let name = &rest[b"<!doctype".len()..];
            let start = name.iter().position(|&b| !is_space(b))?;
            return Some(xml_name_is(&name[start..], b"html"));
        } else {
            return Some(rest.first() == Some(&b'<') && xml_name_is(&rest[1..], b"html"));
        }
    }
}

fn xml_name_is(rest: &[u8], name: &[u8]) -> bool {
    starts_with_ci(rest, name)
        && rest
            .get(name.len())
            .is_some_and(|&b| is_space(b) || matches!(b, b'>' | b'/' | b'['))
}

fn tag_then_end(rest: &[u8], tag: &[u8]) -> bool {
    // WHATWG only allows space or '>' after the name; a newline there is common in real pages.
    starts_with_ci(rest, tag)
        && rest
            .get(tag.len())
            .is_some_and(|&b| is_space(b) || b == b'>')
}

// ---- byte helpers ----

fn is_binary(b: u8) -> bool {
    matches!(b, 0x00..=0x08 | 0x0B | 0x0E..=0x1A | 0x1C..=0x1F)
}

fn starts_with_ci(hay: &[u8], needle: &[u8]) -> bool {
    hay.len() >= needle.len() && hay[..needle.len()].eq_ignore_ascii_case(needle)
}

fn ends_with_ci(hay: &[u8], needle: &[u8]) -> bool {
    hay.len() >= needle.len() && hay[hay.len() - needle.len()..].eq_ignore_ascii_case(needle)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn find_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes and detaches the result from the body, so tests can pass temporaries.
    fn owned(body: &[u8], content_type: Option<&str>) -> Decoded<'static> {
        let d = decode(body, content_type, None);
        Decoded {
            text: Cow::Owned(d.text.into_owned()),
            encoding: d.encoding,
        }
    }
    use encoding_rs::{BIG5, SHIFT_JIS};

    fn encode(enc: &'static Encoding, text: &str) -> Vec<u8> {
        let (bytes, _, had_errors) = enc.encode(text);
        assert!(!had_errors, "{} cannot encode {text}", enc.name());
        bytes.into_owned()
    }

    fn page(head: &str, title: &str) -> String {
        format!(
            "<!DOCTYPE html><html><head>{head}<title>{title}</title></head><body>{title}</body></html>"
        )
    }

    #[test]
    fn gbk_by_meta_charset() {
        let body = encode(GBK, &page(r#"<meta charset="gbk">"#, "中文标题"));
        let out = owned(&body, None);
        assert!(out.text.contains("<title>中文标题</title>"), "{}", out.text);
        assert_eq!(out.encoding, "gb18030");
        // A header without charset does not get in the way.
        assert_eq!(owned(&body, Some("text/html")).text, out.text);
    }

    #[test]
    fn gb2312_by_header() {
        let body = encode(GBK, &page("", "中文标题"));
        let out = owned(&body, Some("text/html; charset=GB2312"));
        assert!(out.text.contains("<title>中文标题</title>"));
        assert_eq!(out.encoding, "gb18030");
        let quoted = owned(&body, Some(r#"text/html;charset="gbk""#));
        assert_eq!(quoted.encoding, "gb18030");
        assert_eq!(quoted.text, out.text);
    }

    #[test]
    fn big5_by_http_equiv() {
        let head = r#"<meta http-equiv="Content-Type" content="text/html; charset=big5">"#;
        let body = encode(BIG5, &page(head, "繁體中文標題"));
        let out = owned(&body, None);
        assert!(out.text.contains("<title>繁體中文標題</title>"));
        assert_eq!(out.encoding, "big5");
    }

    #[test]
    fn shift_jis_by_header() {
        let body = encode(SHIFT_JIS, &page("", "日本語のタイトル"));
        let out = owned(&body, Some("text/html; charset=Shift_JIS"));
        assert!(out.text.contains("<title>日本語のタイトル</title>"));
        assert_eq!(out.encoding, "shift_jis");
    }

    #[test]
    fn bom_beats_header_beats_meta() {
        let html = page(r#"<meta charset="big5">"#, "中文标题");
        let mut with_bom = b"\xEF\xBB\xBF".to_vec();
        with_bom.extend_from_slice(html.as_bytes());
        let out = owned(&with_bom, Some("text/html; charset=gbk"));
        assert_eq!(out.encoding, "utf-8");
        assert_eq!(out.text, html, "the BOM is not part of the text");

        let mut utf16 = vec![0xFF, 0xFE];
        utf16.extend(html.encode_utf16().flat_map(u16::to_le_bytes));
        let out = owned(&utf16, Some("text/html; charset=utf-8"));
        assert_eq!(
            (out.encoding, out.text.as_ref()),
            ("utf-16le", html.as_str())
        );

        let mut utf16 = vec![0xFE, 0xFF];
        utf16.extend(html.encode_utf16().flat_map(u16::to_be_bytes));
        assert_eq!(owned(&utf16, None).encoding, "utf-16be");

        let gbk = encode(GBK, &html);
        let out = owned(&gbk, Some("text/html; charset=gbk"));
        assert_eq!(out.encoding, "gb18030");
        assert!(out.text.contains("中文标题"));
    }

    #[test]
    fn utf8_is_the_default() {
        let html = page("", "中文标题 ünïcödé");
        let out = owned(html.as_bytes(), None);
        assert_eq!((out.encoding, out.text.as_ref()), ("utf-8", html.as_str()));
        assert_eq!(owned(b"", None).text, "");
        assert_eq!(owned(b"", None).encoding, "utf-8");
    }

    #[test]
    fn windows_1252_labels() {
        let body = b"<p>\x93caf\xe9\x94</p>";
        for ct in ["text/html; charset=ISO-8859-1", "text/html; charset=latin1"] {
            let out = owned(body, Some(ct));
            assert_eq!(out.encoding, "windows-1252");
            assert_eq!(out.text, "<p>\u{201c}café\u{201d}</p>");
        }
        let out = owned(b"<meta charset=us-ascii><p>\xe9", None);
        assert_eq!(
            (out.encoding, out.text.as_ref()),
            ("windows-1252", "<meta charset=us-ascii><p>é")
        );
    }

    #[test]
    fn unknown_label_falls_through() {
        let body = encode(GBK, &page("<meta charset=gbk>", "中文标题"));
        let out = owned(&body, Some("text/html; charset=no-such-thing"));
        assert_eq!(out.encoding, "gb18030");
        assert!(out.text.contains("中文标题"));

        let out = owned(
            page("<meta charset=klingon>", "中文").as_bytes(),
            Some("text/html; charset=bogus"),
        );
        assert_eq!(out.encoding, "utf-8");
        assert!(out.text.contains("中文"));

        // WHATWG maps these to the "replacement" encoding, which would leave one U+FFFD.
        let out = owned(
            page("", "中文").as_bytes(),
            Some("text/html; charset=iso-2022-kr"),
        );
        assert_eq!(out.encoding, "utf-8");
        assert!(out.text.contains("中文"));
    }

    #[test]
    fn meta_forms() {
        let cases = [
            "<META CHARSET=GBK>",
            "<meta charset='gb2312'/>",
            "<meta\ncharset = \"GB2312\" >",
            "<meta name=x charset=gbk>",
            r#"<meta content="text/html; charset=gbk" http-equiv="content-type">"#,
            "<meta http-equiv=Content-Type content='text/html;charset=\"gbk\"'>",
            "<meta charset=gbk charset=big5>",
        ];
        for head in cases {
            let body = encode(GBK, &page(head, "中文标题"));
            let out = owned(&body, None);
            assert_eq!(out.encoding, "gb18030", "{head}");
            assert!(out.text.contains("中文标题"), "{head}");
        }
    }

    #[test]
    fn meta_that_does_not_count() {
        let cases = [
            "<!-- <meta charset=\"gbk\"> -->",
            "<!--\n<meta charset=gbk>\n-->",
            // A '>' inside the comment must not end it early.
            "<!-- a > b <meta charset=gbk> -->",
            "<!--[if IE]><meta charset=gbk><![endif]-->",
            // content=...charset only counts next to http-equiv="Content-Type".
            r#"<meta name="description" content="text/html; charset=gbk">"#,
            r#"<div title="<meta charset=gbk>"></div>"#,
            "<metadata charset=gbk>",
            "<script src='<meta charset=gbk>'></script>",
        ];
        for head in cases {
            let out = owned(page(head, "中文标题").as_bytes(), None);
            assert_eq!(out.encoding, "utf-8", "{head}");
            assert!(out.text.contains("中文标题"), "{head}");
        }
        // "<!-->" is a complete comment, so what follows it is markup.
        assert_eq!(owned(b"<!--><meta charset=big5>", None).encoding, "big5");
    }

    #[test]
    fn meta_after_sniff_len_is_ignored() {
        let padding = format!("<!-- {} -->", "x".repeat(SNIFF_LEN));
        let late = page(&format!("{padding}<meta charset=gbk>"), "中文");
        assert_eq!(owned(late.as_bytes(), None).encoding, "utf-8");

        let meta = "<meta charset=gbk>";
        let just_inside = format!("{}{meta}", " ".repeat(SNIFF_LEN - meta.len()));
        assert_eq!(owned(just_inside.as_bytes(), None).encoding, "gb18030");
        // Cut off mid-label: "iso-8859-1" (windows-1252) is not what "iso-8859-15" says.
        let cut = format!("{}<meta charset=iso-8859-15>", " ".repeat(SNIFF_LEN - 24));
        assert_eq!(owned(cut.as_bytes(), None).encoding, "utf-8");
        // A quoted value still open where the window ends is not rescanned as markup.
        let open = r#"<div title="<meta charset=gbk>"#;
        let open = format!("{}{open}\"></div>", " ".repeat(SNIFF_LEN - open.len()));
        assert_eq!(owned(open.as_bytes(), None).encoding, "utf-8");
    }

    #[test]
    fn meta_declaring_utf16_means_utf8() {
        let html = page("<meta charset=utf-16le>", "中文标题");
        let out = owned(html.as_bytes(), None);
        assert_eq!((out.encoding, out.text.as_ref()), ("utf-8", html.as_str()));
    }

    #[test]
    fn malformed_bytes_become_replacement() {
        let body = b"<p>a\xff\x00b\xc3</p>\x00";
        for ct in [
            None,
            Some("text/html; charset=gbk"),
            Some("text/html; charset=big5"),
        ] {
            let out = owned(body, ct);
            assert!(out.text.contains('\0'), "{ct:?}");
            assert!(out.text.starts_with("<p>a"), "{ct:?}");
        }
        let utf8 = Some("text/html; charset=utf-8");
        assert_eq!(owned(body, utf8).text, "<p>a\u{fffd}\0b\u{fffd}</p>\0");
        assert_eq!(owned(b"\xEF\xBB", utf8).text, "\u{fffd}");
    }

    /// A page with a real paragraph of `text` and no charset anywhere, as old blogs are.
    fn unlabelled(title: &str, text: &str) -> String {
        format!("<!DOCTYPE html><html><head><title>{title}</title></head><body><h1>{title}</h1><p>{text}</p></body></html>")
    }

    const GBK_TEXT: (&str, &str) = (
        "周末读书笔记",
        "这个周末我终于读完了那本关于分布式系统的书。作者用很多实际的例子说明了为什么网络分区无法避免，\
         以及一致性和可用性之间应该如何取舍。最让我印象深刻的是关于时钟的一章：不同机器上的时间永远不会完全相同，\
         所以我们不能只靠时间戳来判断事件的先后顺序。下周我打算把书里的几个算法自己实现一遍，看看能不能真正理解。",
    );

    #[test]
    fn undeclared_legacy_pages_are_detected() {
        let cases = [
            (GBK, "gb18030", GBK_TEXT),
            (
                BIG5,
                "big5",
                (
                    "我的部落格搬家了",
                    "經過好幾個星期的準備，這個部落格終於搬到新的主機上了。舊的文章都已經轉過來，\
                     但是有些圖片可能還需要一點時間才能整理完畢。如果你發現哪一篇文章的連結壞掉了，\
                     請在下面留言告訴我，我會儘快修正。謝謝大家這幾年來的支持，希望新的網站讓閱讀更順暢。",
                ),
            ),
            (
                SHIFT_JIS,
                "shift_jis",
                (
                    "旅行の記録",
                    "先週、友達と一緒に京都へ行きました。朝早く出発して、お昼前にはお寺に着きました。\
                     紅葉がとてもきれいで、たくさん写真を撮りました。夜は小さなお店で湯豆腐を食べました。\
                     次は春に桜を見に行きたいと思っています。皆さんのおすすめの場所があれば教えてください。",
                ),
            ),
            (
                WINDOWS_1252,
                "windows-1252",
                (
                    "Carnet de voyage à Montréal",
                    "L’été dernier, nous avons passé deux semaines à Montréal. Chaque matin, nous prenions \
                     un café près du marché, puis nous marchions jusqu’au vieux port. Les rues étaient \
                     animées, les musées intéressants et les gens très accueillants. Ce séjour a été \
                     une véritable découverte ; nous espérons y retourner l’hiver prochain, malgré le froid.",
                ),
            ),
        ];
        for (enc, name, (title, text)) in cases {
            let body = encode(enc, &unlabelled(title, text));
            for ct in [None, Some("text/html")] {
                let out = owned(&body, ct);
                assert_eq!(out.encoding, name, "{}", enc.name());
                let want = format!("<title>{title}</title>");
                assert!(out.text.contains(&want), "{}: {}", enc.name(), out.text);
            }
        }
    }

    #[test]
    fn detection_only_fills_in_for_a_missing_declaration() {
        let (title, text) = GBK_TEXT;
        let gbk = encode(GBK, &unlabelled(title, text));
        // A declaration wins, even a wrong one: the crawl reports what the page says.
        let declared = owned(&gbk, Some("text/html; charset=windows-1252"));
        assert_eq!(declared.encoding, "windows-1252");
        // Valid UTF-8 is UTF-8, however much it looks like something else.
        let utf8 = unlabelled(title, text);
        assert!(matches!(
            decode(utf8.as_bytes(), None, Some("tw")).text,
            Cow::Borrowed(_)
        ));
        // Bytes that are not UTF-8 past what the detector reads leave UTF-8 the best guess.
        let late = [utf8.as_bytes(), &[b' '; DETECT_LEN], b"\xFF"].concat();
        let out = owned(&late, None);
        assert_eq!(out.encoding, "utf-8");
        assert!(out.text.contains(title) && out.text.ends_with('\u{fffd}'));
        // So do a few stray bytes in UTF-8 text, where chardetng would see windows-1252.
        let mut stray = utf8.clone().into_bytes();
        stray.splice(30..30, *b"\x93");
        let out = owned(&stray, None);
        assert_eq!(out.encoding, "utf-8");
        assert!(out.text.contains(text), "{}", out.text);
        // But a single-byte page with nothing else beyond ASCII is no UTF-8 page.
        let out = owned(
            b"<title>Caf\xe9</title><p>Plain ASCII text otherwise.",
            None,
        );
        assert_eq!(out.encoding, "windows-1252");
        assert!(out.text.starts_with("<title>Café</title>"), "{}", out.text);
        // A host name that chardetng would reject never reaches it.
        for tld in ["Com", "co.uk", "例子", ""] {
            assert_eq!(decode(&gbk, None, Some(tld)).encoding, "gb18030", "{tld}");
        }
    }

    #[test]
    fn utf8_is_borrowed_not_copied() {
        let body = page("", "中文标题").into_bytes();
        assert!(matches!(decode(&body, None, None).text, Cow::Borrowed(_)));
    }

    #[test]
    fn encoding_names_are_lower_case() {
        use encoding_rs::*;
        let all = [
            BIG5,
            EUC_JP,
            EUC_KR,
            GB18030,
            GBK,
            IBM866,
            ISO_2022_JP,
            ISO_8859_10,
            ISO_8859_13,
            ISO_8859_14,
            ISO_8859_15,
            ISO_8859_16,
            ISO_8859_2,
            ISO_8859_3,
            ISO_8859_4,
            ISO_8859_5,
            ISO_8859_6,
            ISO_8859_7,
            ISO_8859_8,
            ISO_8859_8_I,
            KOI8_R,
            KOI8_U,
            MACINTOSH,
            REPLACEMENT,
            SHIFT_JIS,
            UTF_16BE,
            UTF_16LE,
            UTF_8,
            WINDOWS_1250,
            WINDOWS_1251,
            WINDOWS_1252,
            WINDOWS_1253,
            WINDOWS_1254,
            WINDOWS_1255,
            WINDOWS_1256,
            WINDOWS_1257,
            WINDOWS_1258,
            WINDOWS_874,
            X_MAC_CYRILLIC,
            X_USER_DEFINED,
        ];
        for enc in all {
            assert_eq!(lower_name(enc), enc.name().to_ascii_lowercase());
        }
    }

    /// xorshift64*: enough variety without a dependency.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    #[test]
    fn random_bytes_never_panic() {
        // Fragments that steer the scanners into their less travelled branches.
        let pieces: [&[u8]; 18] = [
            b"<meta ",
            b"charset",
            b"=",
            b"\"",
            b"'",
            b">",
            b"<!--",
            b"-->",
            b"</",
            b"<?xml",
            b"?>",
            b"http-equiv=content-type ",
            b"content=",
            b"gbk",
            b"utf-16",
            b"<html",
            b"\xEF\xBB\xBF",
            b"\xFF\xFE",
        ];
        let types = [
            None,
            Some(""),
            Some("text/html"),
            Some("application/octet-stream"),
            Some("text/html; charset=gbk"),
            Some("text/html; charset=\""),
            Some(";;=;charset"),
            Some("\u{fffd}/+xml"),
        ];
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for round in 0..3000 {
            let len = rng.below(if round % 10 == 0 { 4096 } else { 300 });
            let mut body = Vec::with_capacity(len);
            while body.len() < len {
                if rng.below(3) == 0 {
                    body.extend_from_slice(pieces[rng.below(pieces.len())]);
                } else {
                    body.push(rng.next() as u8);
                }
            }
            let ct = types[rng.below(types.len())];
            owned(&body, ct);
            classify(ct, &body[..body.len().min(SNIFF_LEN)]);
            classify(ct, &body);
        }
    }

    #[test]
    fn classify_by_header() {
        let anything: [&[u8]; 3] = [b"", b"<html>", b"\x89PNG\r\n\x1a\n\0\0"];
        for prefix in anything {
            for ct in [
                "text/html",
                "TEXT/HTML; charset=utf-8",
                " application/xhtml+xml ",
            ] {
                assert_eq!(classify(Some(ct), prefix), BodyKind::Html, "{ct}");
            }
            for ct in [
                "application/xml",
                "text/xml; charset=utf-8",
                "application/rss+xml",
                "application/atom+XML",
            ] {
                assert_eq!(classify(Some(ct), prefix), BodyKind::Xml, "{ct}");
            }
            for ct in [
                "image/png",
                "application/pdf",
                "application/json",
                "text/plain",
                "text/plain; charset=utf-8",
                "application/javascript",
                "text/css",
            ] {
                assert_eq!(classify(Some(ct), prefix), BodyKind::Other, "{ct}");
            }
        }
    }

    #[test]
    fn classify_sniffs_without_a_useful_header() {
        let generic = [
            None,
            Some(""),
            Some("  "),
            Some("application/octet-stream"),
            Some("binary/octet-stream"),
            Some("unknown/unknown"),
            Some("html"),
        ];
        let html: [&[u8]; 14] = [
            b"<!DOCTYPE html>",
            b"<!doctype HTML PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\">",
            b" \r\n\t<html lang=en>",
            b"\xEF\xBB\xBF<HTML>",
            b"<head>",
            b"<body class=x>",
            b"<title>t</title>",
            b"<script>1</script>",
            b"<div>",
            b"<p>hi",
            b"<a href=/>",
            b"<!-- generated -->",
            b"<?xml version=\"1.0\"?>\n<!DOCTYPE html PUBLIC \"x\" \"y\">\n<html xmlns=\"x\">",
            b"<?xml version=\"1.0\"?><?xml-stylesheet href=s?><!-- c --><html>",
        ];
        let xml: [&[u8]; 3] = [
            b"<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\">",
            b"<?xml version=\"1.0\"?>\n<!-- c -->\n<feed xmlns=\"x\">",
            b"<?xml version=\"1.0\"?>",
        ];
        let other: [&[u8]; 7] = [
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
            b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj",
            b"\x1f\x8b\x08\0\0\0\0\0",
            b"just some plain text",
            b"{\"json\": true}",
            b"<pre>not a sniffing pattern",
            b"<p\x00>",
        ];
        for ct in generic {
            for prefix in html {
                let shown = String::from_utf8_lossy(prefix);
                assert_eq!(classify(ct, prefix), BodyKind::Html, "{ct:?} {shown}");
            }
            for prefix in xml {
                let shown = String::from_utf8_lossy(prefix);
                assert_eq!(classify(ct, prefix), BodyKind::Xml, "{ct:?} {shown}");
            }
            for prefix in other {
                let shown = String::from_utf8_lossy(prefix);
                assert_eq!(classify(ct, prefix), BodyKind::Other, "{ct:?} {shown}");
            }
        }
    }

    #[test]
    fn classify_sniff_edges() {
        // An empty page is a page.
        assert_eq!(classify(None, b""), BodyKind::Html);
        assert_eq!(classify(None, b" \n "), BodyKind::Html);
        // Stray text before the doctype, as a PHP warning leaves it.
        let warned = b"Warning: Undefined variable $x on line 3\n<!DOCTYPE html>\n<html>";
        assert_eq!(classify(None, warned), BodyKind::Html);
        // Stray text with binary bytes is not text.
        assert_eq!(classify(None, b"\x01\x02<html>"), BodyKind::Other);
        // UTF-16 markup is seen through its NULs.
        let mut utf16 = vec![0xFF, 0xFE];
        utf16.extend("<!DOCTYPE html>".encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(classify(None, &utf16), BodyKind::Html);
        // Only the first SNIFF_LEN bytes matter, even if more are given.
        let mut long = vec![b'x'; SNIFF_LEN];
        long.extend_from_slice(b"<html>");
        assert_eq!(classify(None, &long), BodyKind::Other);
    }
}
