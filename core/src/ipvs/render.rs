//! The table as `ipvsadm -Ln` prints it, byte for byte (ipvsadm 1.31).
//!
//! Order: `ipvsadm` sorts what the kernel dumps (unless `--nosort`), with
//! glibc's `qsort` (a merge sort on Debian's glibc 2.36) and comparators
//! that subtract 32-bit words and read the result as a signed `int`. For
//! keys less than 2^31 apart that is plain ascending order (fwmark 0 first,
//! then family, protocol, address, port), the order [`Table`] keeps. For
//! addresses further apart it is not (`10.0.0.1` is listed after
//! `192.168.0.1`); [`render`] reproduces that too, by sorting the same way.
//!
//! Padding is `ipvsadm`'s `printf` widths, so destination lines end in
//! spaces (`%-10u\n`), as the real tool prints them.

use std::fmt::Write;
use std::net::{IpAddr, Ipv6Addr};

use std::collections::BTreeMap;

use super::dest::DestKey;
use super::service::{Family, Scheduler, ServiceFlags, ServiceKey, addr_bits};
use super::table::Table;

/// Traffic counters, as the kernel keeps them per service and destination
/// (`ipvsadm --stats`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Connections scheduled.
    pub conns: u64,
    /// Packets in (client to director).
    pub inpkts: u64,
    /// Packets out (director to client; NAT only).
    pub outpkts: u64,
    /// Bytes in.
    pub inbytes: u64,
    /// Bytes out.
    pub outbytes: u64,
}

/// Connection counts and traffic of one destination.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DestCounters {
    /// Established connections (`ActiveConn`).
    pub active: u32,
    /// Other connections (`InActConn`).
    pub inactive: u32,
    /// Persistence templates pointing at it (`PersistConn`).
    pub persistent: u32,
    /// Traffic.
    pub stats: Stats,
}

/// Live counters to show beside a table; absent entries are zero.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Per service.
    pub services: BTreeMap<ServiceKey, Stats>,
    /// Per destination of a service.
    pub dests: BTreeMap<(ServiceKey, DestKey), DestCounters>,
}

/// Which `ipvsadm -Ln` listing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `ipvsadm -Ln`.
    Plain,
    /// `ipvsadm -Ln --stats`.
    Stats,
    /// `ipvsadm -Ln --thresholds`.
    Thresholds,
    /// `ipvsadm -Ln --persistent-conn`.
    PersistentConn,
}

/// The kernel's connection table size `ipvsadm` reports (the default
/// `CONFIG_IP_VS_TAB_BITS=12`).
pub const CONN_TAB_SIZE: u32 = 4096;

/// `ipvsadm -Ln` of `table`, with all counters zero.
pub fn ipvsadm_ln(table: &Table) -> String {
    render(table, &Counters::default(), Format::Plain)
}

