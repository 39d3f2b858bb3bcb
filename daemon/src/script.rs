//! Running commands: notify scripts, `vrrp_script` trackers and
//! MISC_CHECK probes. Always with argv (never through a shell), as the
//! configured user, in their own process group, killed (the whole group)
//! when they outlive their timeout.
//!
//! keepalived's script security: with `enable_script_security`, a script
//! whose file or any directory above it is not owned by root or is
//! writable by others (or by a non-root group) is refused; without it,
//! such a script runs and a warning says why it is unsafe.

use std::ffi::OsStr;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use vigil_core::config::{Command, ScriptUser};

/// How a command ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It exited with this status.
    Exit(i32),
    /// A signal (not ours) killed it.
    Signal(i32),
    /// It outlived its timeout and was killed.
    TimedOut,
    /// It could not be started.
    NotStarted,
}

impl Outcome {
    /// Exit status 0.
    pub fn success(self) -> bool {
        self == Outcome::Exit(0)
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Exit(c) => write!(f, "exit={c}"),
            Outcome::Signal(s) => write!(f, "signal={s}"),
            Outcome::TimedOut => f.write_str("timeout"),
            Outcome::NotStarted => f.write_str("not-started"),
        }
    }
}

/// Script rules of a configuration.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    /// `enable_script_security`.
    pub security: bool,
    /// `script_user` of `global_defs`.
    pub default_user: Option<ScriptUser>,
}

impl Policy {
    /// The policy `global_defs` sets.
    pub fn of(cfg: &vigil_core::config::Config) -> Policy {
        Policy {
            security: cfg.global.enable_script_security,
            default_user: cfg.global.script_user.clone(),
        }
    }

    /// Whether `cmd` may run: `Err` names why not (it is missing, not
    /// executable, or unsafe under `enable_script_security`). `Ok(Some)`
    /// is a warning: it runs although it is unsafe.
    pub fn vet(&self, cmd: &Command) -> Result<Option<String>, String> {
        let Some(prog) = cmd.program() else {
            return Err("empty command".into());
        };
        let path = resolve(prog).ok_or_else(|| format!("{prog}: not found or not executable"))?;
        match unsafe_reason(&path) {
            None => Ok(None),
            Some(why) if self.security => Err(format!(
                "{}: refused by enable_script_security: {why}",
                path.display()
            )),
            Some(why) => Ok(Some(format!(
                "{}: unsafe ({why}); it runs because enable_script_security is off",
                path.display()
            ))),
        }
    }

    /// Runs `cmd` with `extra` arguments appended, waiting at most
    /// `timeout`.
    pub async fn run(&self, cmd: &Command, extra: &[String], timeout: Duration) -> Outcome {
        let user = cmd.user.as_ref().or(self.default_user.as_ref());
        run(&cmd.args, extra, user, timeout).await
    }
}

/// Runs `argv` + `extra` as `user` (root when None), killing its process
/// group after `timeout`.
pub async fn run(
    argv: &[String],
    extra: &[String],
    user: Option<&ScriptUser>,
    timeout: Duration,
) -> Outcome {
    let Some(prog) = argv.first() else {
        return Outcome::NotStarted;
    };
    let mut c = tokio::process::Command::new(prog);
    c.args(&argv[1..])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .kill_on_drop(true);
    if let Some(u) = user {
        match ids(u) {
            Some((uid, gid)) => {
                c.uid(uid).gid(gid);
            }
            None => return Outcome::NotStarted,
        }
    }
    let mut child = match c.spawn() {
        Ok(ch) => ch,
        Err(_) => return Outcome::NotStarted,
    };
    let pid = child.id();
    match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(st)) => {
            use std::os::unix::process::ExitStatusExt;
            match (st.code(), st.signal()) {
                (Some(c), _) => Outcome::Exit(c),
                (None, Some(s)) => Outcome::Signal(s),
                _ => Outcome::Exit(-1),
            }
        }
        Ok(Err(_)) => Outcome::NotStarted,
        Err(_) => {
            if let Some(pid) = pid {
                let _ = nix::sys::signal::killpg(
                    nix::unistd::Pid::from_raw(pid as i32),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            let _ = child.kill().await;
            Outcome::TimedOut
        }
    }
}

