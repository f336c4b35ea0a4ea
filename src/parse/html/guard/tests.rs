//! The guard against html5ever's own depth, and its limits.

use super::*;
use crate::parse::html::engine::{MAX_ATTRS, MAX_TOKENS, MAX_WALK};

/// The estimated depth: the lowest cap under which `html` is not cut.
fn depth(html: &str) -> usize {
    (0..=MAX_DEPTH)
        .find(|&cap| cut_point(html, cap).is_none())
        .unwrap_or(usize::MAX)
}

/// How deep html5ever really nests elements, counting html and body.
fn parsed_depth(html: &str) -> usize {
    let document = scraper::Html::parse_document(html);
    let elements = document.tree.nodes().filter(|n| n.value().is_element());
    elements.map(|n| n.ancestors().count()).max().unwrap_or(0)
}

const PAGE: &str = r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>A <b>post</b></title>
<link rel="stylesheet" href="/s.css"><style>p > a { color: red } /* <div> */</style>
<script>if (a < b && c > d) document.write("<div><div></script" + ">");</script>
</head><body class="post">
<!-- header <div><div> -->
<header><nav><ul><li><a href="/">Home</a><li><a href="/about">About</a></ul></nav></header>
<main><article><h1>Title</h1><p>Some <b>bold <i>and italic</i></b> text<br>
and <code>x &lt; y</code>.<p>Unclosed paragraph <img src="a.png" alt="a > b">
<pre><code>fn main() {}</code></pre>
<table><tr><td>1<td>2<tr><td>3</table>
<svg viewBox="0 0 1 1"><path d="M0 0"/><path d="M1 1"/></svg>
<select><option>a<option>b</select>
</article></main><footer><p>&copy; 2024</footer></body></html>"#;

#[test]
fn a_normal_page_is_untouched() {
    assert_eq!(limit(PAGE), (PAGE, false));
    // html5ever's own depth, less html and body.
    assert_eq!(depth(PAGE), parsed_depth(PAGE) - 2);
}

#[test]
fn deep_nesting_is_cut_to_a_prefix_that_parses_shallow() {
    let html = "<div>".repeat(100_000);
    let (kept, cut) = limit(&html);
    assert!(cut);
    assert_eq!(kept.len(), "<div>".len() * MAX_DEPTH);
    assert_eq!(limit(kept), (kept, false));
    assert_eq!(parsed_depth(kept), MAX_DEPTH + 2);
}

#[test]
fn raw_text_does_not_count() {
    let fake = "<div><p><table><b>";
    for element in [
        "script", "style", "textarea", "title", "xmp", "noscript", "iframe",
    ] {
        let html = format!("<div><{element}>{fake}</{element}x></{element} ></div>");
        // The div, and the element holding the text.
        assert_eq!(depth(&html), 2, "{element}");
    }
    // Inside `<!--`, a `<script>` hides the next `</script>`.
    assert_eq!(
        depth("<script><!--<script></script><div>--></script><p>"),
        1
    );
    // Past <plaintext> nothing is markup any more.
    assert_eq!(depth(&format!("<plaintext>{}", "<div>".repeat(1000))), 1);
    // Inside SVG, though, a style is an element like any other.
    assert_eq!(depth("<svg><style><g><g></style></svg>"), 4);
}

#[test]
fn comments_and_doctypes_do_not_count() {
    assert_eq!(
        depth("<!DOCTYPE html><!-- <div><div> --><?php <div> ?><![CDATA[<div>]]>"),
        0
    );
    // What html5ever takes for the end of a comment.
    assert_eq!(depth("<!--><div>"), 1);
    assert_eq!(depth("<!-- --!><div>"), 1);
    assert_eq!(depth("<!--!><div>-->"), 0);
}

#[test]
fn void_and_foreign_self_closed_elements_do_not_count() {
    let voids = "<br><img src=x><meta a=b><link><input><hr><wbr><area><source>";
    assert_eq!(depth(&voids.repeat(1000)), 0);
    let svg = format!("<svg>{}</svg>", "<path d='M0 0'/><g/>".repeat(1000));
    assert_eq!(depth(&svg), 1);
    // But html5ever ignores the slash on HTML elements: these nest.
    assert!(limit(&"<div/>".repeat(1000)).1);
}

