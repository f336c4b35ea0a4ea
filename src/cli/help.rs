//! What `--help`, the man page and the completion scripts say beyond the options themselves:
//! the headings options are grouped under, the examples and the exit codes.

use std::io::Write;

use clap::{Arg, CommandFactory};

use crate::exit::ExitCode;

// The groups of `--help` and the man page, in the order they are shown (clap shows a heading
// where its first option is defined).
pub const INPUT_OUTPUT: &str = "Input and output";
/// Request options. Other files' options under this heading spell it alike.
pub const FETCHING: &str = "Fetching";
pub const FOLLOWING: &str = "Following links";
pub const POLITENESS: &str = "Politeness";
pub const POOLS: &str = "Modes and pools";
pub const RECRAWLS: &str = "Re-crawls and replays";
pub const SEEING: &str = "Seeing the crawl";
pub const SHARED: &str = "Shared crawls (Redis)";

/// Every heading, for the tests that check `--help` and the man page show them all.
pub const HEADINGS: [&str; 8] = [
    INPUT_OUTPUT,
    FETCHING,
    FOLLOWING,
    POLITENESS,
    POOLS,
    RECRAWLS,
    SEEING,
    SHARED,
];

/// The README's top examples: a comment, then the command.
pub const EXAMPLES: [(&str, &str); 6] = [
    (
        "Every post link on the sample seeds",
        "crawl --select a.post-item-title urls.txt | jq -r '.links[].href'",
    ),
    (
        "Post titles and where they point, as TSV",
        "crawl --select a.post-item-title urls.txt | jq -r '.links[] | [.text, .href] | @tsv'",
    ),
    (
        "What failed, and why",
        "crawl urls.txt -o out.jsonl; jq -c 'select(.error) | {url, status, error}' out.jsonl",
    ),
    (
        "A whole site, politely",
        "crawl --depth 3 --delay 500ms --exclude '/tag/' -o site.jsonl urls.txt",
    ),
    (
        "Same work on one thread, to compare the summary lines",
        "crawl --mode single urls.txt > /dev/null",
    ),
    (
        "Offline, against the embedded blog",
        "crawl serve --port 8080 --latency 50ms --pages 200 &
curl -s http://127.0.0.1:8080/urls.txt > local.txt
crawl --select a.post-item-title local.txt | jq -r '.title'",
    ),
];

/// The options `compare` takes but refuses or overrides (it runs every mode itself and prints
/// its own figures): hidden from its help. `compare` itself says why when one is given.
pub const NOT_FOR_COMPARE: [&str; 10] = [
    "mode",
    "resume",
    "stats",
    "timeline",
    "warc",
    "cookie_jar",
    "redis",
    "job",
    "lease",
    "status",
];

/// The options `-h` shows, by id: one screen of the common ones (and compare's own two). Every
/// other option, those added later included, waits for `--help`.
pub const SHORT_HELP: [&str; 11] = [
    "output", "select", "depth", "include", "exclude", "delay", "mode", "crawlers", "quiet",
    "repeat", "format",
];

/// Keeps `arg` out of `-h` unless it is a common one (or the URL file).
pub fn for_short_help(arg: Arg) -> Arg {
    let common = arg.is_positional() || SHORT_HELP.contains(&arg.get_id().as_str());
    arg.hide_short_help(!common)
}

/// Hides `arg` from `crawl compare --help` when compare has no use for it.
pub fn for_compare(arg: Arg) -> Arg {
    let hidden = NOT_FOR_COMPARE.contains(&arg.get_id().as_str());
    for_short_help(arg).hide(hidden)
}

/// The end of `-h`: where the rest is.
pub const AFTER_SHORT: &str =
    "All options, examples and exit codes: crawl --help (or crawl man | man -l -)";

/// The end of `--help` and of the man page: examples, then the exit codes from their enum.
pub fn after_long_help() -> String {
    let mut text = String::from("Examples:\n");
    for (what, command) in EXAMPLES {
        text += &format!("  # {what}\n");
        for line in command.lines() {
            text += &format!("  {line}\n");
        }
        text += "\n";
    }
    text += "Exit codes:\n";
    for code in ExitCode::ALL {
        text += &format!("  {:<5}{}\n", code.code(), code.meaning());
    }
    text
}

/// `crawl completions SHELL`: the completion script for SHELL on `out`.
pub fn completions(shell: clap_complete::Shell, out: &mut dyn Write) -> std::io::Result<()> {
    // Into memory first: the generator panics on a write error, and a closed pipe is none.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut super::Cli::command(), "crawl", &mut script);
    out.write_all(&script)
}

/// `crawl man`: the man page, in roff: clap_mangen's sections, with the examples and exit codes
/// as EXAMPLES and EXIT STATUS where man pages keep them.
pub fn man(out: &mut dyn Write) -> std::io::Result<()> {
    // A page has room for every option's text, those `-h` leaves out too.
    let cmd = super::Cli::command().mut_args(|arg| arg.hide_short_help(false));
    let page = clap_mangen::Man::new(cmd);
    page.render_title(out)?;
    page.render_name_section(out)?;
    page.render_synopsis_section(out)?;
    page.render_description_section(out)?;
    page.render_options_section(out)?;
    page.render_subcommands_section(out)?;
    let mut text = String::from(".SH EXAMPLES\n");
    for (what, command) in EXAMPLES {
        text += &format!(".PP\n{}\n.PP\n.RS 4\n.nf\n", roff_line(what));
        for line in command.lines() {
            text += &roff_line(line);
            text += "\n";
        }
        text += ".fi\n.RE\n";
    }
    text += ".SH \"EXIT STATUS\"\n";
    for code in ExitCode::ALL {
        text += &format!(".TP\n{}\n{}\n", code.code(), roff_line(code.meaning()));
    }
    out.write_all(text.as_bytes())?;
    page.render_version_section(out)
}

/// `line` as roff text: backslashes escaped, hyphens as the minus signs a shell needs, and a
/// leading dot or quote kept from reading as a request.
fn roff_line(line: &str) -> String {
    let text = line.replace('\\', "\\e").replace('-', "\\-");
    match text.starts_with(['.', '\'']) {
        true => format!("\\&{text}"),
        false => text,
    }
}
