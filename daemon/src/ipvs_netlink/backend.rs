//! [`NetlinkBackend`]: the kernel's IPVS table through generic netlink,
//! as an [`IpvsBackend`]. A dump is one `GET_SERVICE` dump and one
//! `GET_DEST` dump per service (the kernel dumps destinations only per
//! service); ops go out pipelined, one message each, in order.

use vigil_core::ipvs::{Dest, DestKey, Family, Op, Service, ServiceEntry, ServiceKey, Table};

use super::attr::{CmdAttr, DaemonAttr, InfoAttr};
use super::client::{Client, Counters, Error};
use super::convert::{self, Unrepresentable};
use super::message::{Attrs, IpvsCmd, IpvsMessage};
use crate::ipvs_backend::{BackendError, IpvsBackend};

/// What `GET_INFO` says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Info {
    /// IPVS version, `(major << 16) | (minor << 8) | patch`.
    pub version: u32,
    /// Connection hash table size.
    pub conn_tab_size: u32,
}

impl Info {
    /// The version as `ipvsadm` prints it (`1.2.1`).
    pub fn version_string(&self) -> String {
        format!(
            "{}.{}.{}",
            self.version >> 16,
            (self.version >> 8) & 0xff,
            self.version & 0xff
        )
    }
}

/// Connection timeouts in seconds (`ipvsadm --set`); in [`NetlinkBackend::
/// set_timeouts`] 0 leaves a value as it is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timeouts {
    /// Established TCP.
    pub tcp: u32,
    /// TCP after FIN.
    pub tcp_fin: u32,
    /// UDP.
    pub udp: u32,
}

/// A dumped service, or why core's model cannot hold it.
pub type DumpedService = Result<(ServiceKey, Service), Unrepresentable>;

/// A dumped destination, or why core's model cannot hold it.
pub type DumpedDest = Result<(DestKey, Dest), Unrepresentable>;

/// The kernel's IPVS table over generic netlink.
#[derive(Debug)]
pub struct NetlinkBackend {
    client: Client,
    skipped: Vec<String>,
}

/// The message that carries `op`.
pub fn op_message(op: &Op) -> IpvsMessage {
    let svc = |k: &ServiceKey| CmdAttr::Service(convert::service_id(k));
    match op {
        Op::AddService { key, service } => IpvsMessage::new(
            IpvsCmd::NewService,
            vec![CmdAttr::Service(convert::service_full(key, service))],
        ),
        Op::EditService { key, service } => IpvsMessage::new(
            IpvsCmd::SetService,
            vec![CmdAttr::Service(convert::service_full(key, service))],
        ),
        Op::DelService { key } => IpvsMessage::new(IpvsCmd::DelService, vec![svc(key)]),
        Op::AddDest {
            service,
            dest,
            params,
        } => IpvsMessage::new(
            IpvsCmd::NewDest,
            vec![
                svc(service),
                CmdAttr::Dest(convert::dest_attrs(dest, Some(params))),
            ],
        ),
        Op::EditDest {
            service,
            dest,
            params,
        } => IpvsMessage::new(
            IpvsCmd::SetDest,
            vec![
                svc(service),
                CmdAttr::Dest(convert::dest_attrs(dest, Some(params))),
            ],
        ),
        Op::DelDest { service, dest } => IpvsMessage::new(
            IpvsCmd::DelDest,
            vec![svc(service), CmdAttr::Dest(convert::dest_attrs(dest, None))],
        ),
    }
}

impl NetlinkBackend {
    /// Connects to the kernel's `IPVS` family.
    pub fn open() -> Result<NetlinkBackend, Error> {
        Ok(NetlinkBackend {
            client: Client::open()?,
            skipped: Vec::new(),
        })
    }

    /// What was sent so far.
    pub fn counters(&self) -> Counters {
        self.client.counters()
    }

    /// The client, for commands beyond the table.
    pub fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    /// Entries of the last dump that core's model cannot hold, with why;
    /// they were left out of the table.
    pub fn skipped(&self) -> &[String] {
        &self.skipped
    }

