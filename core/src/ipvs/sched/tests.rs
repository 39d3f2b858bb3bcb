//! Conformance: transcripts of the Linux 6.1 schedulers replayed on
//! [`Pool`].
//!
//! Each file in `testdata/` is a script of kernel events and the kernel's
//! answer to every `pick`. The answers were produced by compiling the
//! unmodified `net/netfilter/ipvs/ip_vs_{rr,wrr,lc,wlc,sed,nq,sh,dh,mh,fo,
//! ovf}.c` and `lib/siphash.c` of linux 6.1 in user space, against a small
//! shim for lists, atomics and RCU, and a driver that mirrors
//! `__ip_vs_update_dest` (add/edit), `__ip_vs_unlink_dest` (del),
//! `ip_vs_bind_dest`/`ip_vs_unbind_dest` (counters and overload) and
//! `ip_vs_edit_service` (scheduler change). The `random_*` files are
//! random sequences of all of those.
//!
//! Script lines:
//! - `svc <sched> <4|6> <flags>`: a new service (flags: kernel bits);
//! - `sched <sched>`, `flags <bits>`: edit the service;
//! - `add|edit <addr> <port> <weight> <uthreshold> <lthreshold>`, `del <addr> <port>`;
//! - `bind <addr> <port>` (new connection, inactive), `est <addr> <port>`
//!   (becomes active), `unbind <addr> <port> a|i` (expires);
//! - `pick <client> <client port> <vaddr> -> <dest or ->`.

use std::net::IpAddr;

use super::*;

fn dest_key(addr: &str, port: &str) -> DestKey {
    DestKey::new(addr.parse().unwrap(), port.parse().unwrap())
}

fn params(w: &[&str]) -> Dest {
    let n = |i: usize| w[i].parse::<u32>().unwrap();
    Dest::new(ForwardMethod::Route, n(0)).with_thresholds(n(1), n(2))
}

fn run(name: &str, script: &str) {
    let mut pool: Option<Pool> = None;
    let mut picks = 0;
    for (no, line) in script.lines().enumerate() {
        let at = format!("{name}:{}", no + 1);
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (cmd, expect) = match line.split_once(" -> ") {
            Some((c, e)) => (c, Some(e)),
            None => (line, None),
        };
        let w: Vec<&str> = cmd.split_whitespace().collect();
        if w[0] == "svc" {
            let family = if w[2] == "6" { Family::V6 } else { Family::V4 };
            let svc = Service::new(w[1].parse().unwrap())
                .with_flags(ServiceFlags::from_kernel(w[3].parse().unwrap()));
            pool = Some(Pool::new(family, &svc));
            continue;
        }
        let p = pool.as_mut().unwrap_or_else(|| panic!("{at}: no svc yet"));
        let ok = match w[0] {
            "sched" => {
                let mut s = p.service().clone();
                s.scheduler = w[1].parse().unwrap();
                p.edit_service(&s);
                true
            }
            "flags" => {
                let mut s = p.service().clone();
                s.flags = ServiceFlags::from_kernel(w[1].parse().unwrap());
                p.edit_service(&s);
                true
            }
            "add" => p.add_dest(dest_key(w[1], w[2]), &params(&w[3..])),
            "edit" => p.edit_dest(&dest_key(w[1], w[2]), &params(&w[3..])),
            "del" => p.del_dest(&dest_key(w[1], w[2])),
            "bind" => p.conn_bound(&dest_key(w[1], w[2])),
            "est" => p.conn_state(
                &dest_key(w[1], w[2]),
                ConnState::Inactive,
                ConnState::Active,
            ),
            "unbind" => {
                let state = if w[3] == "a" {
                    ConnState::Active
                } else {
                    ConnState::Inactive
                };
                p.conn_unbound(&dest_key(w[1], w[2]), state)
            }
            "pick" => {
                let client: IpAddr = w[1].parse().unwrap();
                let flow = Flow::tcp(client, w[2].parse().unwrap(), w[3].parse().unwrap(), 80);
                let got = match p.schedule(&flow) {
                    Ok(k) => k.to_string(),
                    Err(NoDest::Unavailable) => "-".to_string(),
                    Err(e) => panic!("{at}: {e}"),
                };
                assert_eq!(
                    got,
                    expect.expect("pick has an answer"),
                    "{at}: {line}\n{:#?}",
                    p.dests()
                );
                picks += 1;
                true
            }
            other => panic!("{at}: unknown command {other}"),
        };
        assert!(ok, "{at}: {line} refused");
    }
    assert!(picks > 0, "{name}: no picks");
}

