//! Property tests of the keepalived.conf parser: it never panics on any
//! input, and for generated valid configs the normalised dump parses
//! back to the same typed config.

use proptest::prelude::*;

#[path = "../src/proptest_config.rs"]
mod proptest_config;
use vigil_core::config::{self, MemorySource};

fn parse_bytes(bytes: &[u8]) -> config::Parsed {
    let src = MemorySource::new().with("fuzz.conf", bytes.to_vec());
    config::parse(&src, "fuzz.conf")
}

/// Words that steer random input into every block builder.
const WORDS: &[&str] = &[
    "global_defs",
    "vrrp_instance",
    "vrrp_script",
    "vrrp_sync_group",
    "virtual_server",
    "virtual_server_group",
    "real_server",
    "track_file",
    "TCP_CHECK",
    "HTTP_GET",
    "SSL_GET",
    "MISC_CHECK",
    "PING_CHECK",
    "UDP_CHECK",
    "DNS_CHECK",
    "SMTP_CHECK",
    "FILE_CHECK",
    "url",
    "path",
    "status_code",
    "digest",
    "regex",
    "state",
    "MASTER",
    "BACKUP",
    "interface",
    "virtual_router_id",
    "priority",
    "advert_int",
    "version",
    "virtual_ipaddress",
    "authentication",
    "auth_type",
    "PASS",
    "auth_pass",
    "track_script",
    "track_interface",
    "weight",
    "reverse",
    "unicast_peer",
    "lb_algo",
    "lb_kind",
    "DR",
    "NAT",
    "TUN",
    "type",
    "gue",
    "port",
    "protocol",
    "TCP",
    "UDP",
    "delay_loop",
    "retry",
    "nb_get_retry",
    "connect_timeout",
    "connect_port",
    "sorry_server",
    "fwmark",
    "group",
    "include",
    "*.conf",
    "$X",
    "${X}",
    "$X=1",
    "@x",
    "@^x",
    "notify_master",
    "\"/bin/x 'a b'\"",
    "misc_path",
    "script",
    "1",
    "0",
    "255",
    "256",
    "-1",
    "0.01",
    "40.95",
    "1.5",
    "192.0.2.1",
    "192.0.2.1/24",
    "2001:db8::1",
    "80",
    "dev",
    "brd",
    "+",
    "label",
    "scope",
    "{",
    "}",
    "\"",
    "#",
    "!",
    "\\",
    "\n",
    "\r\n",
    "\t",
    " ",
    "é",
    "注释",
];

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(WORDS), 0..200).prop_map(|w| w.join(" "))
}

proptest! {
    #![proptest_config(proptest_config::config(512))]

    #[test]
    fn never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let p = parse_bytes(&bytes);
        prop_assert_eq!(p.config.is_some(), !p.has_errors());
    }

    #[test]
    fn never_panics_on_strings(s in "\\PC{0,600}") {
        let _ = parse_bytes(s.as_bytes());
    }

    #[test]
    fn never_panics_on_keyword_soup(s in soup()) {
        let p = parse_bytes(s.as_bytes());
        for d in &p.diagnostics {
            // Every diagnostic names a place in the file.
            prop_assert!(d.span.line >= 1 && d.span.col >= 1, "{}", d);
        }
    }
}

// ---- generated valid configs ----

fn ident() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,8}"
}

fn v4() -> impl Strategy<Value = String> {
    (0u8..=255, 1u8..=254).prop_map(|(c, d)| format!("192.0.{c}.{d}"))
}

fn instance(idx: usize) -> impl Strategy<Value = String> {
    (
        prop::bool::ANY,
        1u8..=255,
        prop::bool::ANY,
        1u32..=4095,
        prop::collection::vec(
            (
                v4(),
                8u8..=32,
                prop::option::of("eth[0-3]"),
                prop::option::of(prop::sample::select(
                    &["host", "link", "global", "site"][..],
                )),
            ),
            1..4,
        ),
        prop::option::of("[a-zA-Z0-9]{1,8}"),
        prop::bool::ANY,
        prop::option::of(0u32..100),
        prop::option::of((1u32..10, 0u32..10)),
        prop::option::of(prop::collection::vec("[a-z/]{1,10}", 1..3)),
    )
        .prop_map(
            move |(master, prio, v3, centis, vips, pass, nopreempt, pdelay, garp, notify)| {
                let mut s = format!("vrrp_instance inst{idx} {{\n");
                s += &format!("state {}\n", if master { "MASTER" } else { "BACKUP" });
                s += &format!(
                    "interface eth{idx}\nvirtual_router_id {}\npriority {prio}\n",
                    idx + 1
                );
                if v3 {
                    s += &format!(
                        "version 3\nadvert_int {}.{:02}\n",
                        centis / 100,
                        centis % 100
                    );
                } else {
                    s += &format!("advert_int {}\n", centis % 255 + 1);
                    if let Some(p) = pass {
                        s += &format!("authentication {{\nauth_type PASS\nauth_pass {p}\n}}\n");
                    }
                }
                if nopreempt {
                    s += "nopreempt\n";
                }
                if let Some(d) = pdelay {
                    s += &format!("preempt_delay {d}\n");
                }
                if let Some((d, r)) = garp {
                    s += &format!("garp_master_delay {d}\ngarp_lower_prio_repeat {r}\n");
                }
                s += "virtual_ipaddress {\n";
                for (a, len, dev, scope) in vips {
                    s += &format!("{a}/{len}");
                    if let Some(d) = dev {
                        s += &format!(" dev {d}");
                    }
                    if let Some(sc) = scope {
                        s += &format!(" scope {sc}");
                    }
                    s += "\n";
                }
                s += "}\n";
                if let Some(words) = notify {
                    s += &format!("notify_master \"/usr/bin/{}\"\n", words.join(" "));
                }
                s + "}\n"
            },
        )
}