    /// `GET_INFO`.
    pub fn info(&mut self) -> Result<Info, Error> {
        let r = self
            .client
            .query(&IpvsMessage::new(IpvsCmd::GetInfo, Vec::new()))?;
        let mut info = Info {
            version: 0,
            conn_tab_size: 0,
        };
        if let Attrs::Info(v) = &r.attrs {
            for a in v {
                match a {
                    InfoAttr::Version(x) => info.version = *x,
                    InfoAttr::ConnTabSize(x) => info.conn_tab_size = *x,
                    InfoAttr::Other(_) => {}
                }
            }
        }
        Ok(info)
    }

    /// `GET_CONFIG`: the connection timeouts.
    pub fn timeouts(&mut self) -> Result<Timeouts, Error> {
        let r = self
            .client
            .query(&IpvsMessage::new(IpvsCmd::GetConfig, Vec::new()))?;
        let mut t = Timeouts::default();
        for a in r.cmd_attrs() {
            match a {
                CmdAttr::TimeoutTcp(x) => t.tcp = *x,
                CmdAttr::TimeoutTcpFin(x) => t.tcp_fin = *x,
                CmdAttr::TimeoutUdp(x) => t.udp = *x,
                _ => {}
            }
        }
        Ok(t)
    }

    /// `SET_CONFIG`: sets the non-zero timeouts of `t`.
    pub fn set_timeouts(&mut self, t: Timeouts) -> Result<(), Error> {
        self.client.execute(&IpvsMessage::new(
            IpvsCmd::SetConfig,
            vec![
                CmdAttr::TimeoutTcp(t.tcp),
                CmdAttr::TimeoutTcpFin(t.tcp_fin),
                CmdAttr::TimeoutUdp(t.udp),
            ],
        ))
    }

    /// `FLUSH`: deletes every service (Vigil's and others').
    pub fn flush(&mut self) -> Result<(), Error> {
        self.client
            .execute(&IpvsMessage::new(IpvsCmd::Flush, Vec::new()))
    }

    /// `ZERO`: zeroes the counters of service `key`, or of every service.
    pub fn zero(&mut self, key: Option<&ServiceKey>) -> Result<(), Error> {
        let attrs = key
            .map(|k| vec![CmdAttr::Service(convert::service_id(k))])
            .unwrap_or_default();
        self.client.execute(&IpvsMessage::new(IpvsCmd::Zero, attrs))
    }

    /// `GET_DAEMON` dump: the running sync daemons' attributes.
    pub fn daemons(&mut self) -> Result<Vec<Vec<DaemonAttr>>, Error> {
        let msgs = self
            .client
            .dump(&IpvsMessage::new(IpvsCmd::GetDaemon, Vec::new()))?;
        Ok(msgs
            .iter()
            .flat_map(|m| m.cmd_attrs().iter())
            .filter_map(|a| match a {
                CmdAttr::Daemon(d) => Some(d.clone()),
                _ => None,
            })
            .collect())
    }

    /// `GET_SERVICE` dump: every service, or why one cannot be modelled.
    pub fn services(&mut self) -> Result<Vec<DumpedService>, Error> {
        let msgs = self
            .client
            .dump(&IpvsMessage::new(IpvsCmd::GetService, Vec::new()))?;
        Ok(msgs
            .iter()
            .flat_map(|m| m.cmd_attrs().iter())
            .filter_map(|a| match a {
                CmdAttr::Service(s) => Some(convert::parse_service(s)),
                _ => None,
            })
            .collect())
    }

    /// `GET_DEST` dump of service `key`.
    pub fn dests(&mut self, key: &ServiceKey) -> Result<Vec<DumpedDest>, Error> {
        let msgs = self.client.dump(&IpvsMessage::new(
            IpvsCmd::GetDest,
            vec![CmdAttr::Service(convert::service_id(key))],
        ))?;
        let family: Family = key.family();
        Ok(msgs
            .iter()
            .flat_map(|m| m.cmd_attrs().iter())
            .filter_map(|a| match a {
                CmdAttr::Dest(d) => Some(convert::parse_dest(family, d)),
                _ => None,
            })
            .collect())
    }