/// `table` listed in `format`, with `counters`.
pub fn render(table: &Table, counters: &Counters, format: Format) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "IP Virtual Server version 1.2.1 (size={CONN_TAB_SIZE})"
    );
    let title = "Prot LocalAddress:Port";
    let _ = match format {
        Format::Plain => write!(
            out,
            "{title} Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n"
        ),
        Format::Stats => writeln!(
            out,
            "{title:<33} {:>8} {:>8} {:>8} {:>8} {:>8}\n  -> RemoteAddress:Port",
            "Conns", "InPkts", "OutPkts", "InBytes", "OutBytes"
        ),
        Format::Thresholds => writeln!(
            out,
            "{title:<33} {:<10} {:<10} {:<10} {:<10}\n  -> RemoteAddress:Port",
            "Uthreshold", "Lthreshold", "ActiveConn", "InActConn"
        ),
        Format::PersistentConn => writeln!(
            out,
            "{title:<33} {:<9} {:<11} {:<10} {:<10}\n  -> RemoteAddress:Port",
            "Weight", "PersistConn", "ActiveConn", "InActConn"
        ),
    };
    let mut services: Vec<&ServiceKey> = table.keys().collect();
    glibc_msort(&mut services, |a, b| ipvsadm_cmp_services(a, b));
    for key in services {
        let entry = table.service(key).expect("listed key");
        let svc = &entry.service;
        let name = service_name(key);
        match format {
            Format::Stats => {
                let _ = write!(out, "{name:<33}");
                largenums(
                    &mut out,
                    counters.services.get(key).copied().unwrap_or_default(),
                );
            }
            _ => {
                let _ = write!(out, "{name} {}", svc.scheduler);
                if svc.flags.any_sched() {
                    let _ = write!(out, " ({})", sched_flag_names(svc.scheduler, svc.flags));
                }
                if let Some(p) = &svc.persistence {
                    let _ = write!(out, " persistent {}", p.timeout);
                    if !p.netmask.is_full(key.family()) {
                        match key.family() {
                            Family::V4 => {
                                let _ =
                                    write!(out, " mask {}", std::net::Ipv4Addr::from(p.netmask.0));
                            }
                            Family::V6 => {
                                let _ = write!(out, " mask {}", p.netmask.0 as i32);
                            }
                        }
                    }
                    if let Some(pe) = &p.engine {
                        let _ = write!(out, " pe {pe}");
                    }
                }
                if svc.flags.contains(ServiceFlags::ONE_PACKET) {
                    out.push_str(" ops");
                }
            }
        }
        out.push('\n');

        let mut dests: Vec<_> = entry.dests().iter().collect();
        glibc_msort(&mut dests, |a, b| ipvsadm_cmp_dests(&a.0, &b.0));
        for (dk, d) in dests {
            let c = counters
                .dests
                .get(&(*key, *dk))
                .copied()
                .unwrap_or_default();
            let dname = addr_port(dk.addr, dk.port);
            match format {
                Format::Plain => {
                    let _ = writeln!(
                        out,
                        "  -> {dname:<28} {:<7} {:<6} {:<10} {:<10}",
                        d.forward.name(),
                        d.weight as i32,
                        c.active,
                        c.inactive
                    );
                }
                Format::Stats => {
                    let _ = write!(out, "  -> {dname:<28}");
                    largenums(&mut out, c.stats);
                    out.push('\n');
                }
                Format::Thresholds => {
                    let _ = writeln!(
                        out,
                        "  -> {dname:<28} {:<10} {:<10} {:<10} {:<10}",
                        d.u_threshold, d.l_threshold, c.active, c.inactive
                    );
                }
                Format::PersistentConn => {
                    let _ = writeln!(
                        out,
                        "  -> {dname:<28} {:<9} {:<11} {:<10} {:<10}",
                        d.weight, c.persistent, c.active, c.inactive
                    );
                }
            }
        }
    }
    out
}

/// `sh-fallback,sh-port`, `mh-port`, `flag-1,flag-3`: a service's scheduler
/// flags as `ipvsadm` names them for its scheduler.
pub fn sched_flag_names(scheduler: Scheduler, flags: ServiceFlags) -> String {
    let names: [&str; 3] = match scheduler {
        Scheduler::Sh => ["sh-fallback", "sh-port", ""],
        Scheduler::Mh => ["mh-fallback", "mh-port", ""],
        _ => ["flag-1", "flag-2", "flag-3"],
    };
    let bits = [
        ServiceFlags::SCHED1,
        ServiceFlags::SCHED2,
        ServiceFlags::SCHED3,
    ];
    let mut out: Vec<&str> = Vec::new();
    for (name, bit) in names.iter().zip(bits) {
        if !name.is_empty() && flags.contains(bit) {
            out.push(name);
        }
    }
    out.join(",")
}

/// `TCP  172.17.1.160:80`, `FWM  1`, `FWM  1 IPv6`: the service column.
fn service_name(key: &ServiceKey) -> String {
    match key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            let mut s = format!("{:<4} {}", protocol.name(), addr_port(*addr, *port));
            if addr.is_ipv4() {
                s.truncate(33);
            }
            s
        }
        ServiceKey::Fwmark {
            mark,
            family: Family::V4,
        } => format!("FWM  {}", *mark as i32),
        ServiceKey::Fwmark {
            mark,
            family: Family::V6,
        } => format!("FWM  {} IPv6", *mark as i32),
    }
}

/// `addr:port`, IPv6 in brackets and spelled as glibc's `inet_ntop` does.
fn addr_port(addr: IpAddr, port: u16) -> String {
    match addr {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{}]:{port}", inet_ntop6(a)),
    }
}

