//! Reconciliation against the kernel: a resync of a table in line is one
//! dump and no write; edits made with `ipvsadm` to services vigild owns
//! are undone at the next full resync, others' services are left alone;
//! EEXIST and ENOENT after outside edits are settled by reading the table
//! again and diffing again.

use std::collections::BTreeSet;

use vigil_core::ipvs::{
    self, Dest, DestKey, ForwardMethod, Scheduler, Service, ServiceEntry, ServiceKey, Table,
};
use vigil_netns::vm::guest;
use vigild::ipvs_netlink::NetlinkBackend;
use vigild::ipvs_netlink::reconcile::sync;

use crate::support::{in_fresh_netns, ipvsadm};

fn vip() -> ServiceKey {
    ServiceKey::tcp("192.0.2.160".parse().unwrap(), 80)
}

fn rs(last: u8) -> DestKey {
    DestKey::new(format!("192.0.2.{last}").parse().unwrap(), 80)
}

fn want(dests: &[(u8, u32)]) -> Table {
    let mut e = ServiceEntry::new(Service::new(Scheduler::Rr));
    for (l, w) in dests {
        e.insert_dest(rs(*l), Dest::new(ForwardMethod::Route, *w));
    }
    let v6 = ServiceKey::tcp("2001:db8::160".parse().unwrap(), 443);
    let e6 = ServiceEntry::new(Service::new(Scheduler::Wlc)).with_dest(
        DestKey::new("2001:db8::152".parse().unwrap(), 443),
        Dest::new(ForwardMethod::Masq, 1),
    );
    [(vip(), e), (v6, e6)].into_iter().collect()
}

#[test]
#[ignore = "runs inside the IPVS VM (booted by ipvs_vm_lane)"]
fn guest_reconcile_against_the_kernel() {
    if !guest::require("guest_reconcile_against_the_kernel") {
        return;
    }
    in_fresh_netns(|| {
        let none = BTreeSet::new();
        let mut b = NetlinkBackend::open().expect("IPVS family");
        // Someone else's service, there first.
        ipvsadm(&["-A", "-t", "203.0.113.1:443", "-s", "wlc"]);
        ipvsadm(&[
            "-a",
            "-t",
            "203.0.113.1:443",
            "-r",
            "203.0.113.10:443",
            "-m",
        ]);
        let foreign = ServiceKey::tcp("203.0.113.1".parse().unwrap(), 443);

        let mut actual = vigil_core::ipvs::Sync::new(None);
        let w = want(&[(152, 1), (153, 1)]);
        let r = sync(&mut b, &mut actual, &w, &none, true);
        assert!(r.converged, "{r:?}");
        assert_eq!((r.dumps, r.sent), (1, 5));
        assert_eq!(r.foreign, [foreign]);

        // A resync of a table in line: one dump (the services, then each
        // one's destinations), zero writes.
        let c0 = b.counters();
        let r = sync(&mut b, &mut actual, &w, &none, true);
        let c1 = b.counters();
        assert_eq!((r.dumps, r.sent), (1, 0));
        assert_eq!(c1.writes, c0.writes);
        assert_eq!(c1.dumps - c0.dumps, 1 + 3);

        // Outside edits of vigild's service: an extra destination, a
        // changed weight. An incremental sync does not look; a resync
        // undoes both, and leaves the foreign service as it is.
        ipvsadm(&[
            "-a",
            "-t",
            "192.0.2.160:80",
            "-r",
            "192.0.2.199:80",
            "-g",
            "-w",
            "9",
        ]);
        ipvsadm(&[
            "-e",
            "-t",
            "192.0.2.160:80",
            "-r",
            "192.0.2.152:80",
            "-g",
            "-w",
            "5",
        ]);
        ipvsadm(&[
            "-e",
            "-t",
            "203.0.113.1:443",
            "-r",
            "203.0.113.10:443",
            "-m",
            "-w",
            "7",
        ]);
        let r = sync(&mut b, &mut actual, &w, &none, false);
        assert_eq!((r.dumps, r.sent), (0, 0));
        let r = sync(&mut b, &mut actual, &w, &none, true);
        assert_eq!((r.dumps, r.sent, r.converged), (1, 2, true), "{r:?}");
        let mut expect = w.clone();
        expect.insert(
            foreign,
            ServiceEntry::new(Service::new(Scheduler::Wlc)).with_dest(
                DestKey::new("203.0.113.10".parse().unwrap(), 443),
                Dest::new(ForwardMethod::Masq, 7),
            ),
        );
        assert_eq!(ipvsadm(&["-Ln"]), ipvs::ipvsadm_ln(&expect));

        // ENOENT after an outside delete: vigild's edit of the destination
        // is refused, the table is read again, the destination re-added.
        ipvsadm(&["-d", "-t", "192.0.2.160:80", "-r", "192.0.2.153:80"]);
        let w2 = want(&[(152, 1), (153, 3)]);
        let r = sync(&mut b, &mut actual, &w2, &none, false);
        assert!(r.converged, "{r:?}");
        assert_eq!((r.dumps, r.rounds, r.refused.len()), (1, 2, 1));
        assert!(
            r.refused[0]
                .error
                .starts_with("ENOENT: no such destination"),
            "{}",
            r.refused[0]
        );
        // EEXIST after an outside add: vigild's add is refused, the table
        // read again, the destination edited to what vigild wants.
        ipvsadm(&[
            "-a",
            "-t",
            "192.0.2.160:80",
            "-r",
            "192.0.2.154:80",
            "-g",
            "-w",
            "2",
        ]);
        let w3 = want(&[(152, 1), (153, 3), (154, 1)]);
        let r = sync(&mut b, &mut actual, &w3, &none, false);
        assert!(r.converged, "{r:?}");
        assert_eq!((r.dumps, r.refused.len()), (1, 1));
        assert!(r.refused[0].error.starts_with("EEXIST"), "{}", r.refused[0]);
        let mut expect = w3.clone();
        expect.insert(
            foreign,
            b.read_table().unwrap().service(&foreign).unwrap().clone(),
        );
        assert_eq!(ipvsadm(&["-Ln"]), ipvs::ipvsadm_ln(&expect));
        guest::write(
            "reconcile/after-outside-edits.ipvsadm-Ln",
            &ipvsadm(&["-Ln"]),
        );

        // Retiring vigild's services removes them and nothing else.
        let retired: BTreeSet<ServiceKey> = w3.keys().copied().collect();
        let r = sync(&mut b, &mut actual, &Table::new(), &retired, false);
        assert!(r.converged, "{r:?}");
        let left = b.read_table().unwrap();
        assert_eq!(left.keys().collect::<Vec<_>>(), [&foreign]);
    });
}
