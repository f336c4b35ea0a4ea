//! The lexer against html5ever's own tokenizer, the reference it follows.

use std::cell::RefCell;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, TagKind, Token as Theirs, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};

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
    let read = |src: &str| Tag::read(src.as_bytes(), 1);
    let src = "<A HREF='/x>y' class=b data-a=\"1\" href=dup/>tail";
    let tag = read(src).unwrap();
    assert_eq!(tag.name, crate::parse::html::tags::A);
    assert_eq!(&src[tag.end..], "tail");
    assert_eq!(tag.attrs, 4);
    let rest = tag.rest(src);
    assert_eq!(attr(rest, "href").as_deref(), Some("/x>y"));
    assert_eq!(attr(rest, "class").as_deref(), Some("b"));
    assert_eq!(attr(rest, "data-a").as_deref(), Some("1"));
    assert_eq!(attr(rest, "id"), None);
    let src = "<a href=x/>";
    let tag = read(src).unwrap();
    assert_eq!(attr(tag.rest(src), "href").as_deref(), Some("x/"));
    assert!(!tag.self_closing);
    assert!(read("<a href=x />").unwrap().self_closing);
    assert!(read("<br/>").unwrap().self_closing);
    assert!(!read("<a / >").unwrap().self_closing);
    let src = "<p =x a= b / c>";
    let rest = read(src).unwrap().rest(src);
    assert_eq!(attr(rest, "=x").as_deref(), Some(""));
    assert_eq!(attr(rest, "a").as_deref(), Some("b"));
    assert_eq!(attr(rest, "c").as_deref(), Some(""));
    assert!(read("<a href='x>").is_none());
    assert!(read("<a").is_none());
}

/// A token as both tokenizers can tell it: comments and doctypes only split text.
#[derive(Debug, PartialEq)]
enum Tok {
    Start(String, Vec<(String, String)>, bool),
    End(String),
    Text(String),
    Split,
}

/// How the tree builder has html5ever's tokenizer read what follows a start tag.
fn content(name: &str) -> Content {
    match name {
        "script" => Content::Script,
        "plaintext" => Content::Plaintext,
        "title" | "textarea" | "style" | "xmp" | "iframe" | "noembed" | "noframes" | "noscript" => {
            Content::RawText
        }
        _ => Content::Markup,
    }
}

/// Collects html5ever's tokens, switching its states as its tree builder would.
#[derive(Default)]
struct Oracle(RefCell<Vec<Tok>>);

impl TokenSink for Oracle {
    type Handle = ();

