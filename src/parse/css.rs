//! The `--select` selector, kept twice: scraper's, and when the CSS is simple enough, a plain
//! form that the streaming pass (html/stream.rs) can match during tokenizing, the way scraper
//! would.

use scraper::Selector;

/// A selector as the user wrote it: scraper's compiled form always, a simple one when possible.
#[derive(Debug, Clone)]
pub struct Select {
    pub dom: Selector,
    pub simple: Option<Simple>,
}

impl Select {
    pub fn parse(css: &str) -> Result<Select, String> {
        let dom = Selector::parse(css).map_err(|e| {
            format!(
                "not a valid CSS selector ({})",
                crate::parse::extract::selector_error(&e)
            )
        })?;
        Ok(Select {
            dom,
            simple: Simple::parse(css),
        })
    }
}

/// A list of alternatives, each compound selectors joined by descendant or child combinators:
/// type or `*`, `.class`, `#id`, `[attr]` and `[attr op value]`. Nothing that looks at siblings,
/// pseudo-classes, namespaces or escapes.
#[derive(Debug, Clone, PartialEq)]
pub struct Simple {
    alternatives: Vec<Complex>,
}

/// Compounds from the rightmost (the element itself) leftwards, each with the combinator that
/// links it to the next one on its left.
#[derive(Debug, Clone, PartialEq)]
struct Complex(Vec<(Compound, Combinator)>);

#[derive(Debug, Clone, Copy, PartialEq)]
enum Combinator {
    /// Nothing further left.
    None,
    Descendant,
    Child,
}

#[derive(Debug, Clone, Default, PartialEq)]
struct Compound {
    /// Lowercase, as selectors compares it with HTML elements; None for `*` or no type.
    name: Option<String>,
    classes: Vec<String>,
    ids: Vec<String>,
    attrs: Vec<Attr>,
}

#[derive(Debug, Clone, PartialEq)]
struct Attr {
    /// Lowercase.
    name: String,
    test: Option<(Op, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Equal,
    Includes,
    Dash,
    Prefix,
    Suffix,
    Substring,
}

/// Attributes whose values selectors compares without case in HTML (the HTML standard's list).
/// Values tests on them stay with scraper rather than copy that rule.
const CASELESS: &[&str] = &[
    "accept",
    "accept-charset",
    "align",
    "alink",
    "axis",
    "bgcolor",
    "charset",
    "checked",
    "clear",
    "codetype",
    "color",
    "compact",
    "declare",
    "defer",
    "dir",
    "direction",
    "disabled",
    "enctype",
    "face",
    "frame",
    "hreflang",
    "http-equiv",
    "lang",
    "language",
    "link",
    "media",
    "method",
    "multiple",
    "nohref",
    "noresize",
    "noshade",
    "nowrap",
    "readonly",
    "rel",
    "rev",
    "rules",
    "scope",
    "scrolling",
    "selected",
    "shape",
    "target",
    "text",
    "type",
    "valign",
    "valuetype",
    "vlink",
];

/// What the matcher needs of an element: its name and its attributes' decoded values.
pub trait Element {
    /// Whether the element is called `name` (lowercase).
    fn has_name(&self, name: &str) -> bool;
    /// The first attribute of that (lowercase) name, decoded.
    fn attr(&self, name: &str) -> Option<std::borrow::Cow<'_, str>>;
}

impl Simple {
    pub fn parse(css: &str) -> Option<Simple> {
        let alternatives = css
            .split(',')
            .map(Complex::parse)
            .collect::<Option<Vec<_>>>()?;
        Some(Simple { alternatives })
    }

    /// Whether `element`, whose ancestors are `ancestors` (the root first), matches.
    pub fn matches<E: Element>(&self, element: &E, ancestors: &[E]) -> bool {
        self.alternatives
            .iter()
            .any(|c| c.matches(&c.0, element, ancestors))
    }

