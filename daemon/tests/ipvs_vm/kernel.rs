//! The generic-netlink backend against Linux 6.1's IPVS: every scheduler
//! the kernel has, IPv4 and IPv6, fwmark services, DR/NAT/TUN, persistence,
//! flags and thresholds go in and come back out of a dump unchanged and
//! `ipvsadm` lists exactly what core renders; edits, deletes, the kernel's
//! refusals (named and explained), GET_INFO, GET/SET_CONFIG, the sync
//! daemon dump and FLUSH.

use vigil_core::ipvs::render::{self, Counters, Format};
use vigil_core::ipvs::{
    self, Dest, DestKey, Family, ForwardMethod, Netmask, Op, Persistence, Protocol, Scheduler,
    Service, ServiceEntry, ServiceFlags, ServiceKey, Table,
};
use vigil_netns::vm::guest;
use vigild::ipvs_backend::IpvsBackend;
use vigild::ipvs_netlink::{NetlinkBackend, Timeouts};

use crate::support::{in_fresh_netns, ipvsadm};

/// Schedulers Linux 6.1 (Debian's build) ships; `twos` came later.
const KERNEL_SCHEDULERS: [Scheduler; 13] = [
    Scheduler::Rr,
    Scheduler::Wrr,
    Scheduler::Lc,
    Scheduler::Wlc,
    Scheduler::Lblc,
    Scheduler::Lblcr,
    Scheduler::Dh,
    Scheduler::Sh,
    Scheduler::Sed,
    Scheduler::Nq,
    Scheduler::Fo,
    Scheduler::Ovf,
    Scheduler::Mh,
];

fn a(s: &str) -> std::net::IpAddr {
    s.parse().unwrap()
}

/// A table with a bit of everything the kernel takes.
pub fn everything() -> Table {
    let mut t = Table::new();
    for (i, s) in KERNEL_SCHEDULERS.iter().enumerate() {
        let e = ServiceEntry::new(Service::new(*s))
            .with_dest(
                DestKey::new(a("198.51.100.1"), 80),
                Dest::new(ForwardMethod::Route, 1),
            )
            .with_dest(
                DestKey::new(a("198.51.100.2"), 8080),
                Dest::new(ForwardMethod::Masq, 3).with_thresholds(100, 50),
            )
            .with_dest(
                DestKey::new(a("198.51.100.3"), 80),
                Dest::new(ForwardMethod::Tunnel, 0),
            );
        t.insert(ServiceKey::tcp(a(&format!("192.0.2.{}", 10 + i)), 80), e);
    }
    let mut p6 = Persistence::new(60, Family::V6);
    p6.netmask = Netmask::prefix(Family::V6, 64);
    t.insert(
        ServiceKey::addr(Protocol::Udp, a("2001:db8::1"), 53),
        ServiceEntry::new(Service::new(Scheduler::Wlc).with_persistence(p6))
            .with_dest(
                DestKey::new(a("2001:db8::10"), 53),
                Dest::new(ForwardMethod::Masq, 2),
            )
            .with_dest(
                DestKey::new(a("2001:db8::11"), 5353),
                Dest::new(ForwardMethod::Route, 1),
            ),
    );
    let mut p4 = Persistence::new(300, Family::V4);
    p4.netmask = Netmask::prefix(Family::V4, 24);
    t.insert(
        ServiceKey::fwmark(7, Family::V4),
        ServiceEntry::new(Service::new(Scheduler::Rr).with_persistence(p4)).with_dest(
            DestKey::new(a("198.51.100.5"), 0),
            Dest::new(ForwardMethod::Route, 1),
        ),
    );
    t.insert(
        ServiceKey::fwmark(8, Family::V6),
        ServiceEntry::new(Service::new(Scheduler::Mh).with_flags(ServiceFlags::MH_PORT))
            .with_dest(
                DestKey::new(a("2001:db8::20"), 0),
                Dest::new(ForwardMethod::Tunnel, 1),
            )
            // A tunnel may cross families.
            .with_dest(
                DestKey::new(a("198.51.100.21"), 0),
                Dest::new(ForwardMethod::Tunnel, 4),
            ),
    );
    t.insert(
        ServiceKey::addr(Protocol::Sctp, a("192.0.2.50"), 9),
        ServiceEntry::new(
            Service::new(Scheduler::Sh)
                .with_flags(ServiceFlags::SH_PORT | ServiceFlags::SH_FALLBACK),
        )
        .with_dest(
            DestKey::new(a("198.51.100.6"), 9),
            Dest::new(ForwardMethod::Route, 1),
        ),
    );
    t.insert(
        ServiceKey::addr(Protocol::Udp, a("192.0.2.53"), 53),
        ServiceEntry::new(Service::new(Scheduler::Rr).with_flags(ServiceFlags::ONE_PACKET))
            .with_dest(
                DestKey::new(a("198.51.100.7"), 53),
                Dest::new(ForwardMethod::Masq, 1),
            ),
    );
    t
}

