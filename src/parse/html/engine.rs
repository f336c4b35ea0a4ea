//! One replay of html5ever's tree builder without the tree: the stack of open elements, the
//! list of active formatting elements, the insertion modes, the adoption agency and tables,
//! told to a sink as elements open and close and text arrives.
//!
//! Where html5ever moves or copies nodes (misnested formatting elements, foster parenting, a
//! form closed under open elements), or where its rules are long and rare (templates, select,
//! MathML, frames, other doctypes, NULs), the replay goes on as an estimate that errs on the
//! deep side, and tells the sink it is inexact from there: the streaming extractor stops
//! following, the depth guard carries on.

use std::borrow::Cow;

use super::lexer::{decode, is_space, Content, Lexer, Tag, Token};
use super::tags::*;

/// Deepest element nesting let through to the HTML parser. Real pages stay far below it.
pub const MAX_DEPTH: usize = 128;

/// Formatting elements html5ever may recreate ("reconstruct the active formatting elements"),
/// summed over the page: each unclosed `<b>` is otherwise recreated in every later block.
const MAX_REOPENED: usize = 100_000;

/// Attributes on one tag: html5ever compares each new attribute with all the earlier ones.
pub(super) const MAX_ATTRS: usize = 256;

/// Tags, comments and stray `<`s: each costs html5ever a fraction of a microsecond even at
/// the top level, so this caps the work on huge inputs.
pub(super) const MAX_TOKENS: usize = 500_000;

/// Tokens times the depth they come at: many of them make html5ever walk the stack of open
/// elements, and a flood of them at a depth just under MAX_DEPTH would cost several times
/// what the same bytes cost at the top level.
pub(super) const MAX_WALK: usize = 16_000_000;

/// What follows the replay: the streaming extractor. The depth guard needs only the depth,
/// which the replay keeps, and so none of these.
pub trait Sink<'a> {
    /// Whether it looks at elements and text at all.
    const FOLLOWS: bool = true;
    /// `e` joins the tree as the child of the last of `ancestors`; void elements and raw text
    /// elements too, which close at once or after their text.
    fn open(&mut self, _e: &Open<'a>, _ancestors: &[Open<'a>]) {}
    /// `e` leaves the stack of open elements.
    fn close(&mut self, _e: &Open<'a>) {}
    /// Characters for the current node, with character references still in them if `refs`.
    fn text(&mut self, _text: &str, _refs: bool) {}
    /// From here on html5ever builds something else than the open elements nesting in the
    /// order the replay keeps them, or the replay only estimates its rules.
    #[track_caller]
    fn inexact(&mut self) {}
}

/// An open element.
#[derive(Clone, Copy, Default)]
pub struct Open<'a> {
    /// Its name lowercased and packed (tags.rs), LONG past 16 bytes.
    pub name: u128,
    /// Its tag from the name to just past the `>`; empty for elements html5ever implies.
    pub tag: &'a str,
    /// The length of the name in `tag`.
    pub len: usize,
    /// Which element this is, for sinks.
    pub id: u32,
    /// Which formatting element or form this is, for its entry in the list of active formatting
    /// elements or for html5ever's form element pointer; 0 for others, and once unlisted.
    serial: u32,
    pub flags: u32,
}

impl<'a> Open<'a> {
    fn is(&self, name: u128) -> bool {
        self.name == name && self.flags & FOREIGN == 0
    }

    /// The tag after the name, where its attributes are.
    pub fn attrs(&self) -> &'a str {
        &self.tag[self.len..]
    }
}

/// One entry of html5ever's list of active formatting elements: an element (with its
/// attributes, to compare them) or a run of markers.
#[derive(Clone, Copy, Default)]
struct Listed<'a> {
    /// 0 for markers.
    name: u128,
    attrs: &'a str,
    /// The serial, with ON_STACK while the element is open; for markers, how many.
    serial: u32,
}

impl Listed<'_> {
    /// A formatting element closed while listed, which html5ever will recreate.
    fn closed(&self) -> bool {
        self.name != 0 && self.serial & ON_STACK == 0
    }
}

/// Serials stay far below this: at most two per token, and tokens are capped at MAX_TOKENS.
const ON_STACK: u32 = 1 << 31;

/// Where the page is in html5ever's insertion modes, as far as they matter before the body;
/// in the body the open table elements say which table mode applies (see `table_context`).
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd)]
enum Phase {
    #[default]
    Initial,
    BeforeHtml,
    BeforeHead,
    InHead,
    AfterHead,
    Body,
}

