//! One change to the IPVS table, as the kernel's control interface takes
//! it (one netlink command each).

use std::fmt;
use std::net::IpAddr;

use super::dest::{Dest, DestKey};
use super::service::{Family, Protocol, Service, ServiceKey};

/// One IPVS control command.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Op {
    /// Create a service (no destinations yet).
    AddService {
        /// Which service.
        key: ServiceKey,
        /// Its parameters.
        service: Service,
    },
    /// Change a service's scheduler, flags or persistence in place.
    EditService {
        /// Which service.
        key: ServiceKey,
        /// Its new parameters.
        service: Service,
    },
    /// Delete a service that has no destinations left.
    DelService {
        /// Which service.
        key: ServiceKey,
    },
    /// Add a destination to an existing service.
    AddDest {
        /// Its service.
        service: ServiceKey,
        /// Which destination.
        dest: DestKey,
        /// Its parameters.
        params: Dest,
    },
    /// Change a destination's forwarding, weight or thresholds in place.
    EditDest {
        /// Its service.
        service: ServiceKey,
        /// Which destination.
        dest: DestKey,
        /// Its new parameters.
        params: Dest,
    },
    /// Remove a destination from its service.
    DelDest {
        /// Its service.
        service: ServiceKey,
        /// Which destination.
        dest: DestKey,
    },
}

impl Op {
    /// The service the op works on.
    pub fn service_key(&self) -> &ServiceKey {
        match self {
            Op::AddService { key, .. } | Op::EditService { key, .. } | Op::DelService { key } => {
                key
            }
            Op::AddDest { service, .. }
            | Op::EditDest { service, .. }
            | Op::DelDest { service, .. } => service,
        }
    }

    /// The destination the op works on, for destination ops.
    pub fn dest_key(&self) -> Option<&DestKey> {
        match self {
            Op::AddDest { dest, .. } | Op::EditDest { dest, .. } | Op::DelDest { dest, .. } => {
                Some(dest)
            }
            _ => None,
        }
    }

    /// The op's name in traces: `add-service`, `edit-dest`, ...
    pub fn verb(&self) -> &'static str {
        match self {
            Op::AddService { .. } => "add-service",
            Op::EditService { .. } => "edit-service",
            Op::DelService { .. } => "del-service",
            Op::AddDest { .. } => "add-dest",
            Op::EditDest { .. } => "edit-dest",
            Op::DelDest { .. } => "del-dest",
        }
    }

    /// The op as an `ipvsadm` command line (without the program name), the
    /// form `ipvsadm-restore` reads: `-a -t 172.17.1.160:80 -r
    /// 172.17.1.152:80 -g -w 1`.
    pub fn to_ipvsadm(&self) -> String {
        match self {
            Op::AddService { key, service } => {
                format!("-A {}{}", service_switch(key), service_args(key, service))
            }
            Op::EditService { key, service } => {
                format!("-E {}{}", service_switch(key), service_args(key, service))
            }
            Op::DelService { key } => format!("-D {}", service_switch(key)),
            Op::AddDest {
                service,
                dest,
                params,
            } => {
                format!(
                    "-a {} -r {}{}",
                    service_switch(service),
                    dest,
                    dest_args(params)
                )
            }
            Op::EditDest {
                service,
                dest,
                params,
            } => {
                format!(
                    "-e {} -r {}{}",
                    service_switch(service),
                    dest,
                    dest_args(params)
                )
            }
            Op::DelDest { service, dest } => format!("-d {} -r {}", service_switch(service), dest),
        }
    }
}

/// `-t 172.17.1.160:80`, `--sctp-service [2001:db8::1]:9`, `-f 1 -6`.
pub(crate) fn service_switch(key: &ServiceKey) -> String {
    match key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            let sw = match protocol {
                Protocol::Tcp => "-t",
                Protocol::Udp => "-u",
                Protocol::Sctp => "--sctp-service",
            };
            match addr {
                IpAddr::V4(a) => format!("{sw} {a}:{port}"),
                IpAddr::V6(a) => format!("{sw} [{a}]:{port}"),
            }
        }
        ServiceKey::Fwmark {
            mark,
            family: Family::V4,
        } => format!("-f {mark}"),
        ServiceKey::Fwmark {
            mark,
            family: Family::V6,
        } => format!("-f {mark} -6"),
    }
}

fn service_args(key: &ServiceKey, s: &Service) -> String {
    let mut out = format!(" -s {}", s.scheduler);
    if let Some(p) = &s.persistence {
        out += &format!(" -p {}", p.timeout);
        if !p.netmask.is_full(key.family()) {
            match key.family() {
                Family::V4 => out += &format!(" -M {}", std::net::Ipv4Addr::from(p.netmask.0)),
                Family::V6 => out += &format!(" -M {}", p.netmask.0),
            }
        }
        if let Some(pe) = &p.engine {
            out += &format!(" --pe {pe}");
        }
    }
    if s.flags.contains(super::ServiceFlags::ONE_PACKET) {
        out += " -o";
    }
    if s.flags.any_sched() {
        out += " -b ";
        out += &super::render::sched_flag_names(s.scheduler, s.flags);
    }
    out
}

