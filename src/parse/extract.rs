//! Pulls the reader-facing metadata and user-chosen `--field` values out of a page, so parse.rs stays about links.
use scraper::error::SelectorErrorKind;
use scraper::{ElementRef, Html, Selector};
use std::sync::LazyLock;
use url::Url;

/// Part of the record, filled here.
pub use crate::output::record::Meta;

// Statics only hold hard-coded selectors, so the expect can only fire on a typo
// here, which the tests catch; it cannot depend on page input.
fn sel(css: &str) -> Selector {
    Selector::parse(css).expect("built-in selector must parse")
}

// The `i` flag: themes write name="Description" or rel="Canonical" often enough,
// and `~=` because rel is a token list ("author external").
static DESCRIPTION: LazyLock<Selector> = LazyLock::new(|| sel(r#"meta[name="description" i]"#));
static OG_DESCRIPTION: LazyLock<Selector> =
    LazyLock::new(|| sel(r#"meta[property="og:description" i]"#));
static CANONICAL: LazyLock<Selector> = LazyLock::new(|| sel(r#"link[rel~="canonical" i]"#));
static PUBLISHED: LazyLock<Selector> =
    LazyLock::new(|| sel(r#"meta[property="article:published_time" i]"#));
static TIME: LazyLock<Selector> = LazyLock::new(|| sel("time[datetime]"));
static AUTHOR: LazyLock<Selector> = LazyLock::new(|| sel(r#"meta[name="author" i]"#));
static ARTICLE_AUTHOR: LazyLock<Selector> =
    LazyLock::new(|| sel(r#"meta[property="article:author" i]"#));
static REL_AUTHOR: LazyLock<Selector> = LazyLock::new(|| sel(r#"[rel~="author" i]"#));

/// Folds whitespace runs to one space and trims; empty means "absent" for every caller.
pub(crate) fn clean(s: &str) -> Option<String> {
    let folded = fold(s);
    (!folded.is_empty()).then_some(folded)
}

/// Whitespace runs folded to one space and trimmed, as a browser shows text.
pub(crate) fn fold(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// An element's text as a reader sees it; empty when it has none.
pub fn text(el: ElementRef<'_>) -> String {
    fold(&el.text().collect::<String>())
}

fn text_of(el: ElementRef<'_>) -> Option<String> {
    clean(&el.text().collect::<String>())
}

/// First non-empty `attr` among matches: an empty duplicate tag (common when a
/// theme and a plugin both emit one) should not hide a real value after it.
fn first_attr(document: &Html, selector: &Selector, attr: &str) -> Option<String> {
    document
        .select(selector)
        .find_map(|el| el.value().attr(attr).and_then(clean))
}

pub fn meta(document: &Html, base: &Url) -> Meta {
    let description = first_attr(document, &DESCRIPTION, "content")
        .or_else(|| first_attr(document, &OG_DESCRIPTION, "content"));
    // A canonical that does not resolve is worse than none: consumers dedupe on it.
    let canonical = first_attr(document, &CANONICAL, "href")
        .and_then(|href| base.join(&href).ok())
        .map(String::from);
    let lang = document.root_element().value().attr("lang").and_then(clean);
    let published = first_attr(document, &PUBLISHED, "content")
        .or_else(|| first_attr(document, &TIME, "datetime"));
    let author = first_attr(document, &AUTHOR, "content")
        .or_else(|| first_attr(document, &ARTICLE_AUTHOR, "content"))
        .or_else(|| document.select(&REL_AUTHOR).find_map(text_of));
    Meta {
        description,
        canonical,
        lang,
        published,
        author,
    }
}

/// One --field NAME=CSS or NAME=CSS@ATTR.
#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub selector: Selector,
    pub attr: Option<String>,
}

fn is_attr_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'))
}

fn is_field_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// scraper's Display for unexpected errors is a multi-line "please report" dump;
/// clap wants one short line.
pub fn selector_error(e: &SelectorErrorKind) -> String {
    match e {
        SelectorErrorKind::UnexpectedSelectorParseError(kind) => format!("{kind:?}"),
        other => other.to_string(),
    }
}

/// Parses NAME=CSS or NAME=CSS@ATTR; errors are one short line for clap.
/// The @ATTR split is on the LAST '@' and only if what follows is a plain attribute
/// name, so selectors like a[href^="mailto:x@y"] still work.
pub fn parse_field(spec: &str) -> Result<Field, String> {
    // NAME cannot contain '=', so the first one ends it; CSS may hold more.
    let (name, rest) = spec
        .split_once('=')
        .ok_or_else(|| "expected NAME=CSS or NAME=CSS@ATTR".to_string())?;
    if !is_field_name(name) {
        return Err("NAME must be non-empty letters, digits, _ or -".into());
    }
    let (css, attr) = match rest.rsplit_once('@') {
        Some((css, attr)) if is_attr_name(attr) => (css, Some(attr.to_string())),
        _ => (rest, None),
    };
    let css = css.trim();
    if css.is_empty() {
        return Err("expected NAME=CSS or NAME=CSS@ATTR".into());
    }
    let selector = Selector::parse(css)
        .map_err(|e| format!("not a valid CSS selector ({})", selector_error(&e)))?;
    Ok(Field {
        name: name.to_string(),
        selector,
        attr,
    })
}

/// Values for each field in order: the first matching element's text or its ATTR
/// value; None when nothing matched (or attr missing).
pub fn fields(document: &Html, fields: &[Field]) -> Vec<Option<String>> {
    fields
        .iter()
        .map(|f| {
            let el = document.select(&f.selector).next()?;
            match &f.attr {
                // HTML attribute names are case-insensitive; html5ever stores them lower-cased.
                Some(attr) => el
                    .value()
                    .attrs()
                    .find(|(name, _)| name.eq_ignore_ascii_case(attr))
                    .and_then(|(_, value)| clean(value)),
                None => text_of(el),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://blog.example.com/2024/05/01/hello/").unwrap()
    }

    #[test]
    fn hexo_next_head() {
        let html = Html::parse_document(
            r#"<!DOCTYPE html>
<html lang="zh-CN">
<head>
  <meta charset="UTF-8">
  <meta name="viewport" content="width=device-width">
  <meta name="generator" content="Hexo 6.3.0">
  <meta name="description" content="  记录一次
      Rust 爬虫的实现  ">
  <meta property="og:type" content="article">
  <meta property="og:title" content="你好">
  <meta property="og:description" content="og text that must lose to name=description">
  <meta property="article:published_time" content="2024-05-01T08:00:00.000Z">
  <meta property="article:modified_time" content="2024-05-02T08:00:00.000Z">
  <meta property="article:author" content="og author that must lose">
  <meta name="author" content="张三">
  <link rel="canonical" href="/2024/05/01/hello/">
  <title>你好 | 张三的博客</title>
</head>
<body><article><time datetime="1999-01-01">old</time></article></body>
</html>"#,
        );
        assert_eq!(
            meta(&html, &base()),
            Meta {
                description: Some("记录一次 Rust 爬虫的实现".into()),
                canonical: Some("https://blog.example.com/2024/05/01/hello/".into()),
                lang: Some("zh-CN".into()),
                published: Some("2024-05-01T08:00:00.000Z".into()),
                author: Some("张三".into()),
            }
        );
    }

    #[test]
    fn fallbacks() {
        let html = Html::parse_document(
            r#"<html><head>
  <meta name="description" content="   ">
  <meta property="og:description" content="From OG">
  <link rel="Canonical" href="../other/">
</head><body>
  <time>no datetime here</time>
  <time datetime="2023-12-31">New Year's Eve</time>
  <p>by <a rel="author external" href="/about">  Jane
     Doe </a></p>
</body></html>"#,
        );
        assert_eq!(
            meta(&html, &base()),
            Meta {
                description: Some("From OG".into()),
                canonical: Some("https://blog.example.com/2024/05/01/other/".into()),
                lang: None,
                published: Some("2023-12-31".into()),
                author: Some("Jane Doe".into()),
            }
        );
    }

    #[test]
    fn article_author_beats_rel_author() {
        let html = Html::parse_document(
            r#"<meta property="article:author" content="Meta Person"><a rel="author">Link Person</a>"#,
        );
        assert_eq!(meta(&html, &base()).author.as_deref(), Some("Meta Person"));
    }

    #[test]
    fn absent_everything_is_default() {
        for doc in [
            "",
            "<p>just text</p>",
            r#"<html lang=" "><meta name="author" content=""><a rel="author"> </a><link rel="canonical"></html>"#,
        ] {
            assert_eq!(
                meta(&Html::parse_document(doc), &base()),
                Meta::default(),
                "{doc:?}"
            );
        }
    }

    #[test]
    fn unresolvable_canonical_is_none() {
        let html = Html::parse_document(r#"<link rel="canonical" href="http://[::1">"#);
        assert_eq!(meta(&html, &base()).canonical, None);
    }

    #[test]
    fn parse_field_valid() {
        let f = parse_field("title=h1.post-title").unwrap();
        assert_eq!((f.name.as_str(), f.attr), ("title", None));

        let f = parse_field("date=time@datetime").unwrap();
        assert_eq!(
            (f.name.as_str(), f.attr.as_deref()),
            ("date", Some("datetime"))
        );

        // '@' inside the selector is not followed by a plain name, so no split.
        let f = parse_field(r#"mail=a[href^="mailto:x@y"]"#).unwrap();
        assert_eq!(f.attr, None);
        // ...but a trailing @ATTR after such a selector still splits on the last '@'.
        let f = parse_field(r#"mail=a[href^="mailto:x@y"]@href"#).unwrap();
        assert_eq!(f.attr.as_deref(), Some("href"));

        // CSS may contain '='; only the first one ends NAME.
        let f = parse_field(r#"img-src_2=img[alt="a=b"]@data-src"#).unwrap();
        assert_eq!(
            (f.name.as_str(), f.attr.as_deref()),
            ("img-src_2", Some("data-src"))
        );
    }

    #[test]
    fn parse_field_invalid() {
        for (spec, want) in [
            ("title", "expected NAME=CSS"),
            ("title=", "expected NAME=CSS"),
            ("title=@href", "expected NAME=CSS"),
            ("=h1", "NAME must be"),
            ("bad name=h1", "NAME must be"),
            ("x=h1[", "not a valid CSS selector"),
            ("x=a@", "not a valid CSS selector"),
            ("x=::nope", "not a valid CSS selector"),
            ("x=h1 >", "not a valid CSS selector"),
        ] {
            let err = parse_field(spec).unwrap_err();
            assert!(err.starts_with(want), "{spec:?} -> {err:?}");
            assert!(!err.contains('\n'), "{spec:?} -> multi-line {err:?}");
        }
    }

    #[test]
    fn fields_text_attr_and_missing() {
        let html = Html::parse_document(
            r#"<h1 class="post-title">
    Hello,
    <em>world</em>
</h1>
<h1 class="post-title">second</h1>
<time datetime=" 2024-05-01 ">May 1</time>
<a href="/x">no title attr</a>"#,
        );
        let specs = [
            "title=h1.post-title",
            "date=time@DateTime",
            "tip=a@title",
            "none=article.missing",
        ];
        let fs: Vec<Field> = specs.iter().map(|s| parse_field(s).unwrap()).collect();
        assert_eq!(
            fields(&html, &fs),
            vec![
                Some("Hello, world".into()),
                Some("2024-05-01".into()),
                None,
                None,
            ]
        );
        assert!(fields(&html, &[]).is_empty());
    }
}
