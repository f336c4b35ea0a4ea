//! The help a user reads: `-h` on one screen, `--help` in groups with examples and exit codes,
//! compare's own help, the completion scripts and the man page, all covering every option.

mod support;

use std::io::Write;
use std::process::{Command, Stdio};

use clap::CommandFactory;
use crawl::cli::help::{EXAMPLES, HEADINGS};
use crawl::cli::Cli;
use crawl::exit::ExitCode;
use support::{crawl_with, Run};

/// A run at a fixed width, so line counts do not depend on the terminal the tests run in.
fn run(args: &[&str]) -> Run {
    let run = crawl_with(args, "", &[("COLUMNS", "100")]);
    assert_eq!(run.code(), 0, "{args:?}: {}", run.stderr);
    run
}

/// Every option of the crawl command, as the user types it (`--depth`, `-o`).
fn crawl_options() -> Vec<(String, clap::Arg)> {
    let cmd = Cli::command();
    let options: Vec<_> = cmd
        .get_arguments()
        .filter(|arg| !arg.is_positional() && !arg.is_hide_set())
        .map(|arg| {
            let name = match (arg.get_long(), arg.get_short()) {
                (Some(long), _) => format!("--{long}"),
                (None, Some(short)) => format!("-{short}"),
                (None, None) => unreachable!("an option has a name"),
            };
            (name, arg.clone())
        })
        .collect();
    assert!(options.len() > 30, "only {} options", options.len());
    options
}

#[test]
fn short_help_is_one_screen_of_the_common_options() {
    let help = run(&["-h"]).stdout;
    let lines = help.lines().count();
    assert!((20..=40).contains(&lines), "{lines} lines:\n{help}");
    for common in [
        "--output", "--select", "--depth", "--delay", "--mode", "--quiet",
    ] {
        assert!(help.contains(common), "{common} missing from -h:\n{help}");
    }
    // The rare ones wait for --help.
    for rare in [
        "--lease",
        "--connect-timeout",
        "--from-replay",
        "--max-retry-wait",
    ] {
        assert!(!help.contains(rare), "{rare} in -h:\n{help}");
    }
    assert!(help.contains("crawl --help"), "{help}");
}

#[test]
fn long_help_groups_every_option_and_ends_with_examples_and_exit_codes() {
    let help = run(&["--help"]).stdout;
    for heading in HEADINGS {
        assert!(
            help.lines().any(|line| line == format!("{heading}:")),
            "no heading {heading:?}:\n{help}"
        );
    }
    for (name, _) in crawl_options() {
        assert!(help.contains(&name), "{name} missing from --help");
    }
    let examples = help.find("\nExamples:\n").expect("an Examples section");
    let codes = help.find("\nExit codes:\n").expect("an Exit codes section");
    assert!(examples < codes, "examples come before exit codes");
    for (what, command) in EXAMPLES {
        assert!(help[examples..codes].contains(what), "{what}");
        for line in command.lines() {
            assert!(help[examples..codes].contains(line), "{line}");
        }
    }
    for code in ExitCode::ALL {
        let line = format!("  {:<5}{}", code.code(), code.meaning());
        assert!(help[codes..].contains(&line), "{line:?} missing:\n{help}");
    }
    // The last of the options' groups comes before the examples: they end the page.
    let last_heading = HEADINGS
        .iter()
        .filter_map(|h| help.find(&format!("\n{h}:\n")))
        .max();
    assert!(last_heading.unwrap() < examples);
}

#[test]
fn repeatable_options_say_so() {
    let mut repeatable = 0;
    for (name, arg) in crawl_options() {
        if matches!(arg.get_action(), clap::ArgAction::Append) {
            repeatable += 1;
            let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
            assert!(help.contains("(repeatable"), "{name}: {help:?}");
        }
    }
    assert!(repeatable >= 4, "only {repeatable} repeatable options");
}

#[test]
fn compare_help_shows_only_what_compare_takes() {
    for flag in ["-h", "--help"] {
        let help = run(&["compare", flag]).stdout;
        for refused in [
            "--mode",
            "--resume",
            "--stats",
            "--timeline",
            "--warc",
            "--redis",
            "--job",
            "--lease",
            "--status",
        ] {
            let shown = help
                .split(|c: char| c.is_whitespace() || c == ',')
                .any(|word| word == refused || word.starts_with(&format!("{refused}=")));
            assert!(!shown, "compare {flag} shows {refused}:\n{help}");
        }
        for taken in ["--repeat", "--format", "--select", "--depth"] {
            assert!(
                help.contains(taken),
                "compare {flag} lacks {taken}:\n{help}"
            );
        }
    }
}

