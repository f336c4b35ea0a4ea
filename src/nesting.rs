//! Cuts hostile HTML short before html5ever's tree builder, which is quadratic in nesting depth.

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
    let mut tree = Tree {
        html: &html[..nul_cut.unwrap_or(html.len())],
        stack: [Open::default(); MAX_DEPTH],
        len: 0,
        list: [Listed::default(); 2 * MAX_DEPTH + 1],
        list_len: 0,
        closed: 0,
        serials: 0,
        open_p: 0,
        templates: 0,
        form: 0,
        initial: true,
        quirks: false,
        body: false,
        reopened: 0,
        tokens: 0,
        walk: 0,
        max_depth: max_depth.min(MAX_DEPTH),
    };
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

/// An input position in an open element; u32::MAX (only past 4 GiB) never compares equal.
fn pos(at: usize) -> u32 {
    u32::try_from(at).unwrap_or(u32::MAX)
}

/// One entry of the replayed stack of open elements.
#[derive(Clone, Copy, Default)]
struct Open {
    name: u128,
    /// The start tag's name in the input, for LONG names.
    at: u32,
    len: u32,
    /// Which element this is, for its entry in the list of active formatting elements or for
    /// html5ever's form element pointer; 0 for others.
    serial: u32,
    flags: u16,
}

impl Open {
    fn is(&self, name: u128) -> bool {
        self.name == name && self.flags & FOREIGN == 0
    }
}

/// One entry of html5ever's list of active formatting elements: an element (with where its
/// attributes are, to compare them) or a run of markers.
#[derive(Clone, Copy, Default)]
struct Listed {
    /// 0 for markers.
    name: u128,
    attrs: u32,
    attrs_end: u32,
    /// The serial, with ON_STACK while the element is open; for markers, how many.
    serial: u32,
}

/// Serials stay far below this: at most two per token, and tokens are capped at MAX_TOKENS.
const ON_STACK: u32 = 1 << 31;

/// What follows a start tag.
enum Content {
    Markup,
    RawText,
    Script,
    Plaintext,
}

struct Tag {
    name: u128,
    lower: [u8; 16],
    at: usize,
    len: usize,
    /// Just past the closing `>`.
    end: usize,
    self_closing: bool,
    attrs: usize,
    /// A color, face or size attribute, which takes `<font>` out of SVG and MathML.
    font_attr: bool,
}

impl Tag {
    /// Reads a tag whose name starts at `at` as html5ever's tokenizer does; None if the input
    /// ends inside it, as html5ever then drops it.
    #[inline(always)]
    fn read(b: &[u8], at: usize) -> Option<Tag> {
        let mut i = at;
        while i < b.len() && BYTES[usize::from(b[i])] & NAME_END == 0 {
            i += 1;
        }
        let len = i - at;
        // Packed in a register: bytes stored one by one and read back whole would stall.
        let name = match len {
            1..=16 => b[at..i]
                .iter()
                .fold(0, |n, c| n << 8 | u128::from(c.to_ascii_lowercase())),
            _ => LONG,
        };
        let lower = match len {
            1..=16 => (name << (8 * (16 - len))).to_be_bytes(),
            _ => [0; 16],
        };
        let mut tag = Tag {
            name,
            lower,
            at,
            len,
            end: 0,
            self_closing: false,
            attrs: 0,
            font_attr: false,
        };
        let done = |end, self_closing, tag: Tag| {
            Some(Tag {
                end,
                self_closing,
                ..tag
            })
        };
        loop {
            // Before an attribute name, where a value or a stray `/` also lead.
            let c = *b.get(i)?;
            match c {
                _ if is_space(c) => {
                    i += 1;
                    continue;
                }
                b'>' => return done(i + 1, false, tag),
                b'/' if *b.get(i + 1)? == b'>' => return done(i + 2, true, tag),
                b'/' => {
                    i += 1;
                    continue;
                }
                _ => {}
            }
            // The name's first byte may be anything, even `=` or a quote.
            tag.attrs += 1;
            let attr_at = i;
            i += 1;
            while b
                .get(i)
                .is_some_and(|&c| BYTES[usize::from(c)] & ATTR_END == 0)
            {
                i += 1;
            }
            if name == FONT {
                let attr = &b[attr_at..i];
                tag.font_attr |= [&b"color"[..], b"face", b"size"]
                    .iter()
                    .any(|n| n.eq_ignore_ascii_case(attr));
            }
            while b.get(i).is_some_and(|&c| is_space(c)) {
                i += 1;
            }
            if *b.get(i)? != b'=' {
                continue;
            }
            i += 1;
            while b.get(i).is_some_and(|&c| is_space(c)) {
                i += 1;
            }
            match *b.get(i)? {
                q @ (b'"' | b'\'') => i = find(b, i + 1, q)? + 1,
                b'>' => return done(i + 1, false, tag),
                _ => loop {
                    let c = *b.get(i)?;
                    if is_space(c) {
                        break;
                    }
                    if c == b'>' {
                        return done(i + 1, false, tag);
                    }
                    i += 1;
                },
            }
        }
    }

    /// Where the attributes are in `b`, without the spaces around them or a self-closing slash.
    fn attrs(&self, b: &[u8]) -> (usize, usize) {
        let (mut from, mut to) = (
            self.at + self.len,
            self.end - 1 - usize::from(self.self_closing),
        );
        while to > from && is_space(b[to - 1]) {
            to -= 1;
        }
        while from < to && is_space(b[from]) {
            from += 1;
        }
        (from, to)
    }

    fn lower(&self) -> &[u8] {
        &self.lower[..self.len.min(16)]
    }
}

/// Where the raw text of `<name>` ends: at the `<` of a `</name` that html5ever accepts.
pub(crate) fn raw_text_end(b: &[u8], mut i: usize, name: &[u8]) -> Option<usize> {
    loop {
        let lt = find(b, i, b'<')?;
        if end_tag_named(b, lt, name) {
            return Some(lt);
        }
        i = lt + 1;
    }
}

fn end_tag_named(b: &[u8], lt: usize, name: &[u8]) -> bool {
    b.get(lt + 1) == Some(&b'/') && tag_named(b, lt + 2, name)
}

fn tag_named(b: &[u8], at: usize, name: &[u8]) -> bool {
    b.get(at..at + name.len())
        .is_some_and(|n| n.eq_ignore_ascii_case(name))
        && b.get(at + name.len())
            .is_some_and(|&c| is_space(c) || c == b'/' || c == b'>')
}

