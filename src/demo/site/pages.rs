//! The generated pages: list, post and index pages with Chinese and English prose, rendered
//! the same every time from a per-page seed.

use std::fmt::{self, Display, Write as _};

use super::POSTS_PER_PAGE;

/// splitmix64: tiny, fast and good enough to make text look varied; seeded per page so
/// the same page always renders to the same bytes.
struct Rng(u64);

impl Rng {
    /// Salts keep the streams of, say, list page 3 and post 3 apart.
    fn new(salt: u64, n: usize) -> Self {
        Rng(salt ^ (n as u64).wrapping_mul(0xD1B5_4A32_D192_ED03))
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

const META_SALT: u64 = 0x6D65_7461;
const BODY_SALT: u64 = 0x626F_6479;

#[rustfmt::skip]
const ZH: &[&str] = &[
    "并发", "线程", "爬虫", "解析", "队列", "锁", "异步", "协程", "内存", "缓存", "性能",
    "优化", "源码", "调度器", "通道", "原子操作", "死锁", "生命周期", "所有权", "借用检查",
    "编译器", "网络", "连接池", "超时", "重试", "限流", "日志", "数据库", "索引", "事务",
    "分布式", "微服务", "容器", "部署", "单元测试", "基准测试", "算法", "数据结构", "哈希表",
    "链表", "红黑树", "垃圾回收", "指针", "引用计数", "迭代器", "闭包", "泛型", "宏", "模式匹配",
    "错误处理", "序列化", "消息队列", "负载均衡", "背压", "事件循环", "零拷贝", "文件描述符",
    "系统调用", "信号量", "条件变量", "读写锁", "无锁队列", "工作窃取", "线程池", "吞吐量", "延迟",
    "火焰图", "内核", "虚拟内存", "选择器", "正则表达式", "字符编码", "中文分词",
];

#[rustfmt::skip]
const EN: &[&str] = &[
    "Rust", "tokio", "hyper", "async/await", "Mutex", "RwLock", "Arc<Mutex<T>>", "Vec<T>",
    "Option<T>", "Result<T, E>", "channel", "crossbeam", "rayon", "epoll", "io_uring", "TCP",
    "HTTP/1.1", "HTML", "CSS selector", "keep-alive", "thread pool", "work stealing",
    "backpressure", "lock-free", "benchmark", "latency", "throughput", "Linux", "kernel",
    "Docker", "Kubernetes", "Go", "goroutine", "Java", "JVM", "Python", "GIL", "C++", "Node.js",
    "Redis", "MySQL", "PostgreSQL", "Kafka", "gRPC", "JSON", "serde", "reqwest", "scraper",
    "UTF-8", "SIMD", "cache line", "false sharing", "memory ordering", "Send + Sync", "&str",
    "Box<dyn Trait>", "lifetime", "borrow checker", "cargo", "clippy", "flamegraph", "perf",
];

#[rustfmt::skip]
const GLUE: &[&str] = &[
    "的", "和", "与", "在", "中", "把", "对", "是", "，", "以及", "通过", "关于", "，而",
];
#[rustfmt::skip]
const VERBS: &[&str] = &[
    "makes", "avoids", "hides", "reduces", "explains", "breaks", "speeds up", "wraps",
    "replaces", "competes with",
];
#[rustfmt::skip]
const STARTERS: &[&str] = &[
    "In practice,", "Note that", "TL;DR:", "Honestly,", "In our tests", "As expected,",
];
#[rustfmt::skip]
const PREPS: &[&str] = &[
    "with", "without", "under", "inside", "behind", "for", "after",
];

const AUTHORS: &[(&str, &str)] = &[
    ("码农小张", "xiaozhang"),
    ("Rustacean", "rustacean"),
    ("风清扬", "fengqingyang"),
    ("并发老王", "laowang"),
    ("dev_lee", "dev-lee"),
    ("LinuxGeek", "linuxgeek"),
    ("程序员阿杰", "ajie"),
    ("Tokio爱好者", "tokio-fan"),
    ("云端漫步", "cloudwalker"),
    ("bug终结者", "bug-killer"),
];

#[rustfmt::skip]
const SECTIONS: &[&str] = &[
    "一、背景 Background", "二、问题分析 Analysis", "三、实现思路 Design", "四、代码示例 Code", "五、性能测试 Benchmark",
    "六、总结 Summary",
];

/// Writes text with the HTML special characters escaped.
struct Esc<'a>(&'a str);

impl Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(at) = rest.find(['&', '<', '>', '"']) {
            f.write_str(&rest[..at])?;
            f.write_str(match rest.as_bytes()[at] {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                _ => "&quot;",
            })?;
            rest = &rest[at + 1..];
        }
        f.write_str(rest)
    }
}

