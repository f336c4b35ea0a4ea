//! The extractor against html5ever and scraper: wherever it answers, it answers the same.

use url::Url;

use super::{extract, Extract};
use crate::parse::css::Select;
use crate::parse::html::guard;
use crate::parse::{parse_by, Parsed, Path};

fn base() -> Url {
    Url::parse("https://blog.example/dir/page.html").unwrap()
}

fn tree(html: &str, css: &str) -> Parsed {
    let select = Select::parse(css).unwrap();
    parse_by(
        Path::Tree,
        html.as_bytes(),
        Some("text/html; charset=utf-8"),
        &base(),
        &select,
        &[],
    )
}

fn stream(html: &str, css: &str) -> Option<Extract> {
    let select = Select::parse(css).unwrap();
    let simple = select.simple.as_ref().expect("a simple selector");
    extract(html, &base(), simple).ok()
}

/// Whether the pass answered; panics if it answered differently from the tree.
fn same(html: &str, css: &str) -> bool {
    let Some(fast) = stream(html, css) else {
        return false;
    };
    let want = tree(html, css);
    assert_eq!(fast.title, want.title, "title of {html:?} with {css}");
    assert_eq!(fast.links, want.links, "links of {html:?} with {css}");
    assert_eq!(fast.meta, want.meta, "meta of {html:?} with {css}");
    // The pass is the guard's own scan: what it answers, the guard alone does not cut.
    assert!(!guard::limit(html).1, "the guard cuts {html:?}");
    true
}

#[test]
fn well_formed_pages_stream_and_agree() {
    let pages = [
        "<!DOCTYPE html><html lang=en><head><title>T &amp; U</title></head><body><a href=/a>A</a></body></html>",
        "<title>no doctype</title><p>x<a href='b'>B <b>bold</b></a>",
        "<!doctype html><meta name=Description content='  d  '><link rel='Canonical' href=../c><time datetime=2024>t</time>",
        "<!DOCTYPE html><ul><li><a href=/1>1<li><a href=/2>2</a></ul><p>para<div>div</div>",
        "<!DOCTYPE html><pre>\nline</pre><a href=x><pre>\r\nkept?</pre></a>",
        "<!DOCTYPE html><table><tr><td><a href=/t>cell</a><td>two</table><a href=/after>after</a>",
        "<!DOCTYPE html><table> <tbody> <tr> <th>h</th> </tr> </tbody> </table>",
        "<!DOCTYPE html><h2 class=title><a href=/p>Post</a></h2><h2 class='x title'>No link</h2>",
        "<!DOCTYPE html><a href='?a=1&copy=2&amp;b'>q &copy2024 &notit; &#x41;&#128;</a>",
        "<!DOCTYPE html><head></head>\n<script>var a='<a href=x>';</script>\n<body><a href=/s>s</a></body>\n</html>\n<a href=/late>late</a>",
        "<!DOCTYPE html><p><a href=/1>one</a><a href=/2>two</a></p><p>three",
        "<!DOCTYPE html><a href=/i><svg><use xlink:href=#x></use><path d=M0/></svg><span>icon</span></a><svg/>",
        "<!DOCTYPE html><a href=/o>outer <a href=/i>inner</a></a>",
        "<!DOCTYPE html><div><span><a href=/x>x</a></div>y</span>",
        "<!DOCTYPE html><p rel=author>Jane <i>Doe</i></p><meta property=article:author content=''>",
        "<!DOCTYPE html><textarea>\n<a href=/no>&amp;</textarea><title>second</title>",
        "<!DOCTYPE html><noscript><a href=/ns>ns</a></noscript><style>a{}</style><!-- <a href=/c> --><a href=/y>y</a>",
        "<!DOCTYPE html><form><form><a href=/f>f</a></form></form>",
        "<!DOCTYPE html><h1>a<h2>b</h1>c<a href=/h>h</a>",
        "<!DOCTYPE html><dl><dt>t<dd><a href=/d>d</a><dt>u</dl>",
        "<!DOCTYPE html><button><a href=/b1>1</a><button>2</button>",
        "<!DOCTYPE html><a href=/e></a><a href=mailto:x@y>m</a><a href=''>empty</a><a href='  /sp  '>sp</a>",
        "<!DOCTYPE html>text < 3 </ x> <? pi ?> <!bogus> &",
        "<!DOCTYPE html><a href=/p><pre></>\nkept</pre></a>",
    ];
    for page in pages {
        for css in [
            "a[href]", "a", "h2.title", "li", "p", "*", "body a", "td > a",
        ] {
            // `*` would match SVG elements, whose names selectors matches as written.
            let svg_star = css == "*" && page.contains("<svg");
            assert!(
                same(page, css) || svg_star,
                "did not stream: {page:?} with {css}"
            );
        }
    }
}