macro_rules! conformance {
    ($($test:ident => $file:literal),* $(,)?) => {
        $(
            #[test]
            fn $test() {
                run($file, include_str!(concat!("testdata/", $file)));
            }
        )*
    };
}

conformance! {
    rr_cycles_newest_first => "rr.txt",
    wrr_steps_by_gcd_from_max_weight => "wrr.txt",
    lc_least_overhead => "lc.txt",
    wlc_least_overhead_per_weight => "wlc.txt",
    sed_least_expected_delay => "sed.txt",
    nq_idle_first => "nq.txt",
    sh_source_hash_buckets => "sh.txt",
    dh_destination_hash_buckets => "dh.txt",
    mh_maglev_lookup => "mh.txt",
    fo_highest_weight => "fo.txt",
    ovf_overflow => "ovf.txt",
    random_rr => "random_rr_0.txt",
    random_wrr => "random_wrr_0.txt",
    random_lc => "random_lc_0.txt",
    random_wlc => "random_wlc_0.txt",
    random_sed => "random_sed_0.txt",
    random_nq => "random_nq_0.txt",
    random_sh => "random_sh_0.txt",
    random_dh => "random_dh_0.txt",
    random_mh => "random_mh_0.txt",
    random_fo => "random_fo_0.txt",
    random_ovf => "random_ovf_0.txt",
}

/// The kernel's hsiphash (SipHash-1-3, 64-bit) on the mh keys, values from
/// the compiled `lib/siphash.c`.
#[test]
fn hsiphash_matches_kernel() {
    let k = hash::HsipKey(2_654_435_761, 2_654_435_761);
    assert_eq!(hash::hsiphash_u32(0xAC11_0198 + 80, k), 0xd127_731f);
    assert_eq!(hash::hsiphash_u32(0xAC11_0198, k), 0xc9e9_5d61);
}

/// The seed deployment: rs1 (.152) then rs2 (.153) added, as keepalived
/// does in config order; rr alternates starting with the newest, .153.
#[test]
fn seed_rr_alternates() {
    let key = ServiceKey::tcp("172.17.1.160".parse().unwrap(), 80);
    let mut e = ServiceEntry::new(Service::new(Scheduler::Rr));
    for rs in ["172.17.1.152", "172.17.1.153"] {
        e.insert_dest(
            DestKey::new(rs.parse().unwrap(), 80),
            Dest::new(ForwardMethod::Route, 1),
        );
    }
    let mut p = Pool::from_entry(&key, &e);
    let picks: Vec<String> = (0..4)
        .map(|i| {
            let flow = Flow::tcp(
                "198.51.100.7".parse().unwrap(),
                40000 + i,
                "172.17.1.160".parse().unwrap(),
                80,
            );
            p.schedule(&flow).unwrap().to_string()
        })
        .collect();
    assert_eq!(
        picks,
        [
            "172.17.1.153:80",
            "172.17.1.152:80",
            "172.17.1.153:80",
            "172.17.1.152:80"
        ]
    );
}

#[test]
fn sh_buckets_follow_weights_round_the_list() {
    let mut p = Pool::new(Family::V4, &Service::new(Scheduler::Sh));
    let a = DestKey::new("192.0.2.1".parse().unwrap(), 80);
    let b = DestKey::new("192.0.2.2".parse().unwrap(), 80);
    p.add_dest(a, &Dest::new(ForwardMethod::Route, 1));
    p.add_dest(b, &Dest::new(ForwardMethod::Route, 2));
    // List order is b, a: buckets b, b, a, b, b, a, ...
    let buckets = p.sh_buckets();
    assert_eq!(
        &buckets[..6],
        &[Some(b), Some(b), Some(a), Some(b), Some(b), Some(a)]
    );
    assert_eq!(buckets.iter().filter(|x| **x == Some(b)).count(), 171);
}

