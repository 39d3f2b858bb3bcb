//! keepalived's notify FIFOs (`notify_fifo`, `vrrp_notify_fifo`,
//! `lvs_notify_fifo`), as its lib/notify.c opens them: each is created
//! (mode 0644, chowned to its owner) unless it exists, its script (if
//! any) is started with the FIFO's path as last argument, then the FIFO
//! is opened read-write and non-blocking, so that a missing or slow
//! reader never stalls vigild (a full FIFO loses the line). A reload
//! closes them (removing those vigild created) and opens the new
//! configuration's; so does the stop, after the last line.
//!
//! Which lines go where is core's decision
//! ([`vigil_core::director::Output::FifoLine`]); this module only holds
//! the open files, shared by the VRRP and check sides.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use vigil_core::config::{Config, NotifyFifo};

use crate::script::Policy;

/// An open FIFO, and whether vigild created it.
struct Open {
    file: File,
    created: bool,
}

static OPEN: LazyLock<Mutex<HashMap<String, Open>>> = LazyLock::new(Mutex::default);

/// Closes the FIFOs open now, then opens those `cfg` names (their
/// scripts started under `policy`; on a tokio runtime).
pub fn open(cfg: &Config, policy: &Policy) {
    close();
    let f = &cfg.global.fifos;
    for (kind, fifo) in [("", &f.global), ("vrrp_", &f.vrrp), ("lvs_", &f.lvs)] {
        if let Some(fifo) = fifo {
            open_one(kind, fifo, policy);
        }
    }
}

fn open_one(kind: &str, fifo: &NotifyFifo, policy: &Policy) {
    let path = fifo.path.as_str();
    let mode = nix::sys::stat::Mode::from_bits_truncate(0o644);
    let created = match nix::unistd::mkfifo(path, mode) {
        Ok(()) => {
            if let Some(owner) = &fifo.owner {
                chown(path, owner);
            }
            true
        }
        Err(nix::errno::Errno::EEXIST) => false,
        Err(e) => {
            tracing::warn!("unable to create {kind}notify fifo {path}: {e}");
            return;
        }
    };
    if let Some(script) = &fifo.script {
        match policy.vet(script) {
            Err(why) => tracing::warn!("{kind}notify_fifo_script not run: {why}"),
            Ok(warning) => {
                if let Some(w) = warning {
                    tracing::warn!("{kind}notify_fifo_script: {w}");
                }
                let (policy, script, arg) = (policy.clone(), script.clone(), path.to_string());
                // Runs as long as vigild does (keepalived: TIMER_NEVER,
                // and the script dies with its parent).
                tokio::spawn(async move {
                    let forever = Duration::from_secs(u64::from(u32::MAX));
                    let outcome = policy.run(&script, &[arg], forever).await;
                    tracing::info!("notify fifo script {script} ended: {outcome}");
                });
            }
        }
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
        .open(path);
    match file {
        Ok(file) => {
            tracing::info!("{kind}notify fifo {path} open");
            lock().insert(path.to_string(), Open { file, created });
        }
        Err(e) => {
            tracing::warn!("unable to open {kind}notify fifo {path}: {e}");
            if created {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

fn chown(path: &str, owner: &vigil_core::config::ScriptUser) {
    use nix::unistd::{Group, User};
    let uid = User::from_name(&owner.user).ok().flatten().map(|u| u.uid);
    let gid = owner
        .group
        .as_deref()
        .and_then(|g| Group::from_name(g).ok().flatten())
        .map(|g| g.gid);
    if let Err(e) = nix::unistd::chown(path, uid, gid) {
        tracing::info!("failed to set the owner of fifo {path}: {e}");
    }
}

fn lock() -> std::sync::MutexGuard<'static, HashMap<String, Open>> {
    OPEN.lock().unwrap_or_else(|p| p.into_inner())
}

/// Writes `line` and a newline to the FIFO at `path`, if it is open; a
/// full FIFO (no reader draining it) loses the line, as keepalived's.
pub fn write(path: &str, line: &str) {
    if let Some(o) = lock().get_mut(path) {
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        let _ = o.file.write_all(&bytes);
    }
}

/// Closes every FIFO, removing those vigild created first (so that a
/// reader reopening it in a loop cannot find it again).
pub fn close() {
    for (path, o) in lock().drain() {
        if o.created {
            let _ = std::fs::remove_file(&path);
        }
        drop(o.file);
    }
}
