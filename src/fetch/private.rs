//! Which addresses are on the user's own network, so a public page cannot steer the crawler into it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

pub mod dns;

/// A URL whose host is spelled as a private address, or as a name that always means this
/// machine. A public name that resolves to a private address is caught later, by the guarded
/// resolver (`dns`), where the connection is made.
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

/// Every address a browser's or a cloud SSRF filter's block list holds: loopback, private,
/// link-local, shared, reserved, benchmarking and multicast ranges, in IPv4 and IPv6, and IPv4
/// addresses written in any IPv6 form.
pub fn is_private_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => private_v4(ip),
        IpAddr::V6(ip) => private_v6(ip),
    }
}

fn private_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_loopback() // 127.0.0.0/8
        || ip.is_private() // 10/8, 172.16/12, 192.168/16
        || ip.is_link_local() // 169.254/16, where cloud metadata services answer
        || a == 0 // 0.0.0.0/8: "this network", which Linux connects to this machine
        || (a == 100 && (b & 0xc0) == 64) // 100.64.0.0/10: shared address space (carrier NAT)
        || (a == 192 && b == 0 && c == 0) // 192.0.0.0/24: IETF protocol assignments
        || (a == 198 && (b & 0xfe) == 18) // 198.18.0.0/15: benchmarking networks
        || a >= 224 // 224/4 multicast, 240/4 reserved, and the broadcast address
}

fn private_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = embedded_v4(ip) {
        return private_v4(v4);
    }
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || (first & 0xfe00) == 0xfc00 // fc00::/7, unique local
        || (first & 0xffc0) == 0xfe80 // fe80::/10, link-local
        || (first & 0xffc0) == 0xfec0 // fec0::/10, site-local (deprecated, still routed in sites)
        || (first & 0xff00) == 0xff00 // ff00::/8, multicast
}

/// The IPv4 address inside an IPv6 one that a host or gateway would connect to as IPv4:
/// IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::a.b.c.d) and
/// 6to4 (2002:AABB:CCDD::).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = || Ipv4Addr::from(u32::from(s[6]) << 16 | u32::from(s[7]));
    match s {
        [0, 0, 0, 0, 0, 0xffff, _, _] | [0, 0, 0, 0, 0, 0, _, _] => Some(low()),
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(low()),
        [0x2002, hi, lo, ..] => Some(Ipv4Addr::from(u32::from(hi) << 16 | u32::from(lo))),
        _ => None,
    }
}

/// The address form of an `--resolve` target, checked at start-up.
pub fn parse_ip(s: &str) -> Option<IpAddr> {
    s.trim_matches(|c| c == '[' || c == ']').parse().ok()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn private(url: &str) -> bool {
        is_private(&Url::parse(url).unwrap())
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    /// One address from each end of every range, and the public neighbours just outside them.
    pub const PRIVATE: &[&str] = &[
        "127.0.0.1",
        "127.255.255.254",
        "10.1.2.3",
        "172.16.0.1",
        "172.31.255.255",
        "192.168.1.1",
        "169.254.169.254",
        "0.0.0.0",
        "0.255.255.255",
        "100.64.0.1",
        "100.127.255.254",
        "192.0.0.1",
        "192.0.0.255",
        "198.18.0.1",
        "198.19.255.254",
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fc00::1",
        "fd12:3456::1",
        "fe80::1",
        "febf::1",
        "fec0::1",
        "feff::1",
        "ff02::1",
        "::ffff:10.0.0.1",
        "::ffff:100.64.0.1",
        "::ffff:198.18.0.1",
        "::ffff:0.0.0.0",
        "::ffff:240.0.0.1",
        "::10.0.0.1",
        "::127.0.0.1",
        "::192.0.0.8",
        "::224.0.0.1",
        "64:ff9b::10.0.0.1",
        "2002:c0a8:0101::1",
    ];

    pub const PUBLIC: &[&str] = &[
        "8.8.8.8",
        "1.1.1.1",
        "172.32.0.1",
        "100.63.255.255",
        "100.128.0.1",
        "192.0.1.1",
        "192.0.2.1",
        "198.17.255.255",
        "198.20.0.1",
        "223.255.255.255",
        "2001:db8::1",
        "2606:4700::1111",
        "fe7f::1",
        "::ffff:8.8.8.8",
        "::8.8.8.8",
        "64:ff9b::808:808",
        "2002:0808:0808::1",
    ];

    #[test]
    fn private_ranges() {
        for addr in PRIVATE {
            assert!(is_private_ip(ip(addr)), "{addr}");
        }
        for addr in PUBLIC {
            assert!(!is_private_ip(ip(addr)), "{addr}");
        }
    }

    #[test]
    fn private_spellings() {
        for url in [
            "http://127.0.0.1/",
            "http://169.254.169.254/latest/meta-data",
            "http://0.0.0.0/",
            "http://[::1]/",
            "http://[::ffff:10.0.0.1]/",
            "http://[fec0::1]/",
            "http://100.64.0.1/",
            "http://localhost:8080/",
            "http://LOCALHOST./",
            "http://app.localhost/",
            "http://2130706433/", // 127.0.0.1 written as one number
            "http://0x7f.1/",     // and in hex
        ] {
            assert!(private(url), "{url}");
        }
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
