//! The one engine against the two replays it replaces (src/nesting and src/fast, kept for
//! this test only): the same cuts and the same records on generated pages.

use url::Url;

use super::stream::tests::{Soup, TAGS};
use super::{guard, stream};
use crate::css::Select;
use crate::parse::{parse_by, Path};

/// More of html5ever's rarer rules than the stream tests' soup has.
const RARE: &[&str] = &[
    "math",
    "mi",
    "mo",
    "annotation-xml",
    "foreignObject",
    "desc",
    "title",
    "mglyph",
    "malignmark",
    "applet",
    "object",
    "marquee",
    "caption",
    "colgroup",
    "col",
    "plaintext",
    "image",
    "isindex",
    "frame",
    "frameset",
    "font color=red",
    "font",
    "nobr",
    "ruby",
    "rb",
    "rt",
    "rtc",
    "rp",
    "option",
    "optgroup",
    "input",
    "hr",
    "area",
    "textarea",
    "xmp",
    "listing",
    "dialog",
    "search",
    "button",
    "form",
    "address",
    "select",
    "template",
    "svg",
    "table",
    "tbody",
    "tr",
    "td",
    "th",
    "thead",
    "tfoot",
    "p",
    "li",
    "dd",
    "dt",
    "div",
    "b",
    "i",
    "a",
    "span",
    "h1",
    "h2",
    "head",
    "body",
    "html",
    "noscript",
    "style",
    "script",
    "br",
    "pre",
    "code",
    "em",
    "ul",
    "ol",
    "dl",
    "blockquote",
    "main",
    "noembed",
    "iframe",
];

/// Units that pile up or make html5ever rearrange, repeated.
const STORMS: &[&str] = &[
    "<div><b id=1></div>",
    "<p><b>x</p>",
    "<table><td><b><i>x</table>",
    "<a href=x><div>y</a>",
    "<b><p>x</b>",
    "<div>",
    "<span>",
    "<b>",
    "<font color=red>",
    "<table>",
    "<tr><td>",
    "<svg><g>",
    "<math><mi>",
    "<template>",
    "<select><option>",
    "<li>",
    "<nobr>x",
    "</p>",
    "</b>",
    "</div>",
    "x",
    " ",
    "\n",
    "<pre>\n",
    "<a>",
    "<object>",
    "<caption>",
    "<colgroup><col>",
    "&#32;",
    "</ x>",
    "<!DOCTYPE html>",
    "<head>",
    "</head>",
    "<body>",
    "<frameset>",
    "<script>x</script>",
    "<title>t</title>",
    "<br>",
    "</br>",
    "<p>",
    "<form>",
    "</form>",
    "<h1>",
    "<button>",
];

fn pages(n: usize) -> Vec<String> {
    let mut soup = Soup(0x1234_5678_9ABC_DEF1);
    let mut pages = Vec::new();
    for round in 0..n {
        let page = match round % 5 {
            0 => soup.page(),
            1 => soup.soup(300, 6, RARE),
            2 => soup.soup(120, 7, TAGS),
            3 => {
                let mut page = String::new();
                for _ in 0..soup.next() % 600 {
                    page.push_str(soup.pick(STORMS));
                }
                page
            }
            _ => {
                let mut page = String::from("<!DOCTYPE html><body>");
                let depth = 20 + (soup.next() % 140) as u32;
                soup.tree(depth, &mut page);
                page
            }
        };
        pages.push(page);
    }
    pages
}

/// How deep html5ever really nests elements, less html and body.
fn parsed_depth(html: &str) -> usize {
    let document = scraper::Html::parse_document(html);
    let elements = document.tree.nodes().filter(|n| n.value().is_element());
    elements.map(|n| n.ancestors().count()).max().unwrap_or(2) - 2
}

#[test]
fn the_guard_cuts_where_the_old_one_did() {
    let mut differ = Vec::new();
    let (mut cuts, mut total) = (0, 0);
    for page in pages(20_000) {
        for cap in [128, 40, 12] {
            let old = crate::nesting::cut_point(page.as_bytes(), cap);
            let new = guard::cut_point(&page, cap);
            total += 1;
            cuts += usize::from(new.is_some());
            if old != new {
                differ.push((cap, old, new, page.clone()));
            }
        }
    }
    differ.sort_by_key(|d| d.3.len());
    for (cap, old, new, page) in differ.iter().take(6) {
        let deep = |cut: &Option<usize>| parsed_depth(&page[..cut.unwrap_or(page.len())]);
        eprintln!(
            "cap {cap}: old {old:?} (parses {} deep) new {new:?} (parses {} deep) on {page:?}",
            deep(old),
            deep(new)
        );
    }
    // Where the old guard erred deep (a newline dropped after `<pre>`, whitespace written as a
    // reference, a bogus comment before the doctype) the new one keeps more, and html5ever
    // still nests what it keeps no deeper than the cap, or than what the old one kept.
    for (cap, old, new, page) in &differ {
        let deep = |cut: &Option<usize>| parsed_depth(&page[..cut.unwrap_or(page.len())]);
        assert!(deep(new) <= deep(old).max(*cap), "{page:?}");
    }
    eprintln!("{} of {total} differ ({cuts} cuts)", differ.len());
}

#[test]
fn the_extractor_answers_where_and_as_the_old_pass_did() {
    let base = Url::parse("https://blog.example/dir/page.html").unwrap();
    let (mut both, mut old_only, mut new_only) = (0, Vec::new(), Vec::new());
    let selectors = [
        "a[href]", "a.post", "h2 a", "div > a", ".title", "li", "*", "p a, td",
    ];
    for (round, page) in pages(20_000).into_iter().enumerate() {
        let select = Select::parse(selectors[round % selectors.len()]).unwrap();
        let simple = select.simple.as_ref().unwrap();
        let old = crate::fast::extract(&page, &base, simple);
        let new = stream::extract(&page, &base, simple);
        match (old, new) {
            (Some(old), Ok(new)) => {
                assert_eq!(
                    (old.title, old.links, old.meta),
                    (new.title, new.links, new.meta),
                    "{page:?}"
                );
                both += 1;
            }
            (Some(_), Err(_)) => old_only.push(page),
            (None, Ok(new)) => {
                let tree = parse_by(Path::Tree, page.as_bytes(), None, &base, &select, &[]);
                assert_eq!(
                    (new.title, new.links, new.meta),
                    (tree.title, tree.links, tree.meta),
                    "{page:?}"
                );
                new_only.push(page)
            }
            (None, Err(_)) => {}
        }
    }
    old_only.sort_by_key(|p| p.len());
    new_only.sort_by_key(|p| p.len());
    for page in old_only.iter().take(8) {
        eprintln!("only the old pass answered {page:?}");
    }
    for page in new_only.iter().take(5) {
        eprintln!("only the new pass answered {page:?}");
    }
    eprintln!(
        "{both} both, {} old only, {} new only",
        old_only.len(),
        new_only.len()
    );
    assert!(old_only.is_empty());
}
