//! Title, links and metadata in one streaming pass, without building a tree: most of a full
//! parse goes into html5ever's tokenizer and scraper's tree, and a record needs little of it.
//!
//! The pass replays html5ever's tree builder (insertion modes, implied end tags, the list of
//! active formatting elements) over the common, well-formed part of HTML, where the stack of
//! open elements is exactly each element's ancestors and text goes to the current node. Where
//! html5ever would move or copy nodes (misnested formatting elements, foster parenting, a
//! stray `</p>`), or where the rules are long and rare (templates, SVG, MathML, select,
//! frames), the pass gives up and the page goes to scraper. So both give the same record.
//!
//! The pass needs no nesting guard (nesting.rs) in front of it: it gives up at half of each
//! of the guard's limits, so a page it finishes is one the guard would not have cut, and its
//! own work stays linear.

mod rules;
mod tokens;

use std::borrow::Cow;

use url::Url;

use crate::css::{Element, Simple};
use crate::extract::{self, Meta};
use crate::html::lexer::{self, is_space, Lexer, Token};
use crate::record::Link;
use rules::{formatting, table_part};
use tokens::{attr, decode, Tag};

/// What a page gives without the tree.
pub struct Extract {
    pub title: Option<String>,
    pub links: Vec<Link>,
    pub meta: Meta,
    /// The deepest the page went, in open elements plus listed formatting elements; the tests
    /// hold the nesting guard's depth to it.
    #[allow(dead_code)]
    pub depth: usize,
}

/// Half of nesting.rs's limits: past them the page goes to the guard and the tree. Depth
/// counts open elements and entries of the list of active formatting elements, as the
/// guard counts open and recreatable ones.
const MAX_DEPTH: usize = crate::nesting::MAX_DEPTH / 2;
const MAX_TOKENS: usize = 250_000;
const MAX_WALK: usize = 8_000_000;
const MAX_ATTRS: usize = 128;

/// Title, links and metadata of `html`, or None when the page needs the full tree builder.
pub fn extract(html: &str, base: &Url, select: &Simple) -> Option<Extract> {
    // html5ever treats NULs differently by context; real pages have none.
    if html.as_bytes().contains(&0) {
        return None;
    }
    let html = html.strip_prefix('\u{feff}').unwrap_or(html);
    streamed(html, base, select).ok()
}

fn streamed(html: &str, base: &Url, select: &Simple) -> Result<Extract, Bail> {
    let mut page = Page::new(html, select);
    page.run()?;
    Ok(page.finish(base))
}

/// The page needs the full tree builder; where the pass found that out, for tests and debugging.
#[derive(Debug)]
struct Bail(#[allow(dead_code)] &'static std::panic::Location<'static>);

impl Bail {
    #[track_caller]
    fn here() -> Bail {
        Bail(std::panic::Location::caller())
    }
}
type Step<T = ()> = Result<T, Bail>;

/// html5ever's insertion modes, in document order as far as before-body goes.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Debug)]
enum Mode {
    Initial,
    BeforeHtml,
    BeforeHead,
    InHead,
    AfterHead,
    InBody,
    InTable,
    InTableBody,
    InRow,
    InCell,
    AfterBody,
    AfterAfterBody,
}

/// How the content after a start tag is tokenized.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Content {
    Markup,
    /// Text with character references, up to the end tag (title, textarea).
    Rcdata,
    /// Text as it is, up to the end tag (style, noscript, iframe...).
    Rawtext,
    Script,
}

#[derive(Clone)]
struct Open<'a> {
    name: Cow<'a, str>,
    /// The tag after its name, for its attributes; empty for implied elements.
    rest: &'a str,
    id: u32,
    formatting: bool,
    /// An SVG element: its content is tokenized as markup, and it closes itself with `/>`.
    svg: bool,
}

impl Element for Open<'_> {
    fn has_name(&self, name: &str) -> bool {
        self.name == name
    }
    fn attr(&self, name: &str) -> Option<Cow<'_, str>> {
        attr(self.rest, name)
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

/// An entry in the list of active formatting elements.
#[derive(Clone, Copy)]
struct Listed {
    /// 0 for a marker.
    id: u32,
    name: &'static str,
    open: bool,
}

const MARKER: Listed = Listed {
    id: 0,
    name: "",
    open: true,
};

