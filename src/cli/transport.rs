//! The options that say how requests travel (proxies, TLS trust, HTTP version), spelled as curl
//! spells them, each value checked here so a bad one fails before any request with exit 2.

use std::path::PathBuf;

use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct TransportArgs {
    /// Send every request through the proxy at URL: http://, https:// or socks5h:// (the proxy
    /// resolves names); a bare HOST:PORT is http. Without -x, HTTP_PROXY, HTTPS_PROXY, ALL_PROXY
    /// and NO_PROXY (and their lowercase forms) are honoured.
    #[arg(short = 'x', long, value_name = "URL", value_parser = proxy_url, help_heading = "Fetching")]
    pub proxy: Option<String>,

    /// Hosts that bypass the proxy, comma-separated (a name also covers its subdomains; IP
    /// addresses and CIDR ranges too; '*' for all); replaces NO_PROXY.
    #[arg(long, value_name = "HOSTS", help_heading = "Fetching")]
    pub noproxy: Option<String>,

    /// Also trust the CA certificates in FILE (PEM, one or more).
    #[arg(long, value_name = "FILE", value_parser = ca_file, help_heading = "Fetching")]
    pub cacert: Option<CaCerts>,

    /// Skip TLS certificate checks (unsafe: anyone on the path can read and change pages); the
    /// summary says so.
    #[arg(short = 'k', long, help_heading = "Fetching")]
    pub insecure: bool,

    /// Speak HTTP/1.1 only; without it, HTTP/2 is used with servers that offer it over TLS.
    #[arg(long = "http1.1", help_heading = "Fetching")]
    pub http1_1: bool,
}

/// The certificates of a --cacert file.
#[derive(Debug, Clone)]
pub struct CaCerts(pub Vec<reqwest::Certificate>);

/// A proxy URL with a scheme the client can use without leaving names to be resolved here,
/// out of the private-address guard's sight; a bare HOST:PORT is http, as curl takes it.
fn proxy_url(s: &str) -> Result<String, String> {
    let with_scheme = match s.contains("://") {
        true => s.to_string(),
        false => format!("http://{s}"),
    };
    let url = url::Url::parse(&with_scheme).map_err(|e| format!("not a proxy URL: {e}"))?;
    match url.scheme() {
        "http" | "https" | "socks5h" => {}
        "socks5" => {
            return Err(
                "socks5:// is not supported: use socks5h://, where the proxy resolves names".into(),
            )
        }
        other => {
            return Err(format!(
                "unsupported proxy scheme '{other}': use http://, https:// or socks5h://"
            ))
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("not a proxy URL: no host".into());
    }
    Ok(url.into())
}

fn ca_file(s: &str) -> Result<CaCerts, String> {
    let path = PathBuf::from(s);
    let pem = std::fs::read(&path).map_err(|e| format!("cannot read '{s}': {e}"))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| format!("'{s}' is not a PEM certificate file: {e}"))?;
    if certs.is_empty() {
        return Err(format!("'{s}' holds no PEM certificate"));
    }
    // The certificates are only decoded when a client takes them: one does now, so that a
    // broken one is a usage error rather than a failed run.
    let mut builder = reqwest::Client::builder();
    for cert in &certs {
        builder = builder.add_root_certificate(cert.clone());
    }
    builder
        .build()
        .map_err(|e| format!("'{s}' holds a certificate that cannot be used: {e}"))?;
    Ok(CaCerts(certs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_urls_take_the_schemes_the_guard_can_see_through() {
        assert_eq!(
            proxy_url("proxy.corp:3128").unwrap(),
            "http://proxy.corp:3128/"
        );
        assert!(proxy_url("https://proxy.corp").is_ok());
        assert!(proxy_url("socks5h://127.0.0.1:1080").is_ok());
        assert!(proxy_url("socks5://127.0.0.1:1080")
            .unwrap_err()
            .contains("socks5h://"));
        assert!(proxy_url("ftp://proxy.corp").unwrap_err().contains("'ftp'"));
        assert!(proxy_url("http://").is_err());
    }
}
