//! The tokenizer half of the streaming pass: tags, their attributes and character references,
//! read exactly as html5ever's tokenizer reads them.

use std::borrow::Cow;

use markup5ever::data::{C1_REPLACEMENTS, NAMED_ENTITIES};

use crate::nesting::{find, is_space};

/// A start or end tag: its lowercase name and where its attributes begin.
pub struct Tag<'a> {
    pub name: Cow<'a, str>,
    /// The input from just after the name; `attrs` reads the attributes from it.
    pub rest: &'a str,
    /// Just past the closing `>`.
    pub end: usize,
    /// Ends in `/>`, which only SVG and MathML elements heed.
    pub self_closing: bool,
    /// How many attributes it has, duplicates included.
    pub attrs: usize,
}

/// One step through a tag after its name.
enum Step {
    Attr {
        name: (usize, usize),
        value: (usize, usize),
    },
    /// Just past the `>`, and whether a `/` came right before it.
    End(usize, bool),
}

/// The next attribute or the end of the tag from `i`; None when the input ends first, as
/// html5ever then drops the tag.
#[inline]
fn step(b: &[u8], mut i: usize) -> Option<(Step, usize)> {
    let mut slash = false;
    loop {
        match *b.get(i)? {
            c if is_space(c) => i += 1,
            b'>' => return Some((Step::End(i + 1, slash), i + 1)),
            // A `/` not before `>` is dropped; before it, it marks a self-closing tag, which
            // only foreign elements heed.
            b'/' => i += 1,
            _ => break,
        }
        slash = b[i - 1] == b'/';
    }
    // The name's first byte may be anything, even `=` or a quote.
    let name_at = i;
    i += 1;
    while b
        .get(i)
        .is_some_and(|&c| !is_space(c) && !matches!(c, b'/' | b'>' | b'='))
    {
        i += 1;
    }
    let name = (name_at, i);
    while b.get(i).is_some_and(|&c| is_space(c)) {
        i += 1;
    }
    if *b.get(i)? != b'=' {
        return Some((
            Step::Attr {
                name,
                value: (i, i),
            },
            i,
        ));
    }
    i += 1;
    while b.get(i).is_some_and(|&c| is_space(c)) {
        i += 1;
    }
    let value = match *b.get(i)? {
        q @ (b'"' | b'\'') => {
            let close = find(b, i + 1, q)?;
            let value = (i + 1, close);
            i = close + 1;
            value
        }
        // `a=>` has an empty value and ends the tag.
        b'>' => (i, i),
        _ => {
            let at = i;
            while !is_space(*b.get(i)?) && b[i] != b'>' {
                i += 1;
            }
            (at, i)
        }
    };
    Some((Step::Attr { name, value }, i))
}

impl<'a> Tag<'a> {
    /// Reads the tag whose name starts at `at` (just past `<` or `</`).
    pub fn read(src: &'a str, at: usize) -> Option<Tag<'a>> {
        let b = src.as_bytes();
        let mut i = at;
        while i < b.len() && !is_space(b[i]) && b[i] != b'/' && b[i] != b'>' {
            i += 1;
        }
        let raw = &src[at..i];
        let name = match raw.bytes().any(|c| c.is_ascii_uppercase()) {
            true => Cow::Owned(raw.to_ascii_lowercase()),
            false => Cow::Borrowed(raw),
        };
        let rest_at = i;
        let mut attrs = 0;
        let (end, self_closing) = loop {
            match step(b, i)? {
                (Step::End(end, slash), _) => break (end, slash),
                (Step::Attr { .. }, next) => (i, attrs) = (next, attrs + 1),
            }
        };
        Some(Tag {
            name,
            rest: &src[rest_at..end],
            end,
            self_closing,
            attrs,
        })
    }
}

/// The first attribute called `name` (lowercase) in `rest`, the input after a tag's name,
/// decoded; later duplicates are dropped, as html5ever drops them.
pub fn attr<'a>(rest: &'a str, name: &str) -> Option<Cow<'a, str>> {
    let b = rest.as_bytes();
    let mut i = 0;
    loop {
        match step(b, i)? {
            (Step::End(..), _) => return None,
            (Step::Attr { name: n, value: v }, next) => {
                if rest[n.0..n.1].eq_ignore_ascii_case(name) {
                    return Some(decode(&rest[v.0..v.1], true));
                }
                i = next;
            }
        }
    }
}

/// Text or an attribute value with its character references replaced.
pub fn decode(s: &str, in_attr: bool) -> Cow<'_, str> {
    let Some(first) = s.find('&') else {
        return Cow::Borrowed(s);
    };
    let mut out = String::with_capacity(s.len());
    out.push_str(&s[..first]);
    let mut i = first;
    while i < s.len() {
        if s.as_bytes()[i] != b'&' {
            let next = s[i..].find('&').map_or(s.len(), |k| i + k);
            out.push_str(&s[i..next]);
            i = next;
            continue;
        }
        match char_ref(s, i + 1, in_attr) {
            Some((chars, len)) => {
                out.extend(chars.into_iter().flatten());
                i += 1 + len;
            }
            None => {
                out.push('&');
                i += 1;
            }
        }
    }
    Cow::Owned(out)
}