#[test]
fn what_html5ever_rearranges_goes_to_the_tree() {
    let pages = [
        // The adoption agency with a furthest block, and recreated formatting elements.
        "<!DOCTYPE html><a href=/x><div>in</a>out</div>",
        "<!DOCTYPE html><p><b>bold</p>again",
        "<!DOCTYPE html><div><span><a href=/x>x</div>y</span>",
        "<!DOCTYPE html><p><a href=/1>one</a><a href=/2>two</p><p>three",
        // Foster parenting.
        "<!DOCTYPE html><table><a href=/f>f</a><tr><td>x</table>",
        "<!DOCTYPE html><table>text</table>",
        // Rules the pass does not replay.
        "<!DOCTYPE html><svg><a href=/s>s</a></svg>",
        "<!DOCTYPE html><template><a href=/t>t</a></template>",
        "<!DOCTYPE html><select><option>o</select>",
        "<!DOCTYPE html><body class=x><body class=y>",
        "<!DOCTYPE html><body></p>",
        "<!DOCTYPE html><pre>&#10;x</pre>",
        "<!DOCTYPE html PUBLIC \"-//W3C//DTD HTML 4.01//EN\"><p>x",
        "<p>\0</p>",
    ];
    for page in pages {
        assert!(stream(page, "a[href]").is_none(), "streamed: {page:?}");
        // The record still comes out, from the tree.
        let select = Select::parse("a[href]").unwrap();
        let fast = crate::parse::parse(page.as_bytes(), None, &base(), &select, &[]).unwrap();
        let want = tree(page, "a[href]");
        assert_eq!(
            (fast.title, fast.links, fast.meta),
            (want.title, want.links, want.meta)
        );
    }
}

/// Pages a differential fuzzer found where the pass once answered differently from the tree,
/// each cut down to what still disagreed.
#[test]
fn fuzzed_disagreements_agree() {
    let cases = [
        // SVG elements named like HTML scope or special elements (td, caption, textarea...)
        // are neither to html5ever, so an HTML end tag sees past them.
        ("<!DOCTYPE html><a href=/x><svg><td></a>after", "a"),
        ("<div href><svg><td></div><", "div"),
        ("<li><a href><svg><td></li><", "body a"),
        ("<span rel=author><svg><form></span>y", "a"),
        ("<b rel=author><svg><td></b>&", "a"),
        (
            "<x-a><svg><textarea></x-a><script><!--</script><a href>",
            "a[href]",
        ),
        ("<pre><l rel=author><svg><caption></pre><", "span"),
    ];
    for (html, css) in cases {
        // The pass agrees with the tree where it answers; where it gives up, the record the
        // parse step makes (through the tree) must still be the tree's.
        if !same(html, css) {
            let select = Select::parse(css).unwrap();
            let parsed = crate::parse::parse(html.as_bytes(), None, &base(), &select, &[]).unwrap();
            let want = tree(html, css);
            assert_eq!(
                (parsed.title, parsed.links, parsed.meta),
                (want.title, want.links, want.meta),
                "{html:?} with {css}"
            );
        }
    }
    // A late `<script>` or `<title>` goes back into the head: its text comes before
    // whitespace that followed the head, and belongs to the head. The pass follows that.
    let streams = [
        ("</head> </><script>></script>><a href>", "*"),
        ("<html rel=author><head></head> <script>x</script>y", "a"),
        ("<head rel=author></head><script>x</script>", "a"),
        ("<head href=/h></head> <title>t</title>x <a href=/a>", "*"),
    ];
    for (html, css) in streams {
        assert!(same(html, css), "did not stream: {html:?} with {css}");
    }
}

