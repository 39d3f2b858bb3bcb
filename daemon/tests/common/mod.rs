//! Running vigild in a test namespace and reading its log.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use vigil_netns::ns::{self, Netns, Proc};

/// The test configs directory.
pub fn configs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/configs")
}

/// A vigild process in a namespace, logging to its own file.
pub struct Vigild {
    /// The process.
    pub proc: Proc,
    /// Its log (console output).
    pub log: PathBuf,
    /// Its pid file.
    pub pid_file: PathBuf,
}

impl Vigild {
    /// Starts `vigild -f CONF -p DIR/NAME.pid -n -l -G` in `ns`, its log
    /// appended to DIR/NAME.log.
    pub fn start(ns: &Netns, dir: &Path, name: &str, conf: &Path, extra: &[&str]) -> Vigild {
        Vigild::start_env(ns, dir, name, conf, extra, &[])
    }

    /// [`Vigild::start`] with `env` added to its environment.
    pub fn start_env(
        ns: &Netns,
        dir: &Path,
        name: &str,
        conf: &Path,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Vigild {
        let log = dir.join(format!("{name}.log"));
        let pid_file = dir.join(format!("{name}.pid"));
        let conf = conf.to_string_lossy().to_string();
        let pid = pid_file.to_string_lossy().to_string();
        let mut args = vec!["-f", &conf, "-p", &pid, "-n", "-l", "-G"];
        args.extend_from_slice(extra);
        let proc = ns.spawn_env(env!("CARGO_BIN_EXE_vigild"), &args, env, Some(&log));
        Vigild {
            proc,
            log,
            pid_file,
        }
    }

    /// The log's lines so far.
    pub fn lines(&self) -> Vec<String> {
        ns::log_lines(&self.log)
    }

    /// Lines containing every one of `needles`.
    pub fn matching(&self, needles: &[&str]) -> Vec<String> {
        self.lines()
            .into_iter()
            .filter(|l| needles.iter().all(|n| l.contains(n)))
            .collect()
    }

    /// Waits until at least `count` lines contain all of `needles`.
    pub fn wait_log(&self, timeout: Duration, needles: &[&str], count: usize) -> Duration {
        match ns::wait_for(
            timeout,
            &format!("{needles:?} in {}", self.log.display()),
            || (self.matching(needles).len() >= count).then_some(()),
        ) {
            Ok((_, t)) => t,
            Err(e) => panic!("{e}\n--- log ---\n{}", self.lines().join("\n")),
        }
    }
}

/// Waits until exactly the hosts `want` hold `addr`; how long it took.
pub fn wait_holders(
    lab: &ns::Lab,
    addr: &str,
    want: &[&str],
    timeout: Duration,
    logs: &[&Vigild],
) -> Duration {
    let want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
    match ns::wait_for(timeout, &format!("{addr} held by exactly {want:?}"), || {
        (lab.holders(addr) == want).then_some(())
    }) {
        Ok((_, t)) => t,
        Err(e) => {
            let mut msg = format!("{e}; held by {:?}", lab.holders(addr));
            for v in logs {
                msg.push_str(&format!(
                    "\n--- {} ---\n{}",
                    v.log.display(),
                    v.lines().join("\n")
                ));
            }
            panic!("{msg}")
        }
    }
}
