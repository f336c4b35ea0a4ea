//! The one tokenizer behind every markup scanner in crawl: where tags, attributes, comments,
//! raw text and character references begin and end, read as html5ever's tokenizer reads them.

use std::borrow::Cow;

use markup5ever::data::{C1_REPLACEMENTS, NAMED_ENTITIES};

use super::tags::LONG;

/// HTML's whitespace: tab, line feed, form feed, carriage return and space.
pub fn is_space(c: u8) -> bool {
    BYTES[usize::from(c)] & SPACE != 0
}

/// Bytes that end a tag name (and with `=` an attribute name): one lookup instead of five
/// comparisons, for the bytes a tokenizer spends most of its time on.
const SPACE: u8 = 1;
const NAME_END: u8 = 2;
const ATTR_END: u8 = 4;
static BYTES: [u8; 256] = {
    let mut t = [0; 256];
    let spaces = [b'\t', b'\n', b'\x0c', b'\r', b' '];
    let mut i = 0;
    while i < spaces.len() {
        t[spaces[i] as usize] = SPACE | NAME_END | ATTR_END;
        i += 1;
    }
    t[b'/' as usize] = NAME_END | ATTR_END;
    t[b'>' as usize] = NAME_END | ATTR_END;
    t[b'=' as usize] = ATTR_END;
    t
};

/// Position of the first `byte` at or after `from`: text and attribute values make up most of a
/// page, and memchr skips them with SIMD.
pub fn find(b: &[u8], from: usize, byte: u8) -> Option<usize> {
    memchr::memchr(byte, b.get(from..)?).map(|at| from + at)
}

/// A start or end tag.
pub struct Tag {
    /// The name lowercased and packed into an integer (tags.rs), or LONG past 16 bytes.
    pub name: u128,
    /// Where the name starts in the input, and its length.
    pub at: usize,
    pub len: usize,
    /// Just past the closing `>`.
    pub end: usize,
    /// Ends in `/>`, which only SVG and MathML elements heed.
    pub self_closing: bool,
    /// How many attributes it has, duplicates included.
    pub attrs: usize,
}

/// One step through a tag after its name.
pub enum Step {
    /// An attribute: where its name and its (raw) value are.
    Attr {
        name: (usize, usize),
        value: (usize, usize),
    },
    /// The `>`, and whether a `/` came right before it (a self-closing tag).
    End(bool),
}

/// The next attribute or the end of the tag from `i`, and where to go on from; None when the
/// input ends first, as html5ever then drops the tag.
#[inline]
pub fn step(b: &[u8], mut i: usize) -> Option<(Step, usize)> {
    let mut slash = false;
    loop {
        match *b.get(i)? {
            c if is_space(c) => i += 1,
            b'>' => return Some((Step::End(slash), i + 1)),
            // A `/` not before `>` is dropped; before it, it marks a self-closing tag.
            b'/' => i += 1,
            _ => break,
        }
        slash = b[i - 1] == b'/';
    }
    // The name's first byte may be anything, even `=` or a quote.
    let name_at = i;
    i += 1;
    while b
        .get(i)
        .is_some_and(|&c| BYTES[usize::from(c)] & ATTR_END == 0)
    {
        i += 1;
    }
    let name = (name_at, i);
    while b.get(i).is_some_and(|&c| is_space(c)) {
        i += 1;
    }
    if *b.get(i)? != b'=' {
        let value = (i, i);
        return Some((Step::Attr { name, value }, i));
    }
    i += 1;
    while b.get(i).is_some_and(|&c| is_space(c)) {
        i += 1;
    }
    let value = match *b.get(i)? {
        q @ (b'"' | b'\'') => {
            let close = find(b, i + 1, q)?;
            let value = (i + 1, close);
            i = close + 1;
            value
        }
        // `a=>` has an empty value and ends the tag.
        b'>' => (i, i),
        _ => {
            let at = i;
            while !is_space(*b.get(i)?) && b[i] != b'>' {
                i += 1;
            }
            (at, i)
        }
    };
    Some((Step::Attr { name, value }, i))
}

impl Tag {
    /// Reads the tag whose name starts at `at` (just past `<` or `</`); None if the input ends
    /// inside it. Inlined, so that the packed name stays in registers rather than being read
    /// back whole from the two halves just stored (a store-forwarding stall).
    #[inline(always)]
    pub fn read(b: &[u8], at: usize) -> Option<Tag> {
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
        let mut attrs = 0;
        loop {
            match step(b, i)? {
                (Step::End(self_closing), end) => {
                    return Some(Tag {
                        name,
                        at,
                        len,
                        end,
                        self_closing,
                        attrs,
                    })
                }
                (Step::Attr { .. }, next) => (i, attrs) = (next, attrs + 1),
            }
        }
    }

    /// The input from just after the name to just past the `>`, where `attr` looks.
    pub fn rest<'a>(&self, src: &'a str) -> &'a str {
        &src[self.at + self.len..self.end]
    }
}

