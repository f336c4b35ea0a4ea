//! One replay of html5ever's tokenizer and tree builder, for the parts of a crawl that must
//! know how html5ever will read a page without paying for its tree.

pub(crate) mod engine;
pub(crate) mod guard;
pub(crate) mod lexer;
pub(crate) mod stream;
pub(crate) mod tags;