fn checker() -> impl Strategy<Value = String> {
    prop_oneof![
        (
            prop::option::of(1u16..65535),
            prop::option::of(1u32..10),
            prop::option::of(0u32..5)
        )
            .prop_map(|(port, to, retry)| {
                let mut s = "TCP_CHECK {\n".to_string();
                if let Some(p) = port {
                    s += &format!("connect_port {p}\n");
                }
                if let Some(t) = to {
                    s += &format!("connect_timeout {t}\n");
                }
                if let Some(r) = retry {
                    s += &format!("nb_get_retry {r}\n");
                }
                s + "}\n"
            }),
        (
            "/[a-z]{0,8}",
            prop::option::of((200u16..300, 300u16..400)),
            prop::bool::ANY,
            prop::option::of(1u32..9)
        )
            .prop_map(|(path, codes, ssl, dbr)| {
                let mut s = format!(
                    "{} {{\nurl {{\npath {path}\n",
                    if ssl { "SSL_GET" } else { "HTTP_GET" }
                );
                if let Some((a, b)) = codes {
                    s += &format!("status_code {a} {b}-{}\n", b + 5);
                }
                s += "}\n";
                if let Some(d) = dbr {
                    s += &format!("delay_before_retry {d}\n");
                }
                s + "}\n"
            }),
        ("[a-z]{1,8}", prop::option::of(1u32..20), prop::bool::ANY).prop_map(|(p, t, dynamic)| {
            let mut s = format!("MISC_CHECK {{\nmisc_path \"/bin/{p} --x\"\n");
            if let Some(t) = t {
                s += &format!("misc_timeout {t}\n");
            }
            if dynamic {
                s += "misc_dynamic\n";
            }
            s + "}\n"
        }),
        Just("PING_CHECK {\n}\n".to_string()),
        prop::sample::select(&["A", "SOA", "MX", "AAAA"][..])
            .prop_map(|t| format!("DNS_CHECK {{\ntype {t}\nconnect_port 53\n}}\n")),
    ]
}

fn virtual_server(idx: usize) -> impl Strategy<Value = String> {
    (
        prop::sample::select(&["rr", "wrr", "lc", "wlc", "sh", "mh"][..]),
        prop::sample::select(&["NAT", "DR", "TUN"][..]),
        prop::sample::select(&["TCP", "UDP"][..]),
        prop::option::of(1u32..120),
        prop::option::of(1u32..3600),
        prop::collection::vec((1u8..=254, prop::option::of(0u32..100), prop::collection::vec(checker(), 0..3)), 1..4),
    )
        .prop_map(move |(sched, kind, proto, delay, persist, rss)| {
            let mut s = format!("virtual_server 203.0.113.{} 80 {{\nlb_algo {sched}\nlb_kind {kind}\nprotocol {proto}\n", idx + 1);
            if let Some(d) = delay { s += &format!("delay_loop {d}\n"); }
            if let Some(p) = persist { s += &format!("persistence_timeout {p}\n"); }
            let mut seen = std::collections::BTreeSet::new();
            for (host, weight, checkers) in rss {
                if !seen.insert(host) { continue; }
                s += &format!("real_server 198.51.100.{host} 80 {{\n");
                if let Some(w) = weight { s += &format!("weight {w}\n"); }
                for c in checkers { s += &c; }
                s += "}\n";
            }
            s + "}\n"
        })
}

fn config_text() -> impl Strategy<Value = String> {
    (
        prop::option::of(ident()),
        prop::bool::ANY,
        prop::collection::vec(0usize..1, 0..4),
        prop::collection::vec(0usize..1, 0..3),
    )
        .prop_flat_map(|(router_id, strict, insts, vss)| {
            let insts: Vec<_> = (0..insts.len()).map(instance).collect();
            let vss: Vec<_> = (0..vss.len()).map(virtual_server).collect();
            (Just(router_id), Just(strict), insts, vss)
        })
        .prop_map(|(router_id, strict, insts, vss)| {
            let mut s = "global_defs {\n".to_string();
            if let Some(r) = router_id {
                s += &format!("router_id {r}\n");
            }
            if strict {
                s += "vrrp_strict\n";
            }
            s += "}\n";
            for i in insts {
                s += &i;
            }
            for v in vss {
                s += &v;
            }
            s
        })
}

proptest! {
    #![proptest_config(proptest_config::config(256))]

    #[test]
    fn dump_parses_back_to_the_same_config(text in config_text()) {
        let p = config::parse_str("gen.conf", &text);
        let errors: Vec<String> = p.diagnostics.iter().filter(|d| d.is_error()).map(|d| d.to_string()).collect();
        prop_assert!(errors.is_empty(), "generated config has errors:\n{}\n{}", errors.join("\n"), text);
        let cfg = p.config.unwrap();
        let dump = config::dump(&cfg);
        let back = config::parse_str("dump.conf", &dump);
        let back_errors: Vec<String> = back.diagnostics.iter().filter(|d| d.is_error()).map(|d| d.to_string()).collect();
        prop_assert!(back_errors.is_empty(), "dump has errors:\n{}\n{}", back_errors.join("\n"), dump);
        prop_assert_eq!(back.config.as_ref(), Some(&cfg), "dump:\n{}", dump);
        // The dump is a fixed point.
        prop_assert_eq!(config::dump(back.config.as_ref().unwrap()), dump);
    }
}
