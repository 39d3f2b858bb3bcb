//! A director host's simulated kernel IPVS: the table the director's ops
//! program (core's [`Forwarder`], which places each client flow the way
//! the kernel's scheduler would) and the open connections. It decides
//! nothing about health or the table: the director does.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use vigil_core::ipvs::sched::Flow;
use vigil_core::ipvs::{self, ConnId, Forwarder, Op};
use vigil_core::time::Instant;

/// One director host's IPVS.
#[derive(Debug, Default)]
pub struct Kernel {
    forwarder: Forwarder,
    /// Open connections by client address and port.
    conns: BTreeMap<SocketAddr, ConnId>,
}

impl Kernel {
    /// An empty table.
    pub fn new() -> Kernel {
        Kernel::default()
    }

    /// The table as programmed.
    pub fn table(&self) -> &ipvs::Table {
        self.forwarder.table()
    }

    /// Applies `ops` in order, as the kernel would; the ones it refuses,
    /// each with its reason.
    pub fn apply(&mut self, ops: &[Op]) -> Vec<(Op, String)> {
        let mut refused = Vec::new();
        for op in ops {
            if let Err(e) = self.forwarder.apply(std::slice::from_ref(op)) {
                refused.push((op.clone(), e.to_string()));
            }
        }
        refused
    }

    /// Places a new connection from `client` to `vip`: the real server,
    /// or `None` when no service or destination takes it.
    pub fn connect(
        &mut self,
        vip: SocketAddr,
        client: SocketAddr,
        now: Instant,
    ) -> Option<SocketAddr> {
        let flow = Flow::tcp(client.ip(), client.port(), vip.ip(), vip.port());
        let placed = self.forwarder.connect(now, &flow).ok()?;
        self.forwarder.established(placed.id);
        if let Some(old) = self.conns.insert(client, placed.id) {
            // The client port was reused before its close arrived.
            self.forwarder.closing(old);
            self.forwarder.expired(now, old);
        }
        Some(SocketAddr::new(placed.dest.addr, placed.dest.port))
    }

    /// The client closed its connection.
    pub fn closed(&mut self, client: SocketAddr, now: Instant) {
        if let Some(id) = self.conns.remove(&client) {
            self.forwarder.closing(id);
            self.forwarder.expired(now, id);
        }
    }
}

/// Every destination of `table` with its weight (address:port), sorted.
pub fn weights(table: &ipvs::Table) -> Vec<(String, u32)> {
    let mut v: Vec<(String, u32)> = table
        .iter()
        .flat_map(|(_, e)| e.dests().iter())
        .map(|(k, d)| (SocketAddr::new(k.addr, k.port).to_string(), d.weight))
        .collect();
    v.sort();
    v.dedup();
    v
}

/// The real servers of `table` with a weight above 0 (address:port),
/// sorted.
pub fn live_servers(table: &ipvs::Table) -> Vec<String> {
    let mut v: Vec<String> = table
        .iter()
        .flat_map(|(_, e)| e.dests().iter())
        .filter(|(_, d)| d.weight > 0)
        .map(|(k, _)| SocketAddr::new(k.addr, k.port).to_string())
        .collect();
    v.sort();
    v.dedup();
    v
}