/// A token, as the tree builder sees it.
pub enum Token {
    /// Text, with its character references still in it.
    Text(usize, usize),
    /// A `<` or `</` that starts no markup: text as it is.
    Stray(usize, usize),
    Start(Tag),
    End(Tag),
    /// A comment, or what html5ever takes for one: `</>`, `</ x>`, `<!x>`, `<?x>`.
    Comment,
    /// `<!DOCTYPE`: what follows the word up to the `>`, and whether there was one.
    Doctype(usize, usize, bool),
    /// A CDATA section, text that the extractor does not follow.
    Cdata,
}

/// How the text after a start tag is tokenized, as the tree builder tells the tokenizer.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Content {
    Markup,
    /// Text up to the element's end tag (with character references for title and textarea).
    RawText,
    /// Text up to `</script>`, past html5ever's script escapes.
    Script,
    /// Text to the end of the input.
    Plaintext,
}

/// The input as tokens, one at a time.
pub struct Lexer<'a> {
    b: &'a [u8],
    /// Where the next token starts.
    pub at: usize,
}

impl<'a> Lexer<'a> {
    pub fn new(b: &'a [u8]) -> Lexer<'a> {
        // html5ever drops a byte order mark at the very start.
        let at = 3 * usize::from(b.starts_with("\u{feff}".as_bytes()));
        Lexer { b, at }
    }

    /// The next token and where it starts (CDATA sections only where `cdata` says, in SVG and
    /// MathML); None at the end of the input, and once it ends inside a tag or comment, which
    /// html5ever then drops.
    #[inline(always)]
    pub fn next(&mut self, cdata: impl FnOnce() -> bool) -> Option<(usize, Token)> {
        let (b, i) = (self.b, self.at);
        let lt = match b.get(i) {
            None => return None,
            // Markup right after text, the most common case, needs no search.
            Some(b'<') => i,
            Some(_) => find(b, i, b'<').unwrap_or(b.len()),
        };
        if lt > i {
            self.at = lt;
            return Some((i, Token::Text(i, lt)));
        }
        let after = |byte| find(b, lt + 2, byte).map(|gt| gt + 1);
        let found = match b.get(lt + 1) {
            Some(c) if c.is_ascii_alphabetic() => {
                Tag::read(b, lt + 1).map(|t| (t.end, Token::Start(t)))
            }
            Some(b'/') => match b.get(lt + 2) {
                Some(c) if c.is_ascii_alphabetic() => {
                    Tag::read(b, lt + 2).map(|t| (t.end, Token::End(t)))
                }
                Some(b'>') => Some((lt + 3, Token::Comment)),
                None => Some((lt + 2, Token::Stray(lt, lt + 2))),
                Some(_) => after(b'>').map(|end| (end, Token::Comment)),
            },
            // `-->` may reuse the opening dashes (`<!-->`), `--!>` may not.
            Some(b'!') if b[lt..].starts_with(b"<!--") => {
                let ends =
                    |s: &[u8]| s.ends_with(b"--") || (s.len() >= lt + 7 && s.ends_with(b"--!"));
                past(b, lt + 4, ends).map(|end| (end, Token::Comment))
            }
            Some(b'!') if b[lt..].starts_with(b"<![CDATA[") && cdata() => {
                let ends = |s: &[u8]| s.len() >= lt + 11 && s.ends_with(b"]]");
                past(b, lt + 9, ends).map(|end| (end, Token::Cdata))
            }
            Some(b'!')
                if b.get(lt + 2..lt + 9)
                    .is_some_and(|d| d.eq_ignore_ascii_case(b"doctype")) =>
            {
                let (gt, closed) = find(b, lt, b'>').map_or((b.len(), false), |gt| (gt, true));
                Some((gt + usize::from(closed), Token::Doctype(lt + 9, gt, closed)))
            }
            Some(b'!' | b'?') => after(b'>').map(|end| (end, Token::Comment)),
            _ => Some((lt + 1, Token::Stray(lt, lt + 1))),
        };
        let Some((next, token)) = found else {
            self.at = b.len();
            return None;
        };
        self.at = next;
        Some((lt, token))
    }

    /// The text after the start tag `tag`, tokenized as `content` says, and the end tag that
    /// closes it with where that starts.
    pub fn raw(&mut self, tag: &Tag, content: Content) -> ((usize, usize), Option<(usize, Tag)>) {
        let (b, from) = (self.b, self.at);
        let end = match content {
            Content::Script => script_end(b, from),
            Content::RawText => raw_text_end(b, from, &b[tag.at..tag.at + tag.len]),
            _ => None,
        };
        let Some(lt) = end else {
            self.at = b.len();
            return ((from, b.len()), None);
        };
        let close = Tag::read(b, lt + 2);
        self.at = close.as_ref().map_or(b.len(), |t| t.end);
        ((from, lt), close.map(|t| (lt, t)))
    }
}

/// The first attribute called `name` (lowercase) in `rest`, the input after a tag's name,
/// decoded; later duplicates are dropped, as html5ever drops them.
pub fn attr<'a>(rest: &'a str, name: &str) -> Option<Cow<'a, str>> {
    let b = rest.as_bytes();
    let mut i = 0;
    loop {
        match step(b, i)? {
            (Step::End(_), _) => return None,
            (Step::Attr { name: n, value: v }, next) => {
                if rest[n.0..n.1].eq_ignore_ascii_case(name) {
                    return Some(decode(&rest[v.0..v.1], true));
                }
                i = next;
            }
        }
    }
}