#[test]
fn the_embedded_blog_streams_every_page() {
    let mut pages = vec![crate::demo::site::render_index(30)];
    pages.extend((1..=30).map(|n| crate::demo::site::render_list(n, 30)));
    pages.extend((1..=30).map(|k| crate::demo::site::render_post(k, 30)));
    for page in &pages {
        for css in ["a[href]", "a.post-item-title", "h2 a"] {
            let select = Select::parse(css).unwrap();
            if let Err(bail) = streamed_page(page, &select) {
                panic!("gave up at {bail:?} on {page}");
            }
            assert!(same(page, css));
        }
    }
}

/// Tags for the soup, some of them several times to make them common.
const TAGS: &[&str] = &[
    "html",
    "head",
    "body",
    "title",
    "meta",
    "link",
    "p",
    "div",
    "span",
    "a",
    "a",
    "a",
    "b",
    "i",
    "em",
    "strong",
    "code",
    "pre",
    "ul",
    "ol",
    "li",
    "dl",
    "dt",
    "dd",
    "h1",
    "h2",
    "h2",
    "table",
    "tbody",
    "thead",
    "tr",
    "td",
    "th",
    "br",
    "img",
    "hr",
    "script",
    "style",
    "noscript",
    "textarea",
    "form",
    "button",
    "input",
    "option",
    "section",
    "article",
    "nav",
    "time",
    "small",
    "font",
    "nobr",
    "caption",
    "col",
    "iframe",
    "xmp",
    "listing",
    "ruby",
    "rt",
    "rp",
    "custom-el",
    "svg",
    "select",
    "template",
    "frameset",
];

/// A small, fixed-seed generator of tag soup: the tags, attributes, references and whitespace
/// that steer html5ever's tree builder, in random order.
struct Soup(u64);

impl Soup {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }

    fn page(&mut self) -> String {
        self.soup(40, 4, TAGS)
    }

    /// A well-nested tree of elements up to `depth` deep, some end tags left out where HTML
    /// allows it, so that pages stream and come near and past the guard's depth limit. Only
    /// the first child of an element carries the depth on, so the page stays small.
    fn tree(&mut self, depth: u32, out: &mut String) {
        // Mostly elements that nest freely; p, li and dd close their own kind and a nested
        // `a` is misnested, so those are rarer.
        const NESTING: &[&str] = &[
            "div",
            "span",
            "b",
            "i",
            "em",
            "section",
            "font",
            "small",
            "code",
            "strong",
            "nav",
            "blockquote",
            "table",
            "div",
            "span",
            "div",
            "ul",
            "li",
            "p",
            "dd",
            "a",
            "h2",
        ];
        let mut tag = self.pick(NESTING);
        // Deeper down only elements that nest freely, so that deep pages stream.
        let shallow = depth < 4;
        if !shallow && matches!(tag, "a" | "p" | "li" | "dd" | "h2") {
            tag = "span";
        }
        let attr = self.pick(&[
            "",
            " class=post",
            " href=/x",
            " class='title x'",
            " rel=author",
        ]);
        out.push_str(&format!("<{tag}{attr}>"));
        if tag == "table" {
            out.push_str("<tr><td>");
        }
        for child in 0..1 + self.next() % 2 {
            let below = if child == 0 { depth } else { depth.min(3) };
            if below > 0 && (child == 0 || !self.next().is_multiple_of(4)) {
                self.tree(below - 1, out);
            } else {
                out.push_str(self.pick(&["text", " ", "&amp; more", "\n"]));
            }
        }
        if tag == "table" {
            out.push_str("</td></tr>");
        }
        if !(shallow && matches!(tag, "li" | "p" | "dd") && self.next().is_multiple_of(3)) {
            out.push_str(&format!("</{tag}>"));
        }
    }

    /// Up to `max` tokens; `starts` in ten are start tags from `tags`.
    fn soup(&mut self, max: u64, starts: u64, tags: &[&str]) -> String {
        const ATTRS: &[&str] = &[
            "",
            "",
            " href=/p/1",
            " href='x y'",
            " href=\"mailto:a@b\"",
            " href='?a=1&copy=2'",
            " href=&amp;q",
            " HREF=/up",
            " class=post",
            " class='title post'",
            " class=x",
            " id=main",
            " rel=author",
            " rel='Author external'",
            " rel=canonical",
            " name=description content='d &amp; e'",
            " name=author content=A",
            " property=og:description content=og",
            " datetime=2024-01-01",
            " lang=fr",
            " href=/dup href=/second",
            "/",
            " a=b/",
        ];
        const TEXT: &[&str] = &[
            "word",
            " ",
            "\n",
            "\r\n",
            "  two words ",
            "&amp;",
            "&nbsp;",
            "&copy",
            "&#10;",
            "&#x41;",
            "&lt;",
            "<",
            "&",
            "é",
            "\t",
        ];
        const OTHER: &[&str] = &["<!-- c -->", "<!-->", "</>", "<!x>", "<?p?>", "</ x>"];
        let mut out = String::new();
        if !self.next().is_multiple_of(3) {
            out.push_str(self.pick(&["<!DOCTYPE html>", "<!doctype HTML>\n", "<!DOCTYPE html>  "]));
        }
        let n = 1 + self.next() % max;
        for _ in 0..n {
            match self.next() % 10 {
                k if k < starts => {
                    let tag = self.pick(tags);
                    let attr = self.pick(ATTRS);
                    out.push_str(&format!("<{tag}{attr}>"));
                }
                k if k < starts + 2 => out.push_str(&format!("</{}>", self.pick(tags))),
                k if k < 9 => out.push_str(self.pick(TEXT)),
                _ => out.push_str(self.pick(OTHER)),
            }
        }
        out
    }
}

