//! The director's conformance cases: every directory under
//! `core/tests/director/` holds a keepalived.conf, `input.txt` and
//! `expected.txt` (see `vigil_core::director::case`). Each case is played
//! through the director and its output compared with `expected.txt`.
//!
//! `VIGIL_UPDATE_CASES=1 cargo test -p vigil-core --test director` writes
//! the outputs instead: review them with `git diff` before committing.

use std::path::Path;

use vigil_core::config::MemorySource;
use vigil_core::director::case;

#[test]
fn conformance_cases() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/director");
    let update = std::env::var("VIGIL_UPDATE_CASES").is_ok_and(|v| v == "1");
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(!dirs.is_empty(), "no cases under {}", root.display());
    let mut failures = Vec::new();
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let mut src = MemorySource::new();
        for f in std::fs::read_dir(dir).unwrap().filter_map(|e| e.ok()) {
            let p = f.path();
            if p.is_file() {
                let file = p.file_name().unwrap().to_string_lossy().into_owned();
                src = src.with(format!("{name}/{file}"), std::fs::read(&p).unwrap());
            }
        }
        let input = std::fs::read_to_string(dir.join("input.txt"))
            .unwrap_or_else(|e| panic!("{name}/input.txt: {e}"));
        let got = case::parse(&format!("{name}/input.txt"), &input)
            .and_then(|c| case::run(&src, &name, &c))
            .unwrap_or_else(|e| format!("error: {e}\n"));
        let expected_path = dir.join("expected.txt");
        if update {
            std::fs::write(&expected_path, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if got != want {
            failures.push(format!("{name}:\n{}", diff(&want, &got)));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ (VIGIL_UPDATE_CASES=1 rewrites them):\n\n{}",
        failures.len(),
        dirs.len(),
        failures.join("\n")
    );
}

/// The lines that differ, `-` expected and `+` got, with their numbers.
fn diff(want: &str, got: &str) -> String {
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    let mut out = String::new();
    for i in 0..w.len().max(g.len()) {
        let (a, b) = (w.get(i), g.get(i));
        if a != b {
            if let Some(a) = a {
                out += &format!("  {:>4} - {a}\n", i + 1);
            }
            if let Some(b) = b {
                out += &format!("  {:>4} + {b}\n", i + 1);
            }
        }
    }
    out
}