#[test]
fn end_tags_html5ever_ignores_close_nothing() {
    for unit in [
        "<span><div></span>",
        "<div></i>",
        "<div></td>",
        "<div></li>",
        "<div></form>",
    ] {
        assert!(limit(&unit.repeat(10_000)).1, "{unit}");
    }
    assert!(!limit(&"</div>".repeat(10_000)).1);
}

#[test]
fn implicitly_closed_elements_do_not_pile_up() {
    let units = [
        ("<ul>", "<li>x"),
        ("", "<p>x"),
        ("<table>", "<tr><td>x<td>y"),
        ("<dl>", "<dt>a<dd>b"),
        ("<select>", "<option>x"),
        ("", "<h1>x<h2>y"),
        ("", "<a href=#>x"),
        ("", "<table><caption>x</table>"),
    ];
    for (open, unit) in units {
        let html = format!("{open}{}", unit.repeat(3_000));
        assert!(!limit(&html).1, "{unit}");
    }
}

#[test]
fn formatting_elements_count_until_html5ever_drops_them() {
    // Closed by the div, recreated in the next one: they pile up.
    let storm: String = (0..1000)
        .map(|i| format!("<div><b id={i}></div>"))
        .collect();
    assert!(limit(&storm).1);
    // Identical ones are kept three at a time (the Noah's Ark clause).
    assert!(!limit(&"<p><b>x</p>".repeat(3_000)).1);
    // A table cell forgets those opened inside it.
    assert!(!limit(&"<table><td><b><i>x</table>".repeat(3_000)).1);
}

#[test]
fn cuts_fall_between_chars() {
    let html = "中文<div>字".repeat(1000);
    let (kept, cut) = limit(&html);
    assert!(cut);
    assert!(kept.ends_with("中文"));
    assert!(html[kept.len()..].starts_with("<div>"));
}

#[test]
fn nuls_and_arbitrary_bytes_never_panic() {
    let mut x = 0x9e37_79b9_7f4a_7c15_u64;
    let alphabet = b"<>/!-=\"' \0\nabdiptsvgcl[]?\xe4\xb8\xad\xff";
    for len in [0, 1, 7, 100, 10_000, 100_000] {
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                alphabet[(x % alphabet.len() as u64) as usize]
            })
            .collect();
        let html = String::from_utf8_lossy(&bytes);
        let (kept, _) = limit(&html);
        assert!(html.starts_with(kept));
    }
    for tail in [
        "<",
        "<div",
        "<a href=\"x",
        "</",
        "</p",
        "<!--",
        "<![CDATA[",
        "<script><!--",
        "<svg><![CDATA[",
    ] {
        assert!(!limit(tail).1);
    }
    let nuls = "\0".repeat(MAX_NULS + 10);
    assert_eq!(limit(&nuls).0.len(), MAX_NULS);
}

#[test]
fn tokens_and_attributes_are_bounded() {
    let attrs: String = (0..=MAX_ATTRS).map(|i| format!(" a{i}")).collect();
    let html = format!("<p>ok</p><div{attrs}>");
    assert_eq!(limit(&html), ("<p>ok</p>", true));
    let html = "</>".repeat(MAX_TOKENS + 1);
    assert_eq!(limit(&html).0.len(), "</>".len() * MAX_TOKENS);
    // Tokens deep down cost more: they may walk the whole stack of open elements.
    let html = format!(
        "{}{}",
        "<span>".repeat(MAX_DEPTH - 1),
        "</>".repeat(MAX_TOKENS)
    );
    let deep = (limit(&html).0.len() - "<span>".len() * (MAX_DEPTH - 1)) / "</>".len();
    assert!(deep.abs_diff(MAX_WALK / (MAX_DEPTH - 1)) < MAX_DEPTH);
}