/// What a list page shows about a post; derived from the post number alone so the list page and
/// the post page agree.
struct PostMeta {
    title: String,
    author: (&'static str, &'static str),
    date: String,
    reads: usize,
    comments: usize,
    likes: usize,
    summary: String,
}

impl PostMeta {
    fn new(k: usize) -> Self {
        let mut rng = Rng::new(META_SALT, k);
        let title = title(&mut rng);
        let author = rng.pick(AUTHORS);
        // Newer posts come first, so dates fall as k grows; 28-day months keep the arithmetic trivial.
        let days = k / 50;
        let date = format!(
            "{}-{:02}-{:02} {:02}:{:02}",
            2025 - days / 336,
            12 - days % 336 / 28,
            28 - days % 28,
            rng.below(24),
            rng.below(60)
        );
        let reads = 50 + rng.below(5000);
        let comments = rng.below(40);
        let likes = rng.below(30);
        let summary = prose(&mut rng, 560);
        PostMeta {
            title,
            author,
            date,
            reads,
            comments,
            likes,
            summary,
        }
    }
}

fn title(rng: &mut Rng) -> String {
    let (a, b, c) = (rng.pick(ZH), rng.pick(ZH), rng.pick(ZH));
    let (e, f) = (rng.pick(EN), rng.pick(EN));
    let n = rng.below(30) + 1;
    match rng.below(8) {
        0 => format!("{e} {a}实战：从{b}到 {f}"),
        1 => format!("深入理解 {e} 的{a}与{b}"),
        2 => format!("{e} 学习笔记（{n}）：{a}{b}"),
        3 => format!("为什么你的{a}这么慢？聊聊 {e} & {f}"),
        4 => format!("How {e} handles {a}{b} — 一次 {f} 排查记录"),
        5 => format!("[{e}] {a}、{b}和{c}"),
        6 => format!("{a}系列 #{n}: {e} vs {f}"),
        _ => format!("用 {e} 写一个{a}{b}（附源码 <{f}>）"),
    }
}

/// Mixed Chinese and English sentences, at least `min_bytes` long.
fn prose(rng: &mut Rng, min_bytes: usize) -> String {
    let mut out = String::new();
    while out.len() < min_bytes {
        if rng.chance(25) {
            let [a, b, c] = [rng.pick(EN), rng.pick(EN), rng.pick(EN)];
            let (start, verb, prep) = (rng.pick(STARTERS), rng.pick(VERBS), rng.pick(PREPS));
            push(&mut out, &format!("{start} {a} {verb} {b} {prep} {c}."));
            continue;
        }
        let words = 4 + rng.below(6);
        for i in 0..words {
            let word = if rng.chance(25) {
                rng.pick(EN)
            } else {
                rng.pick(ZH)
            };
            push(&mut out, word);
            if i + 1 < words {
                push(&mut out, rng.pick(GLUE));
            }
        }
        push(&mut out, rng.pick(&["。", "。", "！", "？"]));
    }
    out
}

/// Appends a piece of text, spacing English apart from Chinese as careful writers do,
/// but never around full-width punctuation.
fn push(out: &mut String, piece: &str) {
    let full_width = |c: char| "，。！？、：".contains(c);
    if let (Some(last), Some(first)) = (out.chars().next_back(), piece.chars().next()) {
        if (last.is_ascii() || first.is_ascii()) && !full_width(last) && !full_width(first) {
            out.push(' ');
        }
    }
    out.push_str(piece);
}

pub(crate) fn render_list(n: usize, pages: usize) -> String {
    let mut out = String::with_capacity(48 * 1024);
    list_page(&mut out, n, pages).expect("writing to a String cannot fail");
    out
}

pub(crate) fn render_post(k: usize, pages: usize) -> String {
    let mut out = String::with_capacity(24 * 1024);
    post_page(&mut out, k, pages).expect("writing to a String cannot fail");
    out
}

pub(crate) fn render_index(pages: usize) -> String {
    let mut out = String::with_capacity(8 * 1024);
    index_page(&mut out, pages).expect("writing to a String cannot fail");
    out
}

