//! Cuts hostile HTML short before html5ever's tree builder, which is quadratic in nesting depth.

mod scan;
#[cfg(test)]
mod tests;
mod tree;

pub(crate) use scan::{comment_end, raw_text_end, script_end};
use tree::Tree;

/// Deepest element nesting let through to the HTML parser. Real pages stay far below it.
pub const MAX_DEPTH: usize = 128;

/// Formatting elements html5ever may recreate ("reconstruct the active formatting elements"),
/// summed over the page: each unclosed `<b>` is otherwise recreated in every later block.
const MAX_REOPENED: usize = 100_000;

/// Attributes on one tag: html5ever compares each new attribute with all the earlier ones.
const MAX_ATTRS: usize = 256;

/// Tags, comments and stray `<`s: each costs html5ever a fraction of a microsecond even at
/// the top level, so this caps the work on huge inputs.
const MAX_TOKENS: usize = 500_000;

/// Tokens times the depth they come at: many of them make html5ever walk the stack of open
/// elements, and a flood of them at a depth just under MAX_DEPTH would cost several times
/// what the same bytes cost at the top level.
const MAX_WALK: usize = 16_000_000;

/// NUL bytes: html5ever handles each one alone, as slowly as a tag, and real pages have none.
const MAX_NULS: usize = 10_000;

/// Returns the longest prefix of `html` (cut at a char boundary, just before a tag) whose
/// approximate element nesting depth never exceeds MAX_DEPTH, and whether anything was cut.
///
/// The depth is html5ever's, not tags minus end tags. The scan tokenizes as html5ever does
/// (comments, quoted attributes, the raw text of script, style, textarea, title, xmp,
/// iframe, noembed, noframes, noscript and plaintext, script escapes, CDATA in SVG and
/// MathML) and replays its tree builder: end tags it ignores close nothing, `<div/>` opens a
/// div (only SVG and MathML elements close themselves), what it closes implicitly is closed
/// (p, li, dd, dt, option, table parts, headings, nested a and nobr, select...), and
/// formatting elements closed by another element's end tag still count, because html5ever
/// recreates them further on. Where the replay cannot follow html5ever exactly, it errs on
/// the deep side.
///
/// Also bounded, each by a cut of its own: formatting elements recreated over the page
/// (MAX_REOPENED), attributes on one tag (MAX_ATTRS), tokens (MAX_TOKENS), tokens weighted by
/// their depth (MAX_WALK), and NUL bytes (MAX_NULS). These cuts may also fall just before
/// text that would recreate elements, or on a NUL.
///
/// Linear and without allocation: a vectorized count of NUL bytes, then one pass.
pub fn limit(html: &str) -> (&str, bool) {
    match cut_point(html.as_bytes(), MAX_DEPTH) {
        // Cuts fall on `<`, just after `>` or on a NUL, all ASCII, so on a char boundary.
        Some(at) => (&html[..at], true),
        None => (html, false),
    }
}

/// Where `limit` cuts; `max_depth` (at most MAX_DEPTH) lets tests measure the depth.
pub(crate) fn cut_point(html: &[u8], max_depth: usize) -> Option<usize> {
    let nul_cut = nth_nul(html, MAX_NULS);
    let html = &html[..nul_cut.unwrap_or(html.len())];
    let mut tree = Tree::new(html, max_depth.min(MAX_DEPTH));
    tree.scan().err().or(nul_cut)
}

/// Where the NUL after the first `n` is; counting a block at a time lets the compiler
/// vectorize it.
fn nth_nul(b: &[u8], n: usize) -> Option<usize> {
    const BLOCK: usize = 4096;
    let mut seen = 0;
    for (i, block) in b.chunks(BLOCK).enumerate() {
        // Byte-wide counters over at most 255 bytes cannot overflow, and vectorize well.
        let count: usize = block
            .chunks(255)
            .map(|run| usize::from(run.iter().fold(0u8, |n, &c| n + u8::from(c == 0))))
            .sum();
        if seen + count > n {
            let nuls = block.iter().enumerate().filter(|(_, &c)| c == 0);
            return nuls.map(|(j, _)| i * BLOCK + j).nth(n - seen);
        }
        seen += count;
    }
    None
}

