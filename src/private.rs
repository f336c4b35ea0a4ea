//! Which hosts are on the user's own network, so a public page cannot steer the crawler into it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

/// Loopback, private and link-local addresses, and names that always mean this machine.
/// Only what the URL itself says is judged: a public name that resolves to a private address
/// is not caught here.
pub fn is_private(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => private_v4(ip),
        Some(Host::Ipv6(ip)) => private_v6(ip),
        Some(Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
        None => false,
    }
}

fn private_v4(ip: Ipv4Addr) -> bool {
    ip.is_loopback() || ip.is_private() || ip.is_link_local() || ip.is_unspecified()
}

fn private_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return private_v4(v4);
    }
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || (first & 0xfe00) == 0xfc00 // fc00::/7, unique local
        || (first & 0xffc0) == 0xfe80 // fe80::/10, link-local
}

/// The address form of an `--resolve` target, checked at start-up.
pub fn parse_ip(s: &str) -> Option<IpAddr> {
    s.trim_matches(|c| c == '[' || c == ']').parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn private(url: &str) -> bool {
        is_private(&Url::parse(url).unwrap())
    }

    #[test]
    fn private_ranges() {
        for url in [
            "http://127.0.0.1/",
            "http://127.8.9.1/",
            "http://10.1.2.3/",
            "http://172.16.0.1/",
            "http://172.31.255.255/",
            "http://192.168.1.1/",
            "http://169.254.169.254/latest/meta-data",
            "http://0.0.0.0/",
            "http://[::1]/",
            "http://[fc00::1]/",
            "http://[fd12:3456::1]/",
            "http://[fe80::1]/",
            "http://[::ffff:10.0.0.1]/",
            "http://localhost:8080/",
            "http://LOCALHOST./",
            "http://app.localhost/",
            "http://2130706433/", // 127.0.0.1 written as one number
        ] {
            assert!(private(url), "{url}");
        }
    }

    #[test]
    fn public_hosts() {
        for url in [
            "http://172.32.0.1/",
            "http://8.8.8.8/",
            "http://[2001:db8::1]/",
            "https://example.com/",
            "http://localhost.example/",
        ] {
            assert!(!private(url), "{url}");
        }
    }
}
