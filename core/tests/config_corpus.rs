//! The keepalived.conf corpus: every `configs/valid/*.conf` parses with no
//! error, its dump parses back to the same config, and its diagnostics,
//! summary and dump match the snapshot beside it; every
//! `configs/fallback/*.conf` is run by keepalived 2.2.7 with warnings and
//! fallbacks: it parses with no error, at least one warning, and its
//! diagnostics and summary (the values keepalived falls back to) match
//! the snapshot beside it; every `configs/invalid/*.conf` has errors (what
//! keepalived refuses to run), and its diagnostics match the snapshot
//! beside it.

use std::path::{Path, PathBuf};

use vigil_core::config::{self, MemorySource};

fn configs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/configs")
}

/// Loads every file under `dir` into a memory source, keyed by its path
/// relative to `dir`.
fn load_tree(dir: &Path, base: &Path, src: &mut MemorySource) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            load_tree(&p, base, src);
        } else {
            let rel = p
                .strip_prefix(base)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            src.insert(rel, std::fs::read(&p).unwrap());
        }
    }
}

fn corpus(kind: &str) -> (MemorySource, Vec<String>) {
    let dir = configs_dir().join(kind);
    let mut src = MemorySource::new();
    load_tree(&dir, &dir, &mut src);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "conf"))
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no configs in {kind}");
    (src, names)
}

fn snapshot(kind: &str, name: &str, text: &str) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(configs_dir().join(kind));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.bind(|| insta::assert_snapshot!(name.trim_end_matches(".conf"), text));
}

#[test]
fn valid_configs() {
    let (src, names) = corpus("valid");
    for name in names {
        let parsed = config::parse(&src, &name);
        let diags: Vec<String> = parsed.diagnostics.iter().map(|d| d.to_string()).collect();
        let Some(cfg) = parsed.config else {
            panic!("{name} has errors:\n{}", diags.join("\n"));
        };
        let dump = config::dump(&cfg);
        let back = config::parse_str("dump.conf", &dump);
        let back_errors: Vec<String> = back
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.to_string())
            .collect();
        assert!(
            back_errors.is_empty(),
            "{name}: dump does not parse:\n{}",
            back_errors.join("\n")
        );
        assert_eq!(
            back.config.as_ref(),
            Some(&cfg),
            "{name}: dump does not parse back to the same config"
        );
        let text = format!(
            "diagnostics:\n{}\n\nsummary:\n{}\n\ndump:\n{}",
            diags.join("\n"),
            config::summary(&cfg),
            dump
        );
        snapshot("valid", &name, &text);
    }
}

#[test]
fn fallback_configs() {
    let (src, names) = corpus("fallback");
    for name in names {
        let parsed = config::parse(&src, &name);
        let diags: Vec<String> = parsed.diagnostics.iter().map(|d| d.to_string()).collect();
        let Some(cfg) = parsed.config else {
            panic!("{name} has errors:\n{}", diags.join("\n"));
        };
        assert!(!diags.is_empty(), "{name} should have warnings");
        let text = format!(
            "diagnostics:\n{}\n\nsummary:\n{}",
            diags.join("\n"),
            config::summary(&cfg)
        );
        snapshot("fallback", &name, &text);
    }
}

#[test]
fn invalid_configs() {
    let (src, names) = corpus("invalid");
    for name in names {
        let parsed = config::parse(&src, &name);
        assert!(parsed.has_errors(), "{name} should have errors");
        assert!(parsed.config.is_none());
        let diags: Vec<String> = parsed.diagnostics.iter().map(|d| d.to_string()).collect();
        snapshot("invalid", &name, &diags.join("\n"));
    }
}
