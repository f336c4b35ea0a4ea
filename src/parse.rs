//! Extracts the title and the selected links from a page body; CPU work that runs on parser threads.

pub mod css;
pub mod decode;
pub mod extract;
pub mod html;
pub mod sitemap;

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};
use std::sync::LazyLock;

use scraper::{ElementRef, Html, Selector};
use url::Url;

use crate::hooks;
use crate::output::record::{ErrorKind, Link, PageError};
use css::Select;
use extract::{Field, Meta};
use html::{guard, stream};
use sitemap::Sitemap;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    pub title: Option<String>,
    /// The selected links, or for a sitemap the URLs it lists.
    pub links: Vec<Link>,
    pub meta: Meta,
    /// One value per --field, in order.
    pub fields: Vec<Option<String>>,
    pub encoding: Option<&'static str>,
    pub truncated: bool,
    /// The body was a sitemap or sitemap index, not a page.
    pub sitemap: bool,
}

const HTML_NS: &str = "http://www.w3.org/1999/xhtml";

static TITLE: LazyLock<Selector> = LazyLock::new(|| Selector::parse("title").expect("valid"));
static ANCHOR: LazyLock<Selector> = LazyLock::new(|| Selector::parse("a[href]").expect("valid"));

/// How a page is taken apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    /// The streaming pass where it can, else the tree: the same record either way.
    Fastest,
    /// Always html5ever's tree and scraper: the reference the streaming pass is held to.
    Tree,
}

/// The page taken apart, or kind `parse` if that panicked: a bug that one page trips costs that
/// page's record its title and links, not the crawl (a parser thread that died would leave its
/// page unfinished and the crawl waiting for it).
pub fn parse(
    body: &[u8],
    content_type: Option<&str>,
    base: &Url,
    select: &Select,
    fields: &[Field],
) -> Result<Parsed, PageError> {
    // Nothing the closure borrows is left half-changed by a panic: it only reads them.
    let parse = || parse_by(Path::Fastest, body, content_type, base, select, fields);
    panic::catch_unwind(AssertUnwindSafe(parse)).map_err(|panic| {
        let message = format!("parser panicked: {}", panic_message(&*panic));
        PageError::new(ErrorKind::Parse, message)
    })
}

/// A sitemap's record: the http and https URLs it lists, resolved, as its links. A gzipped
/// sitemap comes here already read, from the crawler that unpacked it.
pub fn listed(map: Sitemap, base: &Url) -> Parsed {
    let (Sitemap::UrlSet(locs) | Sitemap::Index(locs)) = map;
    let links = locs
        .iter()
        .filter_map(|loc| resolve(base, loc))
        .map(|href| Link {
            href,
            text: String::new(),
        })
        .collect();
    Parsed {
        links,
        sitemap: true,
        ..Parsed::default()
    }
}

/// What `panic!` was given, as text.
pub fn panic_message(panic: &(dyn Any + Send)) -> &str {
    match (panic.downcast_ref::<&str>(), panic.downcast_ref::<String>()) {
        (Some(text), _) => text,
        (_, Some(text)) => text,
        _ => "no message",
    }
}

pub fn parse_by(
    path: Path,
    body: &[u8],
    content_type: Option<&str>,
    base: &Url,
    select: &Select,
    fields: &[Field],
) -> Parsed {
    if let Some(map) = sitemap::parse(body) {
        return listed(map, base);
    }
    let decoded = decode::decode(body, content_type, tld(base));
    let text = &*decoded.text;
    let streamed = match (path, &select.simple) {
        (Path::Fastest, Some(simple)) if fields.is_empty() => {
            // The tree gives the same record, so a bug in the pass costs the page only its speed.
            let pass = || {
                hooks::panic_on("stream", text.as_bytes());
                stream::extract(text, base, simple)
            };
            panic::catch_unwind(AssertUnwindSafe(pass)).ok()
        }
        _ => None,
    };
    // Deep nesting makes the tree builder quadratic; the part before the cut is still worth
    // having. A pass that hands the page over says where the guard cuts, from the same scan.
    let (html, truncated) = match streamed {
        Some(Ok(page)) => {
            return Parsed {
                title: page.title,
                links: page.links,
                meta: page.meta,
                fields: Vec::new(),
                encoding: Some(decoded.encoding),
                truncated: false,
                sitemap: false,
            }
        }
        // Cuts fall on `<`, just after `>` or on a NUL, all ASCII, so on a char boundary.
        Some(Err((Some(at), _))) => (&text[..at], true),
        Some(Err((None, _))) => (text, false),
        None => guard::limit(text),
    };
    hooks::panic_on("tree", html.as_bytes());
    let document = Html::parse_document(html);
    let title = document
        .select(&TITLE)
        .find(|t| is_document_title(*t))
        .map(extract::text);
    let links = document
        .select(&select.dom)
        .filter_map(|element| link(element, base))
        .collect();
    Parsed {
        title,
        links,
        meta: extract::meta(&document, base),
        fields: extract::fields(&document, fields),
        encoding: Some(decoded.encoding),
        truncated,
        sitemap: false,
    }
}

