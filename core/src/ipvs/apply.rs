//! Applying ops to a [`Table`]: the model of what the kernel will hold,
//! refusing what the kernel would refuse.

use std::fmt;

use super::dest::{Dest, ForwardMethod};
use super::op::Op;
use super::service::{Family, Service, ServiceKey};
use super::table::{ServiceEntry, Table};

/// Why an op cannot be applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApplyErrorKind {
    /// `AddService` of a service that exists (`EEXIST`).
    ServiceExists,
    /// An op on a service that does not exist (`ESRCH`).
    NoSuchService,
    /// `DelService` while destinations remain (the model insists on
    /// removing destinations first).
    ServiceHasDests,
    /// `AddDest` of a destination that exists (`EEXIST`).
    DestExists,
    /// `EditDest`/`DelDest` of a destination that does not exist (`ENOENT`).
    NoSuchDest,
    /// Weight above `i32::MAX` (the kernel's weight is a signed int, `ERANGE`).
    WeightOutOfRange,
    /// Lower threshold above the upper one (`ERANGE`).
    ThresholdsInverted,
    /// A destination of another family on a non-tunnel service (`EINVAL`).
    FamilyMismatch,
    /// An IPv6 persistence prefix outside 1..=128 (`EINVAL`).
    InvalidNetmask,
    /// A fwmark service with mark 0 (`EINVAL`).
    ZeroFwmark,
}

impl fmt::Display for ApplyErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ApplyErrorKind::ServiceExists => "service already exists",
            ApplyErrorKind::NoSuchService => "no such service",
            ApplyErrorKind::ServiceHasDests => "service still has destinations",
            ApplyErrorKind::DestExists => "destination already exists",
            ApplyErrorKind::NoSuchDest => "no such destination",
            ApplyErrorKind::WeightOutOfRange => "weight out of range",
            ApplyErrorKind::ThresholdsInverted => "lower threshold above upper threshold",
            ApplyErrorKind::FamilyMismatch => {
                "destination family differs from service family (only tunnels may)"
            }
            ApplyErrorKind::InvalidNetmask => "IPv6 persistence prefix outside 1..=128",
            ApplyErrorKind::ZeroFwmark => "fwmark 0",
        })
    }
}

/// An op the table refused: which one (index into the slice) and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApplyError {
    /// Index of the refused op; the ops before it were applied.
    pub index: usize,
    /// The refused op.
    pub op: Op,
    /// Why.
    pub kind: ApplyErrorKind,
}

impl fmt::Display for ApplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ipvs op {} ({}): {}", self.index, self.op, self.kind)
    }
}

impl std::error::Error for ApplyError {}

/// Applies `ops` in order. Stops at the first op the kernel would refuse
/// (or that breaks the model's ordering rules) and reports it; the ops
/// before it stay applied.
pub fn apply(table: &mut Table, ops: &[Op]) -> Result<(), ApplyError> {
    for (index, op) in ops.iter().enumerate() {
        apply_one(table, op).map_err(|kind| ApplyError {
            index,
            op: op.clone(),
            kind,
        })?;
    }
    Ok(())
}

/// Applies one op.
pub fn apply_one(table: &mut Table, op: &Op) -> Result<(), ApplyErrorKind> {
    match op {
        Op::AddService { key, service } => {
            check_service(key, service)?;
            if table.contains(key) {
                return Err(ApplyErrorKind::ServiceExists);
            }
            table.insert(*key, ServiceEntry::new(service.clone()));
        }
        Op::EditService { key, service } => {
            check_service(key, service)?;
            let e = table
                .service_mut(key)
                .ok_or(ApplyErrorKind::NoSuchService)?;
            e.service = service.clone();
        }
        Op::DelService { key } => {
            let e = table.service(key).ok_or(ApplyErrorKind::NoSuchService)?;
            if !e.dests().is_empty() {
                return Err(ApplyErrorKind::ServiceHasDests);
            }
            table.remove(key);
        }
        Op::AddDest {
            service,
            dest,
            params,
        } => {
            check_dest(service, dest.addr, params)?;
            let e = table
                .service_mut(service)
                .ok_or(ApplyErrorKind::NoSuchService)?;
            if e.dest(dest).is_some() {
                return Err(ApplyErrorKind::DestExists);
            }
            e.insert_dest(*dest, *params);
        }
        Op::EditDest {
            service,
            dest,
            params,
        } => {
            check_dest(service, dest.addr, params)?;
            let e = table
                .service_mut(service)
                .ok_or(ApplyErrorKind::NoSuchService)?;
            *e.dest_mut(dest).ok_or(ApplyErrorKind::NoSuchDest)? = *params;
        }
        Op::DelDest { service, dest } => {
            let e = table
                .service_mut(service)
                .ok_or(ApplyErrorKind::NoSuchService)?;
            e.remove_dest(dest).ok_or(ApplyErrorKind::NoSuchDest)?;
        }
    }
    Ok(())
}

fn check_service(key: &ServiceKey, s: &Service) -> Result<(), ApplyErrorKind> {
    if let ServiceKey::Fwmark { mark: 0, .. } = key {
        return Err(ApplyErrorKind::ZeroFwmark);
    }
    if let (Some(p), Family::V6) = (&s.persistence, key.family())
        && !(1..=128).contains(&p.netmask.0)
    {
        return Err(ApplyErrorKind::InvalidNetmask);
    }
    Ok(())
}