struct Page<'a, 's> {
    src: &'a str,
    select: &'s Simple,
    mode: Mode,
    quirks: bool,
    stack: Vec<Open<'a>>,
    /// html5ever's list of active formatting elements. A closed one would be recreated before
    /// the next text or inline tag: then the pass gives up.
    list: Vec<Listed>,
    head: Option<Open<'a>>,
    /// What the head collected text into, while it is closed: a late `<script>` or `<title>`
    /// goes back into it.
    head_captures: Vec<(u32, Into)>,
    /// Whitespace after the head, which is the html element's and so comes after any text
    /// put back into the head.
    after_head: String,
    form: Option<u32>,
    ids: u32,
    /// After `<pre>`, `<listing>` and `<textarea>` a first newline is dropped.
    ignore_lf: bool,
    captures: Vec<(u32, Into)>,
    /// Tokens so far, and the sum of the depths they came at.
    tokens: usize,
    walk: usize,
    depth: usize,
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

impl<'a, 's> Page<'a, 's> {
    fn new(src: &'a str, select: &'s Simple) -> Self {
        Page {
            src,
            select,
            mode: Mode::Initial,
            quirks: false,
            stack: Vec::with_capacity(32),
            list: Vec::new(),
            head: None,
            head_captures: Vec::new(),
            after_head: String::new(),
            form: None,
            ids: 0,
            ignore_lf: false,
            captures: Vec::new(),
            tokens: 0,
            walk: 0,
            depth: 0,
            title: None,
            links: Vec::new(),
            found: Found::default(),
        }
    }

    fn run(&mut self) -> Step {
        let src = self.src;
        let mut lexer = Lexer::new(src.as_bytes());
        while let Some((_, token)) = lexer.next(|| self.in_svg()) {
            if let Token::Text(from, to) = token {
                self.text(&src[from..to], true)?;
                continue;
            }
            self.bounds()?;
            match token {
                Token::Start(tag) => {
                    let tag = Tag::new(src, tag);
                    if tag.attrs > MAX_ATTRS {
                        return Err(Bail::here());
                    }
                    self.ignore_lf = false;
                    let content = self.start(&tag)?;
                    if content != Content::Markup && !self.raw(&mut lexer, &tag, content)? {
                        break;
                    }
                }
                Token::End(tag) => {
                    let tag = Tag::new(src, tag);
                    self.ignore_lf = false;
                    self.end(&tag.name)?;
                }
                Token::Stray(from, to) => self.text(&src[from..to], false)?,
                // In SVG, CDATA is text.
                Token::Cdata => return Err(Bail::here()),
                Token::Doctype(from, to, closed) => {
                    self.doctype(&src.as_bytes()[from..to], closed)?
                }
                // `</>` is dropped, but as a parse error it still uses up a newline.
                Token::Comment | Token::Text(..) => self.ignore_lf = false,
            }
        }
        // At the end every open element closes; their text is complete.
        Ok(())
    }

    /// Counts a token and checks the pass is still within half the guard's limits.
    fn bounds(&mut self) -> Step {
        let depth = self.stack.len() + self.list.len();
        self.depth = self.depth.max(depth);
        self.tokens += 1;
        self.walk += depth;
        if depth > MAX_DEPTH || self.tokens > MAX_TOKENS || self.walk > MAX_WALK {
            return Err(Bail::here());
        }
        Ok(())
    }

    /// Only `<!DOCTYPE html>` is simple: other doctypes choose among quirks modes by long lists.
    fn doctype(&mut self, inner: &[u8], closed: bool) -> Step {
        self.ignore_lf = false;
        if self.mode != Mode::Initial {
            return Ok(());
        }
        let name = inner.trim_ascii();
        if !closed
            || !name.eq_ignore_ascii_case(b"html")
            || inner.first().is_some_and(|&c| !is_space(c))
        {
            return Err(Bail::here());
        }
        self.mode = Mode::BeforeHtml;
        Ok(())
    }

    /// The text of a raw text element and its end tag; false if the input ends first.
    fn raw(&mut self, lexer: &mut Lexer, tag: &Tag<'a>, content: Content) -> Step<bool> {
        let kind = match content {
            Content::Script => lexer::Content::Script,
            _ => lexer::Content::RawText,
        };
        let ((from, to), close) = lexer.raw(&tag.tag, kind);
        self.raw_text(&self.src[from..to], content == Content::Rcdata)?;
        if close.is_none() {
            return Ok(false);
        }
        self.ignore_lf = false;
        self.pop();
        if self.head.is_some()
            && self.current().is_some_and(|e| e.name == "head")
            && self.mode == Mode::AfterHead
        {
            // A head element put back for a late `<script>` or `<title>` goes again.
            self.pop();
        }
        Ok(true)
    }