/// Where a script ends, after html5ever's script data states: past a `<!--`, a `<script>`
/// hides the next `</script>`, until `-->`.
pub(crate) fn script_end(b: &[u8], mut i: usize) -> Option<usize> {
    let (mut escaped, mut double) = (false, false);
    loop {
        i = match escaped {
            false => find(b, i, b'<')?,
            true => i + b.get(i..)?.iter().position(|&c| c == b'<' || c == b'-')?,
        };
        if b[i] == b'-' {
            let dashes = b[i..].iter().take_while(|&&c| c == b'-').count();
            i += dashes;
            if dashes >= 2 && b.get(i) == Some(&b'>') {
                (escaped, double) = (false, false);
            }
            continue;
        }
        if end_tag_named(b, i, b"script") {
            if !double {
                return Some(i);
            }
            double = false;
        } else if !escaped && b[i..].starts_with(b"<!--") {
            escaped = true;
            // The dashes of `<!--` may close it again at once, as in `<!-->`.
            i += 2;
            continue;
        } else if escaped && !double && tag_named(b, i + 1, b"script") {
            double = true;
        }
        i += 1;
    }
}

/// Where a comment that starts at `lt` ends: `-->` may reuse the opening dashes (`<!-->`),
/// `--!>` may not.
pub(crate) fn comment_end(b: &[u8], lt: usize) -> Option<usize> {
    let mut i = lt + 4;
    loop {
        let gt = find(b, i, b'>')?;
        if &b[gt - 2..gt] == b"--" || (gt >= lt + 7 && &b[gt - 3..gt] == b"--!") {
            return Some(gt + 1);
        }
        i = gt + 1;
    }
}

/// Where a CDATA section (only SVG and MathML have them) that starts at `lt` ends.
fn cdata_end(b: &[u8], lt: usize) -> Option<usize> {
    let mut i = lt + 9;
    loop {
        let gt = find(b, i, b'>')?;
        if gt >= lt + 11 && b[..gt].ends_with(b"]]") {
            return Some(gt + 1);
        }
        i = gt + 1;
    }
}

struct Tree<'a> {
    html: &'a [u8],
    stack: [Open; MAX_DEPTH],
    len: usize,
    /// Formatting elements that end tags of other elements closed stay listed, and html5ever
    /// recreates them before the next text or inline tag; markers (td, object, template...)
    /// fence off the outer ones, and only explicit closes of those elements clear them.
    list: [Listed; 2 * MAX_DEPTH + 1],
    list_len: usize,
    /// Listed elements not open: they count towards the depth they will be recreated at.
    closed: usize,
    serials: u32,
    open_p: usize,
    templates: usize,
    /// html5ever's form element pointer (a serial), which only `</form>` clears.
    form: u32,
    /// Before the first token that decides quirks mode (a DOCTYPE or anything else).
    initial: bool,
    /// Quirks mode, in which `<table>` does not close a `<p>`.
    quirks: bool,
    /// Past the head: before it html5ever ignores most end tags, and whitespace.
    body: bool,
    reopened: usize,
    tokens: usize,
    walk: usize,
    max_depth: usize,
}

