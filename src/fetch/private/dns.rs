//! Host names resolved for the two clients: the guarded one refuses private answers, so that a
//! public page cannot reach the user's network through a name that resolves into it.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::is_private_ip;
use crate::hooks;

/// Answers fixed in advance, used instead of the system's for the names they hold.
pub type Answers = Arc<HashMap<String, Vec<IpAddr>>>;

/// The system resolver, and for the guarded client a check of every answer. The check sits
/// where the connection is made, on the addresses it is made to, so a name that resolves to a
/// public address when looked at and to a private one when connected to (DNS rebinding) is
/// caught too. Names pinned with --resolve never get here: reqwest answers them itself.
#[derive(Clone)]
pub struct Resolver {
    guard: bool,
    fixed: Option<Answers>,
    /// The proxies' own names, which the guard lets through: a proxy on the user's network is
    /// the user's choice, and what it is asked to reach is judged by `check` instead.
    proxies: Arc<HashSet<String>>,
}

/// The guarded resolver's refusal, which the record's error names.
#[derive(Debug)]
pub struct PrivateAnswer {
    pub host: String,
    pub addr: IpAddr,
}

impl fmt::Display for PrivateAnswer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} resolves to {}, a private address, and was reached from a public page; \
             --allow-private permits it",
            self.host, self.addr
        )
    }
}

impl std::error::Error for PrivateAnswer {}

impl Resolver {
    /// `guard`: refuse private answers, but for the names in `proxies`. The tests' fixed
    /// answers, if any, stand in for DNS.
    pub fn new(guard: bool, proxies: Arc<HashSet<String>>) -> Resolver {
        Resolver {
            guard,
            fixed: hooks::dns_answers().map(Arc::new),
            proxies,
        }
    }

    #[cfg(test)]
    fn with_answers(guard: bool, answers: Answers) -> Resolver {
        Resolver {
            guard,
            fixed: Some(answers),
            proxies: Arc::default(),
        }
    }

    /// Looks `host` up here and refuses it as the guarded connection would: for a request a
    /// proxy makes, which resolves the name itself, and for one to a proxy's own host, which the
    /// resolver lets through. Blocks; a name that does not resolve here is left for the proxy
    /// to try.
    pub fn check(&self, host: &str) -> Result<(), PrivateAnswer> {
        // `name.` is `name`, and the proxy will reach it so, but a resolver may not answer for
        // that spelling (glibc does not for a hosts-file name): look up the name itself, as a
        // --resolve pin matches it.
        let name = host.trim_end_matches('.');
        let found = match &self.fixed {
            Some(fixed) => answers(fixed, name).unwrap_or_default(),
            None => (name, 0)
                .to_socket_addrs()
                .map_or(Vec::new(), Iterator::collect),
        };
        if found.is_empty() {
            return Ok(());
        }
        // No exception for the proxies' names here: what a request is for is judged, and a page
        // must not reach the proxy's own host any more than another private one.
        public_only(host.to_string(), found).map(drop)
    }

    /// The addresses that may be connected to: all of them, or for the guard the public ones,
    /// and an error when none is left.
    fn screen(&self, host: String, found: Vec<SocketAddr>) -> Result<Addrs, PrivateAnswer> {
        // reqwest asks for a proxy's name as the setting spells it; names know no case.
        if !self.guard || self.proxies.contains(&host.to_ascii_lowercase()) {
            return Ok(Box::new(found.into_iter()));
        }
        Ok(Box::new(public_only(host, found)?.into_iter()))
    }
}

/// The public addresses of an answer, or the refusal when it has none.
fn public_only(host: String, found: Vec<SocketAddr>) -> Result<Vec<SocketAddr>, PrivateAnswer> {
    let (private, public): (Vec<_>, Vec<_>) =
        found.into_iter().partition(|a| is_private_ip(a.ip()));
    match private.first() {
        Some(first) if public.is_empty() => Err(PrivateAnswer {
            host,
            addr: first.ip(),
        }),
        _ => Ok(public),
    }
}