/// glibc's `inet_ntop(AF_INET6, ...)`: the first longest run of two or
/// more zero words becomes `::`, and `::a.b.c.d` / `::ffff:a.b.c.d` keep a
/// dotted IPv4 tail.
pub(crate) fn inet_ntop6(a: Ipv6Addr) -> String {
    let w = a.segments();
    let (mut best, mut best_len) = (usize::MAX, 0);
    let mut i = 0;
    while i < 8 {
        if w[i] == 0 {
            let start = i;
            while i < 8 && w[i] == 0 {
                i += 1;
            }
            if i - start > best_len {
                best = start;
                best_len = i - start;
            }
        } else {
            i += 1;
        }
    }
    if best_len < 2 {
        best = usize::MAX;
    }
    let mut s = String::new();
    let mut i = 0;
    while i < 8 {
        if i == best {
            s.push(':');
            i += best_len;
            continue;
        }
        if i != 0 {
            s.push(':');
        }
        if i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && w[5] == 0xffff)) {
            let o = a.octets();
            let _ = write!(s, "{}.{}.{}.{}", o[12], o[13], o[14], o[15]);
            return s;
        }
        let _ = write!(s, "{:x}", w[i]);
        i += 1;
    }
    if best != usize::MAX && best + best_len == 8 {
        s.push(':');
    }
    s
}

/// `print_largenum` of each counter: `%9llu`, or scaled with a K/M/G/T
/// suffix from 100 million up.
fn largenums(out: &mut String, s: Stats) {
    for n in [s.conns, s.inpkts, s.outpkts, s.inbytes, s.outbytes] {
        let _ = match n {
            0..100_000_000 => write!(out, "{n:>9}"),
            100_000_000..1_000_000_000 => write!(out, "{:>8}K", n / 1_000),
            1_000_000_000..100_000_000_000 => write!(out, "{:>8}M", n / 1_000_000),
            100_000_000_000..100_000_000_000_000 => write!(out, "{:>8}G", n / 1_000_000_000),
            _ => write!(out, "{:>8}T", n / 1_000_000_000_000),
        };
    }
}

/// `a - b` on 32-bit words, read as a C `int`.
fn csub(a: u32, b: u32) -> i32 {
    a.wrapping_sub(b) as i32
}

/// The 32-bit words of an address as `nf_inet_addr` holds it (IPv4 in the
/// first word), in host order.
fn words(addr: &IpAddr) -> [u32; 4] {
    let b = addr_bits(addr);
    match addr {
        IpAddr::V4(_) => [b as u32, 0, 0, 0],
        IpAddr::V6(_) => [
            (b >> 96) as u32,
            (b >> 64) as u32,
            (b >> 32) as u32,
            b as u32,
        ],
    }
}

fn cmp_addr(first_is_v6: bool, a: &IpAddr, b: &IpAddr) -> i32 {
    let (wa, wb) = (words(a), words(b));
    if first_is_v6 {
        let mut r = 0;
        for i in 0..4 {
            if r != 0 {
                break;
            }
            r = csub(wa[i], wb[i]);
        }
        r
    } else {
        csub(wa[0], wb[0])
    }
}

/// libipvs `ipvs_cmp_services`, wrap-around included.
fn ipvsadm_cmp_services(a: &ServiceKey, b: &ServiceKey) -> i32 {
    let r = csub(a.mark(), b.mark());
    if r != 0 {
        return r;
    }
    let r = a.family().number() as i32 - b.family().number() as i32;
    if r != 0 {
        return r;
    }
    let r = a.protocol_number() as i32 - b.protocol_number() as i32;
    if r != 0 {
        return r;
    }
    let zero = IpAddr::V4(0.into());
    let addr = |k: &ServiceKey| match k {
        ServiceKey::Addr { addr, .. } => *addr,
        ServiceKey::Fwmark {
            family: Family::V6, ..
        } => IpAddr::V6(0.into()),
        ServiceKey::Fwmark { .. } => zero,
    };
    let r = cmp_addr(a.family() == Family::V6, &addr(a), &addr(b));
    if r != 0 {
        return r;
    }
    a.port() as i32 - b.port() as i32
}

/// libipvs `ipvs_cmp_dests`, wrap-around included.
fn ipvsadm_cmp_dests(a: &DestKey, b: &DestKey) -> i32 {
    let r = cmp_addr(a.addr.is_ipv6(), &a.addr, &b.addr);
    if r != 0 {
        return r;
    }
    a.port as i32 - b.port as i32
}

