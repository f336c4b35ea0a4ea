//! Title, links and metadata in one streaming pass, without building a tree: most of a full
//! parse goes into html5ever's tokenizer and scraper's tree, and a record needs little of it.
//!
//! The pass replays html5ever's tree builder (insertion modes, implied end tags, the list of
//! active formatting elements) over the common, well-formed part of HTML, where the stack of
//! open elements is exactly each element's ancestors and text goes to the current node. Where
//! html5ever would move or copy nodes (misnested formatting elements, foster parenting, a
//! stray `</p>`), or where the rules are long and rare (templates, SVG, MathML, select,
//! frames), the pass gives up and the page goes to scraper. So both give the same record.

mod tokens;

use std::borrow::Cow;

use url::Url;

use crate::css::{Element, Simple};
use crate::extract::{self, Meta};
use crate::nesting::{comment_end, find, raw_text_end, script_end};
use crate::record::Link;
use tokens::{attr, decode, Tag};

/// What a page gives without the tree.
pub struct Extract {
    pub title: Option<String>,
    pub links: Vec<Link>,
    pub meta: Meta,
}

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

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
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
    fn name(&self) -> &str {
        &self.name
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
    form: Option<u32>,
    ids: u32,
    /// After `<pre>`, `<listing>` and `<textarea>` a first newline is dropped.
    ignore_lf: bool,
    captures: Vec<(u32, Into)>,
    title: Option<String>,
    links: Vec<Slot>,
    found: Found,
}

fn is_space(c: u8) -> bool {
    matches!(c, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')
}

fn is_special(name: &str) -> bool {
    matches!(
        name,
        "address"
            | "applet"
            | "area"
            | "article"
            | "aside"
            | "base"
            | "basefont"
            | "bgsound"
            | "blockquote"
            | "body"
            | "br"
            | "button"
            | "caption"
            | "center"
            | "col"
            | "colgroup"
            | "dd"
            | "details"
            | "dir"
            | "div"
            | "dl"
            | "dt"
            | "embed"
            | "fieldset"
            | "figcaption"
            | "figure"
            | "footer"
            | "form"
            | "frame"
            | "frameset"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "head"
            | "header"
            | "hgroup"
            | "hr"
            | "html"
            | "iframe"
            | "img"
            | "input"
            | "isindex"
            | "li"
            | "link"
            | "listing"
            | "main"
            | "marquee"
            | "menu"
            | "meta"
            | "nav"
            | "noembed"
            | "noframes"
            | "noscript"
            | "object"
            | "ol"
            | "p"
            | "param"
            | "plaintext"
            | "pre"
            | "script"
            | "section"
            | "select"
            | "source"
            | "style"
            | "summary"
            | "table"
            | "tbody"
            | "td"
            | "template"
            | "textarea"
            | "tfoot"
            | "th"
            | "thead"
            | "title"
            | "tr"
            | "track"
            | "ul"
            | "wbr"
            | "xmp"
    )
}

fn default_scope(name: &str) -> bool {
    matches!(
        name,
        "applet"
            | "caption"
            | "html"
            | "table"
            | "td"
            | "th"
            | "marquee"
            | "object"
            | "select"
            | "template"
    )
}

fn button_scope(name: &str) -> bool {
    default_scope(name) || name == "button"
}

fn list_scope(name: &str) -> bool {
    default_scope(name) || name == "ol" || name == "ul"
}

fn table_scope(name: &str) -> bool {
    matches!(name, "html" | "table" | "template")
}

fn implied_end(name: &str) -> bool {
    matches!(
        name,
        "dd" | "dt" | "li" | "option" | "optgroup" | "p" | "rb" | "rp" | "rt" | "rtc"
    )
}

fn heading(name: &str) -> bool {
    matches!(name, "h1" | "h2" | "h3" | "h4" | "h5" | "h6")
}

/// The formatting element of that name, as a static name for the list.
fn formatting(name: &str) -> Option<&'static str> {
    const NAMES: [&str; 14] = [
        "a", "b", "big", "code", "em", "font", "i", "nobr", "s", "small", "strike", "strong", "tt",
        "u",
    ];
    NAMES.into_iter().find(|&n| n == name)
}

/// Tags the "in head" rules take, wherever they turn up.
fn head_tag(name: &str) -> bool {
    matches!(
        name,
        "base"
            | "basefont"
            | "bgsound"
            | "link"
            | "meta"
            | "noframes"
            | "script"
            | "style"
            | "template"
            | "title"
    )
}