fn head(out: &mut String, title: &str, description: &str, canonical: &str) -> fmt::Result {
    write!(
        out,
        r#"<!DOCTYPE html>
<html lang="zh-CN">
<head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1.0">
    <meta name="referrer" content="origin-when-cross-origin">
    <meta name="keywords" content="并发,线程,爬虫,Rust,tokio,concurrency,crawler">
    <meta name="description" content="{description}">
    <meta property="og:title" content="{title}">
    <meta property="og:site_name" content="博客园">
    <title>{title}</title>
    <link rel="stylesheet" href="/site.css">
    <link rel="canonical" href="{canonical}">
    <link rel="alternate" type="text/plain" title="seed URLs" href="/urls.txt">
</head>
"#,
        title = Esc(title),
        description = Esc(description),
    )
}

fn header(out: &mut String, pages: usize) -> fmt::Result {
    write!(
        out,
        r#"<body>
<header id="header" class="site-header">
    <div id="logo"><a href="/" title="博客园 - 开发者的网上家园">博客园</a></div>
    <nav id="nav_menu" class="navbar">
        <ul class="nav-list">
            <li><a href="/" class="nav-item">首页</a></li>
            <li><a href="/list/1.html" class="nav-item">最新 Latest</a></li>
            <li><a href="/list/{pages}.html" class="nav-item">最早 Oldest</a></li>
            <li><a href="/urls.txt" class="nav-item">种子 Seeds</a></li>
            <li><a href="/robots.txt" class="nav-item">robots.txt</a></li>
        </ul>
    </nav>
    <form id="search" action="/" method="get"><input type="search" name="q" placeholder="搜索 Search"></form>
</header>
"#
    )
}

fn footer(out: &mut String) -> fmt::Result {
    out.push_str(
        r#"<footer id="footer" class="site-footer">
    <p>Copyright &copy; 2025 博客园 &amp; crawl &lt;offline demo&gt; · 本站内容由程序生成，仅供测试。</p>
    <p>Powered by .NET &amp; Rust · <a href="/">首页</a> · <a href="/robots.txt">robots.txt</a></p>
</footer>
</body>
</html>
"#,
    );
    Ok(())
}

fn list_page(out: &mut String, n: usize, pages: usize) -> fmt::Result {
    let title = format!("博客园 - 第 {n} 页 - Page {n}");
    let description = format!("博客园是一个面向开发者的知识分享社区，第 {n} 页 / {pages}");
    head(out, &title, &description, &format!("/list/{n}.html"))?;
    header(out, pages)?;
    write!(
        out,
        r#"<main id="main" class="main">
    <div class="card headline">
        <h1>最新文章 Latest posts <small>第 {n} 页</small></h1>
    </div>
<div id="post_list" class="post-list">
"#
    )?;
    for k in (n - 1) * POSTS_PER_PAGE + 1..=n * POSTS_PER_PAGE {
        list_entry(out, k)?;
    }
    out.push_str("</div>\n");
    pager(out, n, pages)?;
    out.push_str("</main>\n");
    footer(out)
}

fn list_entry(out: &mut String, k: usize) -> fmt::Result {
    let meta = PostMeta::new(k);
    let (author, slug) = meta.author;
    write!(
        out,
        r##"<article class="post-item" data-post-id="{k}">
    <section class="post-item-body">
        <div class="post-item-text">
            <a class="post-item-title" href="/post/{k}.html" target="_blank">
                {title}
            </a>
            <p class="post-item-summary">
                <a href="/?author={slug}" target="_blank"><img width="48" height="48" class="avatar" src="data:," alt="{author}"></a>
                {summary}...
            </p>
        </div>
        <footer class="post-item-foot">
            <a href="/?author={slug}" class="post-item-author"><span>{author}</span></a>
            <span class="post-meta-item"><span>{date}</span></span>
            <a class="post-meta-item btn" href="/post/{k}.html#comments" title="评论 {comments}"><svg><use xlink:href="#icon_comment"></use></svg><span>{comments}</span></a>
            <a class="post-meta-item btn" href="/post/{k}.html" title="推荐 {likes}"><svg><use xlink:href="#icon_digg"></use></svg><span>{likes}</span></a>
            <a class="post-meta-item btn" href="/post/{k}.html" title="阅读 {reads}"><svg><use xlink:href="#icon_views"></use></svg><span>{reads}</span></a>
        </footer>
    </section>
</article>
"##,
        title = Esc(&meta.title),
        summary = Esc(&meta.summary),
        author = Esc(author),
        date = meta.date,
        comments = meta.comments,
        likes = meta.likes,
        reads = meta.reads,
    )
}

