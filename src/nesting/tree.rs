//! Replays html5ever's tree builder over the tags: the stack of open elements, the list of
//! active formatting elements, and the rules that change them.

mod rules;

use super::*;
use crate::html::lexer::{Content, Lexer, Tag, Token};

/// An input position in an open element; u32::MAX (only past 4 GiB) never compares equal.
fn pos(at: usize) -> u32 {
    u32::try_from(at).unwrap_or(u32::MAX)
}

/// One entry of the replayed stack of open elements.
#[derive(Clone, Copy, Default)]
struct Open {
    name: u128,
    /// The start tag's name in the input, for LONG names.
    at: u32,
    len: u32,
    /// Which element this is, for its entry in the list of active formatting elements or for
    /// html5ever's form element pointer; 0 for others.
    serial: u32,
    flags: u32,
}

impl Open {
    fn is(&self, name: u128) -> bool {
        self.name == name && self.flags & FOREIGN == 0
    }
}

/// One entry of html5ever's list of active formatting elements: an element (with where its
/// attributes are, to compare them) or a run of markers.
#[derive(Clone, Copy, Default)]
struct Listed {
    /// 0 for markers.
    name: u128,
    attrs: u32,
    attrs_end: u32,
    /// The serial, with ON_STACK while the element is open; for markers, how many.
    serial: u32,
}

/// Serials stay far below this: at most two per token, and tokens are capped at MAX_TOKENS.
const ON_STACK: u32 = 1 << 31;

pub(super) struct Tree<'a> {
    html: &'a [u8],
    stack: [Open; MAX_DEPTH],
    len: usize,
    /// Formatting elements that end tags of other elements closed stay listed, and html5ever
    /// recreates them before the next text or inline tag; markers (td, object, template...)
    /// fence off the outer ones, and only explicit closes of those elements clear them.
    list: [Listed; 2 * MAX_DEPTH + 1],
    list_len: usize,
    /// Listed elements not open: they count towards the depth they will be recreated at.
    closed: usize,
    serials: u32,
    open_p: usize,
    templates: usize,
    /// html5ever's form element pointer (a serial), which only `</form>` clears.
    form: u32,
    /// Before the first token that decides quirks mode (a DOCTYPE or anything else).
    initial: bool,
    /// Quirks mode, in which `<table>` does not close a `<p>`.
    quirks: bool,
    /// Past the head: before it html5ever ignores most end tags, and whitespace.
    body: bool,
    reopened: usize,
    tokens: usize,
    walk: usize,
    max_depth: usize,
}

