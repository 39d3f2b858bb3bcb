//! Broken scenario files give every error at once, each naming the file,
//! line, column and key (holo-style: inputs in tests/bad-scenarios/,
//! expected diagnostics in snapshots beside this file).

use vigil_core::config::source::FsSource;
use vigil_sim::scenario;

fn errors(name: &str) -> String {
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).unwrap();
    let path = format!("tests/bad-scenarios/{name}.toml");
    match scenario::load(&FsSource, &path) {
        Ok(_) => panic!("{path} loaded"),
        Err(errs) => errs.iter().map(|e| format!("{e}\n")).collect(),
    }
}

#[test]
fn unknown_key() {
    insta::assert_snapshot!(errors("unknown-key"));
}

#[test]
fn bad_values() {
    insta::assert_snapshot!(errors("bad-values"));
}

#[test]
fn broken_config() {
    insta::assert_snapshot!(errors("broken-config"));
}

#[test]
fn missing_file_and_not_toml() {
    std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).unwrap();
    let e = scenario::load(&FsSource, "tests/bad-scenarios/nope.toml").unwrap_err();
    assert!(
        e[0].to_string().contains("tests/bad-scenarios/nope.toml"),
        "{}",
        e[0]
    );
    let e = scenario::load(&FsSource, "tests/bad-scenarios/broken.conf").unwrap_err();
    assert!(
        e[0].to_string()
            .starts_with("tests/bad-scenarios/broken.conf:1:"),
        "{}",
        e[0]
    );
}