#[test]
fn random_tag_soup_agrees_wherever_it_streams() {
    let selectors = [
        "a[href]", "a.post", "h2 a", "div > a", ".title", "li", "*", "p a, td",
    ];
    let (mut streamed, mut total) = (0, 0);
    let mut soup = Soup(0x9E37_79B9_7F4A_7C15);
    for round in 0..20_000 {
        let page = soup.page();
        let css = selectors[round % selectors.len()];
        total += 1;
        if same(&page, css) {
            streamed += 1;
        }
    }
    // Most soup is tame enough to stream; if none did, this test would prove nothing.
    assert!(
        streamed * 4 > total,
        "only {streamed} of {total} pages streamed"
    );
}

#[test]
fn deep_soup_stays_within_the_guard() {
    let mut soup = Soup(0x2545_F491_4F6C_DD1D);
    let (mut streamed, mut cut, mut deepest) = (0, 0, 0);
    for round in 0..2_000 {
        let mut page = String::from("<!DOCTYPE html><body>");
        let depth = 20 + (soup.next() % 140) as u32;
        soup.tree(depth, &mut page);
        let css = ["a[href]", "*", "b a"][round % 3];
        let select = Select::parse(css).unwrap();
        match streamed_page(&page, &select) {
            Ok(fast) => {
                deepest = deepest.max(fast.depth);
                assert!(same(&page, css));
                streamed += 1;
            }
            // A page the guard cuts goes to the tree, cut where the guard alone cuts it.
            Err((Some(at), _)) => {
                assert_eq!(guard::limit(&page).0.len(), at);
                cut += 1;
            }
            Err((None, _)) => assert!(!guard::limit(&page).1),
        }
    }
    assert!(
        streamed > 100 && cut > 100 && deepest > 100,
        "{streamed} streamed, {cut} cut, deepest {deepest}"
    );
}

fn streamed_page(page: &str, select: &Select) -> Result<Extract, super::Handover> {
    extract(page, &base(), select.simple.as_ref().unwrap())
}

#[test]
fn damaged_blog_pages_agree_or_go_to_the_tree() {
    const SNIPPETS: &[&str] = &[
        "<",
        ">",
        "</",
        "<a href=/m>",
        "</a>",
        "<b>",
        "</p>",
        "<table>",
        "<td>",
        "&",
        "&amp",
        "<!--",
        "-->",
        "\"",
        "'",
        "<svg>",
        "<pre>\n",
        "<title>",
        "</div>",
        "<li>",
        "=",
    ];
    let mut soup = Soup(0xD1B5_4A32_D192_ED03);
    let pages = [
        crate::demo::site::render_list(3, 30),
        crate::demo::site::render_post(7, 30),
        crate::demo::site::render_index(30),
    ];
    let mut streamed = 0;
    for round in 0..300 {
        let mut page = pages[round % pages.len()].clone().into_bytes();
        for _ in 0..1 + soup.next() % 4 {
            let at = (soup.next() as usize) % page.len();
            match soup.next() % 3 {
                0 => {
                    let len = (soup.next() as usize % 64).min(page.len() - at);
                    page.drain(at..at + len);
                }
                1 => {
                    let piece = soup.pick(SNIPPETS).as_bytes().to_vec();
                    page.splice(at..at, piece);
                }
                _ => {
                    let other = (soup.next() as usize) % page.len();
                    page.swap(at, other);
                }
            }
        }
        // Cuts and swaps may split a character; the pass sees decoded text, as in a crawl.
        let page = String::from_utf8_lossy(&page);
        for css in ["a[href]", "a.post-item-title", "h2 a"] {
            streamed += usize::from(same(&page, css));
        }
    }
    assert!(streamed > 300, "only {streamed} of 900 streamed");
}