/// Previous, a window of nearby numbers, first and last, next: never a page outside 1..=pages.
fn pager(out: &mut String, n: usize, pages: usize) -> fmt::Result {
    out.push_str("    <div id=\"paging_block\" class=\"pager\">\n");
    if n > 1 {
        let prev = n - 1;
        writeln!(
            out,
            "        <a href=\"/list/{prev}.html\" class=\"prev\">&lt; Prev 上一页</a>"
        )?;
    }
    let (low, high) = (n.saturating_sub(2).max(1), (n + 2).min(pages));
    if low > 1 {
        out.push_str("        <a href=\"/list/1.html\">1</a>\n");
        if low > 2 {
            out.push_str("        <span class=\"ellipsis\">···</span>\n");
        }
    }
    for m in low..=high {
        if m == n {
            writeln!(out, "        <span class=\"current\">{m}</span>")?;
        } else {
            writeln!(out, "        <a href=\"/list/{m}.html\">{m}</a>")?;
        }
    }
    if high < pages {
        if high + 1 < pages {
            out.push_str("        <span class=\"ellipsis\">···</span>\n");
        }
        writeln!(out, "        <a href=\"/list/{pages}.html\">{pages}</a>")?;
    }
    if n < pages {
        let next = n + 1;
        writeln!(
            out,
            "        <a href=\"/list/{next}.html\" class=\"next\">Next 下一页 &gt;</a>"
        )?;
    }
    out.push_str("    </div>\n");
    Ok(())
}

fn post_page(out: &mut String, k: usize, pages: usize) -> fmt::Result {
    let meta = PostMeta::new(k);
    let (author, slug) = meta.author;
    let list = (k - 1) / POSTS_PER_PAGE + 1;
    let title = format!("{} - {author} - 博客园", meta.title);
    head(out, &title, &meta.summary, &format!("/post/{k}.html"))?;
    header(out, pages)?;
    write!(
        out,
        r#"<main id="main" class="main">
    <article class="post" id="post-{k}">
        <h1 class="postTitle">
            <a id="cb_post_title_url" class="postTitle2" href="/post/{k}.html"><span>{title}</span></a>
        </h1>
        <div class="postDesc">posted @ <span id="post-date">{date}</span> <a href="/?author={slug}">{author}</a> 阅读({reads}) 评论({comments}) 推荐({likes})</div>
        <div id="cnblogs_post_body" class="postBody">
            <p class="lead">{summary}</p>
"#,
        title = Esc(&meta.title),
        author = Esc(author),
        summary = Esc(&meta.summary),
        date = meta.date,
        reads = meta.reads,
        comments = meta.comments,
        likes = meta.likes,
    )?;
    let mut rng = Rng::new(BODY_SALT, k);
    for (i, section) in SECTIONS.iter().enumerate() {
        writeln!(out, "            <h2 id=\"section-{i}\">{section}</h2>")?;
        for _ in 0..2 {
            writeln!(out, "            <p>{}</p>", Esc(&prose(&mut rng, 640)))?;
        }
        if i == 3 {
            code_block(out, &mut rng)?;
        }
    }
    out.push_str("        </div>\n    </article>\n    <nav class=\"post-nav\">\n");
    if k > 1 {
        let prev = PostMeta::new(k - 1).title;
        let prev = Esc(&prev);
        writeln!(
            out,
            "        <a class=\"prev\" href=\"/post/{}.html\">« 上一篇：{prev}</a>",
            k - 1
        )?;
    }
    if k < pages * POSTS_PER_PAGE {
        let next = PostMeta::new(k + 1).title;
        let next = Esc(&next);
        writeln!(
            out,
            "        <a class=\"next\" href=\"/post/{}.html\">下一篇：{next} »</a>",
            k + 1
        )?;
    }
    writeln!(
        out,
        "        <a class=\"back\" href=\"/list/{list}.html\">返回列表 Back to page {list}</a>"
    )?;
    out.push_str("    </nav>\n</main>\n");
    footer(out)
}