/// The fixed answers for `host`: the whole of DNS while they are set, so that a test never
/// asks a real resolver.
fn answers(fixed: &Answers, host: &str) -> std::io::Result<Vec<SocketAddr>> {
    let ips = fixed.get(&host.to_ascii_lowercase()).ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::NotFound, "no such host (test DNS)")
    })?;
    Ok(ips.iter().map(|ip| SocketAddr::new(*ip, 0)).collect())
}

impl Resolve for Resolver {
    fn resolve(&self, name: Name) -> Resolving {
        let resolver = self.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> = match &resolver.fixed {
                Some(fixed) => answers(fixed, &host)?,
                None => tokio::net::lookup_host((host.as_str(), 0)).await?.collect(),
            };
            Ok(resolver.screen(host, found)?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::private::tests::{PRIVATE, PUBLIC};
    use std::str::FromStr;

    /// Resolves `host` with answers fixed in advance: the resolver's whole path, no traffic.
    fn resolve(guard: bool, host: &str, answers: &[&str]) -> Result<Vec<IpAddr>, String> {
        let ips = answers.iter().map(|a| a.parse().unwrap()).collect();
        let fixed = Arc::new(HashMap::from([(host.to_string(), ips)]));
        let resolver = Resolver::with_answers(guard, fixed);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime
            .block_on(resolver.resolve(Name::from_str(host).unwrap()))
            .map(|addrs| addrs.map(|a| a.ip()).collect())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn the_guard_refuses_every_private_range() {
        for addr in PRIVATE {
            let refused = resolve(true, "sneaky.example", &[addr]).unwrap_err();
            assert!(
                refused.starts_with(&format!(
                    "sneaky.example resolves to {}, a private address",
                    addr.parse::<IpAddr>().unwrap()
                )),
                "{addr}: {refused}"
            );
        }
        for addr in PUBLIC {
            let ip: IpAddr = addr.parse().unwrap();
            assert_eq!(resolve(true, "public.example", &[addr]), Ok(vec![ip]));
        }
    }

    #[test]
    fn the_guard_keeps_only_the_public_answers_of_a_mixed_set() {
        let got = resolve(true, "mixed.example", &["127.0.0.1", "8.8.4.4", "10.0.0.1"]);
        assert_eq!(got, Ok(vec!["8.8.4.4".parse().unwrap()]));
    }

    #[test]
    fn a_proxy_may_be_private_and_what_it_reaches_may_not() {
        let answers = Arc::new(HashMap::from([
            ("proxy.corp".to_string(), vec!["10.0.0.3".parse().unwrap()]),
            (
                "sneaky.example".to_string(),
                vec!["127.0.0.1".parse().unwrap()],
            ),
            ("blog.example".to_string(), vec!["8.8.4.4".parse().unwrap()]),
        ]));
        let resolver = Resolver {
            proxies: Arc::new(HashSet::from(["proxy.corp".to_string()])),
            ..Resolver::with_answers(true, answers)
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let proxy = runtime.block_on(resolver.resolve(Name::from_str("proxy.corp").unwrap()));
        assert!(proxy.is_ok(), "the proxy itself is connected to");
        let spelled = runtime.block_on(resolver.resolve(Name::from_str("PROXY.Corp").unwrap()));
        assert!(spelled.is_ok(), "however its setting spells it");
        assert!(
            resolver.check("proxy.corp").is_err(),
            "but a page may not ask for it"
        );
        let refused = resolver.check("sneaky.example").unwrap_err();
        assert_eq!(refused.addr.to_string(), "127.0.0.1");
        assert!(resolver.check("blog.example").is_ok());
    }

    #[test]
    fn without_the_guard_every_answer_stands() {
        let got = resolve(false, "mine.example", &["127.0.0.1", "10.0.0.1"]);
        assert_eq!(got.unwrap().len(), 2);
    }
}
