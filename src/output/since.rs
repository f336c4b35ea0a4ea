//! Reads an earlier run's records for --since: the validators each URL answered with, to ask
//! whether it changed, and what its page held, to carry over when the server says it did not.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;

use super::record::{Link, Meta};
use super::resume::{is_sitemap, Lines, ResumeError};

/// An earlier record with validators: what a 304 to them stands for.
#[derive(Debug, Clone, PartialEq)]
pub struct Previous {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub title: Option<String>,
    pub links: Vec<Link>,
    pub meta: Meta,
    /// The --field values, by name.
    pub fields: serde_json::Map<String, serde_json::Value>,
    /// Kept so that the new record says what the old one did, and --resume tells a page's
    /// record from a sitemap's as before (see `is_sitemap`).
    pub encoding: Option<String>,
    pub truncated: bool,
    /// The record was a sitemap's: its links are the entries it lists.
    pub sitemap: bool,
}

/// The earlier records, by the URL that answered (their final_url): validators belong to the
/// response that carried them, so a URL that redirected gets none, and the hop it redirects to
/// gets those of the page it landed on.
#[derive(Debug, Default)]
pub struct Since {
    answered: HashMap<String, Arc<Previous>>,
}

impl Since {
    /// The earlier record of the page that answered at `url`, if it had validators.
    pub fn get(&self, url: &str) -> Option<&Arc<Previous>> {
        self.answered.get(url)
    }

    pub fn len(&self) -> usize {
        self.answered.len()
    }

    pub fn is_empty(&self) -> bool {
        self.answered.is_empty()
    }
}

/// Reads FILE by --resume's rule: a line that is not crawl's refuses the file (NotRecord, with
/// its number), and one that starts like a record but does not parse (torn) is passed over.
/// Records with an error, or without an ETag or Last-Modified, have nothing to ask with. When
/// several records answered at one URL (FILE holds several runs), the last one wins.
pub fn since(path: &Path) -> Result<Since, ResumeError> {
    #[derive(serde::Deserialize)]
    struct Seen {
        final_url: Option<String>,
        #[serde(default)]
        etag: Option<String>,
        #[serde(default)]
        last_modified: Option<String>,
        title: Option<String>,
        #[serde(default)]
        links: Vec<Link>,
        #[serde(flatten)]
        meta: Meta,
        #[serde(default)]
        fields: serde_json::Map<String, serde_json::Value>,
        encoding: Option<String>,
        #[serde(default)]
        truncated: bool,
        error: Option<serde::de::IgnoredAny>,
    }
    let mut read = Since::default();
    let mut lines = Lines::new(BufReader::new(File::open(path)?));
    while let Some(line) = lines.next_record()? {
        let Ok(seen) = serde_json::from_slice::<Seen>(line) else {
            continue;
        };
        let validated = seen.etag.is_some() || seen.last_modified.is_some();
        let Some(url) = seen.final_url.filter(|_| seen.error.is_none() && validated) else {
            continue;
        };
        let previous = Previous {
            sitemap: is_sitemap(Some(&url), &seen.encoding, &None::<()>),
            etag: seen.etag,
            last_modified: seen.last_modified,
            title: seen.title,
            links: seen.links,
            meta: seen.meta,
            fields: seen.fields,
            encoding: seen.encoding,
            truncated: seen.truncated,
        };
        read.answered.insert(url, Arc::new(previous));
    }
    Ok(read)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_keeps_validated_pages_by_where_they_answered() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.jsonl");
        let lines = [
            // Redirected: the record is found by where it landed.
            r#"{"url":"http://a/old","final_url":"http://a/new","status":200,"etag":"\"1\"","last_modified":null,"title":"T","links":[{"href":"http://a/x","text":"x"}],"lang":"en","fields":{"n":"v"},"encoding":"utf-8","truncated":false,"error":null}"#,
            // No validators, an error, a torn line: nothing to ask with.
            r#"{"url":"http://a/plain","final_url":"http://a/plain","status":200,"etag":null,"last_modified":null,"error":null}"#,
            r#"{"url":"http://a/gone","final_url":"http://a/gone","status":404,"etag":"\"2\"","error":{"kind":"http_status","message":"404"}}"#,
            r#"{"url":"http://a/to"#,
            r#"{"url":"http://a/map.xml","final_url":"http://a/map.xml","status":200,"etag":null,"last_modified":"Sat, 05 Dec 2026 08:00:00 GMT","links":[],"encoding":null,"error":null}"#,
        ];
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        let read = since(&path).unwrap();
        assert_eq!(read.len(), 2);
        let page = read.get("http://a/new").unwrap();
        assert_eq!(page.etag.as_deref(), Some("\"1\""));
        assert_eq!(page.encoding.as_deref(), Some("utf-8"));
        assert_eq!(page.meta.lang.as_deref(), Some("en"));
        assert_eq!(page.fields["n"], "v");
        assert!(!page.sitemap && read.get("http://a/old").is_none());
        assert!(read.get("http://a/map.xml").unwrap().sitemap);
    }

    #[test]
    fn since_refuses_a_file_with_a_line_that_is_not_a_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.jsonl");
        std::fs::write(&path, "{\"url\":\"http://a/\"}\nnot a record\n").unwrap();
        assert!(matches!(since(&path), Err(ResumeError::NotRecord(2))));
    }
}
