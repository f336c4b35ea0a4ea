//! Turns a URL into a status and a body with the shared blocking client, and any failure into an error kind.

use std::io::{self, Read};
use std::time::{Duration, Instant};

use reqwest::blocking::Client;
use url::Url;

use crate::record::{millis, ErrorKind, PageError};

/// What one request produced; parsing decides the rest of the record.
#[derive(Debug, Default)]
pub struct Fetched {
    pub final_url: Option<Url>,
    pub status: Option<u16>,
    pub body: Vec<u8>,
    pub fetch_ms: Option<f64>,
    pub error: Option<PageError>,
}

impl Fetched {
    /// A page that was never requested, such as an invalid URL line.
    pub fn failed(error: PageError) -> Self {
        Fetched {
            error: Some(error),
            ..Fetched::default()
        }
    }
}

/// Sent unless --user-agent says otherwise: names the tool so site owners can tell who calls.
pub const USER_AGENT: &str = concat!("crawl/", env!("CARGO_PKG_VERSION"));

/// Builds the one client every crawler thread shares, so they share its connection pool.
pub fn client(timeout: Duration, user_agent: &str) -> anyhow::Result<Client> {
    let client = Client::builder()
        .user_agent(user_agent)
        .timeout(timeout)
        .gzip(true)
        .brotli(true)
        .deflate(true)
        .build()?;
    Ok(client)
}

/// Turns a URL line into something fetchable, or says why it is not.
pub fn target(line: &str) -> Result<Url, PageError> {
    let invalid = |why: &str| PageError::new(ErrorKind::InvalidUrl, format!("{why}: {line}"));
    let mut url = Url::parse(line).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("not an http(s) URL"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(invalid("no host"));
    }
    // The fragment never reaches the server; dropping it keeps final_url honest.
    url.set_fragment(None);
    Ok(url)
}

pub fn fetch(client: &Client, url: &Url, timeout: Duration) -> Fetched {
    let started = Instant::now();
    let mut fetched = request(client, url, timeout, started);
    fetched.fetch_ms = Some(millis(started.elapsed()));
    fetched
}

fn request(client: &Client, url: &Url, timeout: Duration, started: Instant) -> Fetched {
    // A per-request timeout is a deadline for the whole exchange, body included,
    // whereas the client's own timeout restarts at every read.
    let mut response = match client.get(url.clone()).timeout(timeout).send() {
        Ok(response) => response,
        Err(e) => return Fetched::failed(classify(&e)),
    };
    let status = response.status();
    let mut fetched = Fetched {
        final_url: Some(response.url().clone()),
        status: Some(status.as_u16()),
        ..Fetched::default()
    };
    if let Err(e) = read_body(&mut response, &mut fetched.body, started + timeout) {
        fetched.error = Some(e);
    } else if !status.is_success() {
        fetched.error = Some(PageError::new(ErrorKind::HttpStatus, status.to_string()));
    }
    fetched
}

fn read_body(
    response: &mut impl Read,
    body: &mut Vec<u8>,
    deadline: Instant,
) -> Result<(), PageError> {
    let mut chunk = [0u8; 16 * 1024];
    loop {
        match response.read(&mut chunk) {
            Ok(0) => return Ok(()),
            Ok(n) => body.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(classify_io(&e)),
        }
        if Instant::now() > deadline {
            return Err(PageError::new(
                ErrorKind::Timeout,
                "body not complete within --timeout",
            ));
        }
    }
}

fn classify(e: &reqwest::Error) -> PageError {
    let kind = if e.is_timeout() {
        ErrorKind::Timeout
    } else if e.is_redirect() {
        ErrorKind::Redirect
    } else if e.is_body() || e.is_decode() {
        ErrorKind::Body
    } else {
        ErrorKind::Connect
    };
    PageError::new(kind, chain(e))
}

fn classify_io(e: &io::Error) -> PageError {
    let timed_out = e.kind() == io::ErrorKind::TimedOut
        || e.get_ref()
            .and_then(|inner| inner.downcast_ref::<reqwest::Error>())
            .is_some_and(reqwest::Error::is_timeout);
    let kind = if timed_out {
        ErrorKind::Timeout
    } else {
        ErrorKind::Body
    };
    PageError::new(kind, chain(e))
}

/// reqwest's top-level messages ("error sending request") hide the cause; the chain names it.
fn chain(e: &dyn std::error::Error) -> String {
    let mut message = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(line: &str) -> Option<ErrorKind> {
        target(line).err().map(|e| e.kind)
    }

    #[test]
    fn only_http_urls_with_a_host_are_targets() {
        for line in [
            "file:///etc/passwd",
            "ftp://x.org/",
            "javascript:alert(1)",
            "hello",
            "http://",
            "/rel",
        ] {
            assert_eq!(kind(line), Some(ErrorKind::InvalidUrl), "{line}");
        }
        assert_eq!(kind("https://example.com/a"), None);
    }

    #[test]
    fn fragments_are_dropped() {
        assert_eq!(
            target("http://a.org/p#top").unwrap().as_str(),
            "http://a.org/p"
        );
    }
}