    fn current(&self) -> Option<&Open<'a>> {
        self.stack.last()
    }

    fn current_is(&self, name: &str) -> bool {
        self.current().is_some_and(|e| e.name == name)
    }

    /// The nearest open element that `is` picks, unless a `boundary` element comes first.
    fn in_scope(&self, is: impl Fn(&str) -> bool, boundary: fn(&str) -> bool) -> Option<usize> {
        for k in (0..self.stack.len()).rev() {
            let name = &self.stack[k].name;
            if is(name) {
                return Some(k);
            }
            if boundary(name) {
                return None;
            }
        }
        None
    }

    /// Drops the newline html5ever drops after `<pre>`, `<listing>` and `<textarea>`.
    fn skip_lf<'t>(&mut self, text: &'t str) -> Step<&'t str> {
        if !std::mem::take(&mut self.ignore_lf) {
            return Ok(text);
        }
        if text.starts_with('&') {
            // `&#10;` would be dropped too.
            return Err(Bail::here());
        }
        Ok(text
            .strip_prefix("\r\n")
            .or_else(|| text.strip_prefix(['\n', '\r']))
            .unwrap_or(text))
    }

    /// The content of a raw text element, which goes to it whatever the mode.
    fn raw_text(&mut self, text: &str, refs: bool) -> Step {
        let text = self.skip_lf(text)?;
        self.append(text, refs);
        Ok(())
    }

    fn text(&mut self, text: &str, refs: bool) -> Step {
        let text = self.skip_lf(text)?;
        if text.is_empty() {
            return Ok(());
        }
        if matches!(self.mode, Mode::InBody | Mode::InCell) {
            return self.body_text(text, refs);
        }
        // Elsewhere text is whitespace or it opens the body, and references blur that.
        let decoded = match refs {
            true => decode(text, false),
            false => Cow::Borrowed(text),
        };
        let rest = decoded.trim_start_matches(|c: char| c.is_ascii() && is_space(c as u8));
        let space = &decoded[..decoded.len() - rest.len()];
        match self.mode {
            Mode::Initial | Mode::BeforeHtml | Mode::BeforeHead => {}
            Mode::InHead => self.append(space, false),
            Mode::AfterHead if !self.captures.is_empty() => self.after_head.push_str(space),
            Mode::AfterHead => {}
            Mode::InTable | Mode::InTableBody | Mode::InRow => {
                // Anything but whitespace is foster-parented out of the table.
                if !self.current().is_some_and(|e| table_part(&e.name)) || !rest.is_empty() {
                    return Err(Bail::here());
                }
                self.append(space, false);
                return Ok(());
            }
            _ => {
                // After the body, text still goes into it.
                if !rest.is_empty() {
                    self.mode = Mode::InBody;
                }
                return self.body_text(&decoded, false);
            }
        }
        if rest.is_empty() {
            return Ok(());
        }
        self.anything_else_before_body();
        self.body_text(rest, false)
    }

    fn body_text(&mut self, text: &str, refs: bool) -> Step {
        self.reconstruct()?;
        self.append(text, refs);
        Ok(())
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

    /// html5ever recreates a formatting element closed too early before the next text or
    /// inline tag; copies are beyond the pass.
    fn reconstruct(&self) -> Step {
        match self.list.last() {
            Some(e) if !e.open => Err(Bail::here()),
            _ => Ok(()),
        }
    }

    /// One step of the structure a page may leave out before its body: the quirks mode
    /// without a doctype, then implied html, head and body elements.
    fn before_body_step(&mut self) {
        match self.mode {
            Mode::Initial => {
                self.quirks = true;
                self.mode = Mode::BeforeHtml;
            }
            Mode::BeforeHtml => {
                self.insert(Cow::Borrowed("html"), "", false);
                self.mode = Mode::BeforeHead;
            }
            Mode::BeforeHead => {
                self.insert(Cow::Borrowed("head"), "", false);
                self.head = self.current().cloned();
                self.mode = Mode::InHead;
            }
            Mode::InHead => {
                self.pop();
                self.mode = Mode::AfterHead;
            }
            Mode::AfterHead => self.open_body(Cow::Borrowed("body"), ""),
            _ => {}
        }
    }

    pub(super) fn open_body(&mut self, name: Cow<'a, str>, rest: &'a str) {
        let space = std::mem::take(&mut self.after_head);
        self.append(&space, false);
        self.insert(name, rest, false);
        self.mode = Mode::InBody;
    }

    /// Opens the head again, for a late tag that belongs in it, collecting text as before.
    pub(super) fn reopen_head(&mut self) -> Step {
        let head = self.head.clone().ok_or_else(Bail::here)?;
        self.stack.push(head);
        self.captures.append(&mut self.head_captures);
        Ok(())
    }

    /// For a token that belongs in the body: every step up to it.
    fn anything_else_before_body(&mut self) {
        while self.mode < Mode::InBody {
            self.before_body_step();
        }
    }

    fn insert(&mut self, name: Cow<'a, str>, rest: &'a str, void: bool) {
        self.ids += 1;
        let open = Open {
            formatting: formatting(&name).is_some(),
            name,
            rest,
            id: self.ids,
            svg: false,
        };
        self.observe(&open);
        self.stack.push(open);
        if void {
            self.pop();
        }
    }

    /// What a new element means for the record, judged before it joins its ancestors.
    fn observe(&mut self, e: &Open<'a>) {
        let id = e.id;
        let name: &str = &e.name;
        // Only an `a` can be the anchor a selected element without href takes its link from.
        let anchor = match name {
            "a" => e.attr("href"),
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
        if self.select.may_match(e) && self.select.matches(e, &self.stack) {
            let href = match name {
                "a" => anchor.map(Cow::into_owned),
                _ => e.attr("href").map(Cow::into_owned),
            };
            self.links.push(Slot {
                wants_anchor: href.is_none(),
                href,
                text: String::new(),
            });
            self.captures.push((id, Into::Link(self.links.len() - 1)));
        }
        if name == "title" && self.title.is_none() {
            self.title = Some(String::new());
            self.captures.push((id, Into::Title));
        }
        if !e.rest.is_empty() {
            self.observe_meta(e);
        }
    }

    fn observe_meta(&mut self, e: &Open<'a>) {
        let found = &mut self.found;
        let first = |slot: &mut Option<String>, value: Option<Cow<str>>| {
            if slot.is_none() {
                *slot = value.and_then(|v| extract::clean(&v));
            }
        };
        match &*e.name {
            "meta" => {
                let is = |attr: &str, want: &str| {
                    e.attr(attr).is_some_and(|v| v.eq_ignore_ascii_case(want))
                };
                if is("name", "description") {
                    first(&mut found.description, e.attr("content"));
                }
                if is("property", "og:description") {
                    first(&mut found.og_description, e.attr("content"));
                }
                if is("property", "article:published_time") {
                    first(&mut found.published, e.attr("content"));
                }
                if is("name", "author") {
                    first(&mut found.author, e.attr("content"));
                }
                if is("property", "article:author") {
                    first(&mut found.article_author, e.attr("content"));
                }
            }
            "link" if e.attr("rel").is_some_and(|r| has_token(&r, "canonical")) => {
                first(&mut found.canonical, e.attr("href"));
            }
            "time" => first(&mut found.time, e.attr("datetime")),
            "html" if self.stack.is_empty() => first(&mut found.lang, e.attr("lang")),
            _ => {}
        }
        if may_have_rel(e.rest) && e.attr("rel").is_some_and(|r| has_token(&r, "author")) {
            self.found.rel_authors.push(String::new());
            let k = self.found.rel_authors.len() - 1;
            self.captures.push((e.id, Into::Author(k)));
        }
    }

    fn pop(&mut self) {
        let Some(e) = self.stack.pop() else {
            return;
        };
        let head = self.head.as_ref().is_some_and(|h| h.id == e.id);
        while self.captures.last().is_some_and(|&(id, _)| id == e.id) {
            let capture = self.captures.pop();
            if head {
                self.head_captures.extend(capture);
            }
        }
        if e.formatting {
            if let Some(entry) = self.list.iter_mut().rev().find(|l| l.id == e.id) {
                entry.open = false;
            }
        }
    }

    /// Pops up to and including the element at `k`.
    fn pop_to(&mut self, k: usize) {
        while self.stack.len() > k {
            self.pop();
        }
    }

    fn finish(self, base: &Url) -> Extract {
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
            depth: self.depth,
        }
    }
}