    /// Whether an element of this name can match at all: most tags on a page cannot, and this
    /// test avoids looking at their attributes.
    #[inline]
    pub fn may_match<E: Element>(&self, element: &E) -> bool {
        self.alternatives.iter().any(|c| match &c.0[0].0.name {
            Some(n) => element.has_name(n),
            None => true,
        })
    }
}

impl Complex {
    fn parse(css: &str) -> Option<Complex> {
        let mut parts = Vec::new();
        let mut pending = Combinator::None;
        let mut rest = css.trim_matches(is_space);
        if rest.is_empty() {
            return None;
        }
        while !rest.is_empty() {
            let (compound, after) = Compound::parse(rest)?;
            parts.push((compound, pending));
            let trimmed = after.trim_start_matches(is_space);
            if trimmed.is_empty() {
                break;
            }
            (pending, rest) = match trimmed.strip_prefix('>') {
                Some(r) => (Combinator::Child, r.trim_start_matches(is_space)),
                None if trimmed.len() < after.len() => (Combinator::Descendant, trimmed),
                None => return None,
            };
            if rest.is_empty() {
                return None;
            }
        }
        // Right to left: each compound keeps the combinator that joins it to its left.
        parts.reverse();
        Some(Complex(parts))
    }

    fn matches<E: Element>(
        &self,
        parts: &[(Compound, Combinator)],
        element: &E,
        ancestors: &[E],
    ) -> bool {
        let Some(((compound, combinator), rest)) = parts.split_first() else {
            return true;
        };
        if !compound.matches(element) {
            return false;
        }
        match combinator {
            Combinator::None => true,
            Combinator::Child => match ancestors.split_last() {
                Some((parent, above)) => self.matches(rest, parent, above),
                None => false,
            },
            Combinator::Descendant => (0..ancestors.len())
                .rev()
                .any(|k| self.matches(rest, &ancestors[k], &ancestors[..k])),
        }
    }
}

/// CSS's whitespace is HTML's.
fn is_space(c: char) -> bool {
    c.is_ascii() && crate::parse::html::lexer::is_space(c as u8)
}

/// A plain ASCII identifier; escapes and other characters leave the selector to scraper.
fn ident(s: &str) -> Option<(&str, &str)> {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        .unwrap_or(s.len());
    let name = &s[..end];
    let first = name.chars().next()?;
    (first.is_ascii_alphabetic() || first == '_').then_some((name, &s[end..]))
}

impl Compound {
    fn parse(mut s: &str) -> Option<(Compound, &str)> {
        let mut compound = Compound::default();
        let mut any = false;
        if let Some(rest) = s.strip_prefix('*') {
            (s, any) = (rest, true);
        } else if let Some((name, rest)) = ident(s) {
            compound.name = Some(name.to_ascii_lowercase());
            (s, any) = (rest, true);
        }
        loop {
            match s.chars().next() {
                Some('.') => {
                    let (class, rest) = ident(&s[1..])?;
                    compound.classes.push(class.into());
                    s = rest;
                }
                Some('#') => {
                    let (id, rest) = ident(&s[1..])?;
                    compound.ids.push(id.into());
                    s = rest;
                }
                Some('[') => {
                    let (attr, rest) = Attr::parse(&s[1..])?;
                    compound.attrs.push(attr);
                    s = rest;
                }
                Some(c) if is_space(c) || c == '>' => break,
                None => break,
                Some(_) => return None,
            }
            any = true;
        }
        any.then_some((compound, s))
    }