fn dest_args(d: &Dest) -> String {
    let mut out = format!(" {} -w {}", d.forward.switch(), d.weight);
    if d.u_threshold != 0 {
        out += &format!(" -x {}", d.u_threshold);
    }
    if d.l_threshold != 0 {
        out += &format!(" -y {}", d.l_threshold);
    }
    out
}

impl fmt::Display for Op {
    /// `add-dest svc=tcp/172.17.1.160:80 rs=172.17.1.152:80 fwd=route
    /// weight=1`: the trace spelling.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} svc={}", self.verb(), self.service_key())?;
        match self {
            Op::AddService { service, .. } | Op::EditService { service, .. } => {
                write!(f, " sched={}", service.scheduler)?;
                if service.flags.bits() != 0 {
                    write!(f, " flags={:#x}", service.flags.bits())?;
                }
                if let Some(p) = &service.persistence {
                    write!(f, " persistent={} netmask={:#x}", p.timeout, p.netmask.0)?;
                    if let Some(pe) = &p.engine {
                        write!(f, " pe={pe}")?;
                    }
                }
                Ok(())
            }
            Op::DelService { .. } => Ok(()),
            Op::AddDest { dest, params, .. } | Op::EditDest { dest, params, .. } => {
                write!(
                    f,
                    " rs={dest} fwd={} weight={}",
                    params.forward.name().to_lowercase(),
                    params.weight
                )?;
                if params.u_threshold != 0 || params.l_threshold != 0 {
                    write!(
                        f,
                        " uthreshold={} lthreshold={}",
                        params.u_threshold, params.l_threshold
                    )?;
                }
                Ok(())
            }
            Op::DelDest { dest, .. } => write!(f, " rs={dest}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::{ForwardMethod, Netmask, Persistence, Scheduler, ServiceFlags};

    fn vip() -> ServiceKey {
        ServiceKey::tcp("172.17.1.160".parse().unwrap(), 80)
    }

    #[test]
    fn ipvsadm_command_lines() {
        let rs = DestKey::new("172.17.1.152".parse().unwrap(), 80);
        let add = Op::AddService {
            key: vip(),
            service: Service::new(Scheduler::Rr),
        };
        assert_eq!(add.to_ipvsadm(), "-A -t 172.17.1.160:80 -s rr");
        let d = Op::AddDest {
            service: vip(),
            dest: rs,
            params: Dest::new(ForwardMethod::Route, 1),
        };
        assert_eq!(
            d.to_ipvsadm(),
            "-a -t 172.17.1.160:80 -r 172.17.1.152:80 -g -w 1"
        );
        assert_eq!(
            d.to_string(),
            "add-dest svc=tcp/172.17.1.160:80 rs=172.17.1.152:80 fwd=route weight=1"
        );
        let e = Op::EditDest {
            service: vip(),
            dest: rs,
            params: Dest::new(ForwardMethod::Masq, 0).with_thresholds(100, 50),
        };
        assert_eq!(
            e.to_ipvsadm(),
            "-e -t 172.17.1.160:80 -r 172.17.1.152:80 -m -w 0 -x 100 -y 50"
        );
        assert_eq!(
            Op::DelDest {
                service: vip(),
                dest: rs
            }
            .to_ipvsadm(),
            "-d -t 172.17.1.160:80 -r 172.17.1.152:80"
        );
        let mut p = Persistence::new(300, Family::V4);
        p.netmask = Netmask::prefix(Family::V4, 24);
        let sh = Service::new(Scheduler::Sh)
            .with_flags(
                ServiceFlags::SH_PORT | ServiceFlags::SH_FALLBACK | ServiceFlags::ONE_PACKET,
            )
            .with_persistence(p);
        let fw = ServiceKey::fwmark(7, Family::V4);
        assert_eq!(
            Op::EditService {
                key: fw,
                service: sh
            }
            .to_ipvsadm(),
            "-E -f 7 -s sh -p 300 -M 255.255.255.0 -o -b sh-fallback,sh-port"
        );
        let fw6 = ServiceKey::fwmark(7, Family::V6);
        assert_eq!(
            Op::DelService { key: fw6 }.to_string(),
            "del-service svc=fwm6/7"
        );
        assert_eq!(Op::DelService { key: fw6 }.to_ipvsadm(), "-D -f 7 -6");
        let udp6 = ServiceKey::addr(Protocol::Udp, "2001:db8::1".parse().unwrap(), 53);
        assert_eq!(
            Op::DelService { key: udp6 }.to_ipvsadm(),
            "-D -u [2001:db8::1]:53"
        );
    }
}