/// The replay's state, and the sink it tells.
#[derive(Default)]
pub struct Tree<'a, S> {
    src: &'a str,
    pub sink: S,
    /// html and head or body, then at most MAX_DEPTH others (see `room`).
    stack: Vec<Open<'a>>,
    /// The html, head and body elements on the stack, which the depth leaves out.
    roots: usize,
    /// Formatting elements that end tags of other elements closed stay listed, and html5ever
    /// recreates them before the next text or inline tag; markers (td, object, template...)
    /// fence off the outer ones, and only explicit closes of those elements clear them.
    list: Vec<Listed<'a>>,
    /// Listed elements not open: they count towards the depth they will be recreated at.
    closed: usize,
    serials: u32,
    ids: u32,
    open_p: usize,
    tables: usize,
    templates: usize,
    /// html5ever's form element pointer (a serial), which only `</form>` clears.
    form: u32,
    phase: Phase,
    /// Quirks mode, in which `<table>` does not close a `<p>`.
    quirks: bool,
    /// The head element, put back on the stack for a head tag that comes after it.
    head: Open<'a>,
    /// A raw text element, open until its end tag.
    raw: Open<'a>,
    /// After `<pre>`, `<listing>` and `<textarea>` a first newline is dropped.
    ignore_lf: bool,
    reopened: usize,
    tokens: usize,
    walk: usize,
    max_depth: usize,
    /// The deepest the page went, in open and recreatable elements.
    pub deepest: usize,
}

