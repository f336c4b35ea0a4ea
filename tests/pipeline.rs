//! The pipeline driven directly, through the library: one config, one run, the summary it gives
//! and the records it writes, with no binary in between.

mod support;

use clap::Parser;
use crawl::cli::config::Config;
use crawl::cli::Cli;
use crawl::crawl::pipeline;
use crawl::observe::report::Ending;
use crawl::stop::Stop;
use support::{blog_page, Response, Server};

/// A config from a command line, as the binary builds it.
fn config(args: &[&str]) -> Config {
    let cli = Cli::try_parse_from([&["crawl"], args].concat()).unwrap();
    Config::from_args(cli.crawl, &Stop::default()).unwrap()
}

#[test]
fn every_mode_runs_the_same_crawl_to_the_same_summary_and_records() {
    let server = Server::start(|req, _| match req.path.as_str() {
        "/robots.txt" => Response::status(404),
        "/" => Response::html(blog_page("home", &["/a", "/b"])),
        "/b" => Response::status(500),
        p => Response::html(blog_page(p, &[])),
    });
    let dir = tempfile::tempdir().unwrap();
    let urls = dir.path().join("urls.txt");
    std::fs::write(&urls, server.url("/") + "\n").unwrap();
    for mode in ["single", "multi", "async"] {
        let out = dir.path().join(format!("{mode}.jsonl"));
        let args = [
            "--mode",
            mode,
            "--depth",
            "1",
            "--retries",
            "0",
            "--select",
            "a.post-item-title",
            "-o",
            out.to_str().unwrap(),
            urls.to_str().unwrap(),
        ];
        let summary = pipeline::run(config(&args).crawl).unwrap();
        assert_eq!(summary.ending, Ending::Complete, "{mode}");
        assert_eq!(
            (
                summary.pages(),
                summary.measured.ok,
                summary.measured.failed
            ),
            (3, 2, 1),
            "{mode}"
        );
        assert_eq!(
            summary.measured.errors.get("http_status"),
            Some(&1),
            "{mode}"
        );
        let text = std::fs::read_to_string(&out).unwrap();
        let mut depths: Vec<(String, u64)> = text
            .lines()
            .map(|line| {
                let record: serde_json::Value = serde_json::from_str(line).unwrap();
                let url = record["url"].as_str().unwrap().to_string();
                (url, record["depth"].as_u64().unwrap())
            })
            .collect();
        depths.sort();
        assert_eq!(
            depths,
            [
                (server.url("/"), 0),
                (server.url("/a"), 1),
                (server.url("/b"), 1)
            ],
            "{mode}"
        );
    }
}