/// glibc's `msort_with_tmp`: top-down merge sort, left half first, taking
/// from the left run while `cmp <= 0`. Deterministic for any comparator.
fn glibc_msort<T: Copy>(v: &mut [T], cmp: impl Fn(&T, &T) -> i32 + Copy) {
    let n = v.len();
    if n <= 1 {
        return;
    }
    let n1 = n / 2;
    glibc_msort(&mut v[..n1], cmp);
    glibc_msort(&mut v[n1..], cmp);
    let mut tmp = Vec::with_capacity(n);
    let (mut i, mut j) = (0, n1);
    while i < n1 && j < n {
        if cmp(&v[i], &v[j]) <= 0 {
            tmp.push(v[i]);
            i += 1;
        } else {
            tmp.push(v[j]);
            j += 1;
        }
    }
    tmp.extend_from_slice(&v[i..n1]);
    tmp.extend_from_slice(&v[j..n]);
    v.copy_from_slice(&tmp);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipvs::{Dest, ForwardMethod, Netmask, Persistence, Protocol, Service, ServiceEntry};

    fn seed_table(with_rs: bool) -> Table {
        let key = ServiceKey::tcp("172.17.1.160".parse().unwrap(), 80);
        let mut e = ServiceEntry::new(Service::new(Scheduler::Rr));
        if with_rs {
            for rs in ["172.17.1.153", "172.17.1.152"] {
                e.insert_dest(
                    DestKey::new(rs.parse().unwrap(), 80),
                    Dest::new(ForwardMethod::Route, 1),
                );
            }
        }
        [(key, e)].into_iter().collect()
    }

    /// The SEED.md listings (whose trailing spaces the article lost).
    #[test]
    fn seed_listings_match_the_article() {
        let trim = |s: &str| {
            s.lines()
                .map(|l| l.trim_end().to_string())
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(
            trim(&ipvsadm_ln(&seed_table(false))),
            "IP Virtual Server version 1.2.1 (size=4096)\n\
             Prot LocalAddress:Port Scheduler Flags\n  \
             -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n\
             TCP  172.17.1.160:80 rr"
        );
        let full = trim(&ipvsadm_ln(&seed_table(true)));
        let tail: Vec<&str> = full.lines().skip(3).collect();
        assert_eq!(
            tail.join("\n"),
            "TCP  172.17.1.160:80 rr\n  \
             -> 172.17.1.152:80              Route   1      0          0\n  \
             -> 172.17.1.153:80              Route   1      0          0"
        );
    }

    #[test]
    fn exact_bytes_with_padding() {
        let out = ipvsadm_ln(&seed_table(true));
        assert_eq!(
            out,
            "IP Virtual Server version 1.2.1 (size=4096)\n\
             Prot LocalAddress:Port Scheduler Flags\n  \
             -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n\
             TCP  172.17.1.160:80 rr\n  \
             -> 172.17.1.152:80              Route   1      0          0         \n  \
             -> 172.17.1.153:80              Route   1      0          0         \n"
        );
    }

    #[test]
    fn flags_persistence_fwmark_ipv6() {
        let mut t = Table::new();
        let mut p = Persistence::new(50, Family::V4);
        p.netmask = Netmask::prefix(Family::V4, 24);
        t.upsert_service(
            ServiceKey::fwmark(1, Family::V4),
            Service::new(Scheduler::Sh)
                .with_flags(ServiceFlags::SH_PORT)
                .with_persistence(p),
        );
        let mut p6 = Persistence::new(300, Family::V6);
        p6.netmask = Netmask::prefix(Family::V6, 64);
        let udp6 = ServiceKey::addr(Protocol::Udp, "2001:db8::1".parse().unwrap(), 53);
        t.upsert_service(
            udp6,
            Service::new(Scheduler::Wlc)
                .with_persistence(p6)
                .with_flags(ServiceFlags::ONE_PACKET),
        )
        .insert_dest(
            DestKey::new("2001:db8::10".parse().unwrap(), 53),
            Dest::new(ForwardMethod::Masq, 5).with_thresholds(100, 50),
        );
        let sctp = ServiceKey::addr(Protocol::Sctp, "10.0.0.1".parse().unwrap(), 1);
        t.upsert_service(
            sctp,
            Service::new(Scheduler::Mh)
                .with_flags(ServiceFlags::MH_FALLBACK | ServiceFlags::MH_PORT),
        )
        .insert_dest(
            DestKey::new("10.0.0.2".parse().unwrap(), 2),
            Dest::new(ForwardMethod::Tunnel, 0),
        );
        t.upsert_service(
            ServiceKey::fwmark(2, Family::V6),
            Service::new(Scheduler::Wrr).with_flags(ServiceFlags::SCHED3),
        );
        assert_eq!(
            ipvsadm_ln(&t),
            "IP Virtual Server version 1.2.1 (size=4096)\n\
             Prot LocalAddress:Port Scheduler Flags\n  \
             -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n\
             SCTP 10.0.0.1:1 mh (mh-fallback,mh-port)\n  \
             -> 10.0.0.2:2                   Tunnel  0      0          0         \n\
             UDP  [2001:db8::1]:53 wlc persistent 300 mask 64 ops\n  \
             -> [2001:db8::10]:53            Masq    5      0          0         \n\
             FWM  1 sh (sh-port) persistent 50 mask 255.255.255.0\n\
             FWM  2 IPv6 wrr (flag-3)\n"
        );
        let mut c = Counters::default();
        c.dests.insert(
            (udp6, DestKey::new("2001:db8::10".parse().unwrap(), 53)),
            DestCounters {
                active: 3,
                inactive: 12,
                persistent: 2,
                stats: Stats {
                    conns: 15,
                    inpkts: 123_456_789,
                    outpkts: 1_500_000_000,
                    inbytes: 7,
                    outbytes: u64::MAX,
                },
            },
        );
        c.services.insert(
            udp6,
            Stats {
                conns: 15,
                ..Stats::default()
            },
        );
        let stats = render(&t, &c, Format::Stats);
        let lines: Vec<&str> = stats.lines().collect();
        assert_eq!(
            lines[1],
            "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes"
        );
        assert_eq!(lines[2], "  -> RemoteAddress:Port");
        assert_eq!(
            lines[3],
            "SCTP 10.0.0.1:1                          0        0        0        0        0"
        );
        assert_eq!(
            lines[5],
            "UDP  [2001:db8::1]:53                   15        0        0        0        0"
        );
        // `%8lluT` of an 8-digit value leaves no separating space, as in ipvsadm.
        assert_eq!(
            lines[6],
            "  -> [2001:db8::10]:53                  15  123456K    1500M        718446744T"
        );
        let th = render(&t, &c, Format::Thresholds);
        assert!(th.contains(
            "  -> [2001:db8::10]:53            100        50         3          12        \n"
        ));
        let pc = render(&t, &c, Format::PersistentConn);
        assert!(pc.contains(
            "  -> [2001:db8::10]:53            5         2           3          12        \n"
        ));
    }

    #[test]
    fn ipv6_spelled_like_glibc() {
        let f = |s: &str| inet_ntop6(s.parse().unwrap());
        assert_eq!(f("2001:db8::1"), "2001:db8::1");
        assert_eq!(f("::"), "::");
        assert_eq!(f("::1"), "::1");
        assert_eq!(f("::ffff:192.0.2.1"), "::ffff:192.0.2.1");
        assert_eq!(f("::102:304"), "::1.2.3.4");
        assert_eq!(f("2001:db8:0:1:0:0:0:1"), "2001:db8:0:1::1");
        assert_eq!(f("2001:0:0:1:0:0:1:1"), "2001::1:0:0:1:1");
        assert_eq!(f("2001:db8:1:1:1:1:0:1"), "2001:db8:1:1:1:1:0:1");
        assert_eq!(f("1::"), "1::");
    }

    #[test]
    fn sort_reproduces_ipvsadm_wraparound() {
        let mut t = Table::new();
        for a in ["10.0.0.1", "192.168.0.1"] {
            t.upsert_service(
                ServiceKey::tcp(a.parse().unwrap(), 80),
                Service::new(Scheduler::Rr),
            );
        }
        let out = ipvsadm_ln(&t);
        let svc: Vec<&str> = out.lines().skip(3).collect();
        // 0x0a000001 - 0xc0a80001 wraps to a positive int: ipvsadm lists 10.x second.
        assert_eq!(svc, ["TCP  192.168.0.1:80 rr", "TCP  10.0.0.1:80 rr"]);
    }

    #[test]
    fn msort_is_plain_sort_for_total_orders() {
        let mut v: Vec<i32> = (0..100).map(|i| (i * 37) % 101).collect();
        let mut w = v.clone();
        glibc_msort(&mut v, |a, b| a - b);
        w.sort();
        assert_eq!(v, w);
    }
}
