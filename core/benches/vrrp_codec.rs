//! Benchmark: VRRP advert encode, and decode + validate, per second.
//!
//! `cargo bench -p vigil-core --bench vrrp_codec`. Plain loop over many
//! iterations; reports the best of several runs (least disturbed by the
//! rest of the machine) and the median.

use std::hint::black_box;
use std::net::IpAddr;
use std::time::Instant;

use vigil_core::packet::ip::Meta;
use vigil_core::packet::vrrp::{Advert, Auth, ChecksumContext, Interval, Version};
use vigil_core::vrrp::{InstanceConfig, Vip, validate};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn measure(name: &str, iters: u64, mut f: impl FnMut()) {
    let mut rates = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        for _ in 0..iters {
            f();
        }
        rates.push(iters as f64 / t.elapsed().as_secs_f64());
    }
    rates.sort_by(|a, b| b.partial_cmp(a).unwrap());
    println!(
        "{name:<40} best {:>12.0}/s   median {:>12.0}/s",
        rates[0], rates[3]
    );
}

fn main() {
    let iters = 2_000_000;
    for (label, version, interval, auth, vip, src, dst) in [
        (
            "v2 ipv4 PASS (seed)",
            Version::V2,
            Interval::Seconds(1),
            Auth::pass("1111"),
            "172.17.1.160",
            "172.17.1.150",
            "224.0.0.18",
        ),
        (
            "v3 ipv4",
            Version::V3,
            Interval::Centiseconds(100),
            Auth::None,
            "172.17.1.160",
            "172.17.1.150",
            "224.0.0.18",
        ),
        (
            "v3 ipv6",
            Version::V3,
            Interval::Centiseconds(100),
            Auth::None,
            "2001:db8::160",
            "fe80::1",
            "ff02::12",
        ),
    ] {
        let advert = Advert {
            version,
            vrid: 51,
            priority: 100,
            interval,
            auth,
            addresses: vec![ip(vip)],
        };
        let ctx = ChecksumContext::new(ip(src), ip(dst));
        let mut cfg = InstanceConfig::new(
            "apache",
            "eth0",
            51,
            ip(if vip.contains(':') {
                "fe80::2"
            } else {
                "172.17.1.151"
            }),
            vec![Vip::host(ip(vip))],
        );
        cfg.interval = interval;
        cfg.auth = auth;
        let bytes = advert.to_bytes(&ctx);
        let meta = Meta {
            src: ip(src),
            dst: ip(dst),
            hop_limit: Some(255),
        };
        assert!(validate(&cfg, &meta, &bytes).is_ok());

        let mut buf = vec![0u8; advert.buffer_len()];
        measure(&format!("encode {label}"), iters, || {
            black_box(&advert).emit(black_box(&mut buf), black_box(&ctx));
        });
        measure(&format!("decode+validate {label}"), iters, || {
            let r = validate(black_box(&cfg), black_box(&meta), black_box(&bytes));
            black_box(r.is_ok());
        });
    }
}
