//! Between core's table model ([`ServiceKey`], [`Service`], [`DestKey`],
//! [`Dest`]) and the kernel's attributes, with the kernel's conventions:
//! a service is named by its family and fwmark, or by family, protocol,
//! address and port; add/edit commands carry every parameter; flags go as
//! `{flags, mask = ~0}`; a service that is not persistent still sends a
//! timeout (0) and the host netmask (the kernel rejects an IPv6 prefix
//! outside 1..=128 even then).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use vigil_core::ipvs::{
    Dest, DestKey, Family, ForwardMethod, Netmask, Persistence, Protocol, Scheduler, Service,
    ServiceFlags, ServiceKey,
};

use super::attr::{DestAttr, SvcAttr};

/// A service or destination the kernel holds that core's model cannot
/// express (an unknown scheduler such as `none`, an unknown protocol or
/// forwarding method), or a malformed dump entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unrepresentable(pub String);

impl fmt::Display for Unrepresentable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn family_number(n: u16) -> Result<Family, Unrepresentable> {
    match n {
        2 => Ok(Family::V4),
        10 => Ok(Family::V6),
        n => Err(Unrepresentable(format!("address family {n}"))),
    }
}

/// The kernel's 16-byte `union nf_inet_addr` for `addr`.
pub fn inet_addr(addr: &IpAddr) -> [u8; 16] {
    let mut out = [0u8; 16];
    match addr {
        IpAddr::V4(a) => out[..4].copy_from_slice(&a.octets()),
        IpAddr::V6(a) => out.copy_from_slice(&a.octets()),
    }
    out
}

/// The address in a `union nf_inet_addr` of `family`.
pub fn addr_of(family: Family, raw: &[u8; 16]) -> IpAddr {
    match family {
        Family::V4 => IpAddr::V4(Ipv4Addr::new(raw[0], raw[1], raw[2], raw[3])),
        Family::V6 => IpAddr::V6(Ipv6Addr::from(*raw)),
    }
}

/// The raw netmask bytes the kernel stores for `mask` in `family`.
pub fn netmask_bytes(family: Family, mask: Netmask) -> [u8; 4] {
    match family {
        Family::V4 => mask.0.to_be_bytes(),
        Family::V6 => mask.0.to_ne_bytes(),
    }
}

/// The netmask of `family` the kernel's raw bytes stand for.
pub fn netmask_of(family: Family, raw: [u8; 4]) -> Netmask {
    match family {
        Family::V4 => Netmask(u32::from_be_bytes(raw)),
        Family::V6 => Netmask(u32::from_ne_bytes(raw)),
    }
}

/// The attributes naming service `key` (for deletes, dumps and as the
/// start of an add/edit).
pub fn service_id(key: &ServiceKey) -> Vec<SvcAttr> {
    let af = SvcAttr::Af(key.family().number());
    match key {
        ServiceKey::Fwmark { mark, .. } => vec![af, SvcAttr::Fwmark(*mark)],
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => vec![
            af,
            SvcAttr::Protocol(u16::from(protocol.number())),
            SvcAttr::Addr(inet_addr(addr)),
            SvcAttr::Port(*port),
        ],
    }
}

/// The full attributes of service `key` with parameters `service` (for
/// `NEW_SERVICE`/`SET_SERVICE`).
pub fn service_full(key: &ServiceKey, service: &Service) -> Vec<SvcAttr> {
    let family = key.family();
    let mut v = service_id(key);
    v.push(SvcAttr::SchedName(service.scheduler.name().to_string()));
    if let Some(pe) = service.persistence.as_ref().and_then(|p| p.engine.as_ref()) {
        v.push(SvcAttr::PeName(pe.clone()));
    }
    v.push(SvcAttr::Flags {
        flags: service.kernel_flags(),
        mask: u32::MAX,
    });
    let (timeout, mask) = match &service.persistence {
        Some(p) => (p.timeout, p.netmask),
        None => (0, Netmask::full(family)),
    };
    v.push(SvcAttr::Timeout(timeout));
    v.push(SvcAttr::Netmask(netmask_bytes(family, mask)));
    v
}