fn ids(u: &ScriptUser) -> Option<(u32, u32)> {
    use nix::unistd::{Group, User};
    let user = match u.user.parse::<u32>() {
        Ok(uid) => User::from_uid(uid.into()).ok().flatten(),
        Err(_) => User::from_name(&u.user).ok().flatten(),
    };
    let uid = user
        .as_ref()
        .map(|x| x.uid.as_raw())
        .or_else(|| u.user.parse().ok())?;
    let gid = match &u.group {
        Some(g) => match g.parse::<u32>() {
            Ok(n) => n,
            Err(_) => Group::from_name(g).ok().flatten()?.gid.as_raw(),
        },
        None => user?.gid.as_raw(),
    };
    Some((uid, gid))
}

/// The executable `prog` names (absolute, relative, or found on PATH).
pub fn resolve(prog: &str) -> Option<PathBuf> {
    let is_exec =
        |p: &Path| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.mode() & 0o111 != 0);
    if prog.contains('/') {
        let p = PathBuf::from(prog);
        return is_exec(&p).then_some(p);
    }
    let path = std::env::var_os("PATH")
        .unwrap_or_else(|| OsStr::new("/usr/sbin:/usr/bin:/sbin:/bin").into());
    std::env::split_paths(&path)
        .map(|d| d.join(prog))
        .find(|p| is_exec(p))
}

/// Why `path` is unsafe to run as root, if it is: the file or a
/// directory above it is owned by someone other than root, or writable
/// by others (directories with the sticky bit excepted) or by a non-root
/// group.
pub fn unsafe_reason(path: &Path) -> Option<String> {
    let real = std::fs::canonicalize(path).ok()?;
    let mut cur = Some(real.as_path());
    while let Some(p) = cur {
        let m = std::fs::metadata(p).ok()?;
        let mode = m.mode();
        let dir_sticky = m.is_dir() && mode & 0o1000 != 0;
        if m.uid() != 0 {
            return Some(format!("{} is owned by uid {}", p.display(), m.uid()));
        }
        if mode & 0o002 != 0 && !dir_sticky {
            return Some(format!("{} is writable by others", p.display()));
        }
        if mode & 0o020 != 0 && m.gid() != 0 && !dir_sticky {
            return Some(format!("{} is writable by group {}", p.display(), m.gid()));
        }
        cur = p.parent();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn argv_not_shell_and_exit_codes() {
        rt().block_on(async {
            let argv = vec![
                "/bin/sh".to_string(),
                "-c".to_string(),
                "exit $0".to_string(),
            ];
            // "$0" is the first extra argument: argv is passed, not re-split.
            let o = run(&argv, &["3".to_string()], None, Duration::from_secs(5)).await;
            assert_eq!(o, Outcome::Exit(3));
            let o = run(&["/bin/true".into()], &[], None, Duration::from_secs(5)).await;
            assert!(o.success());
            let o = run(
                &["/nonexistent/x".into()],
                &[],
                None,
                Duration::from_secs(5),
            )
            .await;
            assert_eq!(o, Outcome::NotStarted);
        });
    }

    #[test]
    fn timeout_kills() {
        rt().block_on(async {
            let t = std::time::Instant::now();
            let o = run(
                &["/bin/sleep".into(), "10".into()],
                &[],
                None,
                Duration::from_millis(200),
            )
            .await;
            assert_eq!(o, Outcome::TimedOut);
            assert!(t.elapsed() < Duration::from_secs(5));
        });
    }

    #[test]
    fn security_rules() {
        let dir = std::env::temp_dir().join(format!("vigild-sec-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let f = dir.join("s.sh");
        std::fs::write(&f, "#!/bin/sh\nexit 0\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o757)).unwrap();
        let cmd = Command::new([f.to_string_lossy().to_string()]);
        let strict = Policy {
            security: true,
            default_user: None,
        };
        let lax = Policy {
            security: false,
            default_user: None,
        };
        if nix::unistd::Uid::effective().is_root() {
            assert!(strict.vet(&cmd).unwrap_err().contains("writable by others"));
            assert!(lax.vet(&cmd).unwrap().unwrap().contains("unsafe"));
            std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o755)).unwrap();
            // /tmp is sticky and root's: fine.
            assert_eq!(strict.vet(&cmd), Ok(None));
        }
        assert!(strict.vet(&Command::new(["/nonexistent/x"])).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
