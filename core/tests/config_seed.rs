//! The reference deployment's configs (`scenarios/seed/`, copied verbatim
//! from the article): they are byte-identical to what the article ships,
//! they parse, and their diagnostics, summary and dump are snapshots.

use std::path::{Path, PathBuf};

use md5::{Digest, Md5};
use vigil_core::config::{self, Config, MemorySource};

fn seed_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/seed")
}

fn md5_hex(bytes: &[u8]) -> String {
    Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// MD5 sums of `../shared/seed/lb{1,2}.keepalived.conf` as the article
/// ships them (taken when the copies were made).
const SHIPPED: [(&str, &str); 2] = [
    ("lb1.keepalived.conf", "b09063edde110de5ef9e2916b032835b"),
    ("lb2.keepalived.conf", "78592fd7e02012f7ef52b33649821c2f"),
];

#[test]
fn seed_copies_are_verbatim() {
    for (name, sum) in SHIPPED {
        let ours = std::fs::read(seed_dir().join(name)).unwrap();
        assert_eq!(md5_hex(&ours), sum, "{name} differs from the shipped copy");
        // When the shared folder is beside the repository, compare bytes too.
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/seed")
            .join(name);
        if let Ok(theirs) = std::fs::read(shipped) {
            assert_eq!(ours, theirs, "{name} differs from ../shared/seed/{name}");
        }
    }
}

fn parse_seed(name: &str) -> (Config, Vec<String>) {
    let bytes = std::fs::read(seed_dir().join(name)).unwrap();
    let src = MemorySource::new().with(name, bytes);
    let parsed = config::parse(&src, name);
    let diags: Vec<String> = parsed.diagnostics.iter().map(|d| d.to_string()).collect();
    let cfg = parsed
        .config
        .unwrap_or_else(|| panic!("{name} does not parse:\n{}", diags.join("\n")));
    (cfg, diags)
}

#[test]
fn lb1_parses() {
    let (cfg, diags) = parse_seed("lb1.keepalived.conf");
    insta::assert_snapshot!("lb1_diagnostics", diags.join("\n"));
    insta::assert_snapshot!("lb1_summary", config::summary(&cfg));
    insta::assert_snapshot!("lb1_dump", config::dump(&cfg));
    let i = &cfg.vrrp_instances[0];
    assert_eq!(
        (i.name.as_str(), i.priority, i.virtual_router_id),
        ("apache", 100, 51)
    );
    assert_eq!(i.state, config::InitialState::Master);
    let vs = &cfg.virtual_servers[0];
    assert_eq!(vs.scheduler, config::Scheduler::Rr);
    assert_eq!(vs.forwarding, config::Forwarding::Dr);
    let t = &vs.real_servers[0].checkers[0].timing;
    // nb_get_retry 3 is retry 3; delay_loop 6 inherited from the VS.
    assert_eq!(
        (
            t.retry,
            t.delay_loop.as_secs(),
            t.delay_before_retry.as_secs()
        ),
        (3, 6, 3)
    );
}

#[test]
fn lb2_parses() {
    let (cfg, diags) = parse_seed("lb2.keepalived.conf");
    insta::assert_snapshot!("lb2_diagnostics", diags.join("\n"));
    insta::assert_snapshot!("lb2_summary", config::summary(&cfg));
    insta::assert_snapshot!("lb2_dump", config::dump(&cfg));
    let i = &cfg.vrrp_instances[0];
    assert_eq!((i.priority, i.state), (90, config::InitialState::Backup));
}

#[test]
fn seed_dumps_round_trip() {
    for name in ["lb1.keepalived.conf", "lb2.keepalived.conf"] {
        let (cfg, _) = parse_seed(name);
        let back = config::parse_str("dump.conf", &config::dump(&cfg));
        assert_eq!(back.config, Some(cfg), "{name}");
    }
}
