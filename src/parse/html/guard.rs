//! Cuts hostile HTML short before html5ever's tree builder, which is quadratic in nesting
//! depth: the replay of engine.rs, followed by nothing, tells where.

use super::engine::{Sink, Tree, MAX_DEPTH};

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
/// Linear: a vectorized search for NUL bytes, then one pass.
pub fn limit(html: &str) -> (&str, bool) {
    // Cuts fall on `<`, just after `>` or on a NUL, all ASCII, so on a char boundary.
    let cut = cut_point(html, MAX_DEPTH);
    (&html[..cut.unwrap_or(html.len())], cut.is_some())
}

/// Where `limit` cuts; `max_depth` (at most MAX_DEPTH) lets tests measure the depth.
pub(crate) fn cut_point(html: &str, max_depth: usize) -> Option<usize> {
    replay(html, Quiet, max_depth).1
}

/// Replays `html` into `sink`: the sink, where the page must be cut, if anywhere, and the
/// deepest it went before.
pub(super) fn replay<'a, S: Sink<'a> + Default>(
    html: &'a str,
    mut sink: S,
    max_depth: usize,
) -> (S, Option<usize>, usize) {
    let b = html.as_bytes();
    let nul_cut = match memchr::memchr(0, b) {
        None => None,
        Some(_) => {
            // html5ever treats NULs differently by context, which the replay does not follow.
            sink.inexact();
            memchr::memchr_iter(0, b).nth(MAX_NULS)
        }
    };
    let mut tree = Tree::new(&html[..nul_cut.unwrap_or(html.len())], sink, max_depth);
    let cut = tree.run().err().or(nul_cut);
    (tree.sink, cut, tree.deepest)
}

/// The guard's sink: the depth is all it needs, and that the replay keeps.
#[derive(Default)]
struct Quiet;

impl Sink<'_> for Quiet {
    const FOLLOWS: bool = false;
}

#[cfg(test)]
mod tests;
