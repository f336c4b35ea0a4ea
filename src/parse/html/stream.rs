//! Title, links and metadata in the guard's own pass, without building a tree: most of a full
//! parse goes into html5ever's tokenizer and scraper's tree, and a record needs little of it.
//!
//! The extractor follows the replay (engine.rs) over the common, well-formed part of HTML,
//! where the stack of open elements is exactly each element's ancestors and text goes to the
//! current node, matching the selector and collecting text as elements open and close. Where
//! the replay turns inexact the extractor gives up, the same scan goes on as the guard, and the
//! page goes to scraper, cut where the guard says. So both give the same record.

use std::borrow::Cow;
use std::panic::Location;

use url::Url;

use super::engine::{Open, Sink, MAX_DEPTH};
use super::guard;
use super::lexer::{attr, decode, is_space};
use super::tags::*;
use crate::output::record::Link;
use crate::parse::css::{Element, Simple};
use crate::parse::extract::{self, Meta};

/// What a page gives without the tree.
pub struct Extract {
    pub title: Option<String>,
    pub links: Vec<Link>,
    pub meta: Meta,
    /// The deepest the page went, in open and recreatable elements, for the tests.
    #[cfg_attr(not(test), allow(dead_code))]
    pub depth: usize,
}

/// Where the guard cuts a page (None: nowhere), and where the extractor gave up on it.
pub type Handover = (Option<usize>, Option<&'static Location<'static>>);

/// Title, links and metadata of `html` if the extractor followed it to the end; else where
/// the guard cuts it for the tree, from the same scan.
pub fn extract(html: &str, base: &Url, select: &Simple) -> Result<Extract, Handover> {
    let stream = Stream {
        select: Some(select),
        ..Stream::default()
    };
    let (stream, cut, depth) = guard::replay(html, stream, MAX_DEPTH);
    match (cut, stream.gave_up) {
        (None, None) => Ok(stream.finish(base, depth)),
        (cut, at) => Err((cut, at)),
    }
}

/// Where an open element's text goes.
#[derive(Clone, Copy)]
enum Into {
    Title,
    Link(usize),
    Author(usize),
}

struct Slot {
    href: Option<String>,
    /// The element had no href: the first `a[href]` inside it gives one.
    wants_anchor: bool,
    text: String,
}

/// Meta values, each the first non-empty one on the page.
#[derive(Default)]
struct Found {
    description: Option<String>,
    og_description: Option<String>,
    canonical: Option<String>,
    lang: Option<String>,
    published: Option<String>,
    time: Option<String>,
    author: Option<String>,
    article_author: Option<String>,
    /// Text of each `[rel~=author]` element, in order.
    rel_authors: Vec<String>,
}

impl Element for Open<'_> {
    fn has_name(&self, name: &str) -> bool {
        match self.tag.get(..self.len) {
            Some(written) if !written.is_empty() => written.eq_ignore_ascii_case(name),
            // Implied by html5ever, so one of its names.
            _ => name.len() <= 16 && pack(name.as_bytes()) == self.name,
        }
    }
    fn attr(&self, name: &str) -> Option<Cow<'_, str>> {
        attr(self.attrs(), name)
    }
}

#[derive(Default)]
struct Stream<'s> {
    /// None only in the default, never replayed.
    select: Option<&'s Simple>,
    /// Where the extractor gave up: the page needs the tree.
    gave_up: Option<&'static Location<'static>>,
    /// The elements collecting text, by id.
    captures: Vec<(u32, Into)>,
    /// The head once it closed, until the body opens: a late `<script>` or `<title>` goes back
    /// into it, so what it collected text into goes on collecting.
    head: Option<u32>,
    /// Such a late element, open.
    late: u32,
    /// Whitespace after the head, which is the html element's and so comes after any text
    /// put back into the head.
    after_head: String,
    title: Option<String>,
    links: Vec<Slot>,
    found: Found,
}

/// Whether a tag's attribute text could hold a `rel` attribute: most tags have only a class,
/// and this byte test spares tokenizing their attributes again.
fn may_have_rel(rest: &str) -> bool {
    let b = rest.as_bytes();
    memchr::memchr2_iter(b'r', b'R', b).any(|i| {
        b.get(i + 1..i + 3)
            .is_some_and(|el| el.eq_ignore_ascii_case(b"el"))
    })
}

fn has_token(list: &str, token: &str) -> bool {
    list.split(|c: char| c.is_ascii() && is_space(c as u8))
        .any(|t| t.eq_ignore_ascii_case(token))
}

impl<'a> Sink<'a> for Stream<'_> {
    fn open(&mut self, e: &Open<'a>, ancestors: &[Open<'a>]) {
        if self.gave_up.is_some() {
            return;
        }
        if e.flags & FOREIGN != 0 {
            // An SVG element the selector or the metadata could take for an HTML one: the
            // tree tells them apart by namespace, the extractor by name alone.
            let html = matches!(e.name, A | LINK | META | TIME | HTML);
            if html || self.select.is_some_and(|s| s.may_match(e)) || e.attr("rel").is_some() {
                self.inexact();
            }
            return;
        }
        if e.name == BODY && e.flags & ROOT != 0 {
            self.open_body();
        } else if self.head.is_some() {
            self.late = e.id;
        }
        self.observe(e, ancestors);
    }

    fn close(&mut self, e: &Open<'a>) {
        if self.gave_up.is_some() {
            return;
        }
        if e.name == HEAD && e.flags & ROOT != 0 {
            self.head = Some(e.id);
            return;
        }
        if e.id == self.late {
            self.late = 0;
        }
        while self.captures.last().is_some_and(|&(id, _)| id == e.id) {
            self.captures.pop();
        }
    }

    fn text(&mut self, text: &str, refs: bool) {
        if self.gave_up.is_some() {
            return;
        }
        if self.head.is_some() && self.late == 0 {
            if !self.captures.is_empty() {
                self.after_head.push_str(text);
            }
            return;
        }
        self.append(text, refs);
    }

    fn inexact(&mut self) {
        self.gave_up.get_or_insert(Location::caller());
    }
}

