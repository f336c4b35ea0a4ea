//! The private-address guard's part that the fetcher applies itself, where the resolver cannot:
//! requests a proxy makes (the proxy resolves their names), and whether a response came from a
//! public place, so that where it leads must not be private.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use url::{Host, Url};

use super::proxy::Proxies;
use super::redirect::Hop;
use super::Limits;
use crate::fetch::private::{self, dns};
use crate::output::record::{ErrorKind, PageError};

#[derive(Clone)]
pub struct Screen {
    pub proxies: Arc<Proxies>,
    /// The guarded resolver, for the lookups made here.
    guard: dns::Resolver,
    /// Hosts pinned with --resolve.
    pins: Arc<Vec<String>>,
    /// --from-replay: every response comes from the replay server, whose address says nothing
    /// of the host the URL names, and no name is looked up (see `is_public`).
    replay: bool,
    /// What the guard made of each name looked up here, once per name: the refusal's words
    /// when it resolves to private addresses only, else none.
    names: Arc<Mutex<HashMap<String, Option<String>>>>,
}

impl Screen {
    pub fn new(limits: &Limits) -> Screen {
        let proxies = Arc::new(Proxies::new(&limits.proxy));
        let pins = limits
            .resolve
            .iter()
            .map(|(host, _)| host.clone())
            .collect();
        Screen {
            guard: dns::Resolver::new(true, proxies.hosts.clone()),
            proxies,
            pins: Arc::new(pins),
            replay: limits.from_replay.is_some(),
            names: Arc::default(),
        }
    }

    /// The resolver of one of the two clients.
    pub fn resolver(&self, guard: bool) -> dns::Resolver {
        dns::Resolver::new(guard, self.proxies.hosts.clone())
    }

    /// Whether `check` has work to do: a guarded hop to a name, through a proxy or to a
    /// proxy's own host.
    pub fn applies(&self, hop: &Hop) -> bool {
        let Some(Host::Domain(host)) = hop.url.host() else {
            return false;
        };
        // A replay's requests go to the replay server, never to a proxy.
        !self.replay
            && hop.guarded
            && (self.proxies.hosts.contains(host) || self.proxies.intercept(&hop.url))
    }

    /// Refuses a guarded hop whose host, a name, resolves only to private addresses, when a
    /// proxy will make the request. It blocks, for the lookup.
    pub fn check(&self, hop: &Hop) -> Result<(), PageError> {
        if !self.applies(hop) {
            return Ok(());
        }
        let host = hop.url.host_str().unwrap_or_default();
        self.refusal(host)
            .map_or(Ok(()), |why| Err(PageError::new(ErrorKind::Blocked, why)))
    }

    /// Whether a response from `url`, received from `peer`, came from a public place. The
    /// address it came from decides. A host pinned with --resolve stands in for the host it
    /// names, so its spelling decides. Through a proxy, whose address is all that is seen, or
    /// with no address at all (a page an earlier run recorded), where the name resolves here
    /// decides: a name that resolves to private addresses only is private, and one that does
    /// not resolve here counts as public, the side that guards.
    pub fn is_public(&self, url: &Url, peer: Option<SocketAddr>) -> bool {
        if private::is_private(url) {
            return false;
        }
        let Some(Host::Domain(host)) = url.host() else {
            return true;
        };
        if self.pinned(host) {
            return true;
        }
        if self.replay {
            // Nothing may leave the machine, not even a lookup, and the peer is the replay
            // server: the name counts as public, as one that does not resolve here does, the
            // side that guards (its links and redirects to private addresses are refused).
            return true;
        }
        match peer.filter(|_| !self.proxies.intercept(url)) {
            Some(peer) => !private::is_private_ip(peer.ip()),
            None => self.refusal(host).is_none(),
        }
    }

    /// Whether `is_public` would look a name up (and block) for this response.
    pub fn looks_up(&self, url: &Url, peer: Option<SocketAddr>) -> bool {
        let Some(Host::Domain(host)) = url.host() else {
            return false;
        };
        !self.replay
            && !self.pinned(host)
            && (peer.is_none() || self.proxies.intercept(url))
            && !self.names.lock().unwrap().contains_key(host)
    }

    fn pinned(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.');
        self.pins.iter().any(|pin| pin == host)
    }

    /// Why the guard refuses `host`, if it does, looked up once per name.
    fn refusal(&self, host: &str) -> Option<String> {
        if let Some(known) = self.names.lock().unwrap().get(host) {
            return known.clone();
        }
        let refused = self.guard.check(host).err().map(|r| r.to_string());
        let mut names = self.names.lock().unwrap();
        names.insert(host.to_string(), refused.clone());
        refused
    }
}
