//! Cuts hostile HTML short before html5ever's tree builder, which is quadratic in nesting
//! depth: the replay of engine.rs, followed by nothing, tells where.

use super::engine::{Open, Sink, Tree, MAX_DEPTH};

/// NUL bytes: html5ever handles each one alone, as slowly as a tag, and real pages have none.
const MAX_NULS: usize = 10_000;

/// Returns the longest prefix of `html` (cut at a char boundary, just before a tag) whose
/// approximate element nesting depth never exceeds MAX_DEPTH, and whether anything was cut.
///
/// The depth is html5ever's, not tags minus end tags: the replay tokenizes as html5ever does
/// and replays its tree builder, so end tags it ignores close nothing, `<div/>` opens a div
/// (only SVG and MathML elements close themselves), what it closes implicitly is closed, and
/// formatting elements closed by another element's end tag still count, because html5ever
/// recreates them further on. Where the replay cannot follow html5ever exactly, it errs on the
/// deep side.
///
/// Also bounded, each by a cut of its own: formatting elements recreated over the page,
/// attributes on one tag, tokens, tokens weighted by their depth (see engine.rs), and NUL
/// bytes (MAX_NULS). These cuts may also fall just before text that would recreate elements,
/// or on a NUL.
///
/// Linear and without allocation: a vectorized search for NUL bytes, then one pass.
pub fn limit(html: &str) -> (&str, bool) {
    match cut_point(html, MAX_DEPTH) {
        // Cuts fall on `<`, just after `>` or on a NUL, all ASCII, so on a char boundary.
        Some(at) => (&html[..at], true),
        None => (html, false),
    }
}

/// Where `limit` cuts; `max_depth` (at most MAX_DEPTH) lets tests measure the depth.
pub(crate) fn cut_point(html: &str, max_depth: usize) -> Option<usize> {
    replay(html, &mut Quiet, max_depth).0
}

/// Replays `html` into `sink`: where the page must be cut, if anywhere, and the deepest it
/// went before.
pub(super) fn replay<'a, S: Sink<'a>>(
    html: &'a str,
    sink: &mut S,
    max_depth: usize,
) -> (Option<usize>, usize) {
    let nul_cut = match memchr::memchr(0, html.as_bytes()) {
        None => None,
        Some(_) => {
            // html5ever treats NULs differently by context, which the replay does not follow.
            sink.inexact();
            nth_nul(html.as_bytes(), MAX_NULS)
        }
    };
    let mut tree = Tree::new(&html[..nul_cut.unwrap_or(html.len())], sink, max_depth);
    let cut = tree.run().err().or(nul_cut);
    (cut, tree.deepest)
}

/// The guard's sink: the depth is all it needs, and that the replay keeps.
struct Quiet;

impl<'a> Sink<'a> for Quiet {
    fn following(&self) -> bool {
        false
    }
    fn open(&mut self, _: &Open<'a>, _: &[Open<'a>]) {}
    fn close(&mut self, _: &Open<'a>) {}
    fn text(&mut self, _: &str, _: bool) {}
    fn inexact(&mut self) {}
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

#[cfg(test)]
mod tests;