impl<'s> Stream<'s> {
    /// The head's text is complete, and the whitespace after it follows.
    fn open_body(&mut self) {
        if let Some(head) = self.head.take() {
            while self.captures.last().is_some_and(|&(id, _)| id == head) {
                self.captures.pop();
            }
        }
        let space = std::mem::take(&mut self.after_head);
        self.append(&space, false);
    }

    /// Adds text to every element collecting it.
    fn append(&mut self, text: &str, refs: bool) {
        if self.captures.is_empty() || text.is_empty() {
            return;
        }
        let text = match refs {
            true => decode(text, false),
            false => Cow::Borrowed(text),
        };
        for &(_, into) in &self.captures {
            let to = match into {
                Into::Title => self.title.get_or_insert_with(String::new),
                Into::Link(k) => &mut self.links[k].text,
                Into::Author(k) => &mut self.found.rel_authors[k],
            };
            to.push_str(&text);
        }
    }

    /// What a new element means for the record, judged before it joins its ancestors.
    fn observe(&mut self, e: &Open, ancestors: &[Open]) {
        // Only an `a` can be the anchor a selected element without href takes its link from.
        let anchor = match e.name {
            A => e.attr("href"),
            _ => None,
        };
        if let Some(href) = &anchor {
            for &(_, into) in &self.captures {
                if let Into::Link(k) = into {
                    let slot = &mut self.links[k];
                    if slot.wants_anchor {
                        slot.wants_anchor = false;
                        slot.href = Some(href.clone().into_owned());
                    }
                }
            }
        }
        if self
            .select
            .is_some_and(|s| s.may_match(e) && s.matches(e, ancestors))
        {
            let href = match e.name {
                A => anchor.map(Cow::into_owned),
                _ => e.attr("href").map(Cow::into_owned),
            };
            self.links.push(Slot {
                wants_anchor: href.is_none(),
                href,
                text: String::new(),
            });
            self.captures.push((e.id, Into::Link(self.links.len() - 1)));
        }
        if e.name == TITLE && self.title.is_none() {
            self.title = Some(String::new());
            self.captures.push((e.id, Into::Title));
        }
        if !e.attrs().is_empty() {
            self.observe_meta(e, ancestors);
        }
    }

    fn observe_meta(&mut self, e: &Open, ancestors: &[Open]) {
        let found = &mut self.found;
        let first = |slot: &mut Option<String>, value: Option<Cow<str>>| {
            if slot.is_none() {
                *slot = value.and_then(|v| extract::clean(&v));
            }
        };
        match e.name {
            META => {
                for (attr, want, slot) in [
                    ("name", "description", &mut found.description),
                    ("property", "og:description", &mut found.og_description),
                    ("property", "article:published_time", &mut found.published),
                    ("name", "author", &mut found.author),
                    ("property", "article:author", &mut found.article_author),
                ] {
                    if e.attr(attr).is_some_and(|v| v.eq_ignore_ascii_case(want)) {
                        first(slot, e.attr("content"));
                    }
                }
            }
            LINK if e.attr("rel").is_some_and(|r| has_token(&r, "canonical")) => {
                first(&mut found.canonical, e.attr("href"));
            }
            TIME => first(&mut found.time, e.attr("datetime")),
            HTML if ancestors.is_empty() => first(&mut found.lang, e.attr("lang")),
            _ => {}
        }
        if may_have_rel(e.attrs()) && e.attr("rel").is_some_and(|r| has_token(&r, "author")) {
            self.found.rel_authors.push(String::new());
            let k = self.found.rel_authors.len() - 1;
            self.captures.push((e.id, Into::Author(k)));
        }
    }

    fn finish(self, base: &Url, depth: usize) -> Extract {
        let links = self
            .links
            .into_iter()
            .filter_map(|slot| {
                let href = crate::parse::resolve(base, &slot.href?)?;
                Some(Link {
                    href,
                    text: extract::fold(&slot.text),
                })
            })
            .collect();
        let f = self.found;
        let meta = Meta {
            description: f.description.or(f.og_description),
            canonical: f
                .canonical
                .and_then(|href| base.join(&href).ok())
                .map(String::from),
            lang: f.lang,
            published: f.published.or(f.time),
            author: f
                .author
                .or(f.article_author)
                .or_else(|| f.rel_authors.iter().find_map(|t| extract::clean(t))),
        };
        Extract {
            title: self.title.map(|t| extract::fold(&t)),
            links,
            meta,
            depth,
        }
    }
}

#[cfg(test)]
mod tests;
