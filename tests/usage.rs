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
    assert_usage_error(&["--select", "", "-"], &input, "EmptySelector");
    assert_usage_error(
        &["--select", "a:hover", "-"],
        &input,
        "UnsupportedPseudoClass",
    );
    assert_usage_error(
        &["--timeout", "18446744073709551615s", "-"],
        &input,
        "at most 30 days",
    );
    assert_usage_error(&["--delay", "31d", "-"], &input, "at most 30 days");
    assert_usage_error(&["--include", "(", "-"], &input, "<REGEX>': unclosed group");
    assert_usage_error(
        &["--max-bytes", "1.5MiB", "-"],
        &input,
        "not a whole number",
    );
    assert_usage_error(&["--user-agent", "bot\u{7f}", "-"], &input, "HTTP header");
    // A value with a line break is shown escaped, so the one line still says why.
    assert_usage_error(
        &["--user-agent", "a\nb", "-"],
        &input,
        "invalid value 'a\\nb' for '--user-agent <STRING>': must be printable ASCII",
    );
    assert_usage_error(
        &["--max-pages", "0", "-"],
        &input,
        "--max-pages <N>': must be at least 1",
    );
    assert_usage_error(
        &["--field", "x=a", "--field", "x=b", "-"],
        &input,
        "--field x is given more than once",
    );
    assert_usage_error(
        &["--stats", "/no/such/dir/s.json", "-"],
        &input,
        "cannot write",
    );
    assert_usage_error(&["--timeline", "/", "-"], &input, "cannot write '/'");
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
fn a_closed_stderr_loses_the_summary_not_the_crawl() {
    let server = Server::start(|_, _| Response::html("<title>x</title>"));
    let mut child = support::bin()
        .args(["--no-robots", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    let mut stdin = child.stdin.take().unwrap();
    std::io::Write::write_all(&mut stdin, (server.url("/") + "\n").as_bytes()).unwrap();
    drop(stdin);
    assert_eq!(child.wait().unwrap().code(), Some(0));
    assert_eq!(server.requests(), 1);
}

#[test]
fn compare_refuses_what_it_cannot_honour() {
    for flag in [["--resume", "-o", "out.jsonl"], ["--stats", "s.json", "-q"]] {
        let run = crawl(&[&["compare"][..], &flag[..], &["-"]].concat(), "");
        assert_eq!(run.code(), 2, "{flag:?}: {}", run.stderr);
        assert!(
            run.stderr.contains("does not go with compare"),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn resume_without_output_is_told_what_is_wrong_with_it() {
    // compare never takes --resume, with or without -o: that is what it hears first.
    assert_usage_error(
        &["compare", "--resume", "-"],
        "",
        "error: --resume does not go with compare",
    );
    assert_usage_error(
        &["--resume", "-"],
        "",
        "error: --resume needs -o FILE: it skips the URLs that already have a record in that file",
    );
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

#[test]
fn negative_values_are_refused_as_negative() {
    let server = Server::start(|_, _| Response::html("<title>x</title>"));
    let input = server.url("/") + "\n";
    let crawl_options = [
        ("--crawlers", "-1", "<N>"),
        ("--parsers", "-2", "<N>"),
        ("--queue", "-1", "<N>"),
        ("--timeout", "-1s", "<DURATION>"),
        ("--connect-timeout", "-500ms", "<DURATION>"),
        ("--retries", "-1", "<N>"),
        ("--max-retry-wait", "-1m", "<DURATION>"),
        ("--max-redirects", "-1", "<N>"),
        ("--max-bytes", "-5MiB", "<SIZE>"),
        ("--depth", "-1", "<N>"),
        ("--max-pages", "-1", "<N>"),
        ("--delay", "-1s", "<DURATION>"),
        ("--per-host", "-1", "<N>"),
    ];
    for (option, value, name) in crawl_options {
        let expect =
            format!("error: invalid value '{value}' for '{option} {name}': must not be negative");
        assert_usage_error(&[option, value, "-"], &input, &expect);
        assert_usage_error(&["compare", option, value, "-"], &input, &expect);
    }
    for args in [
        &["compare", "--repeat", "-1", "-"][..],
        &["serve", "--port", "-1"],
        &["serve", "--latency", "-1s"],
        &["serve", "--pages", "-1"],
        &["demo", "--latency", "-1s"],
        &["demo", "--pages", "-1"],
        &["demo", "--crawlers", "-1"],
    ] {
        assert_usage_error(args, "", "': must not be negative");
    }
    assert_eq!(server.requests(), 0);
}