/// The last label of the page's host, which tells the charset detector what a site there most
/// likely uses (a `.tw` page Big5, a `.jp` one Shift_JIS); None for an IP address.
fn tld(base: &Url) -> Option<&str> {
    base.domain()?.trim_end_matches('.').rsplit('.').next()
}

/// Whether a `title` element is the page's, as browsers take document.title: an HTML one (an
/// inline SVG icon's `<title>` is its tooltip) outside any template (whose content is not part
/// of the document until a script puts it there).
fn is_document_title(title: ElementRef) -> bool {
    let html = |name: &scraper::node::Element| &*name.name.ns == HTML_NS;
    html(title.value())
        && !title
            .ancestors()
            .filter_map(ElementRef::wrap)
            .any(|a| html(a.value()) && a.value().name() == "template")
}

/// An href as a link: resolved against the page, and only if a crawler can follow it.
pub fn resolve(base: &Url, href: &str) -> Option<String> {
    let href = base.join(href.trim()).ok()?;
    // mailto:, javascript: and the like are not pages a crawler can follow.
    matches!(href.scheme(), "http" | "https").then(|| href.into())
}

/// A selected element gives its own href, or else that of the first link inside it,
/// so `--select h2.title` works as well as `--select h2.title a`.
fn link(element: ElementRef, base: &Url) -> Option<Link> {
    let anchor = if element.attr("href").is_some() {
        element
    } else {
        element.select(&ANCHOR).next()?
    };
    Some(Link {
        href: resolve(base, anchor.attr("href")?)?,
        text: extract::text(element),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(html: &str, css: &str) -> Parsed {
        let base = Url::parse("https://blog.example/list/2.html").unwrap();
        parse(
            html.as_bytes(),
            None,
            &base,
            &Select::parse(css).unwrap(),
            &[],
        )
        .unwrap()
    }

    #[test]
    fn title_and_links_are_trimmed_and_resolved() {
        let page = run(
            "<title>\n  Page  two </title><a href='/p/1'> First\n post </a><a href='../x?a=1&amp;b=2'>X</a>",
            "a[href]",
        );
        assert_eq!(page.title.as_deref(), Some("Page two"));
        let hrefs: Vec<_> = page.links.iter().map(|l| l.href.as_str()).collect();
        assert_eq!(
            hrefs,
            ["https://blog.example/p/1", "https://blog.example/x?a=1&b=2"]
        );
        assert_eq!(page.links[0].text, "First post");
        assert_eq!(page.encoding, Some("utf-8"));
    }

    #[test]
    fn selector_picks_elements_and_their_inner_links() {
        let html = "<h2 class=t><a href='/a'>A</a></h2><a class=post href='/b'>B</a><a href='mailto:x@y'>m</a>";
        assert_eq!(
            run(html, "a.post").links,
            [Link {
                href: "https://blog.example/b".into(),
                text: "B".into()
            }]
        );
        assert_eq!(run(html, "h2.t").links[0].href, "https://blog.example/a");
        assert_eq!(run(html, "a").links.len(), 2, "mailto links are dropped");
    }

    #[test]
    fn text_split_across_elements_is_not_split_into_words() {
        let page = run("<a href='/x'>Hel<em>lo</em>\n there</a>", "a");
        assert_eq!(page.links[0].text, "Hello there");
    }

    #[test]
    fn no_title_is_null() {
        assert_eq!(run("<p>hi</p>", "a").title, None);
    }

    #[test]
    fn deep_nesting_is_cut_and_flagged() {
        let html = format!(
            "<title>deep</title><a href='/top'>top</a>{}",
            "<div>".repeat(100_000)
        );
        let page = run(&html, "a");
        assert!(page.truncated);
        assert_eq!(page.title.as_deref(), Some("deep"));
        assert_eq!(page.links.len(), 1);
        assert!(!run("<title>flat</title>", "a").truncated);
    }

    #[test]
    fn the_host_helps_guess_an_undeclared_charset() {
        // Two characters are too few to tell Big5 from the rest; a .tw host tips the guess.
        let (big5, _, _) = encoding_rs::BIG5.encode("<title>中文</title>");
        let guess = |host: &str| {
            let base = Url::parse(&format!("http://{host}/")).unwrap();
            let page = parse(&big5, None, &base, &Select::parse("a").unwrap(), &[]).unwrap();
            (page.encoding.unwrap(), page.title.unwrap())
        };
        assert_eq!(guess("blog.example.tw"), ("big5", "中文".to_string()));
        assert_eq!(guess("BLOG.EXAMPLE.TW."), ("big5", "中文".to_string()));
        assert_ne!(guess("blog.example.com").0, "big5");
        assert_ne!(guess("127.0.0.1").0, "big5");
    }
}
