//! html5ever's tag sets, each stated once: tag names packed into integers, and what each set
//! says about an element of that name as flags, so a rule asks one question of one table.

pub const fn pack(name: &[u8]) -> u128 {
    let mut packed = 0;
    let mut i = 0;
    while i < name.len() {
        packed = packed << 8 | name[i] as u128;
        i += 1;
    }
    packed
}

/// Names longer than 16 bytes, compared through the input instead (0xFF never occurs in UTF-8).
pub const LONG: u128 = u128::MAX;

/// Tag names packed into integers: one comparison each, and matches become binary searches.
macro_rules! names {
    ($($name:ident $text:literal,)*) => {
        $(pub const $name: u128 = pack($text.as_bytes());)*
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
    TEXTAREA "textarea", TFOOT "tfoot", TH "th", THEAD "thead", TIME "time", TITLE "title", TR "tr",
    TRACK "track", TT "tt", U "u", UL "ul", VAR "var", WBR "wbr", XMP "xmp",
}

// What html5ever's tag sets say about an element.
pub const SPECIAL: u32 = 1;
/// The default scope (with LIST_SCOPE, BUTTON_SCOPE the other scopes it bounds).
pub const SCOPE: u32 = 1 << 1;
pub const LIST_SCOPE: u32 = 1 << 2;
pub const BUTTON_SCOPE: u32 = 1 << 3;
pub const TABLE_SCOPE: u32 = 1 << 4;
/// Puts a marker on the list of active formatting elements.
pub const MARKER: u32 = 1 << 5;
pub const FORMATTING: u32 = 1 << 6;
/// Closed by "generate implied end tags".
pub const IMPLIED: u32 = 1 << 7;
pub const HEADING: u32 = 1 << 8;
/// An SVG or MathML element (set on open elements, not by name).
pub const FOREIGN: u32 = 1 << 9;
pub const MATHML: u32 = 1 << 10;
/// A MathML text or HTML integration point: HTML rules again inside.
pub const INTEGRATION: u32 = 1 << 11;
/// The insertion mode a template's first start tag chose for its content.
pub const TEMPLATE_MODE: u32 = 7 << 12;
pub const IN_BODY: u32 = 1 << 12;
pub const IN_TABLE: u32 = 2 << 12;
pub const IN_TABLE_BODY: u32 = 3 << 12;
pub const IN_ROW: u32 = 4 << 12;
pub const IN_COLUMN_GROUP: u32 = 5 << 12;
/// Tags handled by the "in head" rules, which leave a template's mode undecided.
pub const IN_HEAD: u32 = 1 << 15;
/// Where html5ever's rules are long and rare (templates, select, MathML, frames, plaintext,
/// the elements that put markers outside tables, `<image>`), the replay is an estimate.
pub const ROUGH: u32 = 1 << 16;
/// html, head and body: the replay's depth leaves them out, as the guard's limits do.
pub const ROOT: u32 = 1 << 17;
/// Leaves SVG and MathML for HTML when opened inside them.
pub const BREAKOUT: u32 = 1 << 18;
/// Inserted and popped at once: it holds nothing.
pub const VOID: u32 = 1 << 19;

/// html5ever's sets (tree_builder/tag_sets.rs, and the lists its rules name), with the flag
/// each gives its members.
const SETS: [(u32, &[u128]); 14] = [
    (
        SPECIAL,
        &[
            ADDRESS, APPLET, AREA, ARTICLE, ASIDE, BASE, BASEFONT, BGSOUND, BLOCKQUOTE, BODY, BR,
            BUTTON, CAPTION, CENTER, COL, COLGROUP, DD, DETAILS, DIR, DIV, DL, DT, EMBED, FIELDSET,
            FIGCAPTION, FIGURE, FOOTER, FORM, FRAME, FRAMESET, H1, H2, H3, H4, H5, H6, HEAD,
            HEADER, HGROUP, HR, HTML, IFRAME, IMG, INPUT, ISINDEX, LI, LINK, LISTING, MAIN,
            MARQUEE, MENU, META, NAV, NOEMBED, NOFRAMES, NOSCRIPT, OBJECT, OL, P, PARAM, PLAINTEXT,
            PRE, SCRIPT, SECTION, SELECT, SOURCE, STYLE, SUMMARY, TABLE, TBODY, TD, TEMPLATE,
            TEXTAREA, TFOOT, TH, THEAD, TITLE, TR, TRACK, UL, WBR, XMP,
        ],
    ),
    (
        SCOPE,
        &[
            APPLET, CAPTION, HTML, TABLE, TD, TH, MARQUEE, OBJECT, SELECT, TEMPLATE,
        ],
    ),
    (LIST_SCOPE, &[OL, UL]),
    (BUTTON_SCOPE, &[BUTTON]),
    (TABLE_SCOPE, &[HTML, TABLE, TEMPLATE]),
    (
        MARKER,
        &[APPLET, CAPTION, MARQUEE, OBJECT, TD, TH, TEMPLATE],
    ),
    (
        FORMATTING,
        &[
            A, B, BIG, CODE, EM, FONT, I, NOBR, S, SMALL, STRIKE, STRONG, TT, U,
        ],
    ),
    (IMPLIED, &[DD, DT, LI, OPTION, OPTGROUP, P, RB, RP, RT, RTC]),
    (HEADING, &[H1, H2, H3, H4, H5, H6]),
    (
        IN_HEAD,
        &[
            BASE, BASEFONT, BGSOUND, LINK, META, NOFRAMES, SCRIPT, STYLE, TEMPLATE, TITLE,
        ],
    ),
    (
        ROUGH,
        &[
            APPLET, FRAMESET, IMAGE, MARQUEE, MATH, OBJECT, PLAINTEXT, SELECT, TEMPLATE,
        ],
    ),
    (ROOT, &[HTML, HEAD, BODY]),
    (
        VOID,
        &[
            AREA, BASE, BASEFONT, BGSOUND, BR, EMBED, HR, IMAGE, IMG, INPUT, KEYGEN, LINK, META,
            PARAM, SOURCE, TRACK, WBR,
        ],
    ),
    (
        BREAKOUT,
        &[
            B, BIG, BLOCKQUOTE, BODY, BR, CENTER, CODE, DD, DIV, DL, DT, EM, EMBED, H1, H2, H3, H4,
            H5, H6, HEAD, HR, I, IMG, LI, LISTING, MENU, META, NOBR, OL, P, PRE, RUBY, S, SMALL,
            SPAN, STRONG, STRIKE, SUB, SUP, TABLE, TT, U, UL, VAR,
        ],
    ),
];

/// Every name in SETS with all its flags, hashed into a table four times its size: a lookup
/// for each start tag is one multiplication and a compare or two.
static FLAGS: [(u128, u32); SLOTS] = table();
const SLOTS: usize = 512;

const fn slot(name: u128) -> usize {
    let folded = (name as u64) ^ ((name >> 64) as u64);
    (folded.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 55) as usize
}

const fn table() -> [(u128, u32); SLOTS] {
    let mut table = [(0u128, 0u32); SLOTS];
    let mut s = 0;
    while s < SETS.len() {
        let (flag, names) = SETS[s];
        let mut k = 0;
        while k < names.len() {
            // Open addressing: the name's slot, or the next free one after it.
            let mut at = slot(names[k]);
            while table[at].0 != 0 && table[at].0 != names[k] {
                at = (at + 1) % SLOTS;
            }
            table[at].0 = names[k];
            table[at].1 |= flag;
            k += 1;
        }
        s += 1;
    }
    table
}

/// The flags of an HTML element called `name`.
#[inline]
pub fn html_flags(name: u128) -> u32 {
    let mut at = slot(name);
    loop {
        match FLAGS[at] {
            (n, flags) if n == name => return flags,
            (0, _) => return 0,
            _ => at = (at + 1) % SLOTS,
        }
    }
}

/// The flags of an SVG (or, with `mathml`, MathML) element called `name`.
pub fn foreign_flags(name: u128, mathml: bool) -> u32 {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_name_has_the_flags_of_the_sets_it_is_in() {
        for (_, names) in SETS {
            for &name in names {
                let want = SETS
                    .iter()
                    .filter(|(_, members)| members.contains(&name))
                    .fold(0, |flags, (flag, _)| flags | flag);
                assert_eq!(html_flags(name), want, "{name:x}");
            }
        }
        for other in [SVG, TIME, pack(b"x-y"), LONG, 0] {
            assert_eq!(html_flags(other), 0, "{other:x}");
        }
        assert_eq!(html_flags(P), SPECIAL | IMPLIED | BREAKOUT);
    }
}
