//! Bad input is refused before any request is sent: one line on stderr, exit code 2.

mod support;

use support::{crawl, Response, Server};

fn assert_usage_error(args: &[&str], stdin: &str, expect: &str) {
    let run = crawl(args, stdin);
    assert_eq!(run.code(), 2, "{args:?}: {}", run.stderr);
    assert_eq!(
        run.stderr.trim_end().lines().count(),
        1,
        "{args:?}: one line: {}",
        run.stderr
    );
    assert!(run.stderr.contains(expect), "{args:?}: {}", run.stderr);
    assert!(run.stdout.is_empty());
}

#[test]
fn bad_values_exit_2_before_any_request() {
    let server = Server::start(|_, _| Response::html("<title>x</title>"));
    let input = server.url("/") + "\n";
    assert_usage_error(&["--select", "a[", "-"], &input, "--select");
    assert_usage_error(&["--select", "", "-"], &input, "--select");
    assert_usage_error(&["--crawlers", "0", "-"], &input, "at least 1");
    assert_usage_error(&["--parsers", "0", "-"], &input, "--parsers");
    assert_usage_error(&["--queue", "zero", "-"], &input, "--queue");
    assert_usage_error(&["--timeout", "soon", "-"], &input, "--timeout");
    assert_usage_error(&["--timeout", "0s", "-"], &input, "--timeout");
    assert_usage_error(
        &["--mode", "turbo", "-"],
        &input,
        "[possible values: single, multi, async]",
    );
    assert_usage_error(
        &["/no/such/urls.txt"],
        "",
        "cannot read URL file '/no/such/urls.txt'",
    );
    assert_usage_error(&["/"], "", "is a directory");
    assert_usage_error(
        &["-o", "/no/such/dir/out.jsonl", "-"],
        &input,
        "cannot open output file",
    );
    assert_eq!(server.requests(), 0);
}

#[test]
fn missing_urls_argument_is_a_usage_error() {
    let run = crawl(&[], "");
    assert_eq!(run.code(), 2);
    assert!(run.stderr.contains("<URLS>"), "{}", run.stderr);
}

#[test]
fn help_and_version_succeed() {
    let help = crawl(&["--help"], "");
    assert_eq!(help.code(), 0);
    for flag in [
        "--mode",
        "--crawlers",
        "--parsers",
        "--queue",
        "--select",
        "--output",
        "--timeout",
        "--user-agent",
        "--quiet",
    ] {
        assert!(help.stdout.contains(flag), "{flag}");
    }
    assert_eq!(crawl(&["--version"], "").code(), 0);
}
