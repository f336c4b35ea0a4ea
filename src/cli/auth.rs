//! The request options that say who the crawl is to a site, spelled as curl spells them: the
//! headers and cookies a login needs.

use std::path::{Path, PathBuf};

use clap::Args;
use reqwest::header::{HeaderName, HeaderValue};

#[derive(Debug, Clone, Args)]
pub struct AuthArgs {
    /// Send this header to the seed's host, as curl's -H does (repeatable).
    ///
    /// Every request to the host of the URL line a page descends from carries it, robots.txt
    /// included; a request to another host, after a redirect or a followed link, does not,
    /// since a header may carry a secret (see --header-all-hosts).
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE", value_parser = header, help_heading = "Fetching")]
    pub headers: Vec<(HeaderName, HeaderValue)>,

    /// Send -H's headers to every host, not only the seed's.
    ///
    /// Redirects and links to other hosts then carry them too: only for hosts you trust with
    /// what the headers hold.
    #[arg(long, help_heading = "Fetching")]
    pub header_all_hosts: bool,

    /// Send cookies: 'NAME=VALUE; ...' to the seeds' hosts, or a cookies.txt FILE (repeatable).
    ///
    /// As curl's -b: a value naming an existing file is read as Netscape cookies.txt (as curl
    /// and wget write it), whose cookies go where their domain and path match; anything else
    /// is a Cookie header's NAME=VALUE pairs. Cookies servers set are then kept and sent back
    /// by the same rules.
    #[arg(short = 'b', long = "cookie", value_name = "COOKIES|FILE", value_parser = cookie, help_heading = "Fetching")]
    pub cookies: Vec<CookieArg>,

    /// At the end, write the crawl's cookies to FILE as Netscape cookies.txt.
    ///
    /// The cookies the crawl holds, those it was given and those servers set, in the file -b
    /// reads back. Like -b, it makes the crawl keep and send back the cookies servers set.
    #[arg(long, value_name = "FILE", help_heading = "Fetching")]
    pub cookie_jar: Option<PathBuf>,
}

/// What one -b gave: a cookies.txt file, or cookies written out.
#[derive(Debug, Clone)]
pub enum CookieArg {
    File(PathBuf),
    Pairs(Vec<(String, String)>),
}

/// As curl decides: a value naming an existing file is that file; else it must be cookies.
fn cookie(s: &str) -> Result<CookieArg, String> {
    if Path::new(s).is_file() {
        return Ok(CookieArg::File(s.into()));
    }
    if !s.contains('=') {
        return Err("no such file, and no NAME=VALUE cookie either".into());
    }
    crate::fetch::cookies::pairs(s).map(CookieArg::Pairs)
}

/// A header as curl's -H takes it: `Name: value`, blanks around the value dropped.
fn header(s: &str) -> Result<(HeaderName, HeaderValue), String> {
    if s.contains(['\r', '\n']) {
        return Err("a header cannot contain a line break".into());
    }
    let Some((name, value)) = s.split_once(':') else {
        return Err("expected 'Name: value' (no ':' found)".into());
    };
    if name.is_empty() {
        return Err("the header's name is empty".into());
    }
    let name = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| format!("'{name}' is not a valid header name"))?;
    let value = HeaderValue::from_bytes(value.trim_matches([' ', '\t']).as_bytes())
        .map_err(|_| "the header's value has a control character".to_string())?;
    Ok((name, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_name_colon_value() {
        let (name, value) = header("X-Token:  abc: d ").unwrap();
        assert_eq!(
            (name.as_str(), value.to_str().unwrap()),
            ("x-token", "abc: d")
        );
        assert_eq!(header("X-Empty:").unwrap().1, "");
        for bad in [
            "NoColon",
            ": v",
            "Bad Name: v",
            "X: a\r\nY: b",
            "X: a\u{1}b",
        ] {
            assert!(header(bad).is_err(), "{bad:?}");
        }
    }
}