#[test]
fn mh_table_shares_follow_weights() {
    let mut p = Pool::new(Family::V4, &Service::new(Scheduler::Mh));
    let keys: Vec<DestKey> = (1..=3)
        .map(|i| DestKey::new(format!("192.0.2.{i}").parse().unwrap(), 80))
        .collect();
    for (k, w) in keys.iter().zip([1, 1, 2]) {
        p.add_dest(*k, &Dest::new(ForwardMethod::Route, w));
    }
    let table = p.mh_lookup();
    assert_eq!(table.len(), 4093);
    assert!(table.iter().all(Option::is_some));
    let share = |k: &DestKey| table.iter().filter(|x| **x == Some(*k)).count();
    // Turns 1:1:2 of 4093 entries, filled in rounds over the list (newest first).
    assert_eq!(share(&keys[2]), 2047);
    assert_eq!(share(&keys[0]) + share(&keys[1]), 2046);
}

#[test]
fn unmodelled_schedulers_say_so() {
    let mut p = Pool::new(Family::V4, &Service::new(Scheduler::Lblc));
    p.add_dest(
        DestKey::new("192.0.2.1".parse().unwrap(), 80),
        &Dest::new(ForwardMethod::Route, 1),
    );
    let flow = Flow::tcp(
        "198.51.100.1".parse().unwrap(),
        1,
        "192.0.2.100".parse().unwrap(),
        80,
    );
    assert_eq!(p.schedule(&flow), Err(NoDest::Unmodelled(Scheduler::Lblc)));
}

#[test]
fn deleted_dest_keeps_counters_until_idle_and_revives_with_them() {
    let mut p = Pool::new(Family::V4, &Service::new(Scheduler::Wlc));
    let a = DestKey::new("192.0.2.1".parse().unwrap(), 80);
    p.add_dest(a, &Dest::new(ForwardMethod::Route, 1));
    p.conn_bound(&a);
    p.conn_state(&a, ConnState::Inactive, ConnState::Active);
    p.del_dest(&a);
    assert!(p.dest(&a).is_none());
    assert_eq!(p.dest_or_trashed(&a).map(|d| d.active), Some(1));
    p.add_dest(a, &Dest::new(ForwardMethod::Route, 3));
    assert_eq!(p.dest(&a).map(|d| (d.active, d.weight)), Some((1, 3)));
    p.del_dest(&a);
    p.conn_unbound(&a, ConnState::Active);
    assert!(p.dest_or_trashed(&a).is_none());
}

#[test]
fn thresholds_set_and_clear_overload() {
    let mut p = Pool::new(Family::V4, &Service::new(Scheduler::Rr));
    let a = DestKey::new("192.0.2.1".parse().unwrap(), 80);
    p.add_dest(a, &Dest::new(ForwardMethod::Route, 1).with_thresholds(4, 0));
    for _ in 0..4 {
        p.conn_bound(&a);
    }
    assert!(p.dest(&a).unwrap().overloaded);
    // Without a lower threshold, recovery is below 3/4 of the upper one.
    p.conn_unbound(&a, ConnState::Inactive);
    assert!(p.dest(&a).unwrap().overloaded);
    p.conn_unbound(&a, ConnState::Inactive);
    assert!(!p.dest(&a).unwrap().overloaded);
    // Raising the upper threshold clears it at once.
    p.conn_bound(&a);
    p.conn_bound(&a);
    assert!(p.dest(&a).unwrap().overloaded);
    p.edit_dest(
        &a,
        &Dest::new(ForwardMethod::Route, 1).with_thresholds(10, 0),
    );
    assert!(!p.dest(&a).unwrap().overloaded);
}
