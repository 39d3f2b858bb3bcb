//! Where the IPVS table goes: a backend behind [`IpvsBackend`], chosen at
//! start. The kernel's generic-netlink IPVS is one implementation
//! ([`crate::ipvs_netlink`]); [`Unavailable`] is the other: when the kernel has no IPVS,
//! vigild says so once and runs VRRP and checks (as `keepalived --vrrp`
//! would), logging the table it would have programmed.

use std::fmt;

use vigil_core::ipvs::{self, Op, Table};

/// A backend failure: the op it refused (if any) and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackendError {
    /// The op refused, when one was.
    pub op: Option<Op>,
    /// Why.
    pub error: String,
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.op {
            Some(op) => write!(f, "{}: {}", op.to_ipvsadm(), self.error),
            None => f.write_str(&self.error),
        }
    }
}

/// The kernel's IPVS table, or a stand-in for it.
pub trait IpvsBackend: Send {
    /// A short name for the log (`netlink`, `unavailable`).
    fn name(&self) -> &'static str;
    /// Whether the kernel really gets the table.
    fn programs_kernel(&self) -> bool;
    /// The table as it is now.
    fn dump(&mut self) -> Result<Table, BackendError>;
    /// Applies `ops` in order; every op that failed, with why (the
    /// others took effect).
    fn apply(&mut self, ops: &[Op]) -> Vec<BackendError>;
}

/// No IPVS: the table lives only here, and is reported in the log.
#[derive(Debug)]
pub struct Unavailable {
    reason: String,
    model: Table,
}

impl Unavailable {
    /// A stand-in, with the reason IPVS cannot be used.
    pub fn new(reason: impl Into<String>) -> Unavailable {
        Unavailable {
            reason: reason.into(),
            model: Table::new(),
        }
    }

    /// Why IPVS is not used.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl IpvsBackend for Unavailable {
    fn name(&self) -> &'static str {
        "unavailable"
    }

    fn programs_kernel(&self) -> bool {
        false
    }

    fn dump(&mut self) -> Result<Table, BackendError> {
        Ok(self.model.clone())
    }

    fn apply(&mut self, ops: &[Op]) -> Vec<BackendError> {
        let mut errs = Vec::new();
        for op in ops {
            if let Err(e) = ipvs::apply_one(&mut self.model, op) {
                errs.push(BackendError {
                    op: Some(op.clone()),
                    error: format!("{e:?}"),
                });
            }
        }
        errs
    }
}

/// Whether this kernel has IPVS: `Err` says why not (no
/// `/proc/net/ip_vs`, and the generic-netlink family `IPVS` does not
/// resolve).
pub fn kernel_ipvs() -> Result<(), String> {
    let proc_ok = std::path::Path::new("/proc/net/ip_vs").exists();
    match genl_family_id("IPVS") {
        Ok(Some(_)) => Ok(()),
        Ok(None) if proc_ok => Ok(()),
        Ok(None) => Err(
            "the kernel has no IPVS (no /proc/net/ip_vs, generic-netlink family IPVS unknown; \
             is ip_vs loaded?)"
                .into(),
        ),
        Err(e) if proc_ok => Err(format!("generic netlink: {e}")),
        Err(e) => Err(format!(
            "the kernel has no IPVS (no /proc/net/ip_vs; generic netlink: {e})"
        )),
    }
}

/// Chooses the backend at start: the kernel's IPVS over generic netlink
/// ([`crate::ipvs_netlink::NetlinkBackend`]), or `Unavailable` with its
/// reason when the kernel has no IPVS or the family cannot be opened.
pub fn choose() -> Box<dyn IpvsBackend> {
    match kernel_ipvs() {
        Err(why) => Box::new(Unavailable::new(why)),
        Ok(()) => match crate::ipvs_netlink::NetlinkBackend::open() {
            Ok(b) => Box::new(b),
            Err(e) => {
                tracing::error!("ipvs: generic netlink: {e}");
                Box::new(Unavailable::new(format!("generic netlink: {e}")))
            }
        },
    }
}