/// The character reference after an `&` at `at`: its characters and length; None when the
/// `&` stays as it is.
fn char_ref(s: &str, at: usize, in_attr: bool) -> Option<([Option<char>; 2], usize)> {
    let b = s.as_bytes();
    match *b.get(at)? {
        b'#' => numeric(b, at),
        c if c.is_ascii_alphanumeric() => named(s, at, in_attr),
        _ => None,
    }
}

fn numeric(b: &[u8], at: usize) -> Option<([Option<char>; 2], usize)> {
    let mut i = at + 1;
    let base = match b.get(i) {
        Some(b'x' | b'X') => {
            i += 1;
            16
        }
        _ => 10,
    };
    let digits = i;
    let (mut n, mut too_big) = (0u32, false);
    while let Some(d) = b.get(i).and_then(|&c| char::from(c).to_digit(base)) {
        n = n.wrapping_mul(base);
        too_big |= n > 0x10FFFF;
        n = n.wrapping_add(d);
        i += 1;
    }
    if i == digits {
        return None;
    }
    if b.get(i) == Some(&b';') {
        i += 1;
    }
    let c = match n {
        _ if too_big || n > 0x10FFFF => '\u{fffd}',
        0 | 0xD800..=0xDFFF => '\u{fffd}',
        0x80..=0x9F => C1_REPLACEMENTS[(n - 0x80) as usize]
            .unwrap_or_else(|| char::from_u32(n).unwrap_or('\u{fffd}')),
        n => char::from_u32(n).unwrap_or('\u{fffd}'),
    };
    Some(([Some(c), None], i - at))
}

/// The longest entity name at `at`, as html5ever matches it against the same table.
fn named(s: &str, at: usize, in_attr: bool) -> Option<([Option<char>; 2], usize)> {
    let b = s.as_bytes();
    let mut best = None;
    let mut k = at;
    // Every key is ASCII, so a non-ASCII byte ends the match (and keeps slicing on boundaries).
    while k < b.len() && b[k].is_ascii() {
        k += 1;
        match NAMED_ENTITIES.get(&s[at..k]) {
            Some(&(c1, c2)) if c1 != 0 => best = Some((c1, c2, k - at)),
            Some(_) => {}
            None => break,
        }
    }
    let (c1, c2, len) = best?;
    let next = b.get(at + len);
    // In attributes, `&copy=` and `&copyx` stay as written, for old URLs' sake.
    if b[at + len - 1] != b';'
        && in_attr
        && next.is_some_and(|&c| c == b'=' || c.is_ascii_alphanumeric())
    {
        return None;
    }
    Some((
        [char::from_u32(c1), char::from_u32(c2).filter(|_| c2 != 0)],
        len,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_decode_as_html5ever_does() {
        for (raw, text, attr) in [
            ("a &amp; b", "a & b", "a & b"),
            ("&lt;&gt;&quot;&#39;&#x27;", "<>\"''", "<>\"''"),
            ("&copy2024", "©2024", "&copy2024"),
            ("?a=1&copy=2", "?a=1©=2", "?a=1&copy=2"),
            ("&notit;", "¬it;", "&notit;"),
            ("&notin;", "∉", "∉"),
            (
                "&#128;&#0;&#xD800;&#x110000;&#99999999999;",
                "€\u{fffd}\u{fffd}\u{fffd}\u{fffd}",
                "€\u{fffd}\u{fffd}\u{fffd}\u{fffd}",
            ),
            (
                "&#;&#x;&;&nosuch;&",
                "&#;&#x;&;&nosuch;&",
                "&#;&#x;&;&nosuch;&",
            ),
            ("&#65&#x42x", "ABx", "ABx"),
            ("&NotEqualTilde;", "≂\u{338}", "≂\u{338}"),
            ("&amp", "&", "&"),
            ("&é", "&é", "&é"),
        ] {
            assert_eq!(decode(raw, false), text, "{raw} in text");
            assert_eq!(decode(raw, true), attr, "{raw} in an attribute");
        }
    }

    #[test]
    fn tags_read_their_attributes() {
        let src = "<A HREF='/x>y' class=b data-a=\"1\" href=dup/>tail";
        let tag = Tag::read(src, 1).unwrap();
        assert_eq!(tag.name, "a");
        assert_eq!(&src[tag.end..], "tail");
        assert_eq!(attr(tag.rest, "href").as_deref(), Some("/x>y"));
        assert_eq!(attr(tag.rest, "class").as_deref(), Some("b"));
        assert_eq!(attr(tag.rest, "data-a").as_deref(), Some("1"));
        assert_eq!(attr(tag.rest, "id"), None);
        let tag = Tag::read("<a href=x/>", 1).unwrap();
        assert_eq!(attr(tag.rest, "href").as_deref(), Some("x/"));
        assert!(!tag.self_closing);
        assert!(Tag::read("<a href=x />", 1).unwrap().self_closing);
        assert!(Tag::read("<br/>", 1).unwrap().self_closing);
        assert!(!Tag::read("<a / >", 1).unwrap().self_closing);
        let tag = Tag::read("<p =x a= b / c>", 1).unwrap();
        assert_eq!(attr(tag.rest, "=x").as_deref(), Some(""));
        assert_eq!(attr(tag.rest, "a").as_deref(), Some("b"));
        assert_eq!(attr(tag.rest, "c").as_deref(), Some(""));
        assert!(Tag::read("<a href='x>", 1).is_none());
        assert!(Tag::read("<a", 1).is_none());
    }
}
