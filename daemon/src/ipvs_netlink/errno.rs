//! Kernel error numbers as the IPVS control code returns them, named
//! (`EEXIST`) and explained for the op that got them.

use std::fmt;

use vigil_core::ipvs::Op;

/// A positive errno from a netlink error message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Errno(pub i32);

impl Errno {
    /// The symbolic name (`EEXIST`), or `errno N` when not a common one.
    pub fn name(self) -> String {
        let n = match self.0 {
            libc::EPERM => "EPERM",
            libc::ENOENT => "ENOENT",
            libc::ESRCH => "ESRCH",
            libc::EINTR => "EINTR",
            libc::EIO => "EIO",
            libc::ENOMEM => "ENOMEM",
            libc::EACCES => "EACCES",
            libc::EFAULT => "EFAULT",
            libc::EBUSY => "EBUSY",
            libc::EEXIST => "EEXIST",
            libc::ENODEV => "ENODEV",
            libc::EINVAL => "EINVAL",
            libc::ERANGE => "ERANGE",
            libc::EAGAIN => "EAGAIN",
            libc::ENOBUFS => "ENOBUFS",
            libc::EMSGSIZE => "EMSGSIZE",
            libc::EOPNOTSUPP => "EOPNOTSUPP",
            libc::EAFNOSUPPORT => "EAFNOSUPPORT",
            libc::EPROTONOSUPPORT => "EPROTONOSUPPORT",
            n => return format!("errno {n}"),
        };
        n.to_string()
    }

    /// The C library's text for it (`File exists`).
    pub fn text(self) -> String {
        let s = std::io::Error::from_raw_os_error(self.0).to_string();
        match s.find(" (os error") {
            Some(i) => s[..i].to_string(),
            None => s,
        }
    }

    /// What this error means for `op`, as IPVS's `ip_vs_ctl.c` returns it.
    pub fn explain(self, op: &Op) -> String {
        let why = match (self.0, op) {
            (libc::ENOENT, Op::AddService { service, .. } | Op::EditService { service, .. }) => {
                let pe = service
                    .persistence
                    .as_ref()
                    .and_then(|p| p.engine.as_deref())
                    .map(|pe| format!(" or persistence engine module ip_vs_pe_{pe}"))
                    .unwrap_or_default();
                format!(
                    "scheduler module ip_vs_{}{pe} not available in this kernel",
                    service.scheduler
                )
            }
            (libc::EEXIST, Op::AddService { .. }) => {
                "the service already exists (added outside vigild?)".into()
            }
            (libc::EEXIST, Op::AddDest { .. }) => {
                "the destination already exists (added outside vigild?)".into()
            }
            (libc::ESRCH, _) => "no such service (removed outside vigild?)".into(),
            (libc::ENOENT, Op::EditDest { .. } | Op::DelDest { .. }) => {
                "no such destination (removed outside vigild?)".into()
            }
            (libc::ERANGE, _) => "weight or thresholds out of range".into(),
            (libc::EINVAL, _) => "invalid parameters".into(),
            (libc::EAFNOSUPPORT, _) => "address family not supported by this kernel".into(),
            (libc::EPERM, _) => "not permitted (needs CAP_NET_ADMIN)".into(),
            (libc::ENOMEM, _) => "out of memory".into(),
            _ => self.text(),
        };
        format!("{}: {why}", self.name())
    }

    /// Whether a fresh dump and a new diff can settle it (the table was
    /// not what vigild believed).
    pub fn stale_table(self) -> bool {
        matches!(self.0, libc::EEXIST | libc::ENOENT | libc::ESRCH)
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_core::ipvs::{Dest, DestKey, ForwardMethod, Scheduler, Service, ServiceKey};

    #[test]
    fn names_and_explanations() {
        let key = ServiceKey::tcp("192.0.2.160".parse().unwrap(), 80);
        let add = Op::AddService {
            key,
            service: Service::new(Scheduler::Twos),
        };
        assert_eq!(
            Errno(libc::ENOENT).explain(&add),
            "ENOENT: scheduler module ip_vs_twos not available in this kernel"
        );
        assert_eq!(
            Errno(libc::EEXIST).explain(&add),
            "EEXIST: the service already exists (added outside vigild?)"
        );
        let del = Op::DelDest {
            service: key,
            dest: DestKey::new("192.0.2.152".parse().unwrap(), 80),
        };
        assert_eq!(
            Errno(libc::ENOENT).explain(&del),
            "ENOENT: no such destination (removed outside vigild?)"
        );
        let add_d = Op::AddDest {
            service: key,
            dest: DestKey::new("192.0.2.152".parse().unwrap(), 80),
            params: Dest::new(ForwardMethod::Route, 1),
        };
        assert_eq!(
            Errno(libc::ESRCH).explain(&add_d),
            "ESRCH: no such service (removed outside vigild?)"
        );
        assert!(Errno(libc::EEXIST).stale_table());
        assert!(!Errno(libc::EINVAL).stale_table());
        assert_eq!(Errno(4242).name(), "errno 4242");
        assert_eq!(Errno(libc::EEXIST).to_string(), "EEXIST (File exists)");
    }
}
