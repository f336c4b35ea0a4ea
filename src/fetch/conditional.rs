//! --since's requests: a page an earlier run recorded with validators is asked for only if it
//! changed, and a 304 to that question is the page as recorded, not an error.

use std::sync::Arc;

use reqwest::header::{
    HeaderMap, HeaderValue, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED,
};
use reqwest::StatusCode;

use super::body::{Expect, Source};
use super::redirect::Hop;
use super::{Fetched, Limits};
use crate::output::since::Previous;

/// The earlier record of the page that answered at `hop`'s URL, which a request there asks
/// about. robots.txt is always asked for whole: it has no record to carry over.
fn asked<'a>(limits: &'a Limits, hop: &Hop, expect: Expect) -> Option<&'a Arc<Previous>> {
    if expect != Expect::Page {
        return None;
    }
    limits.since.as_ref()?.get(hop.url.as_str())
}

/// The If-None-Match / If-Modified-Since headers for a request to `hop`, when the earlier run
/// recorded validators for the page that answered at its URL.
pub fn conditions(limits: &Limits, hop: &Hop, expect: Expect) -> Option<HeaderMap> {
    let previous = asked(limits, hop, expect)?;
    let mut headers = HeaderMap::new();
    let pairs = [
        (IF_NONE_MATCH, &previous.etag),
        (IF_MODIFIED_SINCE, &previous.last_modified),
    ];
    for (name, value) in pairs {
        // A value that cannot be sent back as it came is not asked with.
        if let Some(value) = value.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
            headers.insert(name, value);
        }
    }
    (!headers.is_empty()).then_some(headers)
}

/// A 304 to a conditional request: the page as the earlier run recorded it, with the
/// validators the 304 sent (servers may send them again) or else the recorded ones. Any other
/// response, and a 304 to a request that asked nothing, is judged as usual.
pub fn unchanged(
    limits: &Limits,
    hop: &Hop,
    expect: Expect,
    status: StatusCode,
    headers: &HeaderMap,
    source: &Source,
) -> Option<Fetched> {
    if status != StatusCode::NOT_MODIFIED || conditions(limits, hop, expect).is_none() {
        return None;
    }
    let previous = asked(limits, hop, expect)?.clone();
    let header = |name| Some(headers.get(name)?.to_str().ok()?.to_owned());
    Some(Fetched {
        final_url: Some(hop.url.clone()),
        status: Some(status.as_u16()),
        http_version: Some(source.version),
        etag: header(ETAG).or_else(|| previous.etag.clone()),
        last_modified: header(LAST_MODIFIED).or_else(|| previous.last_modified.clone()),
        previous: Some(previous),
        from_public: source.from_public,
        redirects: source.redirects,
        ..Fetched::default()
    })
}
