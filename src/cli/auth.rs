//! The request options that say who the crawl is to a site, spelled as curl spells them: the
//! headers and cookies a login needs.

use clap::Args;
use reqwest::header::{HeaderName, HeaderValue};

#[derive(Debug, Clone, Args)]
pub struct AuthArgs {
    /// Send this header with every request to the seed's host, robots.txt included, as curl's
    /// -H does; never to another host, a redirect's or a link's, unless --header-all-hosts
    /// (repeatable).
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE", value_parser = header, help_heading = "Fetching")]
    pub headers: Vec<(HeaderName, HeaderValue)>,

    /// Send -H's headers to every host the crawl requests, redirects and links included
    /// (they may carry a secret: only for hosts you trust).
    #[arg(long, help_heading = "Fetching")]
    pub header_all_hosts: bool,
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