    /// The whole table: one service dump, then one destination dump per
    /// service. Entries the model cannot hold are left out and listed in
    /// [`NetlinkBackend::skipped`].
    pub fn read_table(&mut self) -> Result<Table, Error> {
        let mut skipped = Vec::new();
        let mut t = Table::new();
        for s in self.services()? {
            match s {
                Ok((k, svc)) => {
                    let mut e = ServiceEntry::new(svc);
                    for d in self.dests(&k)? {
                        match d {
                            Ok((dk, dest)) => {
                                e.insert_dest(dk, dest);
                            }
                            Err(why) => skipped.push(format!("{k} destination: {why}")),
                        }
                    }
                    t.insert(k, e);
                }
                Err(why) => skipped.push(format!("service: {why}")),
            }
        }
        self.skipped = skipped;
        Ok(t)
    }
}

impl IpvsBackend for NetlinkBackend {
    fn name(&self) -> &'static str {
        "netlink"
    }

    fn programs_kernel(&self) -> bool {
        true
    }

    fn dump(&mut self) -> Result<Table, BackendError> {
        self.read_table().map_err(|e| BackendError {
            op: None,
            error: format!("ipvs dump: {e}"),
        })
    }

    fn apply(&mut self, ops: &[Op]) -> Vec<BackendError> {
        let msgs: Vec<IpvsMessage> = ops.iter().map(op_message).collect();
        let results = self.client.execute_batch(&msgs);
        ops.iter()
            .zip(results)
            .filter_map(|(op, r)| {
                r.err().map(|e| BackendError {
                    op: Some(op.clone()),
                    error: match e {
                        Error::Kernel(errno) => errno.explain(op),
                        other => other.to_string(),
                    },
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs_netlink::attr::{DestAttr, SvcAttr};
    use vigil_core::ipvs::{ForwardMethod, Scheduler};

    #[test]
    fn ops_become_the_right_commands() {
        let key = ServiceKey::tcp("192.0.2.160".parse().unwrap(), 80);
        let dk = DestKey::new("192.0.2.152".parse().unwrap(), 80);
        let d = Dest::new(ForwardMethod::Route, 1);
        let cases = [
            (
                Op::AddService {
                    key,
                    service: Service::new(Scheduler::Rr),
                },
                IpvsCmd::NewService,
                1,
            ),
            (
                Op::EditService {
                    key,
                    service: Service::new(Scheduler::Wrr),
                },
                IpvsCmd::SetService,
                1,
            ),
            (Op::DelService { key }, IpvsCmd::DelService, 1),
            (
                Op::AddDest {
                    service: key,
                    dest: dk,
                    params: d,
                },
                IpvsCmd::NewDest,
                2,
            ),
            (
                Op::EditDest {
                    service: key,
                    dest: dk,
                    params: d.with_weight(3),
                },
                IpvsCmd::SetDest,
                2,
            ),
            (
                Op::DelDest {
                    service: key,
                    dest: dk,
                },
                IpvsCmd::DelDest,
                2,
            ),
        ];
        for (op, cmd, n) in cases {
            let m = op_message(&op);
            assert_eq!(m.cmd, cmd, "{op}");
            assert_eq!(m.cmd_attrs().len(), n, "{op}");
        }
        // A delete names the service by id only, and the dest by address.
        let m = op_message(&Op::DelDest {
            service: key,
            dest: dk,
        });
        let CmdAttr::Service(s) = &m.cmd_attrs()[0] else {
            panic!()
        };
        assert!(!s.iter().any(|a| matches!(a, SvcAttr::SchedName(_))));
        let CmdAttr::Dest(dv) = &m.cmd_attrs()[1] else {
            panic!()
        };
        assert!(!dv.iter().any(|a| matches!(a, DestAttr::Weight(_))));
    }

    #[test]
    fn info_version_string() {
        let i = Info {
            version: 0x010201,
            conn_tab_size: 4096,
        };
        assert_eq!(i.version_string(), "1.2.1");
    }
}
