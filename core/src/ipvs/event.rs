//! The IPVS component's trace events (component `ipvs`).

use std::fmt;
use std::net::SocketAddr;

use super::dest::DestKey;
use super::forward::ConnId;
use super::op::Op;
use super::service::ServiceKey;
use crate::trace::Fields;

/// Something the IPVS side did or saw.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Event {
    /// An op sent to the kernel: `ipvs add-dest svc=... rs=... fwd=route weight=1`.
    Op(Op),
    /// The kernel refused an op: `ipvs refused op=del-dest svc=... error="..."`.
    Refused {
        /// The op.
        op: Op,
        /// Why.
        error: String,
    },
    /// The kernel's table could not be brought in line (a refused op, an
    /// unreadable table); the next resync retries: `ipvs stuck reason="..."`.
    Stuck(String),
    /// A service in the kernel that the config does not own, left alone:
    /// `ipvs foreign svc=...`.
    Foreign(ServiceKey),
    /// A new connection placed: `ipvs conn id=c1 client=... svc=... rs=...`.
    Conn {
        /// The connection.
        id: ConnId,
        /// The client's address and port.
        client: SocketAddr,
        /// The service it matched.
        service: ServiceKey,
        /// Where it went.
        dest: DestKey,
        /// Whether a persistence template chose it.
        persistent: bool,
    },
    /// A new connection not placed: `ipvs no-dest client=... reason="..."`.
    NoDest {
        /// The client's address and port.
        client: SocketAddr,
        /// Why.
        reason: String,
    },
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ipvs ")?;
        match self {
            Event::Op(op) => op.fmt(f),
            Event::Refused { op, error } => {
                f.write_str("refused")?;
                let mut w = Fields::new(f);
                w.field("op", op.verb()).field("svc", op.service_key());
                w.opt("rs", op.dest_key()).field("error", error);
                Ok(())
            }
            Event::Stuck(why) => {
                f.write_str("stuck")?;
                Fields::new(f).field("reason", why);
                Ok(())
            }
            Event::Foreign(k) => {
                f.write_str("foreign")?;
                Fields::new(f).field("svc", k);
                Ok(())
            }
            Event::Conn {
                id,
                client,
                service,
                dest,
                persistent,
            } => {
                f.write_str("conn")?;
                let mut w = Fields::new(f);
                w.field("id", id)
                    .field("client", client)
                    .field("svc", service)
                    .field("rs", dest);
                if *persistent {
                    w.field("persistent", "yes");
                }
                Ok(())
            }
            Event::NoDest { client, reason } => {
                f.write_str("no-dest")?;
                Fields::new(f)
                    .field("client", client)
                    .field("reason", reason);
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::{Dest, ForwardMethod};

    #[test]
    fn renders_as_trace_lines() {
        let svc = ServiceKey::tcp("172.17.1.160".parse().unwrap(), 80);
        let rs = DestKey::new("172.17.1.152".parse().unwrap(), 80);
        let op = Op::AddDest {
            service: svc,
            dest: rs,
            params: Dest::new(ForwardMethod::Route, 1),
        };
        assert_eq!(
            Event::Op(op.clone()).to_string(),
            "ipvs add-dest svc=tcp/172.17.1.160:80 rs=172.17.1.152:80 fwd=route weight=1"
        );
        assert_eq!(
            Event::Refused {
                op,
                error: "destination already exists".into()
            }
            .to_string(),
            "ipvs refused op=add-dest svc=tcp/172.17.1.160:80 rs=172.17.1.152:80 error=\"destination already exists\""
        );
        assert_eq!(
            Event::Foreign(svc).to_string(),
            "ipvs foreign svc=tcp/172.17.1.160:80"
        );
        let client: SocketAddr = "198.51.100.7:40000".parse().unwrap();
        let conn = Event::Conn {
            id: crate::ipvs::ConnId::for_tests(1),
            client,
            service: svc,
            dest: rs,
            persistent: true,
        };
        assert_eq!(
            conn.to_string(),
            "ipvs conn id=c1 client=198.51.100.7:40000 svc=tcp/172.17.1.160:80 rs=172.17.1.152:80 persistent=yes"
        );
        assert_eq!(
            Event::NoDest {
                client,
                reason: "no virtual service".into()
            }
            .to_string(),
            "ipvs no-dest client=198.51.100.7:40000 reason=\"no virtual service\""
        );
    }
}
