//! The embedded blog as users meet it: `crawl serve` and `crawl demo`.

mod support;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use support::crawl;

#[test]
fn serve_gives_a_blog_to_crawl() {
    let mut server = support::bin()
        .args(["serve", "--port", "0", "--latency", "0ms", "--pages", "5"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(server.stderr.take().unwrap());
    let mut banner = String::new();
    stderr.read_line(&mut banner).unwrap();
    let base = banner
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .expect("serve names its address")
        .trim_end_matches('/')
        .to_string();

    let seeds: String = (1..=5).map(|n| format!("{base}/list/{n}.html\n")).collect();
    let run = crawl(&["-q", "--select", "a.post-item-title", "-"], &seeds);
    server.kill().unwrap();
    let _ = server.wait();

    let records = run.records();
    assert_eq!(records.len(), 5);
    for r in &records {
        assert_eq!(r["status"], 200, "{r}");
        assert!(r["title"].as_str().is_some_and(|t| !t.is_empty()));
        let bytes = r["bytes"].as_u64().unwrap();
        assert!(
            (35_000..=45_000).contains(&bytes),
            "list pages are about 40 KB: {bytes}"
        );
        let links = r["links"].as_array().unwrap();
        assert_eq!(links.len(), 20, "20 post links per list page");
        for l in links {
            assert!(l["href"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{base}/post/")));
            let text = l["text"].as_str().unwrap();
            assert!(!text.is_empty() && text.trim() == text);
        }
    }
}

#[test]
fn demo_compares_the_modes_and_draws_both_timelines() {
    let dir = tempfile::tempdir().unwrap();
    let out = support::bin()
        .args(["demo", "--pages", "12", "--latency", "5ms"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let row = |mode: &str| {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(mode))
            .unwrap_or_else(|| panic!("{mode}: {stdout}"));
        line.split_whitespace()
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(row("single")[1..4], ["1+1", "12", "12"], "{stdout}");
    assert_eq!(row("multi")[2..4], ["12", "12"], "{stdout}");
    assert!(stdout.contains("faster than single"), "{stdout}");
    assert!(stdout.contains("bottleneck: "), "{stdout}");
    for svg in ["demo-single.svg", "demo-multi.svg"] {
        let text = std::fs::read_to_string(dir.path().join(svg)).unwrap();
        assert!(text.contains("class=\"lane\""), "{svg}");
    }
}