fn table_part(name: &str) -> bool {
    matches!(name, "table" | "tbody" | "tfoot" | "thead" | "tr")
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
            form: None,
            ids: 0,
            ignore_lf: false,
            captures: Vec::new(),
            title: None,
            links: Vec::new(),
            found: Found::default(),
        }
    }

    fn run(&mut self) -> Step {
        let src = self.src;
        let b = src.as_bytes();
        let mut i = 0;
        while i < b.len() {
            let Some(lt) = find(b, i, b'<') else {
                self.text(&src[i..], true)?;
                break;
            };
            if lt > i {
                self.text(&src[i..lt], true)?;
            }
            let next = match b.get(lt + 1) {
                Some(c) if c.is_ascii_alphabetic() => {
                    let Some(tag) = Tag::read(src, lt + 1) else {
                        break;
                    };
                    self.ignore_lf = false;
                    let content = self.start(&tag)?;
                    match content {
                        Content::Markup => Some(tag.end),
                        _ => self.raw(&tag, content)?,
                    }
                }
                Some(b'/') => match b.get(lt + 2) {
                    Some(c) if c.is_ascii_alphabetic() => {
                        let Some(tag) = Tag::read(src, lt + 2) else {
                            break;
                        };
                        self.ignore_lf = false;
                        self.end(&tag.name)?;
                        Some(tag.end)
                    }
                    // `</>` is dropped, but as a parse error it still uses up a newline.
                    Some(b'>') => self.comment(Some(lt + 3)),
                    None => {
                        self.text("</", false)?;
                        None
                    }
                    Some(_) => self.comment(find(b, lt + 2, b'>').map(|gt| gt + 1)),
                },
                Some(b'!') if b[lt..].starts_with(b"<!--") => self.comment(comment_end(b, lt)),
                // In SVG, CDATA is text.
                Some(b'!') if self.in_svg() && b[lt..].starts_with(b"<![CDATA[") => {
                    return Err(Bail::here())
                }
                Some(b'!')
                    if b.get(lt + 2..lt + 9)
                        .is_some_and(|d| d.eq_ignore_ascii_case(b"doctype")) =>
                {
                    let end = find(b, lt, b'>').map(|gt| gt + 1);
                    self.doctype(&b[lt + 9..end.map_or(b.len(), |e| e - 1)], end.is_some())?;
                    end
                }
                Some(b'!' | b'?') => self.comment(find(b, lt + 2, b'>').map(|gt| gt + 1)),
                _ => {
                    self.text("<", false)?;
                    Some(lt + 1)
                }
            };
            let Some(next) = next else {
                break;
            };
            i = next;
        }
        // At the end every open element closes; their text is complete.
        Ok(())
    }

    /// Comments (and parse errors) are not text; they only use up a dropped newline.
    fn comment(&mut self, end: Option<usize>) -> Option<usize> {
        self.ignore_lf = false;
        end
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

    /// The text of a raw text element, its end tag, and where markup resumes.
    fn raw(&mut self, tag: &Tag<'a>, content: Content) -> Step<Option<usize>> {
        let b = self.src.as_bytes();
        let end = match content {
            Content::Script => script_end(b, tag.end),
            _ => raw_text_end(b, tag.end, tag.name.as_bytes()),
        };
        let text = &self.src[tag.end..end.unwrap_or(b.len())];
        self.raw_text(text, content == Content::Rcdata)?;
        let Some(lt) = end else {
            return Ok(None);
        };
        let Some(close) = Tag::read(self.src, lt + 2) else {
            return Ok(None);
        };
        self.ignore_lf = false;
        self.pop();
        if self.head.is_some()
            && self.current().is_some_and(|e| e.name == "head")
            && self.mode == Mode::AfterHead
        {
            // A head element put back for a late `<script>` or `<title>` goes again.
            self.pop();
        }
        Ok(Some(close.end))
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
            Mode::InHead | Mode::AfterHead => self.append(space, false),
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
        self.anything_else_before_body()?;
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

    /// The steps between the document's start and its body, for a token that belongs in the
    /// body: implied html, head and body elements.
    fn anything_else_before_body(&mut self) -> Step {
        loop {
            match self.mode {
                Mode::Initial => {
                    self.quirks = true;
                    self.mode = Mode::BeforeHtml;
                }
                Mode::BeforeHtml => {
                    self.insert(Cow::Borrowed("html"), "", false)?;
                    self.mode = Mode::BeforeHead;
                }
                Mode::BeforeHead => {
                    self.insert(Cow::Borrowed("head"), "", false)?;
                    self.head = self.current().cloned();
                    self.mode = Mode::InHead;
                }
                Mode::InHead => {
                    self.pop();
                    self.mode = Mode::AfterHead;
                }
                Mode::AfterHead => {
                    self.insert(Cow::Borrowed("body"), "", false)?;
                    self.mode = Mode::InBody;
                    return Ok(());
                }
                _ => return Ok(()),
            }
        }
    }

    fn insert(&mut self, name: Cow<'a, str>, rest: &'a str, void: bool) -> Step {
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
        Ok(())
    }

    /// What a new element means for the record, judged before it joins its ancestors.
    fn observe(&mut self, e: &Open<'a>) {
        let id = e.id;
        let name: &str = &e.name;
        if name == "a" {
            if let Some(href) = e.attr("href") {
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
        }
        if self.select.may_match(name) && self.select.matches(e, &self.stack) {
            let href = e.attr("href").map(Cow::into_owned);
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
        if e.attr("rel").is_some_and(|r| has_token(&r, "author")) {
            self.found.rel_authors.push(String::new());
            let k = self.found.rel_authors.len() - 1;
            self.captures.push((e.id, Into::Author(k)));
        }
    }

    fn pop(&mut self) {
        let Some(e) = self.stack.pop() else {
            return;
        };
        while self.captures.last().is_some_and(|&(id, _)| id == e.id) {
            self.captures.pop();
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

    fn generate_implied_end(&mut self, except: &str) {
        while self
            .current()
            .is_some_and(|e| implied_end(&e.name) && e.name != except)
        {
            self.pop();
        }
    }

    fn close_p(&mut self) {
        if let Some(k) = self.in_scope(|n| n == "p", button_scope) {
            self.generate_implied_end("p");
            self.pop_to(k);
        }
    }

    fn clear_to_marker(&mut self) {
        while let Some(e) = self.list.pop() {
            if e.id == 0 {
                break;
            }
        }
    }

    fn push_formatting(&mut self, tag: &Tag<'a>) -> Step {
        self.reconstruct()?;
        self.insert(tag.name.clone(), tag.rest, false)?;
        let name = formatting(&tag.name).ok_or_else(Bail::here)?;
        self.list.push(Listed {
            id: self.ids,
            name,
            open: true,
        });
        Ok(())
    }

    /// The start tag `tag`; returns how its content is tokenized.
    fn start(&mut self, tag: &Tag<'a>) -> Step<Content> {
        let name: &str = &tag.name;
        if self.in_svg() {
            self.svg_start(tag)?;
            return Ok(Content::Markup);
        }
        loop {
            match self.mode {
                Mode::Initial => {
                    self.quirks = true;
                    self.mode = Mode::BeforeHtml;
                }
                Mode::BeforeHtml if name == "html" => {
                    self.insert(tag.name.clone(), tag.rest, false)?;
                    self.mode = Mode::BeforeHead;
                    return Ok(Content::Markup);
                }
                Mode::BeforeHead if name == "head" => {
                    self.insert(tag.name.clone(), tag.rest, false)?;
                    self.head = self.current().cloned();
                    self.mode = Mode::InHead;
                    return Ok(Content::Markup);
                }
                Mode::BeforeHtml | Mode::BeforeHead if name != "html" => {
                    self.anything_else_before_body_step()
                }
                Mode::InHead if name == "head" => return Ok(Content::Markup),
                Mode::InHead if head_tag(name) || name == "noscript" => {
                    return self.head_start(tag)
                }
                Mode::InHead if name != "html" => {
                    self.pop();
                    self.mode = Mode::AfterHead;
                }
                Mode::AfterHead if name == "body" => {
                    self.insert(tag.name.clone(), tag.rest, false)?;
                    self.mode = Mode::InBody;
                    return Ok(Content::Markup);
                }
                Mode::AfterHead if name == "head" => return Ok(Content::Markup),
                Mode::AfterHead if head_tag(name) => {
                    // Put back in the head, which is before the body and so in the same order.
                    let head = self.head.clone().ok_or_else(Bail::here)?;
                    self.stack.push(head);
                    let content = self.head_start(tag)?;
                    if content == Content::Markup {
                        self.pop();
                    }
                    return Ok(content);
                }
                Mode::AfterHead if !matches!(name, "html" | "frameset") => {
                    self.insert(Cow::Borrowed("body"), "", false)?;
                    self.mode = Mode::InBody;
                }
                Mode::InBody => return self.body_start(tag),
                Mode::InTable => return self.table_start(tag),
                Mode::InTableBody => match name {
                    "tr" => {
                        self.clear_to(|n| {
                            matches!(n, "tbody" | "tfoot" | "thead" | "template" | "html")
                        });
                        self.insert(tag.name.clone(), tag.rest, false)?;
                        self.mode = Mode::InRow;
                        return Ok(Content::Markup);
                    }
                    "th" | "td" => {
                        self.clear_to(|n| {
                            matches!(n, "tbody" | "tfoot" | "thead" | "template" | "html")
                        });
                        self.insert(Cow::Borrowed("tr"), "", false)?;
                        self.mode = Mode::InRow;
                    }
                    "caption" | "col" | "colgroup" | "tbody" | "tfoot" | "thead" => {
                        if !self.leave_table_body() {
                            return Ok(Content::Markup);
                        }
                    }
                    _ => return self.table_start(tag),
                },
                Mode::InRow => match name {
                    "th" | "td" => {
                        self.clear_to(|n| matches!(n, "tr" | "template" | "html"));
                        self.insert(tag.name.clone(), tag.rest, false)?;
                        self.mode = Mode::InCell;
                        self.list.push(MARKER);
                        return Ok(Content::Markup);
                    }
                    "caption" | "col" | "colgroup" | "tbody" | "tfoot" | "thead" | "tr" => {
                        if !self.leave_row() {
                            return Ok(Content::Markup);
                        }
                    }
                    _ => return self.table_start(tag),
                },
                Mode::InCell => match name {
                    "caption" | "col" | "colgroup" | "tbody" | "td" | "tfoot" | "th" | "thead"
                    | "tr" => {
                        if self
                            .in_scope(|n| n == "td" || n == "th", table_scope)
                            .is_none()
                        {
                            return Ok(Content::Markup);
                        }
                        self.close_cell();
                    }
                    _ => return self.body_start(tag),
                },
                Mode::AfterBody | Mode::AfterAfterBody if name != "html" => {
                    self.mode = Mode::InBody
                }
                // `<html>` merges attributes into the root, `<frameset>` replaces the body.
                _ => return Err(Bail::here()),
            }
        }
    }

    /// One step of the implied structure before the body.
    fn anything_else_before_body_step(&mut self) {
        match self.mode {
            Mode::BeforeHtml => {
                let _ = self.insert(Cow::Borrowed("html"), "", false);
                self.mode = Mode::BeforeHead;
            }
            Mode::BeforeHead => {
                let _ = self.insert(Cow::Borrowed("head"), "", false);
                self.head = self.current().cloned();
                self.mode = Mode::InHead;
            }
            _ => {}
        }
    }

    /// The "in head" rules for the tags they take.
    fn head_start(&mut self, tag: &Tag<'a>) -> Step<Content> {
        let content = match &*tag.name {
            "base" | "basefont" | "bgsound" | "link" | "meta" => {
                self.insert(tag.name.clone(), tag.rest, true)?;
                return Ok(Content::Markup);
            }
            "title" => Content::Rcdata,
            "noframes" | "style" | "noscript" => Content::Rawtext,
            "script" => Content::Script,
            _ => return Err(Bail::here()),
        };
        self.insert(tag.name.clone(), tag.rest, false)?;
        Ok(content)
    }

    fn body_start(&mut self, tag: &Tag<'a>) -> Step<Content> {
        let name: &str = &tag.name;
        let markup = Ok(Content::Markup);
        match name {
            "base" | "basefont" | "bgsound" | "link" | "meta" | "noframes" | "script" | "style"
            | "title" => return self.head_start(tag),
            "address" | "article" | "aside" | "blockquote" | "center" | "details" | "dialog"
            | "dir" | "div" | "dl" | "fieldset" | "figcaption" | "figure" | "footer" | "header"
            | "hgroup" | "main" | "nav" | "ol" | "p" | "search" | "section" | "summary" | "ul"
            | "menu" => {
                self.close_p();
                self.insert(tag.name.clone(), tag.rest, false)?;
            }
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                self.close_p();
                if self.current().is_some_and(|e| heading(&e.name)) {
                    self.pop();
                }
                self.insert(tag.name.clone(), tag.rest, false)?;
            }
            "pre" | "listing" => {
                self.close_p();
                self.insert(tag.name.clone(), tag.rest, false)?;
                self.ignore_lf = true;
            }
            "form" => {
                if self.form.is_none() {
                    self.close_p();
                    self.insert(tag.name.clone(), tag.rest, false)?;
                    self.form = Some(self.ids);
                }
            }
            "li" | "dd" | "dt" => {
                let closes = |n: &str| match name {
                    "li" => n == "li",
                    _ => n == "dd" || n == "dt",
                };
                for k in (0..self.stack.len()).rev() {
                    let n = self.stack[k].name.clone();
                    if closes(&n) {
                        self.generate_implied_end(&n);
                        self.pop_to(k);
                        break;
                    }
                    if is_special(&n) && !matches!(&*n, "address" | "div" | "p") {
                        break;
                    }
                }
                self.close_p();
                self.insert(tag.name.clone(), tag.rest, false)?;
            }
            "button" => {
                if let Some(k) = self.in_scope(|n| n == "button", default_scope) {
                    self.generate_implied_end("");
                    self.pop_to(k);
                }
                self.reconstruct()?;
                self.insert(tag.name.clone(), tag.rest, false)?;
            }
            "a" => {
                // An `<a>` still open is closed first, by the adoption agency.
                if let Some(j) = self.listed("a") {
                    let id = self.list[j].id;
                    self.adoption("a")?;
                    if self.list.iter().any(|e| e.id == id) || self.stack.iter().any(|e| e.id == id)
                    {
                        return Err(Bail::here());
                    }
                }
                self.push_formatting(tag)?;
            }
            "b" | "big" | "code" | "em" | "font" | "i" | "s" | "small" | "strike" | "strong"
            | "tt" | "u" => self.push_formatting(tag)?,
            "nobr" => {
                self.reconstruct()?;
                if self.in_scope(|n| n == "nobr", default_scope).is_some() {
                    return Err(Bail::here());
                }
                self.push_formatting(tag)?;
            }
            "table" => {
                if !self.quirks {
                    self.close_p();
                }
                self.insert(tag.name.clone(), tag.rest, false)?;
                self.mode = Mode::InTable;
            }
            "area" | "br" | "embed" | "img" | "keygen" | "wbr" | "input" => {
                self.reconstruct()?;
                self.insert(tag.name.clone(), tag.rest, true)?;
            }
            "param" | "source" | "track" => self.insert(tag.name.clone(), tag.rest, true)?,
            "hr" => {
                self.close_p();
                self.insert(tag.name.clone(), tag.rest, true)?;
            }
            "textarea" => {
                self.insert(tag.name.clone(), tag.rest, false)?;
                self.ignore_lf = true;
                return Ok(Content::Rcdata);
            }
            "xmp" => {
                self.close_p();
                self.reconstruct()?;
                self.insert(tag.name.clone(), tag.rest, false)?;
                return Ok(Content::Rawtext);
            }
            "iframe" | "noembed" | "noscript" => {
                self.insert(tag.name.clone(), tag.rest, false)?;
                return Ok(Content::Rawtext);
            }
            "option" | "optgroup" => {
                if self.current_is("option") {
                    self.pop();
                }
                self.reconstruct()?;
                self.insert(tag.name.clone(), tag.rest, false)?;
            }
            "rb" | "rtc" | "rp" | "rt" => {
                if self.in_scope(|n| n == "ruby", default_scope).is_some() {
                    self.generate_implied_end(if matches!(name, "rp" | "rt") {
                        "rtc"
                    } else {
                        ""
                    });
                }
                self.insert(tag.name.clone(), tag.rest, false)?;
            }
            "caption" | "col" | "colgroup" | "frame" | "head" | "tbody" | "td" | "tfoot" | "th"
            | "thead" | "tr" => {}
            "svg" => {
                self.reconstruct()?;
                self.svg_start(tag)?;
            }
            "html" | "body" | "frameset" | "template" | "plaintext" | "applet" | "marquee"
            | "object" | "image" | "select" | "math" => return Err(Bail::here()),
            _ => {
                self.reconstruct()?;
                self.insert(tag.name.clone(), tag.rest, false)?;
            }
        }
        markup
    }

    fn in_svg(&self) -> bool {
        self.current().is_some_and(|e| e.svg)
    }

    /// An element inside SVG (or `<svg>` itself). Icons are common; what would make the
    /// element count for the record, or leave SVG again, goes to the tree.
    fn svg_start(&mut self, tag: &Tag<'a>) -> Step {
        let name: &str = &tag.name;
        let breakout = matches!(
            name,
            "b" | "big"
                | "blockquote"
                | "body"
                | "br"
                | "center"
                | "code"
                | "dd"
                | "div"
                | "dl"
                | "dt"
                | "em"
                | "embed"
                | "h1"
                | "h2"
                | "h3"
                | "h4"
                | "h5"
                | "h6"
                | "head"
                | "hr"
                | "i"
                | "img"
                | "li"
                | "listing"
                | "menu"
                | "meta"
                | "nobr"
                | "ol"
                | "p"
                | "pre"
                | "ruby"
                | "s"
                | "small"
                | "span"
                | "strong"
                | "strike"
                | "sub"
                | "sup"
                | "table"
                | "tt"
                | "u"
                | "ul"
                | "var"
                | "font"
        );
        // Integration points take HTML again; `a`, `title` and the rest would count for the
        // record (SVG names are matched as written, unlike HTML's).
        let integration = matches!(name, "foreignobject" | "desc" | "title");
        let counts = matches!(name, "a" | "link" | "meta" | "time" | "html")
            || self.select.may_match(name)
            || attr(tag.rest, "rel").is_some();
        if breakout || integration || counts {
            return Err(Bail::here());
        }
        self.ids += 1;
        self.stack.push(Open {
            name: tag.name.clone(),
            rest: tag.rest,
            id: self.ids,
            formatting: false,
            svg: true,
        });
        if tag.self_closing {
            self.pop();
        }
        Ok(())
    }

    fn table_start(&mut self, tag: &Tag<'a>) -> Step<Content> {
        match &*tag.name {
            "tbody" | "tfoot" | "thead" => {
                self.clear_to(table_scope);
                self.insert(tag.name.clone(), tag.rest, false)?;
                self.mode = Mode::InTableBody;
                Ok(Content::Markup)
            }
            "td" | "th" | "tr" => {
                self.clear_to(table_scope);
                self.insert(Cow::Borrowed("tbody"), "", false)?;
                self.mode = Mode::InTableBody;
                self.start(tag)
            }
            "style" | "script" => self.head_start(tag),
            // Captions, column groups, nested tables, inputs, forms, and everything else
            // (foster-parented out of the table).
            _ => Err(Bail::here()),
        }
    }

    /// Pops until the current node is one that `stop` picks.
    fn clear_to(&mut self, stop: fn(&str) -> bool) {
        while self.current().is_some_and(|e| !stop(&e.name)) {
            self.pop();
        }
    }

    /// Closes the row group for a tag that belongs in the table; false if there is none.
    fn leave_table_body(&mut self) -> bool {
        let outer = |n: &str| matches!(n, "table" | "tbody" | "tfoot");
        if self.in_scope(outer, table_scope).is_none() {
            return false;
        }
        self.clear_to(|n| matches!(n, "tbody" | "tfoot" | "thead" | "template" | "html"));
        self.pop();
        self.mode = Mode::InTable;
        true
    }

    /// Closes the row for a tag that belongs in the row group; false if there is none.
    fn leave_row(&mut self) -> bool {
        if self.in_scope(|n| n == "tr", table_scope).is_none() {
            return false;
        }
        self.clear_to(|n| matches!(n, "tr" | "template" | "html"));
        self.pop();
        self.mode = Mode::InTableBody;
        true
    }

    fn close_cell(&mut self) {
        self.generate_implied_end("");
        if let Some(k) = self.in_scope(|n| n == "td" || n == "th", table_scope) {
            self.pop_to(k);
        }
        self.clear_to_marker();
        self.mode = Mode::InRow;
    }

    /// The mode that the stack of open elements implies, after a table closes.
    fn reset_mode(&mut self) {
        for k in (0..self.stack.len()).rev() {
            let last = k == 0;
            self.mode = match &*self.stack[k].name {
                "td" | "th" if !last => Mode::InCell,
                "tr" => Mode::InRow,
                "tbody" | "thead" | "tfoot" => Mode::InTableBody,
                "table" => Mode::InTable,
                "body" => Mode::InBody,
                "html" => Mode::AfterHead,
                _ if last => Mode::InBody,
                _ => continue,
            };
            return;
        }
        self.mode = Mode::InBody;
    }

    /// The latest formatting element called `name` in the list, after the last marker.
    fn listed(&self, name: &str) -> Option<usize> {
        let after_marker = (0..self.list.len())
            .rev()
            .take_while(|&j| self.list[j].id != 0);
        after_marker
            .into_iter()
            .find(|&j| self.list[j].name == name)
    }

    /// The adoption agency, as far as it goes without moving nodes: the formatting element
    /// and whatever non-special elements are open in it close.
    fn adoption(&mut self, name: &str) -> Step {
        if let Some(e) = self.current() {
            if e.name == name && !self.list.iter().any(|l| l.id == e.id) {
                self.pop();
                return Ok(());
            }
        }
        let Some(j) = self.listed(name) else {
            return self.any_other_end(name);
        };
        if !self.list[j].open {
            self.list.remove(j);
            return Ok(());
        }
        let id = self.list[j].id;
        let Some(k) = self.stack.iter().rposition(|e| e.id == id) else {
            return Err(Bail::here());
        };
        for e in &self.stack[k + 1..] {
            if default_scope(&e.name) {
                // Not in scope: html5ever ignores the end tag.
                return Ok(());
            }
            if is_special(&e.name) {
                // A furthest block: html5ever would move nodes.
                return Err(Bail::here());
            }
        }
        self.pop_to(k);
        self.list.remove(j);
        Ok(())
    }

    fn any_other_end(&mut self, name: &str) -> Step {
        for k in (0..self.stack.len()).rev() {
            let n = &self.stack[k].name;
            if n == name {
                self.generate_implied_end(name);
                self.pop_to(k);
                return Ok(());
            }
            if is_special(n) {
                return Ok(());
            }
        }
        Ok(())
    }

    fn end(&mut self, name: &str) -> Step {
        if self.in_svg() {
            // The nearest open SVG element of that name closes, with what is open in it.
            for k in (0..self.stack.len()).rev() {
                if !self.stack[k].svg {
                    break;
                }
                if self.stack[k].name.eq_ignore_ascii_case(name) {
                    self.pop_to(k);
                    return Ok(());
                }
            }
        }
        loop {
            match self.mode {
                Mode::Initial => {
                    self.quirks = true;
                    self.mode = Mode::BeforeHtml;
                }
                Mode::BeforeHtml | Mode::BeforeHead => {
                    if !matches!(name, "head" | "body" | "html" | "br") {
                        return Ok(());
                    }
                    self.anything_else_before_body_step();
                }
                Mode::InHead => match name {
                    "head" => {
                        self.pop();
                        self.mode = Mode::AfterHead;
                        return Ok(());
                    }
                    "body" | "html" | "br" => {
                        self.pop();
                        self.mode = Mode::AfterHead;
                    }
                    "template" => return Err(Bail::here()),
                    _ => return Ok(()),
                },
                Mode::AfterHead => match name {
                    "body" | "html" | "br" => {
                        self.insert(Cow::Borrowed("body"), "", false)?;
                        self.mode = Mode::InBody;
                    }
                    "template" => return Err(Bail::here()),
                    _ => return Ok(()),
                },
                Mode::InBody => return self.body_end(name),
                Mode::InTable => return self.table_end(name),
                Mode::InTableBody => match name {
                    "tbody" | "tfoot" | "thead" => {
                        if self.in_scope(|n| n == name, table_scope).is_some() {
                            self.clear_to(|n| {
                                matches!(n, "tbody" | "tfoot" | "thead" | "template" | "html")
                            });
                            self.pop();
                            self.mode = Mode::InTable;
                        }
                        return Ok(());
                    }
                    "table" => {
                        if !self.leave_table_body() {
                            return Ok(());
                        }
                    }
                    "body" | "caption" | "col" | "colgroup" | "html" | "td" | "th" | "tr" => {
                        return Ok(())
                    }
                    _ => return self.table_end(name),
                },
                Mode::InRow => match name {
                    "tr" => {
                        self.leave_row();
                        return Ok(());
                    }
                    "table" => {
                        if !self.leave_row() {
                            return Ok(());
                        }
                    }
                    "tbody" | "tfoot" | "thead" => {
                        if self.in_scope(|n| n == name, table_scope).is_none() || !self.leave_row()
                        {
                            return Ok(());
                        }
                    }
                    "body" | "caption" | "col" | "colgroup" | "html" | "td" | "th" => return Ok(()),
                    _ => return self.table_end(name),
                },
                Mode::InCell => match name {
                    "td" | "th" => {
                        if let Some(k) = self.in_scope(|n| n == name, table_scope) {
                            self.generate_implied_end("");
                            self.pop_to(k);
                            self.clear_to_marker();
                            self.mode = Mode::InRow;
                        }
                        return Ok(());
                    }
                    "body" | "caption" | "col" | "colgroup" | "html" => return Ok(()),
                    "table" | "tbody" | "tfoot" | "thead" | "tr" => {
                        if self.in_scope(|n| n == name, table_scope).is_none() {
                            return Ok(());
                        }
                        self.close_cell();
                    }
                    _ => return self.body_end(name),
                },
                Mode::AfterBody => {
                    if name == "html" {
                        self.mode = Mode::AfterAfterBody;
                        return Ok(());
                    }
                    self.mode = Mode::InBody;
                }
                Mode::AfterAfterBody => self.mode = Mode::InBody,
            }
        }
    }

    fn table_end(&mut self, name: &str) -> Step {
        match name {
            "table" => {
                if let Some(k) = self.in_scope(|n| n == "table", table_scope) {
                    self.pop_to(k);
                    self.reset_mode();
                }
                Ok(())
            }
            "body" | "caption" | "col" | "colgroup" | "html" | "tbody" | "td" | "tfoot" | "th"
            | "thead" | "tr" => Ok(()),
            "template" => Err(Bail::here()),
            // The body rules, with foster parenting: they insert nothing for these but a
            // `</p>` without a `<p>`, and that gives up anyway.
            _ => self.body_end(name),
        }
    }

    fn body_end(&mut self, name: &str) -> Step {
        match name {
            "body" | "html" => {
                if self.in_scope(|n| n == "body", default_scope).is_some() {
                    self.mode = Mode::AfterBody;
                    if name == "html" {
                        self.mode = Mode::AfterAfterBody;
                    }
                }
            }
            "address" | "article" | "aside" | "blockquote" | "button" | "center" | "details"
            | "dialog" | "dir" | "div" | "dl" | "fieldset" | "figcaption" | "figure" | "footer"
            | "header" | "hgroup" | "listing" | "main" | "menu" | "nav" | "ol" | "pre"
            | "search" | "section" | "summary" | "ul" => {
                if let Some(k) = self.in_scope(|n| n == name, default_scope) {
                    self.generate_implied_end("");
                    self.pop_to(k);
                }
            }
            "form" => {
                let Some(id) = self.form.take() else {
                    return Ok(());
                };
                let open = self.stack.iter().rev();
                let found = open.clone().find(|e| e.id == id || default_scope(&e.name));
                if found.is_none_or(|e| e.id != id) {
                    return Ok(());
                }
                self.generate_implied_end("");
                // A form removed from under open elements stays their ancestor in the tree,
                // though no longer on the stack.
                if self.current().is_none_or(|e| e.id != id) {
                    return Err(Bail::here());
                }
                self.pop();
            }
            "p" => {
                if self.in_scope(|n| n == "p", button_scope).is_none() {
                    return Err(Bail::here());
                }
                self.close_p();
            }
            "li" | "dd" | "dt" => {
                let scope = if name == "li" {
                    list_scope
                } else {
                    default_scope
                };
                if let Some(k) = self.in_scope(|n| n == name, scope) {
                    self.generate_implied_end(name);
                    self.pop_to(k);
                }
            }
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                if let Some(k) = self.in_scope(heading, default_scope) {
                    self.generate_implied_end("");
                    self.pop_to(k);
                }
            }
            _ if formatting(name).is_some() => self.adoption(name)?,
            "applet" | "marquee" | "object" | "br" | "template" | "option" | "select" => {
                return Err(Bail::here())
            }
            _ => self.any_other_end(name)?,
        }
        Ok(())
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
        }
    }
}

#[cfg(test)]
mod tests;