/// Resolves a generic-netlink family name to its id (`None`: unknown).
pub fn genl_family_id(name: &str) -> Result<Option<u16>, String> {
    use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_GENERIC};
    const GENL_ID_CTRL: u16 = 0x10;
    const CTRL_CMD_GETFAMILY: u8 = 3;
    const CTRL_ATTR_FAMILY_ID: u16 = 1;
    const CTRL_ATTR_FAMILY_NAME: u16 = 2;
    const NLMSG_ERROR: u16 = 2;

    let mut s = Socket::new(NETLINK_GENERIC).map_err(|e| e.to_string())?;
    s.bind_auto().map_err(|e| e.to_string())?;
    s.connect(&SocketAddr::new(0, 0))
        .map_err(|e| e.to_string())?;
    let mut attr = Vec::new();
    let name_z = [name.as_bytes(), &[0]].concat();
    attr.extend_from_slice(&((4 + name_z.len()) as u16).to_ne_bytes());
    attr.extend_from_slice(&CTRL_ATTR_FAMILY_NAME.to_ne_bytes());
    attr.extend_from_slice(&name_z);
    while attr.len() % 4 != 0 {
        attr.push(0);
    }
    let len = 16 + 4 + attr.len();
    let mut msg = Vec::with_capacity(len);
    msg.extend_from_slice(&(len as u32).to_ne_bytes());
    msg.extend_from_slice(&GENL_ID_CTRL.to_ne_bytes());
    msg.extend_from_slice(&(libc::NLM_F_REQUEST as u16).to_ne_bytes());
    msg.extend_from_slice(&1u32.to_ne_bytes()); // seq
    msg.extend_from_slice(&0u32.to_ne_bytes()); // pid
    msg.extend_from_slice(&[CTRL_CMD_GETFAMILY, 1, 0, 0]);
    msg.extend_from_slice(&attr);
    s.send(&msg, 0).map_err(|e| e.to_string())?;
    let (buf, _) = s.recv_from_full().map_err(|e| e.to_string())?;
    let u16_at = |b: &[u8], i: usize| b.get(i..i + 2).map(|x| u16::from_ne_bytes([x[0], x[1]]));
    let Some(kind) = u16_at(&buf, 4) else {
        return Err("short reply".into());
    };
    if kind == NLMSG_ERROR {
        let code = buf
            .get(16..20)
            .map(|x| i32::from_ne_bytes([x[0], x[1], x[2], x[3]]))
            .unwrap_or(0);
        return if code == -libc::ENOENT {
            Ok(None)
        } else {
            Err(format!("error {code}"))
        };
    }
    // Walk the attributes after nlmsghdr + genlmsghdr.
    let mut i = 20;
    while let (Some(alen), Some(atype)) = (u16_at(&buf, i), u16_at(&buf, i + 2)) {
        let alen = usize::from(alen);
        if alen < 4 {
            break;
        }
        if atype & 0x3fff == CTRL_ATTR_FAMILY_ID {
            return Ok(u16_at(&buf, i + 4));
        }
        i += (alen + 3) & !3;
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_core::config::parse_str;

    #[test]
    fn unavailable_keeps_the_model() {
        let text = "virtual_server 192.0.2.160 80 {\n protocol TCP\n lb_algo rr\n lb_kind DR\n \
                    real_server 192.0.2.152 80 { weight 1 }\n}\n";
        let cfg = parse_str("t.conf", text).config.unwrap();
        let want = ipvs::desired(&cfg, &ipvs::Health::all_up(&cfg));
        let mut b = Unavailable::new("test");
        let ops = ipvs::diff(&b.dump().unwrap(), &want);
        assert!(!ops.is_empty());
        assert!(b.apply(&ops).is_empty());
        assert_eq!(b.dump().unwrap(), want);
        assert!(ipvs::diff(&b.dump().unwrap(), &want).is_empty());
        assert!(!b.programs_kernel());
    }

    #[test]
    fn genetlink_resolves_the_controller() {
        // "nlctrl" always exists; a made-up name never does.
        assert_eq!(genl_family_id("nlctrl").unwrap(), Some(0x10));
        assert_eq!(genl_family_id("VIGILNOFAM").unwrap(), None);
    }
}