/// The service a dump entry describes.
pub fn parse_service(attrs: &[SvcAttr]) -> Result<(ServiceKey, Service), Unrepresentable> {
    let mut af = None;
    let (mut proto, mut addr, mut port, mut mark) = (None, None, None, 0u32);
    let (mut sched, mut flags, mut timeout, mut netmask, mut pe) = (None, 0u32, 0u32, None, None);
    for a in attrs {
        match a {
            SvcAttr::Af(x) => af = Some(*x),
            SvcAttr::Protocol(x) => proto = Some(*x),
            SvcAttr::Addr(x) => addr = Some(*x),
            SvcAttr::Port(x) => port = Some(*x),
            SvcAttr::Fwmark(x) => mark = *x,
            SvcAttr::SchedName(s) => sched = Some(s.clone()),
            SvcAttr::Flags { flags: f, .. } => flags = *f,
            SvcAttr::Timeout(t) => timeout = *t,
            SvcAttr::Netmask(m) => netmask = Some(*m),
            SvcAttr::PeName(s) => pe = Some(s.clone()),
            _ => {}
        }
    }
    let family = family_number(af.ok_or_else(|| Unrepresentable("service without AF".into()))?)?;
    let key = if mark != 0 {
        ServiceKey::fwmark(mark, family)
    } else {
        let (Some(p), Some(a), Some(port)) = (proto, addr, port) else {
            return Err(Unrepresentable(
                "service without fwmark nor protocol/address/port".into(),
            ));
        };
        let protocol = u8::try_from(p)
            .ok()
            .and_then(Protocol::from_number)
            .ok_or_else(|| Unrepresentable(format!("protocol {p}")))?;
        ServiceKey::addr(protocol, addr_of(family, &a), port)
    };
    let name = sched.ok_or_else(|| Unrepresentable(format!("{key}: no scheduler")))?;
    let scheduler: Scheduler = name
        .parse()
        .map_err(|_| Unrepresentable(format!("{key}: scheduler `{name}`")))?;
    let mut service = Service::new(scheduler).with_flags(ServiceFlags::from_kernel(flags));
    if flags & ServiceFlags::PERSISTENT_BIT != 0 {
        let mut p = Persistence::new(timeout, family);
        if let Some(m) = netmask {
            p.netmask = netmask_of(family, m);
        }
        p.engine = pe;
        service.persistence = Some(p);
    }
    Ok((key, service))
}

/// The attributes naming destination `key` of a service of `family`, and
/// (when `params` is given, for `NEW_DEST`/`SET_DEST`) its parameters.
pub fn dest_attrs(key: &DestKey, params: Option<&Dest>) -> Vec<DestAttr> {
    let mut v = vec![
        DestAttr::Addr(inet_addr(&key.addr)),
        DestAttr::Port(key.port),
        DestAttr::AddrFamily(Family::of(&key.addr).number()),
    ];
    if let Some(d) = params {
        v.push(DestAttr::FwdMethod(d.forward.code()));
        v.push(DestAttr::Weight(d.weight));
        v.push(DestAttr::UThresh(d.u_threshold));
        v.push(DestAttr::LThresh(d.l_threshold));
    }
    v
}

