//! The tree builder's rules, as far as the streaming pass replays them: what each start and
//! end tag does to the stack of open elements and the list of active formatting elements, by
//! insertion mode, and where html5ever would do more than the pass can follow.

use std::borrow::Cow;

use super::tokens::{attr, Tag};
use super::{Bail, Content, Listed, Mode, Open, Page, Step, MARKER};

pub(super) fn is_special(name: &str) -> bool {
    heading(name)
        || matches!(
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

pub(super) fn default_scope(name: &str) -> bool {
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

pub(super) fn button_scope(name: &str) -> bool {
    default_scope(name) || name == "button"
}

pub(super) fn list_scope(name: &str) -> bool {
    default_scope(name) || name == "ol" || name == "ul"
}

pub(super) fn table_scope(name: &str) -> bool {
    matches!(name, "html" | "table" | "template")
}

pub(super) fn implied_end(name: &str) -> bool {
    matches!(
        name,
        "dd" | "dt" | "li" | "option" | "optgroup" | "p" | "rb" | "rp" | "rt" | "rtc"
    )
}

pub(super) fn heading(name: &str) -> bool {
    matches!(name, "h1" | "h2" | "h3" | "h4" | "h5" | "h6")
}

/// The formatting element of that name, as a static name for the list.
pub(super) fn formatting(name: &str) -> Option<&'static str> {
    const NAMES: [&str; 14] = [
        "a", "b", "big", "code", "em", "font", "i", "nobr", "s", "small", "strike", "strong", "tt",
        "u",
    ];
    NAMES.into_iter().find(|&n| n == name)
}

/// Tags the "in head" rules take, wherever they turn up.
pub(super) fn head_tag(name: &str) -> bool {
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

pub(super) fn table_part(name: &str) -> bool {
    matches!(name, "table" | "tbody" | "tfoot" | "thead" | "tr")
}

impl<'a> Page<'a, '_> {
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
        self.insert(tag.name.clone(), tag.rest, false);
        let name = formatting(&tag.name).ok_or_else(Bail::here)?;
        self.list.push(Listed {
            id: self.ids,
            name,
            open: true,
        });
        Ok(())
    }

    /// The start tag `tag`; returns how its content is tokenized.
    pub(super) fn start(&mut self, tag: &Tag<'a>) -> Step<Content> {
        let name: &str = &tag.name;
        if self.in_svg() {
            self.svg_start(tag)?;
            return Ok(Content::Markup);
        }
        loop {
            match self.mode {
                Mode::Initial => self.before_body_step(),
                Mode::BeforeHtml if name == "html" => {
                    self.insert(tag.name.clone(), tag.rest, false);
                    self.mode = Mode::BeforeHead;
                    return Ok(Content::Markup);
                }
                Mode::BeforeHead if name == "head" => {
                    self.insert(tag.name.clone(), tag.rest, false);
                    self.head = self.current().cloned();
                    self.mode = Mode::InHead;
                    return Ok(Content::Markup);
                }
                Mode::BeforeHtml | Mode::BeforeHead if name != "html" => self.before_body_step(),
                Mode::InHead if name == "head" => return Ok(Content::Markup),
                Mode::InHead if head_tag(name) || name == "noscript" => {
                    return self.head_start(tag)
                }
                Mode::InHead if name != "html" => self.before_body_step(),
                Mode::AfterHead if name == "body" => {
                    self.open_body(tag.name.clone(), tag.rest);
                    return Ok(Content::Markup);
                }
                Mode::AfterHead if name == "head" => return Ok(Content::Markup),
                Mode::AfterHead if head_tag(name) => {
                    // Put back in the head, which is before the body and so in the same order.
                    self.reopen_head()?;
                    let content = self.head_start(tag)?;
                    if content == Content::Markup {
                        self.pop();
                    }
                    return Ok(content);
                }
                Mode::AfterHead if !matches!(name, "html" | "frameset") => self.before_body_step(),
                Mode::InBody => return self.body_start(tag),
                Mode::InTable => return self.table_start(tag),
                Mode::InTableBody => match name {
                    "tr" => {
                        self.clear_to(|n| {
                            matches!(n, "tbody" | "tfoot" | "thead" | "template" | "html")
                        });
                        self.insert(tag.name.clone(), tag.rest, false);
                        self.mode = Mode::InRow;
                        return Ok(Content::Markup);
                    }
                    "th" | "td" => {
                        self.clear_to(|n| {
                            matches!(n, "tbody" | "tfoot" | "thead" | "template" | "html")
                        });
                        self.insert(Cow::Borrowed("tr"), "", false);
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
                        self.insert(tag.name.clone(), tag.rest, false);
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

    /// The "in head" rules for the tags they take.
    fn head_start(&mut self, tag: &Tag<'a>) -> Step<Content> {
        let content = match &*tag.name {
            "base" | "basefont" | "bgsound" | "link" | "meta" => {
                self.insert(tag.name.clone(), tag.rest, true);
                return Ok(Content::Markup);
            }
            "title" => Content::Rcdata,
            "noframes" | "style" | "noscript" => Content::Rawtext,
            "script" => Content::Script,
            _ => return Err(Bail::here()),
        };
        self.insert(tag.name.clone(), tag.rest, false);
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
                self.insert(tag.name.clone(), tag.rest, false);
            }
            "h1" | "h2" | "h3" | "h4" | "h5" | "h6" => {
                self.close_p();
                if self.current().is_some_and(|e| heading(&e.name)) {
                    self.pop();
                }
                self.insert(tag.name.clone(), tag.rest, false);
            }
            "pre" | "listing" => {
                self.close_p();
                self.insert(tag.name.clone(), tag.rest, false);
                self.ignore_lf = true;
            }
            "form" => {
                if self.form.is_none() {
                    self.close_p();
                    self.insert(tag.name.clone(), tag.rest, false);
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
                self.insert(tag.name.clone(), tag.rest, false);
            }
            "button" => {
                if let Some(k) = self.in_scope(|n| n == "button", default_scope) {
                    self.generate_implied_end("");
                    self.pop_to(k);
                }
                self.reconstruct()?;
                self.insert(tag.name.clone(), tag.rest, false);
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
                self.insert(tag.name.clone(), tag.rest, false);
                self.mode = Mode::InTable;
            }
            "area" | "br" | "embed" | "img" | "keygen" | "wbr" | "input" => {
                self.reconstruct()?;
                self.insert(tag.name.clone(), tag.rest, true);
            }
            "param" | "source" | "track" => self.insert(tag.name.clone(), tag.rest, true),
            "hr" => {
                self.close_p();
                self.insert(tag.name.clone(), tag.rest, true);
            }
            "textarea" => {
                self.insert(tag.name.clone(), tag.rest, false);
                self.ignore_lf = true;
                return Ok(Content::Rcdata);
            }
            "xmp" => {
                self.close_p();
                self.reconstruct()?;
                self.insert(tag.name.clone(), tag.rest, false);
                return Ok(Content::Rawtext);
            }
            "iframe" | "noembed" | "noscript" => {
                self.insert(tag.name.clone(), tag.rest, false);
                return Ok(Content::Rawtext);
            }
            "option" | "optgroup" => {
                if self.current_is("option") {
                    self.pop();
                }
                self.reconstruct()?;
                self.insert(tag.name.clone(), tag.rest, false);
            }
            "rb" | "rtc" | "rp" | "rt" => {
                if self.in_scope(|n| n == "ruby", default_scope).is_some() {
                    self.generate_implied_end(if matches!(name, "rp" | "rt") {
                        "rtc"
                    } else {
                        ""
                    });
                }
                self.insert(tag.name.clone(), tag.rest, false);
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
                self.insert(tag.name.clone(), tag.rest, false);
            }
        }
        markup
    }

    pub(super) fn in_svg(&self) -> bool {
        self.current().is_some_and(|e| e.svg)
    }

    /// An element inside SVG (or `<svg>` itself). Icons are common; what would make the
    /// element count for the record, or leave SVG again, goes to the tree.
    fn svg_start(&mut self, tag: &Tag<'a>) -> Step {
        let name: &str = &tag.name;
        let breakout = heading(name)
            || matches!(
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
            || self.select.may_match(&Open {
                name: tag.name.clone(),
                rest: tag.rest,
                id: 0,
                formatting: false,
                svg: true,
            })
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
                self.insert(tag.name.clone(), tag.rest, false);
                self.mode = Mode::InTableBody;
                Ok(Content::Markup)
            }
            "td" | "th" | "tr" => {
                self.clear_to(table_scope);
                self.insert(Cow::Borrowed("tbody"), "", false);
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

    pub(super) fn end(&mut self, name: &str) -> Step {
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
            // The HTML rules would run with SVG elements open, and the pass tells elements
            // apart by name alone: an SVG `td` or `textarea` would pass for a scope boundary
            // or a special element, which html5ever knows it is not.
            return Err(Bail::here());
        }
        loop {
            match self.mode {
                Mode::Initial => self.before_body_step(),
                Mode::BeforeHtml | Mode::BeforeHead => {
                    if !matches!(name, "head" | "body" | "html" | "br") {
                        return Ok(());
                    }
                    self.before_body_step();
                }
                Mode::InHead => match name {
                    "head" => {
                        self.pop();
                        self.mode = Mode::AfterHead;
                        return Ok(());
                    }
                    "body" | "html" | "br" => self.before_body_step(),
                    "template" => return Err(Bail::here()),
                    _ => return Ok(()),
                },
                Mode::AfterHead => match name {
                    "body" | "html" | "br" => self.before_body_step(),
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
}
