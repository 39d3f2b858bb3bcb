//! `vigil check-config` against the real keepalived 2.2.7's `-t`: every
//! config in `core/tests/configs/fallback/` is one keepalived runs with
//! warnings (its config test exits 5, not 2 = refused), Vigil parses it
//! with no error, and every line keepalived complains about carries a Vigil
//! warning. keepalived checks interfaces exist, so it runs in a namespace
//! holding `eth0` (a veth pair connected to nothing).

use std::collections::BTreeSet;
use std::path::Path;

use vigil_core::config::{self, MemorySource, ParseOptions};
use vigil_netns::binaries;
use vigil_netns::ns::{self, Netns};

/// keepalived's `-t` exit status for a config it runs with errors
/// reported (KEEPALIVED_CHK_EXIT_CONFIG_TEST); 2 means it refuses it.
const RUNS_WITH_WARNINGS: i32 = 5;

/// Configs keepalived and Vigil are known to treat differently, and why
/// (each is also a README difference or a keepalived bug).
const KNOWN: &[(&str, &str)] = &[
    (
        "http_no_url.conf",
        "keepalived 2.2.7's -t dies with SIGSEGV on it, after logging that it ignores the checker",
    ),
    (
        "unknown_global_block.conf",
        "keepalived reads an unknown keyword's block lines in the enclosing block (and its '}' closes that block); Vigil skips the block",
    ),
    (
        "unknown_top_block.conf",
        "keepalived reads an unknown keyword's block lines in the enclosing block (and its '}' closes that block); Vigil skips the block",
    ),
];

/// The line numbers in keepalived's `(FILE: Line N)` / `(Line N)` messages.
fn keepalived_lines(log: &str) -> BTreeSet<u32> {
    log.lines()
        .filter_map(|l| {
            let at = l.find("Line ")?;
            let digits: String = l[at + 5..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok()
        })
        .collect()
}

#[test]
fn fallback_configs_run_in_keepalived_and_vigil_warns_on_every_line_it_does() {
    if !ns::require_root("fallback_configs_run_in_keepalived_and_vigil_warns_on_every_line_it_does")
    {
        return;
    }
    let keepalived = binaries::keepalived().unwrap_or_else(|e| panic!("{e}"));
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/configs/fallback");
    let ns = Netns::new(&format!("vgl-cfgpar-{}", std::process::id()));
    ns.ip(&[
        "link", "add", "eth0", "type", "veth", "peer", "name", "eth9",
    ]);
    ns.ip(&["link", "set", "eth0", "up"]);
    ns.ip(&["link", "set", "eth9", "up"]);
    ns.ip(&["addr", "add", "192.0.2.1/24", "dev", "eth0"]);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("fallback corpus")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "conf"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 30,
        "fallback corpus has {} configs",
        files.len()
    );
    let mut failures = Vec::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if let Some((_, why)) = KNOWN.iter().find(|(n, _)| *n == name) {
            eprintln!("not judged: {name}: {why}");
            continue;
        }
        let out = ns.exec(
            keepalived.to_str().unwrap(),
            &[
                "-t",
                "-n",
                "-l",
                "-D",
                "-i",
                "T",
                "-f",
                path.to_str().unwrap(),
            ],
        );
        let log = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let code = out.status.code().unwrap_or(-1);
        if code != RUNS_WITH_WARNINGS {
            failures.push(format!(
                "{name}: keepalived -t exited {code}, not {RUNS_WITH_WARNINGS} (runs with warnings):\n{log}"
            ));
            continue;
        }
        let text = std::fs::read_to_string(path).unwrap();
        let src = MemorySource::new().with(&name, text);
        let opts = ParseOptions {
            config_id: Some("T".into()),
        };
        let parsed = config::parse_with(&src, &name, &opts);
        if parsed.has_errors() || parsed.config.is_none() {
            failures.push(format!(
                "{name}: Vigil refuses what keepalived runs: {:?}",
                parsed.diagnostics
            ));
            continue;
        }
        let warned: BTreeSet<u32> = parsed.diagnostics.iter().map(|d| d.span.line).collect();
        for line in keepalived_lines(&log) {
            if !warned.contains(&line) {
                failures.push(format!(
                    "{name}:{line}: keepalived reports this line, Vigil says nothing:\n{log}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn keepalived_line_numbers_are_read() {
    let log = "(/x/a.conf: Line 9) number '0' outside range\n(Line 12) Unknown keyword 'x'\nno line here\n";
    assert_eq!(keepalived_lines(log), BTreeSet::from([9, 12]));
}