/// Position of the first `byte` at or after `from`: text and attribute values make up most of a
/// page, and memchr skips them with SIMD.
pub(crate) fn find(b: &[u8], from: usize, byte: u8) -> Option<usize> {
    memchr::memchr(byte, b.get(from..)?).map(|at| from + at)
}

const fn pack(name: &[u8]) -> u128 {
    let mut packed = 0;
    let mut i = 0;
    while i < name.len() {
        packed = packed << 8 | name[i] as u128;
        i += 1;
    }
    packed
}

/// Names longer than 16 bytes, compared through the input instead (0xFF never occurs in UTF-8).
const LONG: u128 = u128::MAX;

/// Tag names packed into integers: one comparison each, and matches become binary searches.
macro_rules! names {
    ($($name:ident $text:literal,)*) => {
        $(const $name: u128 = pack($text.as_bytes());)*
    };
}

names! {
    A "a", ADDRESS "address", ANNOTATION_XML "annotation-xml", APPLET "applet", AREA "area",
    ARTICLE "article", ASIDE "aside", B "b", BASE "base", BASEFONT "basefont",
    BGSOUND "bgsound", BIG "big", BLOCKQUOTE "blockquote", BODY "body", BR "br",
    BUTTON "button", CAPTION "caption", CENTER "center", CODE "code", COL "col",
    COLGROUP "colgroup", DD "dd", DESC "desc", DETAILS "details", DIALOG "dialog", DIR "dir",
    DIV "div", DL "dl", DT "dt", EM "em", EMBED "embed", FIELDSET "fieldset",
    FIGCAPTION "figcaption", FIGURE "figure", FONT "font", FOOTER "footer",
    FOREIGNOBJECT "foreignobject", FORM "form", FRAME "frame", FRAMESET "frameset", H1 "h1",
    H2 "h2", H3 "h3", H4 "h4", H5 "h5", H6 "h6", HEAD "head", HEADER "header", HGROUP "hgroup",
    HR "hr", HTML "html", I "i", IFRAME "iframe", IMAGE "image", IMG "img", INPUT "input",
    ISINDEX "isindex", KEYGEN "keygen", LI "li", LINK "link", LISTING "listing", MAIN "main",
    MALIGNMARK "malignmark", MARQUEE "marquee", MATH "math", MENU "menu", META "meta",
    MGLYPH "mglyph", MI "mi", MN "mn", MO "mo", MS "ms", MTEXT "mtext", NAV "nav", NOBR "nobr",
    NOEMBED "noembed", NOFRAMES "noframes", NOSCRIPT "noscript", OBJECT "object", OL "ol",
    OPTGROUP "optgroup", OPTION "option", P "p", PARAM "param", PLAINTEXT "plaintext",
    PRE "pre", RB "rb", RP "rp", RT "rt", RTC "rtc", RUBY "ruby", S "s", SCRIPT "script",
    SEARCH "search", SECTION "section", SELECT "select", SMALL "small", SOURCE "source",
    SPAN "span", STRIKE "strike", STRONG "strong", STYLE "style", SUB "sub", SUMMARY "summary",
    SUP "sup", SVG "svg", TABLE "table", TBODY "tbody", TD "td", TEMPLATE "template",
    TEXTAREA "textarea", TFOOT "tfoot", TH "th", THEAD "thead", TITLE "title", TR "tr",
    TRACK "track", TT "tt", U "u", UL "ul", VAR "var", WBR "wbr", XMP "xmp",
}