fn check_dest(
    service: &ServiceKey,
    addr: std::net::IpAddr,
    d: &Dest,
) -> Result<(), ApplyErrorKind> {
    if d.weight > i32::MAX as u32 {
        return Err(ApplyErrorKind::WeightOutOfRange);
    }
    if d.l_threshold > d.u_threshold {
        return Err(ApplyErrorKind::ThresholdsInverted);
    }
    if Family::of(&addr) != service.family() && d.forward != ForwardMethod::Tunnel {
        return Err(ApplyErrorKind::FamilyMismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::{DestKey, Netmask, Persistence, Scheduler};

    fn svc() -> ServiceKey {
        ServiceKey::tcp("192.0.2.1".parse().unwrap(), 80)
    }
    fn rs(n: u8) -> DestKey {
        DestKey::new(format!("192.0.2.{n}").parse().unwrap(), 80)
    }
    fn route(w: u32) -> Dest {
        Dest::new(ForwardMethod::Route, w)
    }

    #[test]
    fn ops_build_a_table() {
        let mut t = Table::new();
        let ops = [
            Op::AddService {
                key: svc(),
                service: Service::new(Scheduler::Rr),
            },
            Op::AddDest {
                service: svc(),
                dest: rs(10),
                params: route(1),
            },
            Op::AddDest {
                service: svc(),
                dest: rs(11),
                params: route(1),
            },
            Op::EditDest {
                service: svc(),
                dest: rs(11),
                params: route(3),
            },
            Op::EditService {
                key: svc(),
                service: Service::new(Scheduler::Wrr),
            },
            Op::DelDest {
                service: svc(),
                dest: rs(10),
            },
        ];
        apply(&mut t, &ops).unwrap();
        let e = t.service(&svc()).unwrap();
        assert_eq!(e.service.scheduler, Scheduler::Wrr);
        assert_eq!(e.dests(), &[(rs(11), route(3))]);
    }

    #[test]
    fn order_violations_are_refused() {
        let mut t = Table::new();
        let err = apply(
            &mut t,
            &[Op::AddDest {
                service: svc(),
                dest: rs(10),
                params: route(1),
            }],
        )
        .unwrap_err();
        assert_eq!((err.index, err.kind), (0, ApplyErrorKind::NoSuchService));

        let ops = [
            Op::AddService {
                key: svc(),
                service: Service::new(Scheduler::Rr),
            },
            Op::AddDest {
                service: svc(),
                dest: rs(10),
                params: route(1),
            },
            Op::DelService { key: svc() },
        ];
        let err = apply(&mut t, &ops).unwrap_err();
        assert_eq!((err.index, err.kind), (2, ApplyErrorKind::ServiceHasDests));
        assert!(
            err.to_string()
                .contains("op 2 (del-service svc=tcp/192.0.2.1:80)")
        );

        let twice = [Op::AddDest {
            service: svc(),
            dest: rs(10),
            params: route(1),
        }];
        assert_eq!(
            apply(&mut t, &twice).unwrap_err().kind,
            ApplyErrorKind::DestExists
        );
        let again = [Op::AddService {
            key: svc(),
            service: Service::new(Scheduler::Rr),
        }];
        assert_eq!(
            apply(&mut t, &again).unwrap_err().kind,
            ApplyErrorKind::ServiceExists
        );
        let gone = [Op::DelDest {
            service: svc(),
            dest: rs(99),
        }];
        assert_eq!(
            apply(&mut t, &gone).unwrap_err().kind,
            ApplyErrorKind::NoSuchDest
        );
    }

    #[test]
    fn kernel_parameter_checks() {
        let mut t = Table::new();
        apply(
            &mut t,
            &[Op::AddService {
                key: svc(),
                service: Service::new(Scheduler::Rr),
            }],
        )
        .unwrap();
        let bad = |params| Op::AddDest {
            service: svc(),
            dest: rs(10),
            params,
        };
        assert_eq!(
            apply(&mut t, &[bad(route(u32::MAX))]).unwrap_err().kind,
            ApplyErrorKind::WeightOutOfRange
        );
        assert_eq!(
            apply(&mut t, &[bad(route(1).with_thresholds(0, 5))])
                .unwrap_err()
                .kind,
            ApplyErrorKind::ThresholdsInverted
        );
        let v6 = DestKey::new("2001:db8::1".parse().unwrap(), 80);
        let mixed = Op::AddDest {
            service: svc(),
            dest: v6,
            params: route(1),
        };
        assert_eq!(
            apply(&mut t, &[mixed]).unwrap_err().kind,
            ApplyErrorKind::FamilyMismatch
        );
        let tun = Op::AddDest {
            service: svc(),
            dest: v6,
            params: Dest::new(ForwardMethod::Tunnel, 1),
        };
        apply(&mut t, &[tun]).unwrap();

        let key6 = ServiceKey::fwmark(1, Family::V6);
        let mut p = Persistence::new(60, Family::V6);
        p.netmask = Netmask(0);
        let s = Service::new(Scheduler::Rr).with_persistence(p);
        let op = Op::AddService {
            key: key6,
            service: s,
        };
        assert_eq!(
            apply(&mut t, &[op]).unwrap_err().kind,
            ApplyErrorKind::InvalidNetmask
        );
        let zero = Op::AddService {
            key: ServiceKey::fwmark(0, Family::V4),
            service: Service::new(Scheduler::Rr),
        };
        assert_eq!(
            apply(&mut t, &[zero]).unwrap_err().kind,
            ApplyErrorKind::ZeroFwmark
        );
    }
}