fn code_block(out: &mut String, rng: &mut Rng) -> fmt::Result {
    let name = rng.pick(&[
        "crawl_all",
        "fetch_pages",
        "parse_links",
        "drain_queue",
        "spawn_workers",
    ]);
    let workers = 2 + rng.below(15);
    let limit = 10 + rng.below(90);
    let code = format!(
        r#"use std::sync::{{Arc, Mutex}};
use std::thread;

/// {zh}：{en} ({workers} workers)
fn {name}(urls: &[&str]) -> Vec<String> {{
    let results = Arc::new(Mutex::new(Vec::new()));
    let handles: Vec<_> = urls
        .chunks(urls.len() / {workers} + 1)
        .map(|chunk| {{
            let results = Arc::clone(&results);
            let chunk: Vec<String> = chunk.iter().map(|u| u.to_string()).collect();
            thread::spawn(move || {{
                for url in chunk {{
                    if url.len() < {limit} && url.starts_with("http") {{
                        results.lock().unwrap().push(url);
                    }}
                }}
            }})
        }})
        .collect();
    for handle in handles {{
        handle.join().unwrap();
    }}
    Arc::try_unwrap(results).unwrap().into_inner().unwrap()
}}
"#,
        zh = rng.pick(ZH),
        en = rng.pick(EN),
    );
    writeln!(
        out,
        "            <pre><code class=\"language-rust\">{}</code></pre>",
        Esc(&code)
    )
}

fn index_page(out: &mut String, pages: usize) -> fmt::Result {
    head(
        out,
        "博客园 - 开发者的网上家园 Home",
        "博客园首页：最新的技术文章",
        "/",
    )?;
    header(out, pages)?;
    out.push_str(
        r#"<main id="main" class="main">
    <h1>欢迎来到博客园 Welcome</h1>
    <p>从 <a href="/list/1.html">最新文章列表 (page 1)</a> 开始爬取，或者下载 <a href="/urls.txt">urls.txt</a> 作为种子。</p>
    <h2>推荐阅读 Featured</h2>
    <ul class="featured">
"#,
    );
    for k in 1..=5 {
        let title = PostMeta::new(k).title;
        writeln!(
            out,
            "        <li><a href=\"/post/{k}.html\">{}</a></li>",
            Esc(&title)
        )?;
    }
    out.push_str("    </ul>\n</main>\n");
    footer(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The numbers N of every `href="{prefix}N.html"` on a page.
    fn hrefs(page: &str, prefix: &str) -> Vec<usize> {
        let needle = format!("href=\"{prefix}");
        page.split(needle.as_str())
            .skip(1)
            .map(|rest| rest[..rest.find(".html").unwrap()].parse().unwrap())
            .collect()
    }

    #[test]
    fn list_pages_weigh_about_40_kb() {
        for n in [1, 2, 17, 100, 999] {
            let size = render_list(n, 1000).len();
            assert!(
                (35_000..=45_000).contains(&size),
                "page {n} is {size} bytes"
            );
        }
    }

    #[test]
    fn post_pages_weigh_10_to_20_kb() {
        for k in [1, 2, 333, 20_000] {
            let size = render_post(k, 1000).len();
            assert!(
                (10_000..=20_000).contains(&size),
                "post {k} is {size} bytes"
            );
        }
    }

    #[test]
    fn list_page_has_twenty_posts_of_its_own() {
        let page = render_list(3, 10);
        assert_eq!(page.matches("class=\"post-item-title\"").count(), 20);
        let posts = hrefs(&page, "/post/");
        assert!(posts.iter().all(|k| (41..=60).contains(k)), "{posts:?}");
        assert!(page.contains("<title>博客园 - 第 3 页 - Page 3</title>"));
    }

    #[test]
    fn post_links_to_its_list_and_neighbours() {
        let post = render_post(41, 3);
        assert!(post.contains("<a class=\"back\" href=\"/list/3.html\">"));
        let neighbours = hrefs(&post, "/post/");
        assert!(
            neighbours.contains(&40) && neighbours.contains(&42),
            "{neighbours:?}"
        );
        assert!(!hrefs(&render_post(60, 3), "/post/").contains(&61));
        let title = PostMeta::new(41).title;
        assert!(render_list(3, 3).contains(&Esc(&title).to_string()));
    }

    #[test]
    fn rendering_is_deterministic() {
        assert_eq!(render_list(7, 10), render_list(7, 10));
        assert_eq!(render_post(42, 10), render_post(42, 10));
        assert_ne!(render_list(7, 10), render_list(8, 10));
    }

    #[test]
    fn pager_stays_within_range() {
        let pages = 6;
        for n in 1..=pages {
            let page = render_list(n, pages);
            let targets = hrefs(&page, "/list/");
            assert!(
                targets.iter().all(|m| (1..=pages).contains(m)),
                "{targets:?}"
            );
            assert_eq!(targets.contains(&(n + 1)), n < pages);
        }
        let single = render_list(1, 1);
        assert!(hrefs(&single, "/list/").iter().all(|&m| m == 1));
    }
}
