//! `diff` of a 10,000-service x 10-destination IPVS table: in sync, with 1%
//! of weights changed, and against an empty table (both directions).
//!
//! Run: `cargo bench -p vigil-core --bench ipvs_diff`. Prints min and
//! median per case and the process's peak RSS (VmHWM).

use std::collections::BTreeSet;
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use vigil_core::ipvs::{
    Dest, DestKey, ForwardMethod, Op, Scheduler, Service, ServiceKey, Table, diff, plan,
};

const SERVICES: u32 = 10_000;
const DESTS: u32 = 10;

fn big_table() -> Table {
    let mut t = Table::new();
    for s in 0..SERVICES {
        let vip = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + s));
        let e = t.upsert_service(ServiceKey::tcp(vip, 80), Service::new(Scheduler::Wlc));
        for d in 0..DESTS {
            let rs = IpAddr::V4(Ipv4Addr::from(0xac10_0000 + s * DESTS + d));
            e.insert_dest(
                DestKey::new(rs, 80),
                Dest::new(ForwardMethod::Route, 1 + d % 3),
            );
        }
    }
    t
}

/// The same table with every 100th destination's weight changed.
fn one_percent_changed(t: &Table) -> Table {
    let mut c = t.clone();
    let keys: Vec<ServiceKey> = c.keys().copied().collect();
    let mut n = 0u32;
    for k in keys {
        let e = c.service_mut(&k).unwrap();
        let dks: Vec<DestKey> = e.dests().iter().map(|(dk, _)| *dk).collect();
        for dk in dks {
            if n.is_multiple_of(100) {
                e.dest_mut(&dk).unwrap().weight += 10;
            }
            n += 1;
        }
    }
    c
}

fn measure(name: &str, iters: usize, mut f: impl FnMut() -> usize) {
    let mut times = Vec::with_capacity(iters);
    let mut ops = 0;
    for _ in 0..iters {
        let t0 = Instant::now();
        ops = black_box(f());
        times.push(t0.elapsed());
    }
    times.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "{name:<44} ops={ops:>7}  min={:>9.1}us  median={:>9.1}us  ({iters} runs)",
        us(times[0]),
        us(times[iters / 2])
    );
    println!(
        "summary: ipvs diff {name}: {:.3} ms min",
        us(times[0]) / 1000.0
    );
}

/// A `/proc/self/status` field (`VmHWM`, `VmRSS`), e.g. `27112 kB`.
fn status(field: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" "))
        })
        .unwrap_or_else(|| "unknown".into())
}

fn vm_hwm() -> String {
    status("VmHWM")
}

fn main() {
    println!("before tables: VmRSS {}", status("VmRSS"));
    let base = big_table();
    println!("after one table: VmRSS {}", status("VmRSS"));
    let copy = base.clone();
    let changed = one_percent_changed(&base);
    let empty = Table::new();
    let all: BTreeSet<ServiceKey> = base.keys().copied().collect();
    println!(
        "table: {} services x {} destinations = {} destinations",
        base.len(),
        DESTS,
        base.dest_count()
    );
    println!(
        "after three tables (t, copy, 1% changed): VmRSS {}",
        status("VmRSS")
    );

    measure("diff(t, copy of t)            [in sync]", 500, || {
        diff(&base, &copy).len()
    });
    measure("diff(t, t with 1% weights changed)", 200, || {
        diff(&base, &changed).len()
    });
    measure("plan(t, empty, retired=all)   [delete all]", 30, || {
        plan(&base, &empty, &all).ops.len()
    });
    measure("diff(empty, t)                [add all]", 30, || {
        diff(&empty, &base).len()
    });

    let ops: Vec<Op> = diff(&base, &changed);
    assert_eq!(ops.len(), (SERVICES * DESTS / 100) as usize);
    assert!(ops.iter().all(|o| matches!(o, Op::EditDest { .. })));
    println!("peak RSS (VmHWM): {}", vm_hwm());
}