/// Runs `program args` with `input` on stdin; None when the program is not installed.
fn pipe_into(program: &str, args: &[&str], input: &str) -> Option<std::process::Output> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    Some(child.wait_with_output().unwrap())
}

#[test]
fn the_bash_completion_script_parses_and_registers_itself() {
    let script = run(&["completions", "bash"]).stdout;
    assert!(script.contains("complete -F _crawl"), "{script}");
    for (name, _) in crawl_options() {
        assert!(
            script.contains(&name),
            "{name} missing from the bash completions"
        );
    }
    let checked = pipe_into("bash", &["-n"], &script).expect("bash is installed");
    assert!(
        checked.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&checked.stderr)
    );
}

#[test]
fn every_shell_gets_a_script() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let script = run(&["completions", shell]).stdout;
        // fish names options without their dashes.
        assert!(script.contains("from-replay"), "{shell}: {script}");
    }
    let wrong = crawl_with(&["completions", "tcsh"], "", &[]);
    assert_eq!(wrong.code(), 2, "{}", wrong.stderr);
}

#[test]
fn the_man_page_has_every_option_the_groups_and_the_examples() {
    let page = run(&["man"]).stdout;
    // roff spells a hyphen `\-`.
    let text = page.replace("\\-", "-");
    for (name, arg) in crawl_options() {
        assert!(text.contains(&name), "{name} missing from the man page");
        // With its text, the options -h leaves out too.
        let help = arg.get_help().expect("every option has help").to_string();
        // Its first plain words (roff escapes quotes and the like), one at least.
        let plain = |word: &&str| word.chars().all(|c| c.is_ascii_alphabetic());
        let words: Vec<_> = help
            .split_whitespace()
            .skip_while(|w| !plain(w))
            .take_while(plain)
            .take(3)
            .collect();
        assert!(!words.is_empty(), "{name}: {help:?}");
        let squeezed: Vec<_> = text.split_whitespace().collect();
        assert!(
            squeezed.windows(words.len()).any(|w| w == words),
            "{name}'s help {words:?} missing from the man page"
        );
    }
    for heading in HEADINGS {
        let section = format!(".SH \"{}\"", heading.to_uppercase());
        let bare = format!(".SH {}", heading.to_uppercase());
        assert!(
            page.contains(&section) || page.lines().any(|l| l == bare),
            "no section {heading:?}"
        );
    }
    assert!(page.contains(".SH EXAMPLES"));
    for (_, command) in EXAMPLES {
        for line in command.lines() {
            assert!(text.contains(line), "{line} missing from the man page");
        }
    }
    assert!(page.contains(".SH \"EXIT STATUS\""));
    for code in ExitCode::ALL {
        assert!(
            text.contains(&format!(".TP\n{}\n", code.code())),
            "{code:?}"
        );
    }

    // Rendering is the man program's job; it is checked where man is installed.
    match pipe_into("man", &["-l", "-"], &page) {
        None => eprintln!("SKIPPED: `man` is not installed, the page was not rendered"),
        Some(out) => {
            let shown = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                shown.contains("EXIT STATUS") && shown.contains("FOLLOWING LINKS"),
                "{shown}"
            );
        }
    }
}

#[test]
fn the_readme_shows_the_help_examples_and_every_option() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    for (_, command) in EXAMPLES {
        for line in command.lines() {
            assert!(readme.contains(line), "README lacks the example {line:?}");
        }
    }
    let usage = &readme[readme.find("## Usage").unwrap()..readme.find("## Records").unwrap()];
    for heading in HEADINGS {
        assert!(
            usage.contains(&format!("### {heading}")),
            "README usage lacks {heading:?}"
        );
    }
    for (name, _) in crawl_options() {
        if name == "--help" || name == "--version" {
            continue;
        }
        assert!(
            usage.contains(&format!("`{name}")) || usage.contains(&format!(", {name}")),
            "README usage table lacks {name}"
        );
    }
}