    fn process_token(&self, token: Theirs, _line: u64) -> TokenSinkResult<()> {
        let mut out = self.0.borrow_mut();
        match token {
            Theirs::TagToken(tag) if tag.kind == TagKind::StartTag => {
                let attrs = tag.attrs.iter();
                let attrs = attrs.map(|a| (a.name.local.to_string(), a.value.to_string()));
                out.push(Tok::Start(
                    tag.name.to_string(),
                    attrs.collect(),
                    tag.self_closing,
                ));
                return match (&*tag.name, content(&tag.name)) {
                    ("title" | "textarea", _) => TokenSinkResult::RawData(RawKind::Rcdata),
                    (_, Content::RawText) => TokenSinkResult::RawData(RawKind::Rawtext),
                    (_, Content::Script) => TokenSinkResult::RawData(RawKind::ScriptData),
                    (_, Content::Plaintext) => TokenSinkResult::Plaintext,
                    (_, Content::Markup) => TokenSinkResult::Continue,
                };
            }
            Theirs::TagToken(tag) => out.push(Tok::End(tag.name.to_string())),
            Theirs::CharacterTokens(text) => out.push(Tok::Text(text.to_string())),
            Theirs::CommentToken(_) | Theirs::DoctypeToken(_) => out.push(Tok::Split),
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

fn theirs(html: &str) -> Vec<Tok> {
    let tokenizer = Tokenizer::new(Oracle::default(), TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from(html));
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    tidy(tokenizer.sink.0.into_inner())
}

/// html5ever turns CR and CRLF into LF before tokenizing; the lexer leaves them, and every
/// user of its text folds whitespace.
fn lf(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

fn ours(html: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut lexer = Lexer::new(html.as_bytes());
    while let Some((lt, token)) = lexer.next(|| false) {
        match token {
            // html5ever drops `</>` without a token.
            Token::Comment if html[lt..].starts_with("</>") => {}
            Token::Text(from, to) => out.push(Tok::Text(lf(&decode(&html[from..to], false)))),
            Token::Stray(from, to) => out.push(Tok::Text(html[from..to].into())),
            Token::Start(tag) => {
                let rest = tag.rest(html);
                let mut attrs: Vec<(String, String)> = Vec::new();
                let mut i = 0;
                while let Some((Step::Attr { name, .. }, next)) = step(rest.as_bytes(), i) {
                    let name = rest[name.0..name.1].to_ascii_lowercase();
                    if !attrs.iter().any(|(n, _)| *n == name) {
                        let value = lf(&attr(rest, &name).unwrap());
                        attrs.push((name, value));
                    }
                    i = next;
                }
                let name = name_of(html, &tag);
                out.push(Tok::Start(name.clone(), attrs, tag.self_closing));
                let kind = content(&name);
                if kind == Content::Markup {
                    continue;
                }
                let ((from, to), close) = lexer.raw(&tag, kind);
                let text = match &*name {
                    "title" | "textarea" => decode(&html[from..to], false),
                    _ => html[from..to].into(),
                };
                out.push(Tok::Text(lf(&text)));
                match close {
                    Some((_, close)) => out.push(Tok::End(name_of(html, &close))),
                    None => break,
                }
            }
            Token::End(tag) => out.push(Tok::End(name_of(html, &tag))),
            Token::Comment | Token::Doctype(..) | Token::Cdata => out.push(Tok::Split),
        }
    }
    tidy(out)
}

fn name_of(html: &str, tag: &Tag) -> String {
    html[tag.at..tag.at + tag.len].to_ascii_lowercase()
}

/// Adjacent text joined, empty text dropped, and what comes after the last tag or text left
/// out: html5ever emits a comment or doctype the input ends in, the lexer drops it.
fn tidy(tokens: Vec<Tok>) -> Vec<Tok> {
    let mut out: Vec<Tok> = Vec::new();
    for token in tokens {
        match (out.last_mut(), token) {
            (_, Tok::Text(t)) if t.is_empty() => {}
            (Some(Tok::Text(last)), Tok::Text(t)) => last.push_str(&t),
            (Some(Tok::Split), Tok::Split) => {}
            (_, token) => out.push(token),
        }
    }
    while out.last() == Some(&Tok::Split) {
        out.pop();
    }
    out
}

/// Fixed-seed pieces of markup, the ones that steer a tokenizer, in random order.
struct Pieces(u64);

impl Pieces {
    fn next(&mut self) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.next() % items.len()]
    }

    fn tag(&mut self, out: &mut String) {
        const NAMES: &[&str] = &[
            "a",
            "A",
            "div",
            "p",
            "x-y",
            "h1",
            "svg",
            "script",
            "SCRIPT",
            "style",
            "title",
            "textarea",
            "xmp",
            "iframe",
            "noembed",
            "noframes",
            "noscript",
            "plaintext",
            "a<b",
        ];
        const ATTR_NAMES: &[&str] = &["href", "HREF", "class", "a", "data-x", "x\"y", "=", "b'"];
        const VALUES: &[&str] = &[
            "x",
            "a b",
            "&amp;",
            "&copy=",
            "&copy",
            "&#65;",
            "&#x110000;",
            "&notit;",
            "&notin;",
            "/p?a=1&b=2",
            ">",
            "'",
            "\"",
            "",
            "é",
            "&lt;&gt",
            "a/",
            "&#128;",
            "&#0;",
        ];
        const SPACES: &[&str] = &[" ", "  ", "\t", "\n", "\r\n", "\x0c", "/", " / "];
        out.push('<');
        if self.next().is_multiple_of(3) {
            out.push('/');
        }
        out.push_str(self.pick(NAMES));
        for _ in 0..self.next() % 4 {
            out.push_str(self.pick(SPACES));
            out.push_str(self.pick(ATTR_NAMES));
            let value = self.pick(VALUES);
            match self.next() % 6 {
                0 => {}
                1 => out.push_str(&format!("={value}")),
                2 => out.push_str(&format!("='{value}'")),
                3 => out.push_str(&format!("=\"{value}\"")),
                4 => out.push_str(&format!(" = {value}")),
                _ => out.push('='),
            }
        }
        out.push_str(self.pick(&["", "", " ", "/", " /", "\n"]));
        if !self.next().is_multiple_of(8) {
            out.push('>');
        }
    }

    fn page(&mut self) -> String {
        const OTHER: &[&str] = &[
            "text",
            " ",
            "&amp;",
            "&amp",
            "&nbsp",
            "&#10;",
            "&#x41;",
            "&lt;",
            "&",
            "é",
            "\r\n",
            "<",
            "< ",
            "</",
            "</ x>",
            "</>",
            "<!",
            "<!-",
            "<!--",
            "-->",
            "--!>",
            "<!-->",
            "<!--->",
            "<!-- c -->",
            "<?p?>",
            "<![CDATA[x]]>",
            "]]>",
            "<!DOCTYPE html>",
            "<!doctype",
            "<!x>",
            "<script>",
            "</script>",
            "</script ",
            "</SCRIPT>",
            "<scrip",
            "--",
            "-->",
            "<!--<script>",
            "</style>",
            "</title>",
            "</textarea x=y>",
            "=",
            "'",
            "\"",
            "\u{feff}",
        ];
        let mut out = String::new();
        if self.next().is_multiple_of(20) {
            out.push('\u{feff}');
        }
        for _ in 0..1 + self.next() % 24 {
            match self.next() % 3 {
                0 => self.tag(&mut out),
                _ => out.push_str(self.pick(OTHER)),
            }
        }
        if self.next().is_multiple_of(4) {
            // Cut anywhere, on a character boundary: inputs end inside anything.
            let mut at = self.next() % (out.len() + 1);
            while !out.is_char_boundary(at) {
                at -= 1;
            }
            out.truncate(at);
        }
        out
    }
}

#[test]
fn the_lexer_reads_as_html5evers_tokenizer_does() {
    let mut pieces = Pieces(0x9E37_79B9_7F4A_7C15);
    let mut tags = 0;
    for _ in 0..30_000 {
        let html = pieces.page();
        let want = theirs(&html);
        assert_eq!(ours(&html), want, "{html:?}");
        tags += want.iter().filter(|t| matches!(t, Tok::Start(..))).count();
    }
    // Proof that the pages were more than text.
    assert!(tags > 25_000, "only {tags} start tags");
}

#[test]
fn hand_written_cases_read_as_html5ever_reads_them() {
    for html in [
        "<a href=x/>t</a>",
        "<p =x a= b / c>",
        "<script><!--<script></script>x</script>y",
        "<script><!-- a --></script>b",
        "<script><!--><script></script>c",
        "<textarea>&amp;<b></textarea>",
        "<title>a</title x><p>",
        "<!--><p>",
        "<!-- --!><p>",
        "<!--!><p>-->",
        "<a b='c'd e=f>",
        "</a b=c>x",
        "&notit; &notin; &copy2024",
        "<plaintext></plaintext><a>",
    ] {
        assert_eq!(ours(html), theirs(html), "{html:?}");
    }
}
