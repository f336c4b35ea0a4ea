//! What each start and end tag does to the replayed tree, by insertion mode.

use super::{Open, Phase, Sink, Tree, ON_STACK};
use crate::parse::html::lexer::{attr, Content, Tag};
use crate::parse::html::tags::*;

impl<'a, S: Sink<'a>> Tree<'a, S> {
    /// One step of the structure a page may leave out before its body: quirks mode without a
    /// doctype, then html, head and body elements, implied or from `tag` with its attributes.
    fn step(&mut self, tag: Option<&Tag>) {
        self.phase = match self.phase {
            Phase::Initial => {
                self.quirks = true;
                Phase::BeforeHtml
            }
            Phase::InHead => {
                self.pop();
                Phase::AfterHead
            }
            phase => {
                let (name, next) = match phase {
                    Phase::BeforeHtml => (HTML, Phase::BeforeHead),
                    Phase::BeforeHead => (HEAD, Phase::InHead),
                    _ => (BODY, Phase::Body),
                };
                let _fits = self.push(0, name, tag, html_flags(name));
                if name == HEAD {
                    self.head = *self.top_mut();
                }
                next
            }
        };
    }

    /// For a token that belongs in the body: every step up to it.
    pub(super) fn reach_body(&mut self) {
        while self.phase < Phase::Body {
            self.step(None);
        }
    }

    /// The innermost table-related element and its role: TABLE, TBODY (any row group), TR,
    /// TD (or TH), CAPTION or COLGROUP; a template plays the part its first tag chose, or 0.
    fn table_context(&self) -> Option<(usize, u128)> {
        self.stack.iter().enumerate().rev().find_map(|(k, e)| {
            let role = match e.name {
                _ if e.flags & FOREIGN != 0 => return None,
                TABLE | TR | TD | TH | CAPTION | COLGROUP => e.name,
                TBODY | THEAD | TFOOT => TBODY,
                TEMPLATE => match e.flags & TEMPLATE_MODE {
                    IN_TABLE => TABLE,
                    IN_TABLE_BODY => TBODY,
                    IN_ROW => TR,
                    IN_COLUMN_GROUP => COLGROUP,
                    _ => 0,
                },
                _ => return None,
            };
            Some((k, role))
        })
    }

    /// Whether html5ever is in one of its table insertion modes (not in a cell or caption).
    pub(super) fn in_table_mode(&self) -> bool {
        self.table_context()
            .is_some_and(|(_, role)| [TABLE, TBODY, TR, COLGROUP].contains(&role))
    }

    /// A template whose content is a column group takes nothing but templates and columns.
    pub(super) fn in_template_columns(&self) -> bool {
        let columns = |e: &Open| e.is(TEMPLATE) && e.flags & TEMPLATE_MODE == IN_COLUMN_GROUP;
        self.stack.last().is_some_and(columns)
    }

    /// The start tag `tag`; returns how its content is tokenized.
    pub(super) fn start_tag(&mut self, at: usize, tag: &Tag) -> Result<Content, usize> {
        // MathML text integration points take HTML, except for these two.
        let mathml_only = self.top(MATHML) && matches!(tag.name, MGLYPH | MALIGNMARK);
        if self.in_foreign() || mathml_only {
            let breakout = match tag.name {
                FONT => ["color", "face", "size"]
                    .iter()
                    .any(|n| attr(tag.rest(self.src), n).is_some()),
                name => html_flags(name) & BREAKOUT != 0,
            };
            if !breakout {
                // An <svg> straight inside MathML's annotation-xml is SVG again.
                let annotation = self.stack.last().is_some_and(|e| e.name == ANNOTATION_XML);
                let mathml = self.top(MATHML) && !(annotation && tag.name == SVG);
                self.foreign(at, tag, foreign_flags(tag.name, mathml))?;
                return Ok(Content::Markup);
            }
            self.sink.inexact();
            while self.in_foreign() {
                self.pop();
            }
        }
        // Inside a template, whatever the insertion mode, the body rules apply.
        while self.templates == 0 && self.phase < Phase::Body {
            let head_tag = html_flags(tag.name) & IN_HEAD != 0;
            match (self.phase, tag.name) {
                (Phase::BeforeHtml, HTML)
                | (Phase::BeforeHead, HEAD)
                | (Phase::AfterHead, BODY) => {
                    self.step(Some(tag));
                    return Ok(Content::Markup);
                }
                (Phase::BeforeHead | Phase::InHead | Phase::AfterHead, HTML) => {
                    // html5ever merges its attributes into the root element.
                    self.sink.inexact();
                    return Ok(Content::Markup);
                }
                (Phase::InHead | Phase::AfterHead, HEAD) => return Ok(Content::Markup),
                (Phase::InHead, name) if head_tag || name == NOSCRIPT => break,
                (Phase::AfterHead, _) if head_tag => {
                    // Put back in the head, which is before the body and so in the same order.
                    self.stack.push(self.head);
                    self.roots += 1;
                    let content = self.html_start(at, tag);
                    if let Some(k) = self.stack.iter().rposition(|e| e.id == self.head.id) {
                        self.stack.remove(k);
                        self.roots -= 1;
                    }
                    return content;
                }
                (phase, name) => {
                    // A frameset would replace the body.
                    if phase == Phase::AfterHead && name == FRAMESET {
                        self.sink.inexact();
                    }
                    self.step(None);
                }
            }
        }
        self.html_start(at, tag)
    }

    /// An SVG or MathML element, which closes itself with `/>`.
    fn foreign(&mut self, at: usize, tag: &Tag, flags: u32) -> Result<(), usize> {
        if flags & INTEGRATION != 0 {
            // HTML rules again, for elements the replay tells apart by name alone.
            self.sink.inexact();
        }
        match tag.self_closing {
            true => self.void(tag, flags),
            false => self.push_tag(at, tag, flags)?,
        }
        Ok(())
    }

    fn html_start(&mut self, at: usize, tag: &Tag) -> Result<Content, usize> {
        let name = tag.name;
        if self.in_template_columns() && name != TEMPLATE {
            return Ok(Content::Markup);
        }
        // In a column group anything else closes the group first.
        if self.top_is(COLGROUP) && name != COL && name != TEMPLATE {
            self.pop();
        }
        let flags = html_flags(name);
        if flags & ROUGH != 0 {
            self.sink.inexact();
        }
        if self.top_is(TEMPLATE) && !self.top(TEMPLATE_MODE) && flags & IN_HEAD == 0 {
            self.top_mut().flags |= match name {
                CAPTION | COLGROUP | TBODY | THEAD | TFOOT => IN_TABLE,
                TR => IN_TABLE_BODY,
                TD | TH => IN_ROW,
                COL => IN_COLUMN_GROUP,
                _ => IN_BODY,
            };
        }
        let parts = matches!(name, TBODY | THEAD | TFOOT | TR | TD | TH | STYLE | SCRIPT);
        if S::FOLLOWS && !parts && self.tables + self.templates > 0 && self.in_table_mode() {
            // Foster-parented out of the table, or a caption, a column or another table.
            self.sink.inexact();
        }
        match name {
            HTML | BODY => {
                // html5ever merges their attributes into the root or body element.
                self.sink.inexact();
                return Ok(Content::Markup);
            }
            HEAD | FRAME => return Ok(Content::Markup),
            // Counted though html5ever mostly ignores it: in a frameset document it nests.
            FRAMESET => {}
            CAPTION | COLGROUP | COL | TBODY | THEAD | TFOOT | TR | TD | TH => {
                self.table_part(at, tag)?;
                return Ok(Content::Markup);
            }
            ADDRESS | ARTICLE | ASIDE | BLOCKQUOTE | CENTER | DETAILS | DIALOG | DIR | DIV | DL
            | FIELDSET | FIGCAPTION | FIGURE | FOOTER | HEADER | HGROUP | MAIN | MENU | NAV
            | OL | P | SEARCH | SECTION | SUMMARY | UL => self.close_p(),
            PRE | LISTING => {
                self.close_p();
                self.ignore_lf = true;
            }
            H1 | H2 | H3 | H4 | H5 | H6 => {
                self.close_p();
                if self.top(HEADING) {
                    self.pop();
                }
            }
            LI | DD | DT => {
                // The nearest item of its kind closes, unless a special element other than
                // address, div or p comes first.
                let item = |e: &Open| e.is(name) || (name != LI && (e.is(DD) || e.is(DT)));
                let special = |e: &Open| e.flags & SPECIAL != 0 && !e.is(ADDRESS) && !e.is(DIV);
                let k = self
                    .stack
                    .iter()
                    .rposition(|e| item(e) || (special(e) && !e.is(P)));
                if let Some(k) = k.filter(|&k| item(&self.stack[k])) {
                    self.pop_through(k);
                }
                self.close_p();
            }
            FORM => {
                if self.form != 0 && self.templates == 0 {
                    return Ok(Content::Markup);
                }
                self.serials += 1;
                if self.templates == 0 {
                    self.form = self.serials;
                }
                // In a table the form is inserted and closed at once.
                if self.in_table_mode() {
                    self.void(tag, flags);
                    return Ok(Content::Markup);
                }
                self.close_p();
                self.push_tag(at, tag, flags)?;
                self.top_mut().serial = self.serials;
                return Ok(Content::Markup);
            }
            PLAINTEXT => {
                self.close_p();
                self.push_tag(at, tag, flags)?;
                return Ok(Content::Plaintext);
            }
            TABLE => {
                // In a table it first closes that one, if it can; it is the body rules that
                // close a paragraph.
                while self.in_table_mode() {
                    match self.find(TABLE_SCOPE, |e| e.is(TABLE)) {
                        Some(k) => self.pop_through_table(k),
                        None => return Ok(Content::Markup),
                    }
                }
                if !self.quirks {
                    self.close_p();
                }
            }
            BUTTON => {
                if let Some(k) = self.find(SCOPE, |e| e.is(BUTTON)) {
                    self.pop_through(k);
                }
                self.reconstruct(at)?;
            }
            A => {
                // An open <a> is closed first, by the adoption agency if it can be, else alone.
                if let Some(j) = self.listed_named(A) {
                    let serial = self.list[j].serial & !ON_STACK;
                    self.adoption(A);
                    if let Some(k) = self.on_stack(serial) {
                        self.sink.inexact();
                        self.remove(k);
                    }
                    if let Some(j) = self.listed(serial) {
                        self.sink.inexact();
                        self.unlist(j);
                    }
                }
            }
            NOBR => {
                self.reconstruct(at)?;
                if self.find(SCOPE, |e| e.is(NOBR)).is_some() {
                    self.sink.inexact();
                    self.adoption(NOBR);
                }
            }
            _ if flags & FORMATTING != 0 => {}
            SELECT => {
                if let Some(k) = self.find(SCOPE, |e| e.is(SELECT)) {
                    self.pop_through(k);
                    return Ok(Content::Markup);
                }
                self.reconstruct(at)?;
            }
            INPUT => {
                if let Some(k) = self.find(SCOPE, |e| e.is(SELECT)) {
                    self.pop_through(k);
                }
                self.reconstruct(at)?;
            }
            HR => {
                self.close_p();
                if self.find(SCOPE, |e| e.is(SELECT)).is_some() {
                    self.generate_implied_end_tags(0);
                }
            }
            OPTION | OPTGROUP => {
                if self.find(SCOPE, |e| e.is(SELECT)).is_some() {
                    let except = if name == OPTION { OPTGROUP } else { 0 };
                    self.generate_implied_end_tags(except);
                } else if self.top_is(OPTION) {
                    self.pop();
                }
                self.reconstruct(at)?;
            }
            RB | RTC | RP | RT if self.find(SCOPE, |e| e.is(RUBY)).is_some() => {
                let except = if name == RP || name == RT { RTC } else { 0 };
                self.generate_implied_end_tags(except);
            }
            RB | RTC | RP | RT => {}
            AREA | BR | EMBED | IMG | KEYGEN | WBR | IMAGE => self.reconstruct(at)?,
            PARAM | SOURCE | TRACK | BASE | BASEFONT | BGSOUND | LINK | META => {}
            SCRIPT => return self.open_raw(at, tag, Content::Script),
            XMP => {
                self.close_p();
                self.reconstruct(at)?;
                return self.open_raw(at, tag, Content::RawText);
            }
            TEXTAREA => {
                self.ignore_lf = true;
                return self.open_raw(at, tag, Content::RawText);
            }
            STYLE | TITLE | IFRAME | NOEMBED | NOFRAMES | NOSCRIPT => {
                return self.open_raw(at, tag, Content::RawText)
            }
            MATH | SVG => {
                self.reconstruct(at)?;
                self.foreign(at, tag, foreign_flags(name, name == MATH))?;
                return Ok(Content::Markup);
            }
            TEMPLATE => {}
            // Everything else but block-level elements first recreates the formatting.
            _ if flags & SPECIAL == 0 || flags & MARKER != 0 || name == ISINDEX => {
                self.reconstruct(at)?
            }
            _ => {}
        }
        match flags & (VOID | FORMATTING) {
            VOID => self.void(tag, flags),
            FORMATTING => self.push_formatting(at, tag, flags)?,
            _ => self.push_tag(at, tag, flags)?,
        }
        Ok(Content::Markup)
    }

    /// Table parts open only in tables, after closing the cells, rows and groups in the way and
    /// opening the row group and row html5ever implies.
    fn table_part(&mut self, at: usize, tag: &Tag) -> Result<(), usize> {
        let flags = html_flags(tag.name);
        loop {
            let Some((k, role)) = self.table_context() else {
                return Ok(());
            };
            if matches!(tag.name, CAPTION | COLGROUP | COL) {
                self.sink.inexact();
            }
            let template = self.stack[k].is(TEMPLATE);
            match (role, tag.name) {
                // Any table part closes the cell or caption first.
                (TD | TH | CAPTION, _) => self.pop_through_table(k),
                (COLGROUP, COL) => return Ok(()),
                (COLGROUP, _) => self.pop_through(k),
                (TR, TD | TH) => {
                    self.pop_through(k + 1);
                    return self.push_tag(at, tag, flags);
                }
                (TBODY, TR) => {
                    self.pop_through(k + 1);
                    return self.push_tag(at, tag, flags);
                }
                (TBODY, TD | TH) => {
                    self.pop_through(k + 1);
                    self.push(at, TR, None, html_flags(TR))?;
                }
                // The row closes, unless a template stands in for it.
                (TR, _) if template => return Ok(()),
                (TR, _) => self.pop_through(k),
                // html5ever closes the row group only below a table, tbody or tfoot (not thead).
                (TBODY, _) => {
                    let outer = |e: &Open| e.is(TABLE) || e.is(TBODY) || e.is(TFOOT);
                    if template || self.find(TABLE_SCOPE, outer).is_none() {
                        return Ok(());
                    }
                    self.pop_through(k);
                }
                (TABLE, CAPTION | COLGROUP | TBODY | THEAD | TFOOT) => {
                    self.pop_through(k + 1);
                    return self.push_tag(at, tag, flags);
                }
                (TABLE, COL) => {
                    self.pop_through(k + 1);
                    return self.push(at, COLGROUP, None, html_flags(COLGROUP));
                }
                (TABLE, _) => {
                    self.pop_through(k + 1);
                    self.push(at, TBODY, None, html_flags(TBODY))?;
                }
                _ => return Ok(()),
            }
        }
    }

    pub(super) fn end_tag(&mut self, at: usize, tag: &Tag) -> Result<(), usize> {
        let name = tag.name;
        while self.templates == 0 && self.phase < Phase::Body {
            match (self.phase, name) {
                (Phase::InHead, HEAD) => {
                    self.pop();
                    self.phase = Phase::AfterHead;
                    return Ok(());
                }
                (Phase::Initial, _) | (_, BODY | HTML | BR) => self.step(None),
                (Phase::BeforeHtml | Phase::BeforeHead, HEAD) => self.step(None),
                (Phase::InHead | Phase::AfterHead, TEMPLATE) => break,
                _ => return Ok(()),
            }
        }
        // In a column group any other end tag closes the group first.
        if self.top_is(COLGROUP) && ![COLGROUP, COL, TEMPLATE].contains(&name) {
            self.pop();
        }
        if self.in_template_columns() && name != TEMPLATE {
            return Ok(());
        }
        let breakout = name == BR || name == P;
        if breakout && self.in_foreign() {
            self.sink.inexact();
            while self.in_foreign() {
                self.pop();
            }
        }
        if name == BR {
            // html5ever takes it for a <br>.
            self.sink.inexact();
            return self.reconstruct(at);
        }
        if breakout || !self.top(FOREIGN) {
            self.html_end(tag);
            return Ok(());
        }
        // html5ever walks down through SVG and MathML elements and hands over to the HTML rules
        // at the first HTML element.
        let top = self.stack.len() - 1;
        let mut k = top;
        loop {
            let e = self.stack[k];
            if (k != top && e.flags & FOREIGN == 0) || (k == 0 && !self.same_name(&e, tag)) {
                // With SVG elements open, which the HTML rules tell apart by name alone.
                self.sink.inexact();
                self.html_end(tag);
                return Ok(());
            }
            if self.same_name(&e, tag) {
                self.pop_through(k);
                return Ok(());
            }
            k -= 1;
        }
    }

    /// Table end tags, as html5ever's table insertion modes take them: closing a cell or row
    /// may come first, and then the tag is looked at again.
    fn table_end(&mut self, name: u128) {
        let in_scope = |tree: &Self, name| tree.find(TABLE_SCOPE, |e| e.is(name));
        while let Some((k, role)) = self.table_context() {
            let template = self.stack[k].is(TEMPLATE);
            match (role, name) {
                (TD | TH, TD | TH) => {
                    if let Some(cell) = in_scope(self, name) {
                        self.pop_through_table(cell);
                    }
                    return;
                }
                (TD | TH, TABLE | TBODY | THEAD | TFOOT | TR) if in_scope(self, name).is_some() => {
                    self.pop_through_table(k)
                }
                (CAPTION, CAPTION) => return self.pop_through_table(k),
                (CAPTION, TABLE) => self.pop_through_table(k),
                (TR, TR) if !template => return self.pop_through(k),
                (TR, TABLE) if !template => self.pop_through(k),
                (TR, TBODY | THEAD | TFOOT) if !template && in_scope(self, name).is_some() => {
                    self.pop_through(k)
                }
                (TBODY, TBODY | THEAD | TFOOT) if in_scope(self, name).is_some() => {
                    return self.pop_through(k)
                }
                // html5ever looks for a table, tbody or tfoot here (not thead).
                (TBODY, TABLE)
                    if [TABLE, TBODY, TFOOT]
                        .iter()
                        .any(|&n| in_scope(self, n).is_some()) =>
                {
                    self.pop_through(k)
                }
                (TABLE, TABLE) if !template => return self.pop_through(k),
                (COLGROUP, COLGROUP) if self.top_is(COLGROUP) => return self.pop(),
                (COLGROUP, _) if !template && name != COLGROUP => self.pop_through(k),
                _ => return,
            }
        }
    }

    fn html_end(&mut self, tag: &Tag) {
        let name = tag.name;
        // html5ever may copy an option that closes into a selectedcontent element. (The end
        // tag of a rough element only needs the replay if the element is open, and then the
        // replay was inexact from its start tag on.)
        if name == OPTION {
            self.sink.inexact();
        }
        let same = |e: &Open| e.is(tag.name);
        let k = match name {
            HTML | BODY | HEAD | COL => None,
            FRAMESET => self.top_is(FRAMESET).then(|| self.stack.len() - 1),
            P => {
                let k = (self.open_p > 0)
                    .then(|| self.find(SCOPE | BUTTON_SCOPE, same))
                    .flatten();
                if k.is_none() {
                    // html5ever opens an empty paragraph to close.
                    self.sink.inexact();
                }
                k
            }
            LI => self.find(SCOPE | LIST_SCOPE, same),
            H1 | H2 | H3 | H4 | H5 | H6 => {
                self.find(SCOPE, |e| e.flags & HEADING != 0 && e.flags & FOREIGN == 0)
            }
            FORM if self.templates == 0 => {
                let form = std::mem::take(&mut self.form);
                let pointed = |e: &Open| e.is(FORM) && e.serial == form;
                if form != 0 && self.find(SCOPE, pointed).is_some() {
                    self.generate_implied_end_tags(0);
                    // Only the form goes; what it contains stays open.
                    if let Some(k) = self.find(SCOPE, pointed) {
                        self.remove(k);
                    }
                }
                None
            }
            TABLE | TBODY | THEAD | TFOOT | TR | TD | TH | CAPTION | COLGROUP => {
                self.table_end(tag.name);
                None
            }
            ADDRESS | ARTICLE | ASIDE | BLOCKQUOTE | BUTTON | CENTER | DETAILS | DIALOG | DIR
            | DIV | DL | FIELDSET | FIGCAPTION | FIGURE | FOOTER | HEADER | HGROUP | LISTING
            | MAIN | MENU | NAV | OL | PRE | SEARCH | SECTION | SELECT | SUMMARY | UL | DD | DT
            | FORM => self.find(SCOPE, same),
            _ => match html_flags(name) {
                // A template, or another element that puts a marker on the list.
                flags if flags & MARKER != 0 => {
                    let stop = if name == TEMPLATE { 0 } else { SCOPE };
                    if let Some(k) = self.find(stop, same) {
                        self.pop_through(k);
                        self.clear_to_marker();
                    }
                    None
                }
                flags if flags & FORMATTING != 0 => {
                    self.adoption(tag.name);
                    None
                }
                _ => self.find(SPECIAL, |e| {
                    e.flags & FOREIGN == 0 && self.same_name(e, tag)
                }),
            },
        };
        if let Some(k) = k {
            self.pop_through(k);
        }
    }
}