// What html5ever's tag sets say about an open element.
const SPECIAL: u16 = 1;
const SCOPE: u16 = 1 << 1;
const LIST_SCOPE: u16 = 1 << 2;
const BUTTON_SCOPE: u16 = 1 << 3;
const TABLE_SCOPE: u16 = 1 << 4;
const MARKER: u16 = 1 << 5;
const FORMATTING: u16 = 1 << 6;
const IMPLIED: u16 = 1 << 7;
const HEADING: u16 = 1 << 8;
const FOREIGN: u16 = 1 << 9;
const MATHML: u16 = 1 << 10;
const INTEGRATION: u16 = 1 << 11;
/// The insertion mode a template's first start tag chose for its content.
const TEMPLATE_MODE: u16 = 7 << 12;
const IN_BODY: u16 = 1 << 12;
const IN_TABLE: u16 = 2 << 12;
const IN_TABLE_BODY: u16 = 3 << 12;
const IN_ROW: u16 = 4 << 12;
const IN_COLUMN_GROUP: u16 = 5 << 12;
/// Tags handled by the "in head" rules, which leave a template's mode undecided.
const IN_HEAD: u16 = 1 << 15;

fn html_flags(name: u128) -> u16 {
    match name {
        ADDRESS | AREA | ARTICLE | ASIDE | BLOCKQUOTE | BODY | BR | CENTER | COL | COLGROUP
        | DETAILS | DIR | DIV | DL | EMBED | FIELDSET | FIGCAPTION | FIGURE | FOOTER | FORM
        | FRAME | FRAMESET | HEAD | HEADER | HGROUP | HR | IFRAME | IMG | INPUT | ISINDEX
        | LISTING | MAIN | MENU | NAV | NOEMBED | NOSCRIPT | PARAM | PLAINTEXT | PRE | SECTION
        | SOURCE | SUMMARY | TBODY | TEXTAREA | TFOOT | THEAD | TR | TRACK | WBR | XMP => SPECIAL,
        BASE | BASEFONT | BGSOUND | LINK | META | NOFRAMES | SCRIPT | STYLE | TITLE => {
            SPECIAL | IN_HEAD
        }
        OL | UL => SPECIAL | LIST_SCOPE,
        BUTTON => SPECIAL | BUTTON_SCOPE,
        DD | DT | LI | P => SPECIAL | IMPLIED,
        H1 | H2 | H3 | H4 | H5 | H6 => SPECIAL | HEADING,
        APPLET | CAPTION | MARQUEE | OBJECT | TD | TH => SPECIAL | SCOPE | MARKER,
        SELECT => SPECIAL | SCOPE,
        HTML | TABLE => SPECIAL | SCOPE | TABLE_SCOPE,
        TEMPLATE => SPECIAL | SCOPE | TABLE_SCOPE | MARKER | IN_HEAD,
        OPTION | OPTGROUP | RB | RP | RT | RTC => IMPLIED,
        A | B | BIG | CODE | EM | FONT | I | NOBR | S | SMALL | STRIKE | STRONG | TT | U => {
            FORMATTING
        }
        _ => 0,
    }
}

fn foreign_flags(name: u128, mathml: bool) -> u16 {
    let integration = match name {
        MI | MO | MN | MS | MTEXT => mathml,
        FOREIGNOBJECT | DESC | TITLE => !mathml,
        _ => false,
    };
    match (mathml, integration) {
        (true, true) => FOREIGN | MATHML | SCOPE | INTEGRATION,
        (true, false) => FOREIGN | MATHML,
        (false, true) => FOREIGN | SCOPE | INTEGRATION,
        (false, false) => FOREIGN,
    }
}

/// HTML's whitespace: tab, line feed, form feed, carriage return and space.
pub(crate) fn is_space(c: u8) -> bool {
    BYTES[usize::from(c)] & SPACE != 0
}

/// Bytes that end a tag name (and with `=` an attribute name): one lookup instead of five
/// comparisons, for the bytes a tokenizer spends most of its time on.
const SPACE: u8 = 1;
const NAME_END: u8 = 2;
const ATTR_END: u8 = 4;
static BYTES: [u8; 256] = {
    let mut t = [0; 256];
    let spaces = [b'\t', b'\n', b'\x0c', b'\r', b' '];
    let mut i = 0;
    while i < spaces.len() {
        t[spaces[i] as usize] = SPACE | NAME_END | ATTR_END;
        i += 1;
    }
    t[b'/' as usize] = NAME_END | ATTR_END;
    t[b'>' as usize] = NAME_END | ATTR_END;
    t[b'=' as usize] = ATTR_END;
    t
};