impl Tree<'_> {
    fn scan(&mut self) -> Result<(), usize> {
        let b = self.html;
        let mut i = 0;
        while i < b.len() {
            let Some(lt) = find(b, i, b'<') else {
                return self.text(i, b.len());
            };
            if lt > i {
                self.text(i, lt)?;
            }
            self.tokens += 1;
            self.walk += self.len + self.closed;
            if self.tokens > MAX_TOKENS || self.walk > MAX_WALK {
                return Err(lt);
            }
            if self.initial {
                self.first_token(lt);
            }
            let next = match b.get(lt + 1) {
                Some(c) if c.is_ascii_alphabetic() => {
                    let Some(tag) = Tag::read(b, lt + 1) else {
                        return Ok(());
                    };
                    if tag.attrs > MAX_ATTRS {
                        return Err(lt);
                    }
                    let raw_end = match self.start_tag(lt, &tag)? {
                        Content::Markup => {
                            i = tag.end;
                            continue;
                        }
                        Content::RawText => raw_text_end(b, tag.end, tag.lower()),
                        Content::Script => script_end(b, tag.end),
                        Content::Plaintext => None,
                    };
                    // The end tag of a raw text element just closes it.
                    let Some(end) = raw_end else {
                        return Ok(());
                    };
                    match Tag::read(b, end + 2) {
                        Some(tag) if tag.attrs > MAX_ATTRS => return Err(end),
                        closing => closing.map(|tag| tag.end),
                    }
                }
                Some(b'/') => match b.get(lt + 2) {
                    Some(c) if c.is_ascii_alphabetic() => {
                        let Some(tag) = Tag::read(b, lt + 2) else {
                            return Ok(());
                        };
                        if tag.attrs > MAX_ATTRS {
                            return Err(lt);
                        }
                        self.end_tag(lt, &tag)?;
                        Some(tag.end)
                    }
                    Some(b'>') => Some(lt + 3),
                    Some(_) => find(b, lt + 2, b'>').map(|gt| gt + 1),
                    None => None,
                },
                Some(b'!') if b[lt..].starts_with(b"<!--") => comment_end(b, lt),
                Some(b'!') if b[lt + 2..].starts_with(b"[CDATA[") && self.top(FOREIGN) => {
                    cdata_end(b, lt)
                }
                Some(b'!' | b'?') => find(b, lt + 2, b'>').map(|gt| gt + 1),
                _ => {
                    self.text(lt, lt + 1)?;
                    Some(lt + 1)
                }
            };
            let Some(next) = next else {
                return Ok(());
            };
            i = next;
        }
        Ok(())
    }

    /// Whether the document starts in quirks mode: without a DOCTYPE, or with one not named
    /// html. Some public identifiers also mean quirks, but there closing the `<p>` is the
    /// error that stays bounded.
    fn first_token(&mut self, lt: usize) {
        let b = self.html;
        let doctype = b
            .get(lt + 2..lt + 9)
            .is_some_and(|d| d.eq_ignore_ascii_case(b"doctype"));
        if b[lt + 1..].starts_with(b"!") && doctype {
            let rest = &b[lt + 9..];
            let name = rest
                .iter()
                .position(|&c| !is_space(c))
                .map_or(&rest[..0], |s| {
                    let len = rest[s..].iter().position(|&c| is_space(c) || c == b'>');
                    &rest[s..s + len.unwrap_or(rest.len() - s)]
                });
            self.decide_quirks(!name.eq_ignore_ascii_case(b"html"));
        } else if !matches!(b.get(lt + 1), Some(b'!' | b'?')) && !b[lt..].starts_with(b"</>") {
            // Comments and nothing at all leave it undecided.
            self.decide_quirks(true);
        }
    }

    fn decide_quirks(&mut self, quirks: bool) {
        if std::mem::take(&mut self.initial) {
            self.quirks = quirks;
        }
    }

    fn top(&self, flag: u16) -> bool {
        self.len > 0 && self.stack[self.len - 1].flags & flag != 0
    }

    fn top_is(&self, name: u128) -> bool {
        self.len > 0 && self.stack[self.len - 1].is(name)
    }

    fn in_foreign(&self) -> bool {
        self.top(FOREIGN) && !self.top(INTEGRATION)
    }

    fn text(&mut self, from: usize, to: usize) -> Result<(), usize> {
        let reopens = self.list[..self.list_len]
            .last()
            .is_some_and(|e| e.name != 0 && e.serial & ON_STACK == 0);
        // Text matters only if it reopens elements, decides quirks, starts the body or closes a
        // column group.
        let head = !self.body && self.templates == 0;
        if !reopens && !self.initial && !head && !self.top_is(COLGROUP) {
            return Ok(());
        }
        // html5ever drops a byte order mark at the very start.
        let from_text = if from == 0 && self.html.starts_with("\u{feff}".as_bytes()) {
            3
        } else {
            from
        };
        if self.html[from_text..to].iter().all(|&c| is_space(c)) {
            // In the head and straight inside table rows and groups, whitespace reopens nothing.
            let outer = [TABLE, TBODY, TFOOT, THEAD, TR, COLGROUP];
            if head || (outer.iter().any(|&n| self.top_is(n)) && self.in_table_mode()) {
                return Ok(());
            }
        } else {
            self.decide_quirks(true);
            self.body |= head;
            if self.top_is(COLGROUP) {
                self.pop();
            }
            // html5ever drops NULs (outside SVG and MathML): they reopen nothing.
            if self.html[from_text..to].iter().all(|&c| c == 0) {
                return Ok(());
            }
        }
        if self.in_foreign() || self.in_template_columns() {
            return Ok(());
        }
        self.reconstruct(from)
    }

    fn bytes(&self, from: u32, to: u32) -> Option<&[u8]> {
        if from == u32::MAX || to == u32::MAX {
            return None;
        }
        self.html.get(from as usize..to as usize)
    }

    fn same_name(&self, e: &Open, tag: &Tag) -> bool {
        e.name == tag.name
            && (tag.name != LONG || {
                let name = self.bytes(e.at, e.at.saturating_add(e.len));
                name.is_some_and(|n| n.eq_ignore_ascii_case(&self.html[tag.at..tag.at + tag.len]))
            })
    }

    /// The nearest open element matching `is`, unless an element with one of the `stop` flags
    /// comes first (html5ever's "has an element in scope").
    fn find(&self, stop: u16, is: impl Fn(&Open) -> bool) -> Option<usize> {
        for k in (0..self.len).rev() {
            let e = &self.stack[k];
            if is(e) {
                return Some(k);
            }
            if e.flags & stop != 0 {
                return None;
            }
        }
        None
    }

    fn room(&self, at: usize) -> Result<(), usize> {
        if self.len + self.closed >= self.max_depth {
            return Err(at);
        }
        Ok(())
    }

    fn push(&mut self, at: usize, name: u128, tag: Option<&Tag>, flags: u16) -> Result<(), usize> {
        self.room(at)?;
        if flags & MARKER != 0 {
            match self.list[..self.list_len].last_mut() {
                Some(run) if run.name == 0 => run.serial += 1,
                _ => self.append(Listed {
                    serial: 1,
                    ..Listed::default()
                }),
            }
        }
        if name == P && flags & FOREIGN == 0 {
            self.open_p += 1;
        }
        if name == TEMPLATE && flags & FOREIGN == 0 {
            self.templates += 1;
        }
        let (at, len) = tag.map_or((0, 0), |t| (pos(t.at), pos(t.len)));
        self.stack[self.len] = Open {
            name,
            at,
            len,
            serial: 0,
            flags,
        };
        self.len += 1;
        Ok(())
    }

    fn push_tag(&mut self, at: usize, tag: &Tag, flags: u16) -> Result<(), usize> {
        self.push(at, tag.name, Some(tag), flags)
    }

    fn append(&mut self, entry: Listed) {
        self.list[self.list_len] = entry;
        self.list_len += 1;
    }

    fn listed(&self, serial: u32) -> Option<usize> {
        (0..self.list_len)
            .rev()
            .find(|&j| self.list[j].name != 0 && self.list[j].serial & !ON_STACK == serial)
    }

    /// Takes the top element off the stack; if listed, it stays listed.
    fn pop(&mut self) {
        self.len -= 1;
        let e = self.stack[self.len];
        self.forget(&e);
    }

    fn forget(&mut self, e: &Open) {
        if e.is(P) {
            self.open_p -= 1;
        }
        if e.is(TEMPLATE) {
            self.templates -= 1;
        }
        if e.serial != 0 {
            if let Some(j) = self.listed(e.serial) {
                self.list[j].serial &= !ON_STACK;
                self.closed += 1;
            }
        }
    }

    /// Pops the element at `k` and everything above it.
    fn pop_through(&mut self, k: usize) {
        while self.len > k {
            self.pop();
        }
    }

    /// Pops through `k` for the table rules: closing a cell or caption on the way clears the
    /// list of active formatting elements back to its marker.
    fn pop_through_table(&mut self, k: usize) {
        let cell = |e: &Open| e.is(TD) || e.is(TH) || e.is(CAPTION);
        let closes_cell = self.stack[k..self.len].iter().any(cell);
        self.pop_through(k);
        if closes_cell {
            self.clear_to_marker();
        }
    }

    fn clear_to_marker(&mut self) {
        while self.list_len > 0 {
            let last = &mut self.list[self.list_len - 1];
            if last.name == 0 {
                last.serial -= 1;
                if last.serial == 0 {
                    self.list_len -= 1;
                }
                return;
            }
            self.unlist(self.list_len - 1);
        }
    }

    /// Drops entry `j` from the list; an open element stays open but is no longer listed.
    fn unlist(&mut self, j: usize) {
        let serial = self.list[j].serial;
        if serial & ON_STACK == 0 {
            self.closed -= 1;
        } else if let Some(k) = self.on_stack(serial & !ON_STACK) {
            self.stack[k].serial = 0;
        }
        self.list.copy_within(j + 1..self.list_len, j);
        self.list_len -= 1;
    }

    fn on_stack(&self, serial: u32) -> Option<usize> {
        (0..self.len)
            .rev()
            .find(|&k| self.stack[k].serial == serial)
    }

    /// The latest listed element named `name` after the last marker.
    fn listed_named(&self, name: u128) -> Option<usize> {
        (0..self.list_len)
            .rev()
            .take_while(|&j| self.list[j].name != 0)
            .find(|&j| self.list[j].name == name)
    }

    /// Removes the element at `k` from the stack (and from the list).
    fn remove(&mut self, k: usize) {
        let e = self.stack[k];
        if e.serial != 0 {
            self.stack[k].serial = 0;
            if let Some(j) = self.listed(e.serial) {
                self.unlist(j);
            }
        }
        self.forget(&Open { serial: 0, ..e });
        self.stack.copy_within(k + 1..self.len, k);
        self.len -= 1;
    }

    fn generate_implied_end_tags(&mut self, except: u128) {
        while self.top(IMPLIED) && !self.top(FOREIGN) && !self.top_is(except) {
            self.pop();
        }
    }

    fn close_p(&mut self) {
        if self.open_p > 0 {
            if let Some(k) = self.find(SCOPE | BUTTON_SCOPE, |e| e.is(P)) {
                self.pop_through(k);
            }
        }
    }

    /// html5ever reopens the listed elements closed since the last marker (or open one).
    fn reconstruct(&mut self, at: usize) -> Result<(), usize> {
        let closed = |e: &Listed| e.name != 0 && e.serial & ON_STACK == 0;
        let mut first = self.list_len;
        while first > 0 && closed(&self.list[first - 1]) {
            first -= 1;
        }
        if first == self.list_len {
            return Ok(());
        }
        self.reopened += self.list_len - first;
        if self.reopened > MAX_REOPENED {
            return Err(at);
        }
        for j in first..self.list_len {
            let e = &mut self.list[j];
            e.serial |= ON_STACK;
            self.stack[self.len] = Open {
                name: e.name,
                at: 0,
                len: 0,
                serial: e.serial & !ON_STACK,
                flags: FORMATTING,
            };
            self.len += 1;
            self.closed -= 1;
        }
        Ok(())
    }

    /// Opens a formatting element; like html5ever (the Noah's Ark clause) it lists at most
    /// three identical ones, so unclosed `<font>`s in every paragraph do not pile up.
    fn push_formatting(&mut self, at: usize, tag: &Tag) -> Result<(), usize> {
        self.reconstruct(at)?;
        self.room(at)?;
        // Byte for byte the same attributes (html5ever also accepts other orders).
        let (from, to) = tag.attrs(self.html);
        let attrs = &self.html[from..to];
        let same =
            |e: &Listed| e.name == tag.name && self.bytes(e.attrs, e.attrs_end) == Some(attrs);
        let mut matches = (0..self.list_len)
            .rev()
            .take_while(|&j| self.list[j].name != 0)
            .filter(|&j| same(&self.list[j]));
        if let (Some(_), Some(_), Some(earliest)) = (matches.next(), matches.next(), matches.last())
        {
            self.unlist(earliest);
        }
        self.serials += 1;
        self.push_tag(at, tag, FORMATTING)?;
        self.stack[self.len - 1].serial = self.serials;
        self.append(Listed {
            name: tag.name,
            attrs: pos(from),
            attrs_end: pos(to),
            serial: self.serials | ON_STACK,
        });
        Ok(())
    }

    /// html5ever's adoption agency, for `</name>` and a nested `<a>` or `<nobr>`.
    fn adoption(&mut self, name: u128) {
        if self.top_is(name) && self.stack[self.len - 1].serial == 0 {
            return self.pop();
        }
        let Some(j) = self.listed_named(name) else {
            // Not listed: an ordinary end tag.
            if let Some(k) = self.find(SPECIAL, |e| e.is(name)) {
                self.pop_through(k);
            }
            return;
        };
        let serial = self.list[j].serial;
        if serial & ON_STACK == 0 {
            return self.unlist(j);
        }
        let serial = serial & !ON_STACK;
        if let Some(k) = self.find(SCOPE, |e| e.serial == serial) {
            self.adopt(k);
        }
    }

    /// The adoption agency's effect on the stack. For each special element ("furthest block")
    /// above the formatting element at `k`, up to eight: of the elements below it, the three
    /// nearest stay if listed, the others go (out of the list too). Above the last block
    /// everything is closed, listed elements staying listed. After eight blocks the agency
    /// gives up, and the formatting element stays open just above the eighth.
    fn adopt(&mut self, k: usize) {
        let fe = self.stack[k];
        let (mut read, mut write) = (k + 1, k);
        // The kept element nearest below a block is where the copy goes in the list.
        let mut bookmark = None;
        for _ in 0..8 {
            let Some(block) = (read..self.len).find(|&i| self.stack[i].flags & SPECIAL != 0) else {
                for i in read..self.len {
                    let e = self.stack[i];
                    self.forget(&e);
                }
                self.len = write;
                return self.drop_listed(fe.serial);
            };
            let near = read.max(block.saturating_sub(3))..block;
            if let Some(i) = near.rev().find(|&i| self.stack[i].serial != 0) {
                bookmark = Some(self.stack[i].serial);
            }
            for i in read..block {
                let e = self.stack[i];
                if block - i <= 3 && e.serial != 0 {
                    self.stack[write] = e;
                    write += 1;
                } else {
                    self.forget(&Open { serial: 0, ..e });
                    self.drop_listed(e.serial);
                }
            }
            self.stack[write] = self.stack[block];
            write += 1;
            read = block + 1;
        }
        // What stays is a copy, a new element, listed at the bookmark.
        self.serials += 1;
        if let Some(j) = self.listed(fe.serial) {
            let mut copy = self.list[j];
            copy.serial = self.serials | ON_STACK;
            self.drop_listed(fe.serial);
            let at = bookmark.and_then(|b| self.listed(b)).map_or(j, |b| b + 1);
            self.list.copy_within(at..self.list_len, at + 1);
            self.list[at] = copy;
            self.list_len += 1;
        }
        self.stack.copy_within(read..self.len, write + 1);
        self.stack[write] = Open {
            serial: self.serials,
            ..fe
        };
        self.len = write + 1 + self.len - read;
    }

    fn drop_listed(&mut self, serial: u32) {
        if serial != 0 {
            if let Some(j) = self.listed(serial) {
                self.list.copy_within(j + 1..self.list_len, j);
                self.list_len -= 1;
            }
        }
    }

    /// The innermost table-related element and its role: TABLE, TBODY (any row group), TR,
    /// TD (or TH), CAPTION or COLGROUP; a template plays the part its first tag chose, or 0.
    fn table_context(&self) -> Option<(usize, u128)> {
        (0..self.len).rev().find_map(|k| {
            let e = &self.stack[k];
            let role = match e.name {
                _ if e.flags & FOREIGN != 0 => return None,
                TABLE | TR | TD | TH | CAPTION | COLGROUP => e.name,
                TBODY | THEAD | TFOOT => TBODY,
                TEMPLATE => match e.flags & TEMPLATE_MODE {
                    IN_TABLE => TABLE,
                    IN_TABLE_BODY => TBODY,
                    IN_ROW => TR,
                    IN_COLUMN_GROUP => COLGROUP,
                    _ => 0,
                },
                _ => return None,
            };
            Some((k, role))
        })
    }

    /// Whether html5ever is in one of its table insertion modes (not in a cell or caption).
    fn in_table_mode(&self) -> bool {
        self.table_context()
            .is_some_and(|(_, role)| [TABLE, TBODY, TR, COLGROUP].contains(&role))
    }

    fn start_tag(&mut self, at: usize, tag: &Tag) -> Result<Content, usize> {
        // MathML text integration points take HTML, except for these two.
        let mathml_only = matches!(tag.name, MGLYPH | MALIGNMARK) && self.top(MATHML);
        if self.in_foreign() || mathml_only {
            let breakout = match tag.name {
                B | BIG | BLOCKQUOTE | BODY | BR | CENTER | CODE | DD | DIV | DL | DT | EM
                | EMBED | H1 | H2 | H3 | H4 | H5 | H6 | HEAD | HR | I | IMG | LI | LISTING
                | MENU | META | NOBR | OL | P | PRE | RUBY | S | SMALL | SPAN | STRONG | STRIKE
                | SUB | SUP | TABLE | TT | U | UL | VAR => true,
                FONT => tag.font_attr,
                _ => false,
            };
            if !breakout {
                if !tag.self_closing {
                    // An <svg> straight inside MathML's annotation-xml is SVG again.
                    let annotation = self.stack[self.len - 1].name == ANNOTATION_XML;
                    let mathml = self.top(MATHML) && !(annotation && tag.name == SVG);
                    self.push_tag(at, tag, foreign_flags(tag.name, mathml))?;
                }
                return Ok(Content::Markup);
            }
            while self.in_foreign() {
                self.pop();
            }
        }
        self.html_start(at, tag)
    }

    /// A template whose content is a column group takes nothing but templates and columns.
    fn in_template_columns(&self) -> bool {
        self.top_is(TEMPLATE) && self.stack[self.len - 1].flags & TEMPLATE_MODE == IN_COLUMN_GROUP
    }

    fn html_start(&mut self, at: usize, tag: &Tag) -> Result<Content, usize> {
        let name = tag.name;
        if !self.body && self.templates == 0 {
            self.body = ![HTML, HEAD, NOSCRIPT].contains(&name) && html_flags(name) & IN_HEAD == 0;
        }
        if self.in_template_columns() && name != TEMPLATE {
            return Ok(Content::Markup);
        }
        // In a column group anything else closes the group first.
        if self.top_is(COLGROUP) && name != COL && name != TEMPLATE {
            self.pop();
        }
        let flags = html_flags(name);
        if self.top_is(TEMPLATE) && !self.top(TEMPLATE_MODE) && flags & IN_HEAD == 0 {
            self.stack[self.len - 1].flags |= match name {
                CAPTION | COLGROUP | TBODY | THEAD | TFOOT => IN_TABLE,
                TR => IN_TABLE_BODY,
                TD | TH => IN_ROW,
                COL => IN_COLUMN_GROUP,
                _ => IN_BODY,
            };
        }
        match name {
            HTML | BODY | HEAD | FRAME => return Ok(Content::Markup),
            // Counted though html5ever mostly ignores it: in a frameset document it nests.
            FRAMESET => {}
            CAPTION | COLGROUP | COL | TBODY | THEAD | TFOOT | TR | TD | TH => {
                self.table_part(at, tag)?;
                return Ok(Content::Markup);
            }
            ADDRESS | ARTICLE | ASIDE | BLOCKQUOTE | CENTER | DETAILS | DIALOG | DIR | DIV | DL
            | FIELDSET | FIGCAPTION | FIGURE | FOOTER | HEADER | HGROUP | MAIN | MENU | NAV
            | OL | P | SEARCH | SECTION | SUMMARY | UL | PRE | LISTING => self.close_p(),
            H1 | H2 | H3 | H4 | H5 | H6 => {
                self.close_p();
                if self.top(HEADING) {
                    self.pop();
                }
            }
            LI | DD | DT => {
                for k in (0..self.len).rev() {
                    let e = self.stack[k];
                    let closes = match name {
                        LI => e.is(LI),
                        _ => e.is(DD) || e.is(DT),
                    };
                    if closes {
                        self.pop_through(k);
                        break;
                    }
                    if e.flags & SPECIAL != 0 && !e.is(ADDRESS) && !e.is(DIV) && !e.is(P) {
                        break;
                    }
                }
                self.close_p();
            }
            FORM => {
                if self.form != 0 && self.templates == 0 {
                    return Ok(Content::Markup);
                }
                self.serials += 1;
                if self.templates == 0 {
                    self.form = self.serials;
                }
                // In a table the form is inserted and closed at once.
                if self.in_table_mode() {
                    return Ok(Content::Markup);
                }
                self.close_p();
                self.push_tag(at, tag, flags)?;
                self.stack[self.len - 1].serial = self.serials;
                return Ok(Content::Markup);
            }
            PLAINTEXT => {
                self.close_p();
                self.push_tag(at, tag, flags)?;
                return Ok(Content::Plaintext);
            }
            TABLE => {
                // In a table it first closes that one, if it can; it is the body rules that
                // close a paragraph.
                while self.in_table_mode() {
                    match self.find(TABLE_SCOPE, |e| e.is(TABLE)) {
                        Some(k) => self.pop_through_table(k),
                        None => return Ok(Content::Markup),
                    }
                }
                if !self.quirks {
                    self.close_p();
                }
            }
            BUTTON => {
                if let Some(k) = self.find(SCOPE, |e| e.is(BUTTON)) {
                    self.pop_through(k);
                }
                self.reconstruct(at)?;
            }
            A => {
                // An open <a> is closed first, by the adoption agency if it can be, else alone.
                if let Some(j) = self.listed_named(A) {
                    let serial = self.list[j].serial & !ON_STACK;
                    self.adoption(A);
                    if let Some(k) = self.on_stack(serial) {
                        self.remove(k);
                    }
                    if let Some(j) = self.listed(serial) {
                        self.unlist(j);
                    }
                }
                self.push_formatting(at, tag)?;
                return Ok(Content::Markup);
            }
            NOBR => {
                self.reconstruct(at)?;
                if self.find(SCOPE, |e| e.is(NOBR)).is_some() {
                    self.adoption(NOBR);
                }
                self.push_formatting(at, tag)?;
                return Ok(Content::Markup);
            }
            _ if flags & FORMATTING != 0 => {
                self.push_formatting(at, tag)?;
                return Ok(Content::Markup);
            }
            SELECT => {
                if let Some(k) = self.find(SCOPE, |e| e.is(SELECT)) {
                    self.pop_through(k);
                    return Ok(Content::Markup);
                }
                self.reconstruct(at)?;
            }
            INPUT => {
                if let Some(k) = self.find(SCOPE, |e| e.is(SELECT)) {
                    self.pop_through(k);
                }
                self.reconstruct(at)?;
                return Ok(Content::Markup);
            }
            HR => {
                self.close_p();
                if self.find(SCOPE, |e| e.is(SELECT)).is_some() {
                    self.generate_implied_end_tags(0);
                }
                return Ok(Content::Markup);
            }
            OPTION | OPTGROUP => {
                if self.find(SCOPE, |e| e.is(SELECT)).is_some() {
                    let except = if name == OPTION { OPTGROUP } else { 0 };
                    self.generate_implied_end_tags(except);
                } else if self.top_is(OPTION) {
                    self.pop();
                }
                self.reconstruct(at)?;
            }
            RB | RTC | RP | RT if self.find(SCOPE, |e| e.is(RUBY)).is_some() => {
                let except = if name == RP || name == RT { RTC } else { 0 };
                self.generate_implied_end_tags(except);
            }
            RB | RTC | RP | RT => {}
            AREA | BR | EMBED | IMG | KEYGEN | WBR | IMAGE => {
                self.reconstruct(at)?;
                return Ok(Content::Markup);
            }
            PARAM | SOURCE | TRACK | BASE | BASEFONT | BGSOUND | LINK | META => {
                return Ok(Content::Markup)
            }
            // Raw text elements hold only text, which their end tag closes; they must fit, though.
            SCRIPT => return self.room(at).map(|()| Content::Script),
            XMP => {
                self.close_p();
                self.reconstruct(at)?;
                return self.room(at).map(|()| Content::RawText);
            }
            STYLE | TITLE | TEXTAREA | IFRAME | NOEMBED | NOFRAMES | NOSCRIPT => {
                return self.room(at).map(|()| Content::RawText)
            }
            MATH | SVG => {
                self.reconstruct(at)?;
                if !tag.self_closing {
                    self.push_tag(at, tag, foreign_flags(name, name == MATH))?;
                }
                return Ok(Content::Markup);
            }
            TEMPLATE => {}
            // Everything else but block-level elements first recreates the formatting.
            _ if flags & SPECIAL == 0 || flags & MARKER != 0 || name == ISINDEX => {
                self.reconstruct(at)?
            }
            _ => {}
        }
        self.push_tag(at, tag, flags)?;
        Ok(Content::Markup)
    }

    /// Table parts open only in tables, after closing the cells, rows and groups in the way and
    /// opening the row group and row html5ever implies.
    fn table_part(&mut self, at: usize, tag: &Tag) -> Result<(), usize> {
        let flags = html_flags(tag.name);
        loop {
            let Some((k, role)) = self.table_context() else {
                return Ok(());
            };
            let template = self.stack[k].is(TEMPLATE);
            match (role, tag.name) {
                // Any table part closes the cell or caption first.
                (TD | TH | CAPTION, _) => self.pop_through_table(k),
                (COLGROUP, COL) => return Ok(()),
                (COLGROUP, _) => self.pop_through(k),
                (TR, TD | TH) => {
                    self.pop_through(k + 1);
                    return self.push_tag(at, tag, flags);
                }
                (TBODY, TR) => {
                    self.pop_through(k + 1);
                    return self.push_tag(at, tag, flags);
                }
                (TBODY, TD | TH) => {
                    self.pop_through(k + 1);
                    self.push(at, TR, None, SPECIAL)?;
                }
                // The row closes, unless a template stands in for it.
                (TR, _) if template => return Ok(()),
                (TR, _) => self.pop_through(k),
                // html5ever closes the row group only below a table, tbody or tfoot (not thead).
                (TBODY, _) => {
                    let outer = |e: &Open| e.is(TABLE) || e.is(TBODY) || e.is(TFOOT);
                    if template || self.find(TABLE_SCOPE, outer).is_none() {
                        return Ok(());
                    }
                    self.pop_through(k);
                }
                (TABLE, CAPTION | COLGROUP | TBODY | THEAD | TFOOT) => {
                    self.pop_through(k + 1);
                    return self.push_tag(at, tag, flags);
                }
                (TABLE, COL) => {
                    self.pop_through(k + 1);
                    return self.push(at, COLGROUP, None, SPECIAL);
                }
                (TABLE, _) => {
                    self.pop_through(k + 1);
                    self.push(at, TBODY, None, SPECIAL)?;
                }
                _ => return Ok(()),
            }
        }
    }

    fn end_tag(&mut self, at: usize, tag: &Tag) -> Result<(), usize> {
        if !self.body && self.templates == 0 {
            match tag.name {
                TEMPLATE => {}
                BR | BODY | HTML => self.body = true,
                _ => return Ok(()),
            }
        }
        // In a column group any other end tag closes the group first.
        if self.top_is(COLGROUP) && ![COLGROUP, COL, TEMPLATE].contains(&tag.name) {
            self.pop();
        }
        if self.in_template_columns() && tag.name != TEMPLATE {
            return Ok(());
        }
        let breakout = tag.name == BR || tag.name == P;
        if breakout {
            while self.in_foreign() {
                self.pop();
            }
        }
        if tag.name == BR {
            // html5ever takes it for a <br>.
            return self.reconstruct(at);
        }
        if breakout || !self.top(FOREIGN) {
            self.html_end(tag);
            return Ok(());
        }
        // html5ever walks down through SVG and MathML elements and hands over to the HTML rules
        // at the first HTML element.
        let mut k = self.len - 1;
        loop {
            let e = self.stack[k];
            if (k != self.len - 1 && e.flags & FOREIGN == 0) || (k == 0 && !self.same_name(&e, tag))
            {
                self.html_end(tag);
                return Ok(());
            }
            if self.same_name(&e, tag) {
                self.pop_through(k);
                return Ok(());
            }
            k -= 1;
        }
    }

    /// Table end tags, as html5ever's table insertion modes take them: closing a cell or row
    /// may come first, and then the tag is looked at again.
    fn table_end(&mut self, name: u128) {
        let in_scope = |tree: &Self, name| tree.find(TABLE_SCOPE, |e| e.is(name));
        while let Some((k, role)) = self.table_context() {
            let template = self.stack[k].is(TEMPLATE);
            match (role, name) {
                (TD | TH, TD | TH) => {
                    if let Some(cell) = in_scope(self, name) {
                        self.pop_through_table(cell);
                    }
                    return;
                }
                (TD | TH, TABLE | TBODY | THEAD | TFOOT | TR) if in_scope(self, name).is_some() => {
                    self.pop_through_table(k)
                }
                (CAPTION, CAPTION) => return self.pop_through_table(k),
                (CAPTION, TABLE) => self.pop_through_table(k),
                (TR, TR) if !template => return self.pop_through(k),
                (TR, TABLE) if !template => self.pop_through(k),
                (TR, TBODY | THEAD | TFOOT) if !template && in_scope(self, name).is_some() => {
                    self.pop_through(k)
                }
                (TBODY, TBODY | THEAD | TFOOT) if in_scope(self, name).is_some() => {
                    return self.pop_through(k)
                }
                // html5ever looks for a table, tbody or tfoot here (not thead).
                (TBODY, TABLE)
                    if [TABLE, TBODY, TFOOT]
                        .iter()
                        .any(|&n| in_scope(self, n).is_some()) =>
                {
                    self.pop_through(k)
                }
                (TABLE, TABLE) if !template => return self.pop_through(k),
                (COLGROUP, COLGROUP) if self.top_is(COLGROUP) => return self.pop(),
                (COLGROUP, _) if !template && name != COLGROUP => self.pop_through(k),
                _ => return,
            }
        }
    }

    fn html_end(&mut self, tag: &Tag) {
        let name = tag.name;
        let same = |e: &Open| e.is(tag.name);
        let k = match name {
            HTML | BODY | HEAD | COL => None,
            FRAMESET => self.top_is(FRAMESET).then(|| self.len - 1),
            P if self.open_p == 0 => None,
            P => self.find(SCOPE | BUTTON_SCOPE, same),
            LI => self.find(SCOPE | LIST_SCOPE, same),
            H1 | H2 | H3 | H4 | H5 | H6 => {
                self.find(SCOPE, |e| e.flags & HEADING != 0 && e.flags & FOREIGN == 0)
            }
            FORM if self.templates == 0 => {
                let form = std::mem::take(&mut self.form);
                let pointed = |e: &Open| e.is(FORM) && e.serial == form;
                if form != 0 && self.find(SCOPE, pointed).is_some() {
                    self.generate_implied_end_tags(0);
                    // Only the form goes; what it contains stays open.
                    if let Some(k) = self.find(SCOPE, pointed) {
                        self.remove(k);
                    }
                }
                None
            }
            TEMPLATE | APPLET | MARQUEE | OBJECT => {
                let stop = if name == TEMPLATE { 0 } else { SCOPE };
                if let Some(k) = self.find(stop, same) {
                    self.pop_through(k);
                    self.clear_to_marker();
                }
                None
            }
            TABLE | TBODY | THEAD | TFOOT | TR | TD | TH | CAPTION | COLGROUP => {
                self.table_end(tag.name);
                None
            }
            A | B | BIG | CODE | EM | FONT | I | NOBR | S | SMALL | STRIKE | STRONG | TT | U => {
                self.adoption(tag.name);
                None
            }
            ADDRESS | ARTICLE | ASIDE | BLOCKQUOTE | BUTTON | CENTER | DETAILS | DIALOG | DIR
            | DIV | DL | FIELDSET | FIGCAPTION | FIGURE | FOOTER | HEADER | HGROUP | LISTING
            | MAIN | MENU | NAV | OL | PRE | SEARCH | SECTION | SELECT | SUMMARY | UL | DD | DT
            | FORM => self.find(SCOPE, same),
            _ => self.find(SPECIAL, |e| {
                e.flags & FOREIGN == 0 && self.same_name(e, tag)
            }),
        };
        if let Some(k) = k {
            self.pop_through(k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The estimated depth: the lowest cap under which `html` is not cut.
    fn depth(html: &str) -> usize {
        (0..=MAX_DEPTH)
            .find(|&cap| cut_point(html.as_bytes(), cap).is_none())
            .unwrap_or(usize::MAX)
    }

    /// How deep html5ever really nests elements, counting html and body.
    fn parsed_depth(html: &str) -> usize {
        let document = scraper::Html::parse_document(html);
        let elements = document.tree.nodes().filter(|n| n.value().is_element());
        elements.map(|n| n.ancestors().count()).max().unwrap_or(0)
    }

    const PAGE: &str = r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>A <b>post</b></title>
<link rel="stylesheet" href="/s.css"><style>p > a { color: red } /* <div> */</style>
<script>if (a < b && c > d) document.write("<div><div></script" + ">");</script>
</head><body class="post">
<!-- header <div><div> -->
<header><nav><ul><li><a href="/">Home</a><li><a href="/about">About</a></ul></nav></header>
<main><article><h1>Title</h1><p>Some <b>bold <i>and italic</i></b> text<br>
and <code>x &lt; y</code>.<p>Unclosed paragraph <img src="a.png" alt="a > b">
<pre><code>fn main() {}</code></pre>
<table><tr><td>1<td>2<tr><td>3</table>
<svg viewBox="0 0 1 1"><path d="M0 0"/><path d="M1 1"/></svg>
<select><option>a<option>b</select>
</article></main><footer><p>&copy; 2024</footer></body></html>"#;

    #[test]
    fn a_normal_page_is_untouched() {
        assert_eq!(limit(PAGE), (PAGE, false));
        // html5ever's own depth, less html and body.
        assert_eq!(depth(PAGE), parsed_depth(PAGE) - 2);
    }

    #[test]
    fn deep_nesting_is_cut_to_a_prefix_that_parses_shallow() {
        let html = "<div>".repeat(100_000);
        let (kept, cut) = limit(&html);
        assert!(cut);
        assert_eq!(kept.len(), "<div>".len() * MAX_DEPTH);
        assert_eq!(limit(kept), (kept, false));
        assert_eq!(parsed_depth(kept), MAX_DEPTH + 2);
    }

    #[test]
    fn raw_text_does_not_count() {
        let fake = "<div><p><table><b>";
        for element in [
            "script", "style", "textarea", "title", "xmp", "noscript", "iframe",
        ] {
            let html = format!("<div><{element}>{fake}</{element}x></{element} ></div>");
            // The div, and the element holding the text.
            assert_eq!(depth(&html), 2, "{element}");
        }
        // Inside `<!--`, a `<script>` hides the next `</script>`.
        assert_eq!(
            depth("<script><!--<script></script><div>--></script><p>"),
            1
        );
        // Past <plaintext> nothing is markup any more.
        assert_eq!(depth(&format!("<plaintext>{}", "<div>".repeat(1000))), 1);
        // Inside SVG, though, a style is an element like any other.
        assert_eq!(depth("<svg><style><g><g></style></svg>"), 4);
    }

    #[test]
    fn comments_and_doctypes_do_not_count() {
        assert_eq!(
            depth("<!DOCTYPE html><!-- <div><div> --><?php <div> ?><![CDATA[<div>]]>"),
            0
        );
        // What html5ever takes for the end of a comment.
        assert_eq!(depth("<!--><div>"), 1);
        assert_eq!(depth("<!-- --!><div>"), 1);
        assert_eq!(depth("<!--!><div>-->"), 0);
    }

    #[test]
    fn void_and_foreign_self_closed_elements_do_not_count() {
        let voids = "<br><img src=x><meta a=b><link><input><hr><wbr><area><source>";
        assert_eq!(depth(&voids.repeat(1000)), 0);
        let svg = format!("<svg>{}</svg>", "<path d='M0 0'/><g/>".repeat(1000));
        assert_eq!(depth(&svg), 1);
        // But html5ever ignores the slash on HTML elements: these nest.
        assert!(limit(&"<div/>".repeat(1000)).1);
    }

    #[test]
    fn end_tags_html5ever_ignores_close_nothing() {
        for unit in [
            "<span><div></span>",
            "<div></i>",
            "<div></td>",
            "<div></li>",
            "<div></form>",
        ] {
            assert!(limit(&unit.repeat(10_000)).1, "{unit}");
        }
        assert!(!limit(&"</div>".repeat(10_000)).1);
    }

    #[test]
    fn implicitly_closed_elements_do_not_pile_up() {
        let units = [
            ("<ul>", "<li>x"),
            ("", "<p>x"),
            ("<table>", "<tr><td>x<td>y"),
            ("<dl>", "<dt>a<dd>b"),
            ("<select>", "<option>x"),
            ("", "<h1>x<h2>y"),
            ("", "<a href=#>x"),
            ("", "<table><caption>x</table>"),
        ];
        for (open, unit) in units {
            let html = format!("{open}{}", unit.repeat(3_000));
            assert!(!limit(&html).1, "{unit}");
        }
    }

    #[test]
    fn formatting_elements_count_until_html5ever_drops_them() {
        // Closed by the div, recreated in the next one: they pile up.
        let storm: String = (0..1000)
            .map(|i| format!("<div><b id={i}></div>"))
            .collect();
        assert!(limit(&storm).1);
        // Identical ones are kept three at a time (the Noah's Ark clause).
        assert!(!limit(&"<p><b>x</p>".repeat(3_000)).1);
        // A table cell forgets those opened inside it.
        assert!(!limit(&"<table><td><b><i>x</table>".repeat(3_000)).1);
    }

    #[test]
    fn cuts_fall_between_chars() {
        let html = "中文<div>字".repeat(1000);
        let (kept, cut) = limit(&html);
        assert!(cut);
        assert!(kept.ends_with("中文"));
        assert!(html[kept.len()..].starts_with("<div>"));
    }

    #[test]
    fn nuls_and_arbitrary_bytes_never_panic() {
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        let alphabet = b"<>/!-=\"' \0\nabdiptsvgcl[]?\xe4\xb8\xad\xff";
        for len in [0, 1, 7, 100, 10_000, 100_000] {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    alphabet[(x % alphabet.len() as u64) as usize]
                })
                .collect();
            let html = String::from_utf8_lossy(&bytes);
            let (kept, _) = limit(&html);
            assert!(html.starts_with(kept));
        }
        for tail in [
            "<",
            "<div",
            "<a href=\"x",
            "</",
            "</p",
            "<!--",
            "<![CDATA[",
            "<script><!--",
            "<svg><![CDATA[",
        ] {
            assert!(!limit(tail).1);
        }
        let nuls = "\0".repeat(MAX_NULS + 10);
        assert_eq!(limit(&nuls).0.len(), MAX_NULS);
    }

    #[test]
    fn tokens_and_attributes_are_bounded() {
        let attrs: String = (0..=MAX_ATTRS).map(|i| format!(" a{i}")).collect();
        let html = format!("<p>ok</p><div{attrs}>");
        assert_eq!(limit(&html), ("<p>ok</p>", true));
        let html = "</>".repeat(MAX_TOKENS + 1);
        assert_eq!(limit(&html).0.len(), "</>".len() * MAX_TOKENS);
        // Tokens deep down cost more: they may walk the whole stack of open elements.
        let html = format!(
            "{}{}",
            "<span>".repeat(MAX_DEPTH - 1),
            "</>".repeat(MAX_TOKENS)
        );
        let deep = (limit(&html).0.len() - "<span>".len() * (MAX_DEPTH - 1)) / "</>".len();
        assert!(deep.abs_diff(MAX_WALK / (MAX_DEPTH - 1)) < MAX_DEPTH);
    }
}