impl<'a, S: Sink<'a>> Tree<'a, S> {
    /// A replay of `html` into `sink` that cuts where the depth would pass `max_depth` (at
    /// most MAX_DEPTH).
    pub fn new(html: &'a str, sink: S, max_depth: usize) -> Tree<'a, S>
    where
        S: Default,
    {
        Tree {
            src: html,
            sink,
            // Room for most pages; the few deeper ones grow them.
            stack: Vec::with_capacity(32),
            list: Vec::with_capacity(16),
            max_depth: max_depth.min(MAX_DEPTH),
            ..Tree::default()
        }
    }

    /// Replays the page; Err is where it must be cut.
    pub fn run(&mut self) -> Result<(), usize> {
        let mut lexer = Lexer::new(self.src.as_bytes());
        while let Some((lt, token)) = lexer.next(|| self.top(FOREIGN)) {
            if let Token::Text(from, to) = token {
                self.text(from, to, true)?;
                continue;
            }
            let depth = self.depth() + self.closed;
            self.deepest = self.deepest.max(depth);
            self.tokens += 1;
            self.walk += depth;
            let attrs = match &token {
                Token::Start(tag) | Token::End(tag) => tag.attrs,
                _ => 0,
            };
            if self.tokens > MAX_TOKENS || self.walk > MAX_WALK || attrs > MAX_ATTRS {
                return Err(lt);
            }
            if !matches!(token, Token::Stray(..)) {
                self.ignore_lf = false;
            }
            match token {
                Token::Start(tag) => {
                    let content = self.start_tag(lt, &tag)?;
                    if content == Content::Markup {
                        continue;
                    }
                    let ((from, to), close) = lexer.raw(&tag, content);
                    let text = self.skip_lf(&self.src[from..to]);
                    self.sink.text(text, matches!(tag.name, TITLE | TEXTAREA));
                    match close {
                        Some((end, tag)) if tag.attrs > MAX_ATTRS => return Err(end),
                        Some(_) => self.sink.close(&self.raw),
                        None => return Ok(()),
                    }
                }
                Token::End(tag) => self.end_tag(lt, &tag)?,
                Token::Stray(from, to) => self.text(from, to, false)?,
                Token::Doctype(from, to, closed) => self.doctype(from, to, closed),
                Token::Cdata => self.sink.inexact(),
                Token::Comment | Token::Text(..) => {}
            }
        }
        Ok(())
    }

    /// Open elements, less html, head and body.
    fn depth(&self) -> usize {
        self.stack.len() - self.roots
    }

    /// Only `<!DOCTYPE html>` is simple: other doctypes choose among quirks modes by long
    /// lists, which the replay sums up as quirks for any name but html.
    fn doctype(&mut self, from: usize, to: usize, closed: bool) {
        if self.phase != Phase::Initial {
            return;
        }
        let inner = &self.src.as_bytes()[from..to];
        let name = inner.trim_ascii_start().split(|&c| is_space(c)).next();
        self.quirks = !name.is_some_and(|name| name.eq_ignore_ascii_case(b"html"));
        if !closed
            || !inner.trim_ascii().eq_ignore_ascii_case(b"html")
            || inner.first().is_some_and(|&c| !is_space(c))
        {
            self.sink.inexact();
        }
        self.phase = Phase::BeforeHtml;
    }

    /// Drops the newline html5ever drops after `<pre>`, `<listing>` and `<textarea>`.
    fn skip_lf<'t>(&mut self, text: &'t str) -> &'t str {
        if !std::mem::take(&mut self.ignore_lf) {
            return text;
        }
        if text.starts_with('&') {
            // `&#10;` would be dropped too.
            self.sink.inexact();
        }
        text.strip_prefix("\r\n")
            .or_else(|| text.strip_prefix(['\n', '\r']))
            .unwrap_or(text)
    }

    fn text(&mut self, from: usize, to: usize, refs: bool) -> Result<(), usize> {
        let text = self.skip_lf(&self.src[from..to]);
        if text.is_empty() {
            return Ok(());
        }
        if self.phase == Phase::Body || self.templates > 0 {
            return self.body_text(from, text, refs);
        }
        // Before the body text is whitespace, or it opens the body; references blur that.
        let decoded = match refs {
            true => decode(text, false),
            false => Cow::Borrowed(text),
        };
        let rest = decoded.trim_start_matches(|c: char| c.is_ascii() && is_space(c as u8));
        let space = &decoded[..decoded.len() - rest.len()];
        if matches!(self.phase, Phase::InHead | Phase::AfterHead) && !space.is_empty() {
            self.sink.text(space, false);
        }
        if rest.is_empty() {
            return Ok(());
        }
        self.reach_body();
        self.body_text(from, rest, false)
    }

    fn body_text(&mut self, from: usize, text: &str, refs: bool) -> Result<(), usize> {
        // Without a sink that follows, text matters only if it recreates elements or closes a
        // column group.
        let reopens = self.list.last().is_some_and(Listed::closed);
        if !S::FOLLOWS && !reopens && !self.top_is(COLGROUP) {
            return Ok(());
        }
        // Whitespace as html5ever sees it, references decoded.
        let space = |text: &str| match refs {
            true => decode(text, false).bytes().all(is_space),
            false => text.bytes().all(is_space),
        };
        if self.top_is(COLGROUP) && !space(text) {
            self.pop();
        }
        // html5ever drops NULs (outside SVG and MathML): they reopen nothing.
        if text.bytes().all(|c| c == 0) {
            return Ok(());
        }
        if self.tables + self.templates > 0 && self.in_table_mode() {
            // Whitespace straight inside table rows and groups stays there; anything else is
            // foster-parented out of the table.
            let outer = [TABLE, TBODY, TFOOT, THEAD, TR, COLGROUP];
            if space(text) && outer.iter().any(|&n| self.top_is(n)) {
                self.sink.text(text, refs);
                return Ok(());
            }
            self.sink.inexact();
        }
        if !self.in_foreign() && !self.in_template_columns() {
            self.reconstruct(from)?;
        }
        self.sink.text(text, refs);
        Ok(())
    }

    fn top(&self, flag: u32) -> bool {
        self.stack.last().is_some_and(|e| e.flags & flag != 0)
    }

    fn top_mut(&mut self) -> &mut Open<'a> {
        self.stack.last_mut().expect("an open element")
    }

    fn top_is(&self, name: u128) -> bool {
        self.stack.last().is_some_and(|e| e.is(name))
    }

    fn in_foreign(&self) -> bool {
        self.top(FOREIGN) && !self.top(INTEGRATION)
    }

    fn same_name(&self, e: &Open, tag: &Tag) -> bool {
        e.name == tag.name
            && (tag.name != LONG
                || e.tag[..e.len].eq_ignore_ascii_case(&self.src[tag.at..tag.at + tag.len]))
    }

    /// The nearest open element matching `is`, unless an element with one of the `stop` flags
    /// comes first (html5ever's "has an element in scope").
    fn find(&self, stop: u32, is: impl Fn(&Open) -> bool) -> Option<usize> {
        let k = self
            .stack
            .iter()
            .rposition(|e| is(e) || e.flags & stop != 0)?;
        is(&self.stack[k]).then_some(k)
    }

    /// Err(at) when one more element would pass the depth limit.
    fn room(&self, at: usize) -> Result<(), usize> {
        (self.depth() + self.closed < self.max_depth)
            .then_some(())
            .ok_or(at)
    }

    /// A new element, from its tag or implied.
    fn element(&mut self, name: u128, tag: Option<&Tag>, flags: u32) -> Open<'a> {
        self.ids += 1;
        let (text, len) = tag.map_or(("", 0), |t| (&self.src[t.at..t.end], t.len));
        Open {
            name,
            tag: text,
            len,
            id: self.ids,
            serial: 0,
            flags,
        }
    }

    fn push(&mut self, at: usize, name: u128, tag: Option<&Tag>, flags: u32) -> Result<(), usize> {
        match flags & ROOT {
            0 => self.room(at)?,
            // html, head and body are left out of the depth, and always fit.
            _ => self.roots += 1,
        }
        if flags & MARKER != 0 {
            match self.list.last_mut() {
                Some(run) if run.name == 0 => run.serial += 1,
                _ => self.list.push(Listed {
                    serial: 1,
                    ..Listed::default()
                }),
            }
        }
        if flags & FOREIGN == 0 {
            self.open_p += usize::from(name == P);
            self.tables += usize::from(name == TABLE);
            self.templates += usize::from(name == TEMPLATE);
        }
        let e = self.element(name, tag, flags);
        self.sink.open(&e, &self.stack);
        self.stack.push(e);
        Ok(())
    }

    fn push_tag(&mut self, at: usize, tag: &Tag, flags: u32) -> Result<(), usize> {
        self.push(at, tag.name, Some(tag), flags)
    }

    /// An element that closes as it opens: void, self-closing in SVG, or in a table a form.
    fn void(&mut self, tag: &Tag, flags: u32) {
        let e = self.element(tag.name, Some(tag), flags);
        self.sink.open(&e, &self.stack);
        self.sink.close(&e);
    }

    /// A raw text element, which holds only text and so closes at its end tag; it must fit,
    /// though.
    fn open_raw(&mut self, at: usize, tag: &Tag, content: Content) -> Result<Content, usize> {
        self.room(at)?;
        self.raw = self.element(tag.name, Some(tag), html_flags(tag.name));
        self.sink.open(&self.raw, &self.stack);
        Ok(content)
    }

    fn listed(&self, serial: u32) -> Option<usize> {
        let is = |e: &Listed| e.name != 0 && e.serial & !ON_STACK == serial;
        self.list.iter().rposition(is)
    }

    /// Takes the top element off the stack; if listed, it stays listed.
    fn pop(&mut self) {
        if let Some(e) = self.stack.pop() {
            self.forget(&e);
            self.sink.close(&e);
        }
    }

    fn forget(&mut self, e: &Open) {
        if e.flags & FOREIGN == 0 {
            self.open_p -= usize::from(e.name == P);
            self.tables -= usize::from(e.name == TABLE);
            self.templates -= usize::from(e.name == TEMPLATE);
            self.roots -= usize::from(e.flags & ROOT != 0);
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
        while self.stack.len() > k {
            self.pop();
        }
    }

    /// Pops through `k` for the table rules: closing a cell or caption on the way clears the
    /// list of active formatting elements back to its marker.
    fn pop_through_table(&mut self, k: usize) {
        let cell = |e: &Open| e.is(TD) || e.is(TH) || e.is(CAPTION);
        let closes_cell = self.stack[k..].iter().any(cell);
        self.pop_through(k);
        if closes_cell {
            self.clear_to_marker();
        }
    }

    fn clear_to_marker(&mut self) {
        while let Some(last) = self.list.last_mut() {
            if last.name == 0 {
                last.serial -= 1;
                if last.serial == 0 {
                    self.list.pop();
                }
                return;
            }
            self.unlist(self.list.len() - 1);
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
        self.list.remove(j);
    }

    fn on_stack(&self, serial: u32) -> Option<usize> {
        self.stack.iter().rposition(|e| e.serial == serial)
    }

    /// The latest listed element named `name` after the last marker.
    fn listed_named(&self, name: u128) -> Option<usize> {
        (0..self.list.len())
            .rev()
            .take_while(|&j| self.list[j].name != 0)
            .find(|&j| self.list[j].name == name)
    }

    /// Removes the element at `k` from the stack (and from the list): from under other open
    /// elements, a node html5ever leaves where it is in the tree.
    fn remove(&mut self, k: usize) {
        if k + 1 != self.stack.len() {
            self.sink.inexact();
        }
        let e = self.stack[k];
        if let Some(j) = self.listed(e.serial).filter(|_| e.serial != 0) {
            self.unlist(j);
        }
        self.forget(&Open { serial: 0, ..e });
        self.stack.remove(k);
        self.sink.close(&e);
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

    /// html5ever reopens the listed elements closed since the last marker (or open one): copies
    /// the replay does not follow.
    fn reconstruct(&mut self, at: usize) -> Result<(), usize> {
        if !self.list.last().is_some_and(Listed::closed) {
            return Ok(());
        }
        let last_open = self.list.iter().rposition(|e| !e.closed());
        let first = last_open.map_or(0, |j| j + 1);
        self.sink.inexact();
        self.reopened += self.list.len() - first;
        if self.reopened > MAX_REOPENED {
            return Err(at);
        }
        for e in &mut self.list[first..] {
            e.serial |= ON_STACK;
            self.stack.push(Open {
                name: e.name,
                serial: e.serial & !ON_STACK,
                flags: FORMATTING,
                ..Open::default()
            });
            self.closed -= 1;
        }
        Ok(())
    }

    /// Opens a formatting element; like html5ever (the Noah's Ark clause) it lists at most
    /// three identical ones, so unclosed `<font>`s in every paragraph do not pile up.
    fn push_formatting(&mut self, at: usize, tag: &Tag, flags: u32) -> Result<(), usize> {
        self.reconstruct(at)?;
        self.room(at)?;
        // Byte for byte the same attributes, without the spaces around them or a self-closing
        // slash (html5ever also accepts other orders).
        let rest = tag.rest(self.src);
        let rest = &rest[..rest.len() - 1 - usize::from(tag.self_closing)];
        let attrs = rest.trim_matches(|c: char| c.is_ascii() && is_space(c as u8));
        let same = |e: &Listed| e.name == tag.name && e.attrs == attrs;
        let mut matches = (0..self.list.len())
            .rev()
            .take_while(|&j| self.list[j].name != 0)
            .filter(|&j| same(&self.list[j]));
        if let (Some(_), Some(_), Some(earliest)) = (matches.next(), matches.next(), matches.last())
        {
            self.unlist(earliest);
        }
        self.serials += 1;
        self.push_tag(at, tag, flags)?;
        self.top_mut().serial = self.serials;
        self.list.push(Listed {
            name: tag.name,
            attrs,
            serial: self.serials | ON_STACK,
        });
        Ok(())
    }

    /// html5ever's adoption agency, for `</name>` and a nested `<a>` or `<nobr>`.
    fn adoption(&mut self, name: u128) {
        if self.top_is(name) && self.top_mut().serial == 0 {
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

    /// The adoption agency's effect on the stack. Without a special element ("furthest block")
    /// above the formatting element at `k`, that element and whatever is open in it close.
    /// Otherwise html5ever moves nodes, and the replay estimates: for each block, up to eight,
    /// of the elements below it the three nearest stay if listed, the others go (out of the
    /// list too). Above the last block everything is closed, listed elements staying listed.
    /// After eight blocks the agency gives up, and the formatting element stays open just
    /// above the eighth.
    fn adopt(&mut self, k: usize) {
        let fe = self.stack[k];
        if !self.stack[k + 1..].iter().any(|e| e.flags & SPECIAL != 0) {
            self.pop_through(k + 1);
            self.stack.pop();
            self.sink.close(&fe);
            return self.drop_listed(fe.serial);
        }
        self.sink.inexact();
        let (mut read, mut write) = (k + 1, k);
        // The kept element nearest below a block is where the copy goes in the list.
        let mut bookmark = None;
        for _ in 0..8 {
            let Some(block) =
                (read..self.stack.len()).find(|&i| self.stack[i].flags & SPECIAL != 0)
            else {
                for e in self.stack.split_off(read) {
                    self.forget(&e);
                }
                self.stack.truncate(write);
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
            self.list.insert(at, copy);
        }
        let copy = Open {
            serial: self.serials,
            ..fe
        };
        self.stack.splice(write..read, [copy]);
    }

    fn drop_listed(&mut self, serial: u32) {
        if serial != 0 {
            if let Some(j) = self.listed(serial) {
                self.list.remove(j);
            }
        }
    }
}

mod rules;