impl<'a> Tree<'a> {
    pub(super) fn new(html: &'a [u8], max_depth: usize) -> Tree<'a> {
        Tree {
            html,
            stack: [Open::default(); MAX_DEPTH],
            len: 0,
            list: [Listed::default(); 2 * MAX_DEPTH + 1],
            list_len: 0,
            closed: 0,
            serials: 0,
            open_p: 0,
            templates: 0,
            form: 0,
            initial: true,
            quirks: false,
            body: false,
            reopened: 0,
            tokens: 0,
            walk: 0,
            max_depth,
        }
    }

    /// Replays the page; Err is where it must be cut.
    pub(super) fn scan(&mut self) -> Result<(), usize> {
        let b = self.html;
        let mut lexer = Lexer::new(b);
        while let Some((lt, token)) = lexer.next(|| self.top(FOREIGN)) {
            if let Token::Text(from, to) = token {
                self.text(from, to)?;
                continue;
            }
            self.tokens += 1;
            self.walk += self.len + self.closed;
            if self.tokens > MAX_TOKENS || self.walk > MAX_WALK {
                return Err(lt);
            }
            if self.initial {
                self.first_token(lt);
            }
            match token {
                Token::Start(tag) => {
                    if tag.attrs > MAX_ATTRS {
                        return Err(lt);
                    }
                    let content = self.start_tag(lt, &tag)?;
                    if content == Content::Markup {
                        continue;
                    }
                    // The end tag of a raw text element just closes it.
                    match lexer.raw(&tag, content).1 {
                        Some((end, tag)) if tag.attrs > MAX_ATTRS => return Err(end),
                        Some(_) => {}
                        None => return Ok(()),
                    }
                }
                Token::End(tag) => {
                    if tag.attrs > MAX_ATTRS {
                        return Err(lt);
                    }
                    self.end_tag(lt, &tag)?;
                }
                Token::Stray(from, to) if to - from == 1 => self.text(from, to)?,
                Token::Stray(..) => return Ok(()),
                _ => {}
            }
        }
        Ok(())
    }

    /// Whether the document starts in quirks mode: without a DOCTYPE, or with one not named
    /// html. Some public identifiers also mean quirks, but there closing the `<p>` is the
    /// error that stays bounded.
    fn first_token(&mut self, lt: usize) {
        let b = self.html;
        let doctype = b
            .get(lt + 2..lt + 9)
            .is_some_and(|d| d.eq_ignore_ascii_case(b"doctype"));
        if b[lt + 1..].starts_with(b"!") && doctype {
            let rest = &b[lt + 9..];
            let name = rest
                .iter()
                .position(|&c| !is_space(c))
                .map_or(&rest[..0], |s| {
                    let len = rest[s..].iter().position(|&c| is_space(c) || c == b'>');
                    &rest[s..s + len.unwrap_or(rest.len() - s)]
                });
            self.decide_quirks(!name.eq_ignore_ascii_case(b"html"));
        } else if !matches!(b.get(lt + 1), Some(b'!' | b'?')) && !b[lt..].starts_with(b"</>") {
            // Comments and nothing at all leave it undecided.
            self.decide_quirks(true);
        }
    }

    fn decide_quirks(&mut self, quirks: bool) {
        if std::mem::take(&mut self.initial) {
            self.quirks = quirks;
        }
    }

    fn top(&self, flag: u32) -> bool {
        self.len > 0 && self.stack[self.len - 1].flags & flag != 0
    }

    fn top_is(&self, name: u128) -> bool {
        self.len > 0 && self.stack[self.len - 1].is(name)
    }

    fn in_foreign(&self) -> bool {
        self.top(FOREIGN) && !self.top(INTEGRATION)
    }

    fn text(&mut self, from: usize, to: usize) -> Result<(), usize> {
        let reopens = self.list[..self.list_len]
            .last()
            .is_some_and(|e| e.name != 0 && e.serial & ON_STACK == 0);
        // Text matters only if it reopens elements, decides quirks, starts the body or closes a
        // column group.
        let head = !self.body && self.templates == 0;
        if !reopens && !self.initial && !head && !self.top_is(COLGROUP) {
            return Ok(());
        }
        // html5ever drops a byte order mark at the very start.
        let from_text = if from == 0 && self.html.starts_with("\u{feff}".as_bytes()) {
            3
        } else {
            from
        };
        if self.html[from_text..to].iter().all(|&c| is_space(c)) {
            // In the head and straight inside table rows and groups, whitespace reopens nothing.
            let outer = [TABLE, TBODY, TFOOT, THEAD, TR, COLGROUP];
            if head || (outer.iter().any(|&n| self.top_is(n)) && self.in_table_mode()) {
                return Ok(());
            }
        } else {
            self.decide_quirks(true);
            self.body |= head;
            if self.top_is(COLGROUP) {
                self.pop();
            }
            // html5ever drops NULs (outside SVG and MathML): they reopen nothing.
            if self.html[from_text..to].iter().all(|&c| c == 0) {
                return Ok(());
            }
        }
        if self.in_foreign() || self.in_template_columns() {
            return Ok(());
        }
        self.reconstruct(from)
    }

    fn bytes(&self, from: u32, to: u32) -> Option<&[u8]> {
        if from == u32::MAX || to == u32::MAX {
            return None;
        }
        self.html.get(from as usize..to as usize)
    }

    fn same_name(&self, e: &Open, tag: &Tag) -> bool {
        e.name == tag.name
            && (tag.name != LONG || {
                let name = self.bytes(e.at, e.at.saturating_add(e.len));
                name.is_some_and(|n| n.eq_ignore_ascii_case(&self.html[tag.at..tag.at + tag.len]))
            })
    }

    /// The nearest open element matching `is`, unless an element with one of the `stop` flags
    /// comes first (html5ever's "has an element in scope").
    fn find(&self, stop: u32, is: impl Fn(&Open) -> bool) -> Option<usize> {
        for k in (0..self.len).rev() {
            let e = &self.stack[k];
            if is(e) {
                return Some(k);
            }
            if e.flags & stop != 0 {
                return None;
            }
        }
        None
    }

    fn room(&self, at: usize) -> Result<(), usize> {
        if self.len + self.closed >= self.max_depth {
            return Err(at);
        }
        Ok(())
    }

    fn push(&mut self, at: usize, name: u128, tag: Option<&Tag>, flags: u32) -> Result<(), usize> {
        self.room(at)?;
        if flags & MARKER != 0 {
            match self.list[..self.list_len].last_mut() {
                Some(run) if run.name == 0 => run.serial += 1,
                _ => self.append(Listed {
                    serial: 1,
                    ..Listed::default()
                }),
            }
        }
        if name == P && flags & FOREIGN == 0 {
            self.open_p += 1;
        }
        if name == TEMPLATE && flags & FOREIGN == 0 {
            self.templates += 1;
        }
        let (at, len) = tag.map_or((0, 0), |t| (pos(t.at), pos(t.len)));
        self.stack[self.len] = Open {
            name,
            at,
            len,
            serial: 0,
            flags,
        };
        self.len += 1;
        Ok(())
    }

    fn push_tag(&mut self, at: usize, tag: &Tag, flags: u32) -> Result<(), usize> {
        self.push(at, tag.name, Some(tag), flags)
    }

    fn append(&mut self, entry: Listed) {
        self.list[self.list_len] = entry;
        self.list_len += 1;
    }

    fn listed(&self, serial: u32) -> Option<usize> {
        (0..self.list_len)
            .rev()
            .find(|&j| self.list[j].name != 0 && self.list[j].serial & !ON_STACK == serial)
    }

    /// Takes the top element off the stack; if listed, it stays listed.
    fn pop(&mut self) {
        self.len -= 1;
        let e = self.stack[self.len];
        self.forget(&e);
    }

    fn forget(&mut self, e: &Open) {
        if e.is(P) {
            self.open_p -= 1;
        }
        if e.is(TEMPLATE) {
            self.templates -= 1;
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
        while self.len > k {
            self.pop();
        }
    }

    /// Pops through `k` for the table rules: closing a cell or caption on the way clears the
    /// list of active formatting elements back to its marker.
    fn pop_through_table(&mut self, k: usize) {
        let cell = |e: &Open| e.is(TD) || e.is(TH) || e.is(CAPTION);
        let closes_cell = self.stack[k..self.len].iter().any(cell);
        self.pop_through(k);
        if closes_cell {
            self.clear_to_marker();
        }
    }

    fn clear_to_marker(&mut self) {
        while self.list_len > 0 {
            let last = &mut self.list[self.list_len - 1];
            if last.name == 0 {
                last.serial -= 1;
                if last.serial == 0 {
                    self.list_len -= 1;
                }
                return;
            }
            self.unlist(self.list_len - 1);
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
        self.list.copy_within(j + 1..self.list_len, j);
        self.list_len -= 1;
    }

    fn on_stack(&self, serial: u32) -> Option<usize> {
        (0..self.len)
            .rev()
            .find(|&k| self.stack[k].serial == serial)
    }

    /// The latest listed element named `name` after the last marker.
    fn listed_named(&self, name: u128) -> Option<usize> {
        (0..self.list_len)
            .rev()
            .take_while(|&j| self.list[j].name != 0)
            .find(|&j| self.list[j].name == name)
    }

    /// Removes the element at `k` from the stack (and from the list).
    fn remove(&mut self, k: usize) {
        let e = self.stack[k];
        if e.serial != 0 {
            self.stack[k].serial = 0;
            if let Some(j) = self.listed(e.serial) {
                self.unlist(j);
            }
        }
        self.forget(&Open { serial: 0, ..e });
        self.stack.copy_within(k + 1..self.len, k);
        self.len -= 1;
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

    /// html5ever reopens the listed elements closed since the last marker (or open one).
    fn reconstruct(&mut self, at: usize) -> Result<(), usize> {
        let closed = |e: &Listed| e.name != 0 && e.serial & ON_STACK == 0;
        let mut first = self.list_len;
        while first > 0 && closed(&self.list[first - 1]) {
            first -= 1;
        }
        if first == self.list_len {
            return Ok(());
        }
        self.reopened += self.list_len - first;
        if self.reopened > MAX_REOPENED {
            return Err(at);
        }
        for j in first..self.list_len {
            let e = &mut self.list[j];
            e.serial |= ON_STACK;
            self.stack[self.len] = Open {
                name: e.name,
                at: 0,
                len: 0,
                serial: e.serial & !ON_STACK,
                flags: FORMATTING,
            };
            self.len += 1;
            self.closed -= 1;
        }
        Ok(())
    }

    /// Opens a formatting element; like html5ever (the Noah's Ark clause) it lists at most
    /// three identical ones, so unclosed `<font>`s in every paragraph do not pile up.
    fn push_formatting(&mut self, at: usize, tag: &Tag) -> Result<(), usize> {
        self.reconstruct(at)?;
        self.room(at)?;
        // Byte for byte the same attributes (html5ever also accepts other orders).
        let (from, to) = tag.attr_span(self.html);
        let attrs = &self.html[from..to];
        let same =
            |e: &Listed| e.name == tag.name && self.bytes(e.attrs, e.attrs_end) == Some(attrs);
        let mut matches = (0..self.list_len)
            .rev()
            .take_while(|&j| self.list[j].name != 0)
            .filter(|&j| same(&self.list[j]));
        if let (Some(_), Some(_), Some(earliest)) = (matches.next(), matches.next(), matches.last())
        {
            self.unlist(earliest);
        }
        self.serials += 1;
        self.push_tag(at, tag, FORMATTING)?;
        self.stack[self.len - 1].serial = self.serials;
        self.append(Listed {
            name: tag.name,
            attrs: pos(from),
            attrs_end: pos(to),
            serial: self.serials | ON_STACK,
        });
        Ok(())
    }

    /// html5ever's adoption agency, for `</name>` and a nested `<a>` or `<nobr>`.
    fn adoption(&mut self, name: u128) {
        if self.top_is(name) && self.stack[self.len - 1].serial == 0 {
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

    /// The adoption agency's effect on the stack. For each special element ("furthest block")
    /// above the formatting element at `k`, up to eight: of the elements below it, the three
    /// nearest stay if listed, the others go (out of the list too). Above the last block
    /// everything is closed, listed elements staying listed. After eight blocks the agency
    /// gives up, and the formatting element stays open just above the eighth.
    fn adopt(&mut self, k: usize) {
        let fe = self.stack[k];
        let (mut read, mut write) = (k + 1, k);
        // The kept element nearest below a block is where the copy goes in the list.
        let mut bookmark = None;
        for _ in 0..8 {
            let Some(block) = (read..self.len).find(|&i| self.stack[i].flags & SPECIAL != 0) else {
                for i in read..self.len {
                    let e = self.stack[i];
                    self.forget(&e);
                }
                self.len = write;
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
            self.list.copy_within(at..self.list_len, at + 1);
            self.list[at] = copy;
            self.list_len += 1;
        }
        self.stack.copy_within(read..self.len, write + 1);
        self.stack[write] = Open {
            serial: self.serials,
            ..fe
        };
        self.len = write + 1 + self.len - read;
    }

    fn drop_listed(&mut self, serial: u32) {
        if serial != 0 {
            if let Some(j) = self.listed(serial) {
                self.list.copy_within(j + 1..self.list_len, j);
                self.list_len -= 1;
            }
        }
    }
}
