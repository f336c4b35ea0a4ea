//! Judges and decodes bodies as browsers do, because many crawled blogs are GBK or Big5 and mislabelled.

use encoding_rs::{
    Encoding, GB18030, GBK, REPLACEMENT, UTF_16BE, UTF_16LE, UTF_8, WINDOWS_1252, X_USER_DEFINED,
};
use std::borrow::Cow;

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
/// any case), 4. UTF-8. Labels are resolved with encoding_rs::Encoding::for_label (WHATWG labels);
/// an unknown label falls through to the next step. "gbk", "gb2312" and every label that resolves
/// to GBK decode as GB18030 (and report "gb18030"). A meta that declares UTF-16 means UTF-8 (as the
/// HTML spec says). Malformed bytes become U+FFFD; NUL bytes must not panic. Never panics on any input.
pub fn decode<'a>(body: &'a [u8], content_type: Option<&str>) -> Decoded<'a> {
    let (enc, bom_len) = choose_encoding(body, content_type);
    let (text, _) = enc.decode_without_bom_handling(&body[bom_len..]);
    Decoded {
        text,
        encoding: lower_name(enc),
    }
}

/// The encoding and the length of the BOM to skip.
fn choose_encoding(body: &[u8], content_type: Option<&str>) -> (&'static Encoding, usize) {
    if let Some(found) = Encoding::for_bom(body) {
        return found;
    }
    if let Some(enc) = content_type.and_then(header_charset).and_then(resolve) {
        return (enc, 0);
    }
    let window = &body[..body.len().min(SNIFF_LEN)];
    (prescan(window).unwrap_or(UTF_8), 0)
}

/// A label to an encoding we are willing to decode with.
fn resolve(label: &[u8]) -> Option<&'static Encoding> {
    match Encoding::for_label(label)? {
        // The replacement encoding turns a whole page into one U+FFFD; a browser does that for
        // safety, but a crawler learns more by trying the next source.
        enc if enc == REPLACEMENT => None,
        // GB18030 is a superset of GBK and pages labelled gb2312 routinely use GBK/GB18030 characters.
        enc if enc == GBK => Some(GB18030),
        enc => Some(enc),
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
/// and other tags' attributes cannot fake a declaration.
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
            && rest.get(5).is_some_and(|&b| is_ws(b) || b == b'/')
        {
            i += 5;
            if let Some(enc) = meta_encoding(buf, &mut i) {
                return Some(enc);
            }
        } else if starts_tag_name(&rest[1..]) {
            i += rest.iter().position(|&b| is_ws(b) || b == b'>')?;
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

/// One attribute starting at `*i`, leaving `*i` on the byte after it. `None` at the end of the
/// tag, or when the window ends mid-attribute: then `*i` moves to the end, because a cut-off
/// value would give a wrong label and its text must not be rescanned as markup.
fn attribute<'a>(buf: &'a [u8], i: &mut usize) -> Option<(&'a [u8], &'a [u8])> {
    let found = read_attribute(buf, i);
    if found.is_none() && buf.get(*i) != Some(&b'>') {
        *i = buf.len();
    }
    found
}

fn read_attribute<'a>(buf: &'a [u8], i: &mut usize) -> Option<(&'a [u8], &'a [u8])> {
    let at = |i: usize| buf.get(i).copied();
    while at(*i).is_some_and(|b| is_ws(b) || b == b'/') {
        *i += 1;
    }
    if at(*i).is_none_or(|b| b == b'>') {
        return None;
    }
    let start = *i;
    // The first byte belongs to the name even when it is '='.
    *i += 1;
    let name = loop {
        match at(*i) {
            None => return None,
            Some(b'=') => {
                let name = &buf[start..*i];
                *i += 1;
                break name;
            }
            Some(b) if is_ws(b) => {
                let name = &buf[start..*i];
                while at(*i).is_some_and(is_ws) {
                    *i += 1;
                }
                if at(*i) != Some(b'=') {
                    return at(*i).map(|_| (name, &b""[..]));
                }
                *i += 1;
                break name;
            }
            Some(b'/' | b'>') => return Some((&buf[start..*i], &b""[..])),
            Some(_) => *i += 1,
        }
    };
    while at(*i).is_some_and(is_ws) {
        *i += 1;
    }
    match at(*i)? {
        quote @ (b'"' | b'\'') => {
            let from = *i + 1;
            let len = buf[from..].iter().position(|&b| b == quote)?;
            *i = from + len + 1;
            Some((name, &buf[from..from + len]))
        }
        b'>' => Some((name, &b""[..])),
        _ => {
            let from = *i;
            let len = buf[from..].iter().position(|&b| is_ws(b) || b == b'>')?;
            *i = from + len;
            Some((name, &buf[from..from + len]))
        }
    }
}

/// The label in a content="text/html; charset=..." value (WHATWG "extracting a character
/// encoding from a meta element").
fn charset_in_content(value: &[u8]) -> Option<&[u8]> {
    let mut i = 0;
    loop {
        i += find_ci(&value[i..], b"charset")? + b"charset".len();
        while value.get(i).copied().is_some_and(is_ws) {
            i += 1;
        }
        if value.get(i) != Some(&b'=') {
            continue;
        }
        i += 1;
        while value.get(i).copied().is_some_and(is_ws) {
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
                    .position(|&b| is_ws(b) || b == b';')
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
    let start = bytes.iter().position(|&b| !is_ws(b)).unwrap_or(bytes.len());
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
        let start = rest.iter().position(|&b| !is_ws(b))?;
        rest = &rest[start..];
        if rest.starts_with(b"<?") {
            rest = &rest[find(rest, b"?>")? + 2..];
        } else if rest.starts_with(b"<!--") {
            rest = &rest[4 + find(&rest[4..], b"-->")? + 3..];
        } else if starts_with_ci(rest, b"<!doctype") {
            let name = &rest[b"<!doctype".len()..];
            let start = name.iter().position(|&b| !is_ws(b))?;
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
            .is_some_and(|&b| is_ws(b) || matches!(b, b'>' | b'/' | b'['))
}

fn tag_then_end(rest: &[u8], tag: &[u8]) -> bool {
    // WHATWG only allows space or '>' after the name; a newline there is common in real pages.
    starts_with_ci(rest, tag) && rest.get(tag.len()).is_some_and(|&b| is_ws(b) || b == b'>')
}

// ---- byte helpers ----

fn is_ws(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0C | b'\r' | b' ')
}

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
        let d = decode(body, content_type);
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
        let late = encode(GBK, &page(&format!("{padding}<meta charset=gbk>"), "中文"));
        assert_eq!(owned(&late, None).encoding, "utf-8");

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
        assert_eq!(owned(body, None).text, "<p>a\u{fffd}\0b\u{fffd}</p>\0");
        assert_eq!(owned(b"\xEF\xBB", None).text, "\u{fffd}");
    }

    #[test]
    fn utf8_is_borrowed_not_copied() {
        let body = page("", "中文标题").into_bytes();
        assert!(matches!(decode(&body, None).text, Cow::Borrowed(_)));
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
