//! Reads tags and finds where comments, raw text and scripts end, as html5ever's tokenizer does.

use super::{find, is_space, ATTR_END, BYTES, FONT, LONG, NAME_END};

/// What follows a start tag.
pub(super) enum Content {
    Markup,
    RawText,
    Script,
    Plaintext,
}

pub(super) struct Tag {
    pub(super) name: u128,
    pub(super) lower: [u8; 16],
    pub(super) at: usize,
    pub(super) len: usize,
    /// Just past the closing `>`.
    pub(super) end: usize,
    pub(super) self_closing: bool,
    pub(super) attrs: usize,
    /// A color, face or size attribute, which takes `<font>` out of SVG and MathML.
    pub(super) font_attr: bool,
}

impl Tag {
    /// Reads a tag whose name starts at `at` as html5ever's tokenizer does; None if the input
    /// ends inside it, as html5ever then drops it.
    #[inline(always)]
    pub(super) fn read(b: &[u8], at: usize) -> Option<Tag> {
        let mut i = at;
        while i < b.len() && BYTES[usize::from(b[i])] & NAME_END == 0 {
            i += 1;
        }
        let len = i - at;
        // Packed in a register: bytes stored one by one and read back whole would stall.
        let name = match len {
            1..=16 => b[at..i]
                .iter()
                .fold(0, |n, c| n << 8 | u128::from(c.to_ascii_lowercase())),
            _ => LONG,
        };
        let lower = match len {
            1..=16 => (name << (8 * (16 - len))).to_be_bytes(),
            _ => [0; 16],
        };
        let mut tag = Tag {
            name,
            lower,
            at,
            len,
            end: 0,
            self_closing: false,
            attrs: 0,
            font_attr: false,
        };
        let done = |end, self_closing, tag: Tag| {
            Some(Tag {
                end,
                self_closing,
                ..tag
            })
        };
        loop {
            // Before an attribute name, where a value or a stray `/` also lead.
            let c = *b.get(i)?;
            match c {
                _ if is_space(c) => {
                    i += 1;
                    continue;
                }
                b'>' => return done(i + 1, false, tag),
                b'/' if *b.get(i + 1)? == b'>' => return done(i + 2, true, tag),
                b'/' => {
                    i += 1;
                    continue;
                }
                _ => {}
            }
            // The name's first byte may be anything, even `=` or a quote.
            tag.attrs += 1;
            let attr_at = i;
            i += 1;
            while b
                .get(i)
                .is_some_and(|&c| BYTES[usize::from(c)] & ATTR_END == 0)
            {
                i += 1;
            }
            if name == FONT {
                let attr = &b[attr_at..i];
                tag.font_attr |= [&b"color"[..], b"face", b"size"]
                    .iter()
                    .any(|n| n.eq_ignore_ascii_case(attr));
            }
            while b.get(i).is_some_and(|&c| is_space(c)) {
                i += 1;
            }
            if *b.get(i)? != b'=' {
                continue;
            }
            i += 1;
            while b.get(i).is_some_and(|&c| is_space(c)) {
                i += 1;
            }
            match *b.get(i)? {
                q @ (b'"' | b'\'') => i = find(b, i + 1, q)? + 1,
                b'>' => return done(i + 1, false, tag),
                _ => loop {
                    let c = *b.get(i)?;
                    if is_space(c) {
                        break;
                    }
                    if c == b'>' {
                        return done(i + 1, false, tag);
                    }
                    i += 1;
                },
            }
        }
    }

    /// Where the attributes are in `b`, without the spaces around them or a self-closing slash.
    pub(super) fn attrs(&self, b: &[u8]) -> (usize, usize) {
        let (mut from, mut to) = (
            self.at + self.len,
            self.end - 1 - usize::from(self.self_closing),
        );
        while to > from && is_space(b[to - 1]) {
            to -= 1;
        }
        while from < to && is_space(b[from]) {
            from += 1;
        }
        (from, to)
    }

    pub(super) fn lower(&self) -> &[u8] {
        &self.lower[..self.len.min(16)]
    }
}

/// Where the raw text of `<name>` ends: at the `<` of a `</name` that html5ever accepts.
pub(crate) fn raw_text_end(b: &[u8], mut i: usize, name: &[u8]) -> Option<usize> {
    loop {
        let lt = find(b, i, b'<')?;
        if end_tag_named(b, lt, name) {
            return Some(lt);
        }
        i = lt + 1;
    }
}

fn end_tag_named(b: &[u8], lt: usize, name: &[u8]) -> bool {
    b.get(lt + 1) == Some(&b'/') && tag_named(b, lt + 2, name)
}

fn tag_named(b: &[u8], at: usize, name: &[u8]) -> bool {
    b.get(at..at + name.len())
        .is_some_and(|n| n.eq_ignore_ascii_case(name))
        && b.get(at + name.len())
            .is_some_and(|&c| is_space(c) || c == b'/' || c == b'>')
}

/// Where a script ends, after html5ever's script data states: past a `<!--`, a `<script>`
/// hides the next `</script>`, until `-->`.
pub(crate) fn script_end(b: &[u8], mut i: usize) -> Option<usize> {
    let (mut escaped, mut double) = (false, false);
    loop {
        i = match escaped {
            false => find(b, i, b'<')?,
            true => i + b.get(i..)?.iter().position(|&c| c == b'<' || c == b'-')?,
        };
        if b[i] == b'-' {
            let dashes = b[i..].iter().take_while(|&&c| c == b'-').count();
            i += dashes;
            if dashes >= 2 && b.get(i) == Some(&b'>') {
                (escaped, double) = (false, false);
            }
            continue;
        }
        if end_tag_named(b, i, b"script") {
            if !double {
                return Some(i);
            }
            double = false;
        } else if !escaped && b[i..].starts_with(b"<!--") {
            escaped = true;
            // The dashes of `<!--` may close it again at once, as in `<!-->`.
            i += 2;
            continue;
        } else if escaped && !double && tag_named(b, i + 1, b"script") {
            double = true;
        }
        i += 1;
    }
}

/// Where a comment that starts at `lt` ends: `-->` may reuse the opening dashes (`<!-->`),
/// `--!>` may not.
pub(crate) fn comment_end(b: &[u8], lt: usize) -> Option<usize> {
    let mut i = lt + 4;
    loop {
        let gt = find(b, i, b'>')?;
        if &b[gt - 2..gt] == b"--" || (gt >= lt + 7 && &b[gt - 3..gt] == b"--!") {
            return Some(gt + 1);
        }
        i = gt + 1;
    }
}

/// Where a CDATA section (only SVG and MathML have them) that starts at `lt` ends.
pub(super) fn cdata_end(b: &[u8], lt: usize) -> Option<usize> {
    let mut i = lt + 9;
    loop {
        let gt = find(b, i, b'>')?;
        if gt >= lt + 11 && b[..gt].ends_with(b"]]") {
            return Some(gt + 1);
        }
        i = gt + 1;
    }
}
