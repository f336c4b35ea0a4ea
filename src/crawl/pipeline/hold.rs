//! Pages fetched ahead of their level, parsed and kept until every level above them is complete,
//! then handed back to the parsers to finish: so levels overlap on the network, yet finish in
//! order.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use crossbeam_channel::{unbounded, Receiver, Sender};

use super::Page;
use crate::crawl::frontier::{Opened, Ticket};
use crate::crawl::lock;
use crate::parse::Parsed;

/// A page parsed and not yet finished: its record and links wait for its level.
pub(super) struct Held {
    pub page: Page,
    pub parsed: Parsed,
    pub parse_ms: Option<f64>,
    /// The job's share of its level; given back once the page is finished.
    pub ticket: Ticket,
}

/// Where held pages wait, by depth, and the channel they leave on.
pub(super) struct Lot {
    waiting: Mutex<BTreeMap<u32, Vec<Held>>>,
    ready: Sender<Held>,
}

impl Lot {
    /// A lot, and the end its pages come out of once their level opens.
    pub(super) fn new() -> (Arc<Lot>, Receiver<Held>) {
        let (ready, out) = unbounded();
        let lot = Lot {
            waiting: Mutex::default(),
            ready,
        };
        (Arc::new(lot), out)
    }

    pub(super) fn park(&self, depth: u32, held: Held) {
        lock(&self.waiting).entry(depth).or_default().push(held);
    }

    /// What the frontier calls when pages down to a depth may finish.
    pub(super) fn opener(lot: &Arc<Lot>) -> Opened {
        let lot = Arc::downgrade(lot);
        Box::new(move |depth| {
            if let Some(lot) = lot.upgrade() {
                lot.open(depth);
            }
        })
    }

    fn open(&self, depth: u32) {
        let going = {
            let mut waiting = lock(&self.waiting);
            let later = waiting.split_off(&(depth + 1));
            std::mem::replace(&mut *waiting, later)
        };
        // Sent with the lock let go: a page the parsers are gone for is dropped, and its ticket
        // finishes its job, which may open a level in turn.
        for held in going.into_values().flatten() {
            let _ = self.ready.send(held);
        }
    }
}