/// The destination a dump entry of a service of `family` describes.
pub fn parse_dest(family: Family, attrs: &[DestAttr]) -> Result<(DestKey, Dest), Unrepresentable> {
    let (mut addr, mut port, mut af) = (None, None, None);
    let (mut fwd, mut weight, mut upper, mut lower) = (None, 0u32, 0u32, 0u32);
    for a in attrs {
        match a {
            DestAttr::Addr(x) => addr = Some(*x),
            DestAttr::Port(x) => port = Some(*x),
            DestAttr::AddrFamily(x) => af = Some(*x),
            DestAttr::FwdMethod(x) => fwd = Some(*x),
            DestAttr::Weight(x) => weight = *x,
            DestAttr::UThresh(x) => upper = *x,
            DestAttr::LThresh(x) => lower = *x,
            _ => {}
        }
    }
    let family = match af {
        Some(n) => family_number(n)?,
        None => family,
    };
    let (Some(a), Some(port)) = (addr, port) else {
        return Err(Unrepresentable(
            "destination without address or port".into(),
        ));
    };
    let key = DestKey::new(addr_of(family, &a), port);
    let code = fwd.ok_or_else(|| Unrepresentable(format!("{key}: no forwarding method")))?;
    let forward = ForwardMethod::from_code(code)
        .ok_or_else(|| Unrepresentable(format!("{key}: forwarding method {code}")))?;
    Ok((
        key,
        Dest::new(forward, weight).with_thresholds(upper, lower),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> IpAddr {
        IpAddr::V4(s.parse().unwrap())
    }

    #[test]
    fn services_round_trip() {
        let mut p4 = Persistence::new(300, Family::V4);
        p4.netmask = Netmask::prefix(Family::V4, 24);
        let mut p6 = Persistence::new(60, Family::V6);
        p6.netmask = Netmask::prefix(Family::V6, 64);
        p6.engine = Some("sip".into());
        let cases = [
            (
                ServiceKey::tcp(v4("192.0.2.160"), 80),
                Service::new(Scheduler::Rr),
            ),
            (
                ServiceKey::addr(Protocol::Udp, "2001:db8::1".parse().unwrap(), 53),
                Service::new(Scheduler::Sh)
                    .with_flags(ServiceFlags::SH_PORT | ServiceFlags::ONE_PACKET),
            ),
            (
                ServiceKey::addr(Protocol::Sctp, v4("198.51.100.1"), 9),
                Service::new(Scheduler::Wlc).with_persistence(p4),
            ),
            (
                ServiceKey::fwmark(7, Family::V6),
                Service::new(Scheduler::Mh).with_persistence(p6),
            ),
        ];
        for (k, s) in cases {
            let attrs = service_full(&k, &s);
            assert_eq!(parse_service(&attrs), Ok((k, s.clone())), "{k}");
        }
    }

    #[test]
    fn netmask_bytes_follow_the_kernel() {
        // IPv4 /24: the mask in network order; IPv6 /64: 64 in host order.
        assert_eq!(
            netmask_bytes(Family::V4, Netmask::prefix(Family::V4, 24)),
            [255, 255, 255, 0]
        );
        assert_eq!(
            netmask_bytes(Family::V6, Netmask::prefix(Family::V6, 64)),
            64u32.to_ne_bytes()
        );
        // A non-persistent IPv6 service still sends prefix 128.
        let k = ServiceKey::tcp("2001:db8::5".parse().unwrap(), 443);
        let a = service_full(&k, &Service::new(Scheduler::Rr));
        assert!(a.contains(&SvcAttr::Netmask(128u32.to_ne_bytes())));
        assert!(a.contains(&SvcAttr::Timeout(0)));
        assert!(a.contains(&SvcAttr::Flags {
            flags: 0,
            mask: u32::MAX
        }));
    }

    #[test]
    fn kernel_bits_are_not_configuration() {
        // A dumped service carries HASHED (0x2); a non-persistent one may
        // carry any timeout.
        let k = ServiceKey::fwmark(1, Family::V4);
        let mut a = service_id(&k);
        a.push(SvcAttr::SchedName("rr".into()));
        a.push(SvcAttr::Flags {
            flags: 0x2,
            mask: u32::MAX,
        });
        a.push(SvcAttr::Timeout(17));
        a.push(SvcAttr::Netmask([255; 4]));
        assert_eq!(parse_service(&a), Ok((k, Service::new(Scheduler::Rr))));
    }

    #[test]
    fn unrepresentable_services_say_why() {
        let k = ServiceKey::tcp(v4("192.0.2.1"), 80);
        let mut a = service_id(&k);
        a.push(SvcAttr::SchedName("none".into()));
        let e = parse_service(&a).unwrap_err();
        assert_eq!(e.to_string(), "tcp/192.0.2.1:80: scheduler `none`");
        assert!(parse_service(&[SvcAttr::Af(2), SvcAttr::Port(1)]).is_err());
        assert!(parse_service(&[SvcAttr::Af(7), SvcAttr::Fwmark(1)]).is_err());
    }

    #[test]
    fn dests_round_trip() {
        for (fam, key, d) in [
            (
                Family::V4,
                DestKey::new(v4("192.0.2.152"), 80),
                Dest::new(ForwardMethod::Route, 1),
            ),
            (
                Family::V6,
                DestKey::new("2001:db8::10".parse().unwrap(), 8080),
                Dest::new(ForwardMethod::Masq, 0).with_thresholds(100, 50),
            ),
            (
                // A tunnel destination of the other family.
                Family::V4,
                DestKey::new("2001:db8::11".parse().unwrap(), 0),
                Dest::new(ForwardMethod::Tunnel, 7),
            ),
        ] {
            let attrs = dest_attrs(&key, Some(&d));
            assert_eq!(parse_dest(fam, &attrs), Ok((key, d)));
        }
        // Without ADDR_FAMILY the service's family applies.
        let a = [
            DestAttr::Addr(inet_addr(&v4("192.0.2.9"))),
            DestAttr::Port(1),
            DestAttr::FwdMethod(0),
        ];
        assert_eq!(
            parse_dest(Family::V4, &a).unwrap().0,
            DestKey::new(v4("192.0.2.9"), 1)
        );
        let bad = [
            DestAttr::Addr(inet_addr(&v4("192.0.2.9"))),
            DestAttr::Port(1),
            DestAttr::FwdMethod(4),
        ];
        assert!(parse_dest(Family::V4, &bad).is_err());
    }
}
