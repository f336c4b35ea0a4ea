//! The streaming pass's view of a tag, read by the shared lexer.

use std::borrow::Cow;

use crate::html::lexer;
pub use crate::html::lexer::{attr, decode};

/// A start or end tag: its lowercase name and where its attributes begin.
pub struct Tag<'a> {
    pub name: Cow<'a, str>,
    /// The input from just after the name; `attrs` reads the attributes from it.
    pub rest: &'a str,
    /// Ends in `/>`, which only SVG and MathML elements heed.
    pub self_closing: bool,
    /// How many attributes it has, duplicates included.
    pub attrs: usize,
    pub tag: lexer::Tag,
}

impl<'a> Tag<'a> {
    pub fn new(src: &'a str, tag: lexer::Tag) -> Tag<'a> {
        let raw = &src[tag.at..tag.at + tag.len];
        let name = match raw.bytes().any(|c| c.is_ascii_uppercase()) {
            true => Cow::Owned(raw.to_ascii_lowercase()),
            false => Cow::Borrowed(raw),
        };
        Tag {
            name,
            rest: tag.rest(src),
            self_closing: tag.self_closing,
            attrs: tag.attrs,
            tag,
        }
    }
}
