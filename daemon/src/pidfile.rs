//! Pid files: written at start, refused when another live vigild holds
//! the same file, removed at exit.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// A pid file this process wrote; removed when dropped.
#[derive(Debug)]
pub struct PidFile {
    path: PathBuf,
}

/// Why a pid file could not be taken.
#[derive(Debug)]
pub enum PidError {
    /// Another live process's pid is in it.
    Running(i32),
    /// It could not be written.
    Io(io::Error),
}

impl std::fmt::Display for PidError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PidError::Running(pid) => write!(f, "already running as pid {pid}"),
            PidError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl PidFile {
    /// Writes this process's pid to `path`, unless the file names another
    /// process that is still alive (a stale file is replaced).
    pub fn create(path: &Path) -> Result<PidFile, PidError> {
        if let Ok(text) = fs::read_to_string(path)
            && let Ok(pid) = text.trim().parse::<i32>()
            && pid != std::process::id() as i32
            && alive(pid)
        {
            return Err(PidError::Running(pid));
        }
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            fs::create_dir_all(dir).map_err(PidError::Io)?;
        }
        fs::write(path, format!("{}\n", std::process::id())).map_err(PidError::Io)?;
        Ok(PidFile {
            path: path.to_path_buf(),
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        // Only remove it if it is still ours.
        if fs::read_to_string(&self.path).is_ok_and(|t| t.trim() == std::process::id().to_string())
        {
            let _ = fs::remove_file(&self.path);
        }
    }
}

fn alive(pid: i32) -> bool {
    pid > 0 && nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_refuse_replace_remove() {
        let dir = std::env::temp_dir().join(format!("vigild-pid-{}", std::process::id()));
        let p = dir.join("a.pid");
        {
            let f = PidFile::create(&p).unwrap();
            assert_eq!(
                fs::read_to_string(f.path()).unwrap().trim(),
                std::process::id().to_string()
            );
        }
        assert!(!p.exists());
        // A live other process: pid 1 always exists.
        fs::write(&p, "1\n").unwrap();
        assert!(matches!(PidFile::create(&p), Err(PidError::Running(1))));
        // A stale pid (beyond pid_max) is replaced.
        fs::write(&p, "2147483646\n").unwrap();
        drop(PidFile::create(&p).unwrap());
        let _ = fs::remove_dir_all(&dir);
    }
}