    fn matches<E: Element>(&self, e: &E) -> bool {
        if self.name.as_deref().is_some_and(|n| !e.has_name(n)) {
            return false;
        }
        if !self.ids.is_empty()
            && !self
                .ids
                .iter()
                .all(|id| e.attr("id").as_deref() == Some(id))
        {
            return false;
        }
        if !self.classes.is_empty() {
            let Some(class) = e.attr("class") else {
                return false;
            };
            let has = |c: &String| class.split_ascii_whitespace().any(|t| t == c);
            if !self.classes.iter().all(has) {
                return false;
            }
        }
        self.attrs.iter().all(|a| a.matches(e))
    }
}

impl Attr {
    fn parse(s: &str) -> Option<(Attr, &str)> {
        let s = s.trim_start_matches(is_space);
        let (name, s) = ident(s)?;
        let name = name.to_ascii_lowercase();
        let s = s.trim_start_matches(is_space);
        if let Some(rest) = s.strip_prefix(']') {
            return Some((Attr { name, test: None }, rest));
        }
        let ops = [
            ("~=", Op::Includes),
            ("|=", Op::Dash),
            ("^=", Op::Prefix),
            ("$=", Op::Suffix),
            ("*=", Op::Substring),
            ("=", Op::Equal),
        ];
        let (op, s) = ops
            .iter()
            .find_map(|(text, op)| s.strip_prefix(text).map(|r| (*op, r)))?;
        let s = s.trim_start_matches(is_space);
        let (value, s) = match s.chars().next()? {
            q @ ('"' | '\'') => {
                let end = s[1..].find(q)?;
                let value = &s[1..1 + end];
                // Escapes and newlines in strings have CSS rules of their own.
                if value.contains(['\\', '\n', '\r', '\x0c']) {
                    return None;
                }
                (value, &s[2 + end..])
            }
            _ => ident(s)?,
        };
        let s = s.trim_start_matches(is_space).strip_prefix(']')?;
        // Empty values and `~=` values with spaces match nothing in selectors; case-blind
        // attributes have their own rule. Both are left to scraper.
        let odd = value.is_empty() || (op == Op::Includes && value.contains(is_space));
        if odd || CASELESS.contains(&name.as_str()) {
            return None;
        }
        let test = Some((op, value.to_string()));
        Some((Attr { name, test }, s))
    }

    fn matches<E: Element>(&self, e: &E) -> bool {
        let Some(value) = e.attr(&self.name) else {
            return false;
        };
        let Some((op, want)) = &self.test else {
            return true;
        };
        let want = want.as_str();
        match op {
            Op::Equal => value == want,
            Op::Includes => value.split(is_space).any(|t| t == want),
            Op::Dash => {
                value == want || value.strip_prefix(want).is_some_and(|r| r.starts_with('-'))
            }
            Op::Prefix => value.starts_with(want),
            Op::Suffix => value.ends_with(want),
            Op::Substring => value.contains(want),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    struct El(&'static str, Vec<(&'static str, &'static str)>);

    impl Element for El {
        fn has_name(&self, name: &str) -> bool {
            self.0 == name
        }
        fn attr(&self, name: &str) -> Option<Cow<'_, str>> {
            self.1
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| Cow::Borrowed(*v))
        }
    }

    #[test]
    fn simple_forms_parse_and_others_do_not() {
        for css in [
            "a[href]",
            "a.post-item-title",
            "h2.title a",
            "div > a",
            "*",
            ".x",
            "#main a[href^='/p/']",
            "a, h2 > a.x",
            "A[HREF]",
            "a[data-x=\"y z\"]",
        ] {
            assert!(Simple::parse(css).is_some(), "{css}");
        }
        for css in [
            "a:hover",
            "h2 + a",
            "h2 ~ a",
            "a[href=\"\"]",
            "a[rel=nofollow]",
            "a[href i]",
            "a[href='x' i]",
            "svg|a",
            "a\\.b",
            "a,",
            "a >",
            "> a",
            "a > > b",
            "a[href",
            "a[x~='y z']",
        ] {
            assert!(Simple::parse(css).is_none(), "{css}");
        }
    }

    #[test]
    fn matching_follows_the_ancestors() {
        let ancestors = [
            El("html", vec![]),
            El("body", vec![("class", "home")]),
            El("h2", vec![("class", " title  big"), ("id", "t")]),
        ];
        let a = El("a", vec![("href", "/p/1"), ("data-k", "en-GB")]);
        let yes = [
            "a",
            "A",
            "*",
            "h2 a",
            "h2 > a",
            "body a",
            ".home a",
            "body > h2.big.title#t > a[href]",
            "html a[href^='/p']",
            "a[href$='/1']",
            "a[href*=p]",
            "a[data-k|=en]",
            "a[data-k=en-GB]",
            "p, a",
        ];
        for css in yes {
            assert!(Simple::parse(css).unwrap().matches(&a, &ancestors), "{css}");
        }
        let no = [
            "p",
            "body > a",
            "h2.missing a",
            "#T a",
            "a[title]",
            "a[data-k=en-gb]",
            "a[data-k|=e]",
            "div a",
            "h2 > h2 a",
        ];
        for css in no {
            assert!(
                !Simple::parse(css).unwrap().matches(&a, &ancestors),
                "{css}"
            );
        }
    }
}