/// Selectors that test attribute operators, case, quotes, odd whitespace in classes, duplicate
/// attributes, lists that overlap and elements html5ever moves or hides, on pages built to
/// trip each of them: where the pass answers, it answers as the tree does.
#[test]
fn tricky_selectors_agree_with_the_tree() {
    let d = "<!DOCTYPE html>";
    let pages: Vec<String> = [
        "<a href=/1 class='x\ty'>1</a><a href=/2 class='x\ny'>2</a><a href=/3 class='x\x0cy'>3</a><a href=/4 class='x\ry'>4</a><a href=/5 class='x\u{a0}y'>5</a><a href=/6 class='x\x0by'>6</a>",
        "<a href=/1 class='x&#9;y'>1</a><a href=/2 class='x&#12;y'>2</a><a href=/3 class='x&#13;y'>3</a><a href=/4 class='x&NewLine;y'>4</a><a href=/5 class='x&nbsp;y'>5</a>",
        "<a href=/1 id=X>1</a><a href=/2 id=x>2</a><a href=/3 ID=x>3</a><a href=/4 id='x '>4</a><a href=/5 id=x id=y>5</a><a href=/6 id=y id=x>6</a>",
        "<a href=/1 title='a b'>1</a><a href=/2 title='a-b'>2</a><a href=/3 title='ab'>3</a><a href=/4 title='A B'>4</a><a href=/5 title=''>5</a><a href=/6 title>6</a><a href=/7>7</a>",
        "<a href=/1 data-x='en'>1</a><a href=/2 data-x='en-US'>2</a><a href=/3 data-x='EN-us'>3</a><a href=/4 data-x='english'>4</a><a href=/5 data-x='-en'>5</a><a href=/6 data-x='en-'>6</a>",
        "<a href=/1 data-x='a\"b'>1</a><a href=/2 data-x=\"a'b\">2</a><a href=/3 data-x='a&quot;b'>3</a><a href=/4 data-x='a\\b'>4</a><a href=/5 data-x='1'>5</a>",
        "<a href=/1 xlink:href=/x>1</a><a xlink:href=/2>2</a><a href=/3 xml:lang=en>3</a><a href=/4 data-X=up>4</a><a HREF=/5 DATA-X=UP>5</a>",
        "<a href=/1 href=/dup>1</a><a class=a class=b href=/2>2</a><a data-k=1 data-k=2 href=/3>3</a><a data-K=1 data-k=2 href=/4>4</a>",
        "<div class=p><a href=/1>1</a><p class=p><a href=/2>2</a></p></div><div><span class=p>no</span><a href=/3>3</a></div>",
        "<div class=x><div><a href=/1>1</a></div><a href=/2>2</a></div><div class=x>none</div><div class=x><b>t</b><a>no href</a><a href=/3>3</a></div>",
        "<ul><li class=x>a<a href=/1>1</a><a href=/2>2</a><li class=x><span class=x><a href=/3>3</a></span></ul>",
        "<noscript><a href=/ns>ns</a></noscript><noscript class=x>t</noscript><iframe><a href=/if></a></iframe><textarea><a href=/ta></textarea><a href=/ok>ok</a>",
        "<svg><a href=/s>svg</a></svg><a href=/h>h</a>",
        "<svg viewBox='0 0 1 1'><g><path/></g></svg><a href=/h>h</a><div viewBox=1><a href=/v>v</a></div>",
        "<template><a href=/t>t</a></template><a href=/h>h</a>",
        "<math><a href=/m>m</a></math>",
        "<a href=/x><svg><text>svgtext</text></svg>after</a>",
        "<a href=/x><svg><style>s{}</style><script>q</script><desc>d</desc></svg>after</a>",
        "<html href=/root><head><title>T</title></head><body>B<a href=/a>a</a></body></html>",
        "<html class=r><body class=b><div id=main><a href=/1 class=post>1</a></div><section><a class='post hot' href=/2>2</a></section></body></html>",
        "<p><a href=/1 rel=NoFollow>1</a><a href=/2 rel=nofollow>2</a><a href=/3 type=TEXT>3</a><a href=/4 target=_BLANK>4</a></p>",
        "<a href=/1 data-x='a b  c'>1</a><a href=/2 data-x='a\tb'>2</a><a href=/3 data-x=' b '>3</a>",
        "<a href='/1' class=' post '>1</a><a href=/2 class='Post'>2</a><a href=/3 class='post-x'>3</a><a href=/4 class='xpost'>4</a>",
        "<body><a href=/p/1>1</a><a href='/p/2'>2</a><a href='/P/3'>3</a><a href='  /p/4'>4</a><a href='&#47;p/5'>5</a><a href='/q/p/6'>6</a>",
        "<div data-a='x&amp;y'><a href=/1>1</a></div><div data-a='x&ampy'><a href=/2>2</a></div><div data-a='x&amp=y'><a href=/3>3</a></div><div data-a='x&copy=y'><a href=/4>4</a></div>",
        "<a href=/1 data-x=é>1</a><a href=/2 data-x='É'>2</a><a href=/3 data-x='ß'>3</a>",
        "<custom-el class=c><a href=/1>1</a></custom-el><Custom-El class=c><a href=/2>2</a></Custom-El>",
        "<h2 class=title><a href=/1>One</a></h2><h2 class=title>No <b>link</b></h2><h2 class=title><span><a href=/3>Three</a></span><a href=/4>Four</a></h2>",
        "<div class=a><div class=b><a href=/1 class=c>1</a></div></div><div class=b><div class=a><a href=/2 class=c>2</a></div></div>",
        "<table><tr><td class=x><a href=/1>1</a></td></tr></table><a href=/2>2</a>",
        "<form class=f><a href=/1>1</a></form>",
        "<a href=/1><b class=x>bold</b></a><b class=x><a href=/2>2</a></b>",
        "<link rel=next href=/n><area href=/ar><base href=/b><a href=/a>a</a>",
        "<p href=/phref>p</p><span href='mailto:x'><a href=/s>s</a></span>",
        "<a href=/1 data-=x>1</a><a href=/2 _x=1>2</a><a href=/3 -x=1>3</a><a href=/4 x-=1>4</a>",
        "<a href=/1 title=\"x y\" data-v=\"x y\">1</a><a href=/2 title='x&#32;y' data-v='x&#x20;y'>2</a>",
        "<input type=hidden><a href=/1>1</a><img src=x.png alt='a b'><a href=/2 alt=x>2</a>",
        "<pre class=x>\n<a href=/1>1</a></pre><listing class=x>\n<a href=/2>2</a></listing>",
        "<a href=/1 class=a>1</a><a href=/2 class=b>2</a><a href=/3 class='a b'>3</a>",
    ]
    .iter()
    .flat_map(|p| [p.to_string(), format!("{d}{p}")])
    .collect();
    let selectors = [
        "a",
        "A",
        "*",
        "a[href]",
        "A[HREF]",
        "[href]",
        "[HREF]",
        "a[Href]",
        ".x",
        ".y",
        ".X",
        "#x",
        "#X",
        "#y",
        "a#x",
        "[id=x]",
        "[id~=x]",
        "[ID=x]",
        "[title]",
        "[title=a]",
        "[title~=a]",
        "[title~='a']",
        "[title|=a]",
        "[title^=a]",
        "[title$=b]",
        "[title*=' ']",
        "[title='a b']",
        "[title*='a b']",
        "[title^='A']",
        "[data-x]",
        "[data-x=en]",
        "[data-x|=en]",
        "[data-x|='EN']",
        "[data-x^=en]",
        "[data-x$='-']",
        "[data-x*='\"']",
        "[data-x*=\"'\"]",
        "[data-x='a\"b']",
        "[data-X]",
        "[data-x=UP]",
        "[DATA-X=UP]",
        "[data-x=up]",
        "[data-x='a\tb']",
        "[data-x*='\t']",
        "[data-x~=b]",
        "[data-x~=a]",
        "[data-k=1]",
        "[data-k=2]",
        "[class=a]",
        "[class~=b]",
        ".a",
        ".b",
        ".a.b",
        ".b.a",
        "[xlink]",
        "[xml]",
        "div.p a",
        ".p > a",
        ".p a",
        "div > a",
        "div a, a",
        "a, div a",
        "a, a",
        ".x a, a",
        "li.x, .x a",
        ".x, .x a",
        ".x a, .x",
        "h2.title",
        "h2.title a",
        "h2 > a",
        ".title",
        "h2.title, h2.title a",
        ".a .b .c",
        ".a > .b > .c",
        ".b .a .c",
        "div .c",
        "div div .c",
        "div > div > a",
        "html a",
        "html > body a",
        "* > a",
        "* a",
        "body > *",
        "html",
        "head",
        "body",
        "[href] a",
        "html[href]",
        "*[href]",
        "noscript",
        "noscript a",
        "iframe",
        "textarea",
        "svg",
        "svg a",
        "g",
        "path",
        "[viewbox]",
        "[viewBox]",
        "div[viewbox] a",
        "viewbox",
        "template a",
        "template",
        "math a",
        "custom-el",
        "CUSTOM-EL",
        "custom-el a",
        ".c",
        "td.x",
        "table a",
        "tr > td > a",
        "tbody a",
        "form.f a",
        "b.x",
        "b.x a",
        "a b.x",
        "link",
        "area",
        "base",
        "[rel]",
        "p",
        "span",
        "p[href]",
        "span[href]",
        "[data-]",
        "[_x]",
        "[x-]",
        "[title='x y']",
        "[data-v='x y']",
        "[data-v^=x]",
        "[alt]",
        "[alt~=b]",
        "input",
        "img",
        "pre.x",
        "listing.x",
        ".x > a",
        "[data-a='x&y']",
        "[data-a*='&']",
        "[data-a$=y]",
        "[data-a='x&ampy']",
        "[data-a='x&copy=y']",
        "[data-x='é']",
        "[data-x='É']",
        "[data-x=é]",
        "[href^='/p']",
        "[href^='/p/']",
        "[href$='1']",
        "[href*=p]",
        "[href='/p/1']",
        "[href^=' ']",
        "a[href^='/p']:not(.x)",
        "body a[href^='/p']",
        "div > a.post[href^='/']",
        "section > a.post.hot",
        "#main a.post",
        "#main > a.post[href]",
        ".post",
        ".hot.post",
        "[class~=post]",
        "[class*=post]",
        "[class$=post]",
        "[class^=post]",
        "[class='post']",
        "[class|=post]",
    ];
    let (mut agreed, mut with_links) = (0, 0);
    for page in &pages {
        for css in selectors {
            let simple = Select::parse(css).is_ok_and(|s| s.simple.is_some());
            if simple && same(page, css) {
                agreed += 1;
                with_links += usize::from(!tree(page, css).links.is_empty());
            }
        }
    }
    // Most pairs stream; enough of them find links that agreeing is not agreeing on nothing.
    assert!(agreed > 8000, "only {agreed} pairs streamed");
    assert!(
        with_links > 1500,
        "only {with_links} streamed pairs found links"
    );
}

#[test]
fn the_title_is_the_pages_own_not_an_icons_or_a_templates() {
    // As browsers take document.title: the first HTML title element in the document. An inline
    // SVG icon's <title> is its tooltip and a template's content is not in the document.
    let cases = [
        ("<p>x</p><svg><title>icon</title></svg>", None),
        ("<template><title>later</title></template><p>x</p>", None),
        (
            "<head><template><title>t</title></template></head><body>x",
            None,
        ),
        (
            "<svg><title>icon</title></svg><title>real</title>",
            Some("real"),
        ),
        (
            "<title>head</title><svg><title>icon</title></svg>",
            Some("head"),
        ),
        (
            "<math><mi><title>in math text</title></mi></math>",
            Some("in math text"),
        ),
    ];
    for (html, want) in cases {
        assert_eq!(tree(html, "a").title.as_deref(), want, "tree: {html}");
        if let Some(fast) = stream(html, "a") {
            assert_eq!(fast.title.as_deref(), want, "stream: {html}");
        }
    }
}