/// Where the raw text of `<name>` ends: at the `<` of a `</name` that html5ever accepts.
pub fn raw_text_end(b: &[u8], mut i: usize, name: &[u8]) -> Option<usize> {
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
pub fn script_end(b: &[u8], mut i: usize) -> Option<usize> {
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

/// Just past the first `>` from `i` that `ends` accepts, given the input before it.
fn past(b: &[u8], mut i: usize, ends: impl Fn(&[u8]) -> bool) -> Option<usize> {
    loop {
        let gt = find(b, i, b'>')?;
        if ends(&b[..gt]) {
            return Some(gt + 1);
        }
        i = gt + 1;
    }
}

/// Text or an attribute value with its character references replaced.
pub fn decode(s: &str, in_attr: bool) -> Cow<'_, str> {
    // memchr at once: str::find goes through a char searcher, which need not be inlined here.
    let Some(first) = memchr::memchr(b'&', s.as_bytes()) else {
        return Cow::Borrowed(s);
    };
    let mut out = String::with_capacity(s.len());
    out.push_str(&s[..first]);
    let mut i = first;
    while i < s.len() {
        if s.as_bytes()[i] != b'&' {
            let next = memchr::memchr(b'&', &s.as_bytes()[i..]).map_or(s.len(), |k| i + k);
            out.push_str(&s[i..next]);
            i = next;
            continue;
        }
        match char_ref(s, i + 1, in_attr) {
            Some((chars, len)) => {
                out.extend(chars.into_iter().flatten());
                i += 1 + len;
            }
            None => {
                out.push('&');
                i += 1;
            }
        }
    }
    Cow::Owned(out)
}

/// The character reference after an `&` at `at`: its characters and length; None when the
/// `&` stays as it is.
fn char_ref(s: &str, at: usize, in_attr: bool) -> Option<([Option<char>; 2], usize)> {
    let b = s.as_bytes();
    match *b.get(at)? {
        b'#' => numeric(b, at),
        c if c.is_ascii_alphanumeric() => named(s, at, in_attr),
        _ => None,
    }
}

fn numeric(b: &[u8], at: usize) -> Option<([Option<char>; 2], usize)> {
    let mut i = at + 1;
    let base = match b.get(i) {
        Some(b'x' | b'X') => {
            i += 1;
            16
        }
        _ => 10,
    };
    let digits = i;
    let (mut n, mut too_big) = (0u32, false);
    while let Some(d) = b.get(i).and_then(|&c| char::from(c).to_digit(base)) {
        n = n.wrapping_mul(base);
        too_big |= n > 0x10FFFF;
        n = n.wrapping_add(d);
        i += 1;
    }
    if i == digits {
        return None;
    }
    if b.get(i) == Some(&b';') {
        i += 1;
    }
    let c = match n {
        _ if too_big || n > 0x10FFFF => '\u{fffd}',
        0 | 0xD800..=0xDFFF => '\u{fffd}',
        0x80..=0x9F => C1_REPLACEMENTS[(n - 0x80) as usize]
            .unwrap_or_else(|| char::from_u32(n).unwrap_or('\u{fffd}')),
        n => char::from_u32(n).unwrap_or('\u{fffd}'),
    };
    Some(([Some(c), None], i - at))
}

/// The longest entity name at `at`, as html5ever matches it against the same table.
fn named(s: &str, at: usize, in_attr: bool) -> Option<([Option<char>; 2], usize)> {
    let b = s.as_bytes();
    let mut best = None;
    let mut k = at;
    // Every key is ASCII, so a non-ASCII byte ends the match (and keeps slicing on boundaries).
    while k < b.len() && b[k].is_ascii() {
        k += 1;
        match NAMED_ENTITIES.get(&s[at..k]) {
            Some(&(c1, c2)) if c1 != 0 => best = Some((c1, c2, k - at)),
            Some(_) => {}
            None => break,
        }
    }
    let (c1, c2, len) = best?;
    let next = b.get(at + len);
    // In attributes, `&copy=` and `&copyx` stay as written, for old URLs' sake.
    if b[at + len - 1] != b';'
        && in_attr
        && next.is_some_and(|&c| c == b'=' || c.is_ascii_alphanumeric())
    {
        return None;
    }
    Some((
        [char::from_u32(c1), char::from_u32(c2).filter(|_| c2 != 0)],
        len,
    ))
}

#[cfg(test)]
mod tests;