fn check_listing(model: &Table, what: &str) {
    assert_eq!(
        ipvsadm(&["-Ln"]),
        ipvs::ipvsadm_ln(model),
        "ipvsadm -Ln {what}"
    );
    for (flag, f) in [
        ("--thresholds", Format::Thresholds),
        ("--persistent-conn", Format::PersistentConn),
        ("--stats", Format::Stats),
    ] {
        assert_eq!(
            ipvsadm(&["-Ln", flag]),
            render::render(model, &Counters::default(), f),
            "ipvsadm -Ln {flag} {what}"
        );
    }
}

#[test]
#[ignore = "runs inside the IPVS VM (booted by ipvs_vm_lane)"]
fn guest_netlink_backend_against_the_kernel() {
    if !guest::require("guest_netlink_backend_against_the_kernel") {
        return;
    }
    in_fresh_netns(|| {
        let mut b = NetlinkBackend::open().expect("IPVS family");
        assert!(b.programs_kernel());
        let info = b.info().unwrap();
        assert_eq!(info.version_string(), "1.2.1");
        assert_eq!(info.conn_tab_size, 4096);
        assert_eq!(b.read_table().unwrap(), Table::new());

        // Everything in, dumped back unchanged, listed as core renders it.
        let want = everything();
        let ops = ipvs::diff(&Table::new(), &want);
        let errs = b.apply(&ops);
        assert!(errs.is_empty(), "{errs:?}");
        let before = b.counters();
        let got = b.read_table().unwrap();
        let after = b.counters();
        assert_eq!(got, want);
        assert!(b.skipped().is_empty(), "{:?}", b.skipped());
        // One dump: the services, then each service's destinations.
        assert_eq!(after.dumps - before.dumps, 1 + want.len() as u64);
        assert_eq!(after.writes, before.writes);
        check_listing(&want, "of everything");
        guest::write("kernel/everything.ipvsadm-Ln", &ipvsadm(&["-Ln"]));

        // Edits in place: scheduler and flags, weight, forwarding,
        // thresholds, persistence; then deletes.
        let mut model = want.clone();
        let rr = ServiceKey::tcp(a("192.0.2.10"), 80);
        let edits = vec![
            Op::EditService {
                key: rr,
                service: Service::new(Scheduler::Sh).with_flags(ServiceFlags::SH_PORT),
            },
            Op::EditDest {
                service: rr,
                dest: DestKey::new(a("198.51.100.1"), 80),
                params: Dest::new(ForwardMethod::Masq, 7).with_thresholds(10, 5),
            },
            Op::EditService {
                key: ServiceKey::fwmark(7, Family::V4),
                service: Service::new(Scheduler::Wrr),
            },
            Op::DelDest {
                service: rr,
                dest: DestKey::new(a("198.51.100.3"), 80),
            },
            Op::DelDest {
                service: ServiceKey::addr(Protocol::Udp, a("192.0.2.53"), 53),
                dest: DestKey::new(a("198.51.100.7"), 53),
            },
            Op::DelService {
                key: ServiceKey::addr(Protocol::Udp, a("192.0.2.53"), 53),
            },
        ];
        assert!(b.apply(&edits).is_empty());
        ipvs::apply(&mut model, &edits).unwrap();
        assert_eq!(b.read_table().unwrap(), model);
        check_listing(&model, "after edits");

        // Refusals, named and explained; the ops after a refused one in
        // the same batch still take effect.
        let twos = ServiceKey::tcp(a("192.0.2.99"), 80);
        let bad = vec![
            Op::AddService {
                key: twos,
                service: Service::new(Scheduler::Twos),
            },
            Op::AddService {
                key: rr,
                service: Service::new(Scheduler::Rr),
            },
            Op::AddDest {
                service: rr,
                dest: DestKey::new(a("198.51.100.1"), 80),
                params: Dest::new(ForwardMethod::Route, 1),
            },
            Op::EditDest {
                service: rr,
                dest: DestKey::new(a("198.51.100.99"), 80),
                params: Dest::new(ForwardMethod::Route, 1),
            },
            Op::AddDest {
                service: twos,
                dest: DestKey::new(a("198.51.100.1"), 80),
                params: Dest::new(ForwardMethod::Route, 1),
            },
            Op::DelDest {
                service: rr,
                dest: DestKey::new(a("198.51.100.2"), 8080),
            },
        ];
        let errs = b.apply(&bad);
        let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            text,
            [
                "-A -t 192.0.2.99:80 -s twos: ENOENT: scheduler module ip_vs_twos not available in this kernel",
                "-A -t 192.0.2.10:80 -s rr: EEXIST: the service already exists (added outside vigild?)",
                "-a -t 192.0.2.10:80 -r 198.51.100.1:80 -g -w 1: EEXIST: the destination already exists (added outside vigild?)",
                "-e -t 192.0.2.10:80 -r 198.51.100.99:80 -g -w 1: ENOENT: no such destination (removed outside vigild?)",
                "-a -t 192.0.2.99:80 -r 198.51.100.1:80 -g -w 1: ESRCH: no such service (removed outside vigild?)",
            ]
        );
        ipvs::apply(&mut model, &bad[5..]).unwrap();
        assert_eq!(b.read_table().unwrap(), model);

        // A service vigild cannot model (scheduler `none`) is skipped, said.
        ipvsadm(&["-A", "-t", "192.0.2.200:1", "-s", "none"]);
        assert_eq!(b.read_table().unwrap(), model);
        assert_eq!(
            b.skipped(),
            ["service: tcp/192.0.2.200:1: scheduler `none`"]
        );
        ipvsadm(&["-D", "-t", "192.0.2.200:1"]);

        // Timeouts (GET/SET_CONFIG), as ipvsadm sees them.
        let t = Timeouts {
            tcp: 901,
            tcp_fin: 121,
            udp: 301,
        };
        b.set_timeouts(t).unwrap();
        assert_eq!(b.timeouts().unwrap(), t);
        assert_eq!(
            ipvsadm(&["-L", "--timeout"]).trim(),
            "Timeout (tcp tcpfin udp): 901 121 301"
        );
        // ZERO, of everything and of one service; of a missing one: ESRCH.
        b.zero(None).unwrap();
        b.zero(Some(&rr)).unwrap();
        match b.zero(Some(&twos)) {
            Err(vigild::ipvs_netlink::Error::Kernel(e)) => assert_eq!(e.name(), "ESRCH"),
            other => panic!("{other:?}"),
        }
        // No sync daemon runs.
        assert_eq!(b.daemons().unwrap(), Vec::<Vec<_>>::new());

        // FLUSH empties it.
        b.flush().unwrap();
        assert_eq!(b.read_table().unwrap(), Table::new());
        assert_eq!(ipvsadm(&["-Ln"]), ipvs::ipvsadm_ln(&Table::new()));
        guest::write("kernel/counters", &format!("{:?}\n", b.counters()));
    });
}
