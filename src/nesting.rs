//! Cuts hostile HTML short before html5ever's tree builder, which is quadratic in nesting depth.

mod tree;

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
#[allow(dead_code)]
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

pub(crate) use crate::html::lexer::is_space;
pub(crate) use crate::html::tags::*;
