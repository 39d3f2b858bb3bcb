//! The director's scripts, tracked files and notify commands, handed to
//! the harness: each `vrrp_script` a director runs is replaced by a
//! script exiting with the status the timeline sets, each `track_file`
//! it reads by a file the harness writes, and each `notify*` command is
//! run through a recorder that logs its argv (the operator's program
//! first) before anything else. Only those lines of the config change;
//! the daemon (vigild or keepalived) runs every other line as written.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use vigil_core::config::Config;

/// The commands whose argv the recorder logs: an instance's and a sync
/// group's notify scripts.
const NOTIFY_KEYWORDS: &[&str] = &[
    "notify",
    "notify_master",
    "notify_backup",
    "notify_fault",
    "notify_stop",
    "notify_master_rx_lower_pri",
];

/// One director's hooks.
#[derive(Clone, Debug)]
pub struct Hooks {
    dir: PathBuf,
    /// `vrrp_script` names replaced.
    scripts: Vec<String>,
    /// (track_file path as configured, the file the harness writes).
    files: Vec<(String, PathBuf)>,
}

/// Writes `path` with `mode`.
fn write_mode(path: &Path, text: &str, mode: u32) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// The first word of a config line (comments and `@id` prefixes aside).
fn first_word(line: &str) -> &str {
    line.split_whitespace().next().unwrap_or("")
}

/// The line index (0-based) of the first line at or after `from` whose
/// first word is `word`, within the block opened on line `from`.
fn line_in_block(lines: &[String], from: usize, word: &str) -> Option<usize> {
    let mut depth = 0i32;
    for (i, l) in lines.iter().enumerate().skip(from) {
        let code = l.split(['#', '!']).next().unwrap_or("");
        if i > from && depth == 1 && first_word(code) == word {
            return Some(i);
        }
        depth += code.matches('{').count() as i32 - code.matches('}').count() as i32;
        if i > from && depth <= 0 {
            return None;
        }
    }
    None
}

/// The leading blanks of `line`.
fn indent(line: &str) -> &str {
    &line[..line.len() - line.trim_start().len()]
}

/// Quotes `s` for a keepalived config line.
fn quoted(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

impl Hooks {
    /// Rewrites `text` (the config `cfg` was read from, file `file`) of
    /// director `name`, with its hooks under `dir`: the new text, or why
    /// it cannot be rewritten (a hooked object in an included file).
    pub fn install(
        name: &str,
        file: &str,
        text: &str,
        cfg: &Config,
        dir: &Path,
    ) -> Result<(String, Hooks), String> {
        let dir = dir.join(format!("hooks-{name}"));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        // Script security: every directory on the way is root's, 0755.
        for d in [dir.parent().unwrap_or(&dir), &dir] {
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755))
                .map_err(|e| format!("{}: {e}", d.display()))?;
        }
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        let mut hooks = Hooks {
            dir: dir.clone(),
            scripts: Vec::new(),
            files: Vec::new(),
        };
        let same_file = |f: &str| {
            f == file
                || std::fs::canonicalize(f)
                    .ok()
                    .is_some_and(|a| std::fs::canonicalize(file).ok() == Some(a))
        };
        let here = |span: &vigil_core::config::Span, what: &str| -> Result<usize, String> {
            if !same_file(&span.file) {
                return Err(format!(
                    "{span}: {what} is in an included file: the harness rewrites the main config only"
                ));
            }
            Ok(span.line.saturating_sub(1) as usize)
        };
        for s in vigil_core::director::tracked::scripts(cfg) {
            let at = here(&s.span, &format!("vrrp_script {}", s.name))?;
            let Some(i) = line_in_block(&lines, at, "script") else {
                return Err(format!(
                    "{}: vrrp_script {}: no script line",
                    s.span, s.name
                ));
            };
            let exe = dir.join(format!("script-{}", s.name));
            let status = dir.join(format!("script-{}.exit", s.name));
            write_mode(
                &exe,
                &format!(
                    "#!/bin/sh\n# vigil harness: exits as the timeline says ({}).\nread s < {} 2>/dev/null || s=0\nexit \"$s\"\n",
                    s.command.args.join(" "),
                    status.display()
                ),
                0o755,
            )?;
            lines[i] = format!(
                "{}script {}",
                indent(&lines[i]),
                quoted(&exe.to_string_lossy())
            );
            hooks.scripts.push(s.name.clone());
        }
        for f in vigil_core::director::tracked::files(cfg) {
            let at = here(&f.span, &format!("track_file {}", f.name))?;
            let Some(i) = line_in_block(&lines, at, "file") else {
                return Err(format!("{}: track_file {}: no file line", f.span, f.name));
            };
            let path = dir.join(format!("file-{}", f.name));
            lines[i] = format!(
                "{}file {}",
                indent(&lines[i]),
                quoted(&path.to_string_lossy())
            );
            hooks.files.push((f.path.clone(), path));
        }
        let recorder = dir.join("notify-recorder");
        let log = dir.join("notify.log");
        write_mode(
            &recorder,
            &format!(
                "#!/bin/sh\n# vigil harness: logs the call's argv (tab separated) with the time\n\
                 # (the real wall clock, whatever clock the daemon is given).\n\
                 {{ printf '%s' \"$(env -u LD_PRELOAD date +%s.%N)\"; for a in \"$@\"; do printf '\\t%s' \"$a\"; done; printf '\\n'; }} >> {}\n",
                log.display()
            ),
            0o755,
        )?;
        let mut depth = 0i32;
        for l in &mut lines {
            let code = l.split(['#', '!']).next().unwrap_or("").to_string();
            let w = first_word(&code);
            if depth >= 1 && NOTIFY_KEYWORDS.contains(&w) {
                let rest = code.trim_start()[w.len()..].trim();
                let cmd = rest.trim_matches('"');
                *l = format!(
                    "{}{w} {}",
                    indent(l),
                    quoted(&format!("{} {cmd}", recorder.display()))
                );
            }
            depth += code.matches('{').count() as i32 - code.matches('}').count() as i32;
        }
        let mut out = lines.join("\n");
        out.push('\n');
        Ok((out, hooks))
    }

    /// The next runs of `script` exit `ok` (0) or not (1).
    pub fn set_script(&self, script: &str, ok: bool) -> Result<(), String> {
        if !self.scripts.iter().any(|s| s == script) {
            return Err(format!("vrrp_script {script} is not run by this director"));
        }
        let p = self.dir.join(format!("script-{script}.exit"));
        write_mode(&p, if ok { "0\n" } else { "1\n" }, 0o644)
    }

    /// The tracked file configured at `path` holds `content` from now on.
    pub fn set_file(&self, path: &str, content: &str) -> Result<(), String> {
        let mut any = false;
        for (_, p) in self.files.iter().filter(|(c, _)| c == path) {
            // Written aside and renamed: the daemon never reads half a file.
            let tmp = p.with_extension("new");
            write_mode(&tmp, content, 0o644)?;
            std::fs::rename(&tmp, p).map_err(|e| format!("{}: {e}", p.display()))?;
            any = true;
        }
        if any {
            Ok(())
        } else {
            Err(format!("no track_file of this director reads {path}"))
        }
    }

    /// The notify calls recorded so far: (when, argv).
    pub fn notifies(&self) -> Vec<(SystemTime, Vec<String>)> {
        let text = std::fs::read_to_string(self.dir.join("notify.log")).unwrap_or_default();
        text.lines()
            .filter_map(|l| {
                let mut parts = l.split('\t');
                let t: f64 = parts.next()?.parse().ok()?;
                let at = SystemTime::UNIX_EPOCH + Duration::from_secs_f64(t);
                Some((at, parts.map(str::to_string).collect()))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONF: &str = "global_defs {\n    enable_script_security\n}\n\
        vrrp_script chk {\n    script \"/usr/bin/killall -0 haproxy\"   # the check\n    interval 1\n}\n\
        track_file adj {\n    file /run/x/adj\n}\n\
        vrrp_instance web {\n    interface eth0\n    virtual_router_id 1\n    priority 100\n    \
        track_script {\n        chk\n    }\n    track_file {\n        adj\n    }\n    \
        notify_master \"/etc/k/m.sh a b\"\n    notify /etc/k/n.sh\n    \
        virtual_ipaddress {\n        192.0.2.1\n    }\n}\n";

    #[test]
    fn scripts_files_and_notifies_are_redirected_and_nothing_else() {
        let cfg = vigil_core::config::parse_str("k.conf", CONF)
            .config
            .unwrap();
        let dir = std::env::temp_dir().join(format!("vigil-hooks-test-{}", std::process::id()));
        let (text, hooks) = Hooks::install("lb1", "k.conf", CONF, &cfg, &dir).unwrap();
        let h = dir.join("hooks-lb1");
        let rec = h.join("notify-recorder");
        assert!(text.contains(&format!(
            "    script \"{}\"\n",
            h.join("script-chk").display()
        )));
        assert!(text.contains(&format!("    file \"{}\"\n", h.join("file-adj").display())));
        assert!(text.contains(&format!(
            "    notify_master \"{} /etc/k/m.sh a b\"\n",
            rec.display()
        )));
        assert!(text.contains(&format!("    notify \"{} /etc/k/n.sh\"\n", rec.display())));
        assert_eq!(text.lines().count(), CONF.lines().count());
        let back = vigil_core::config::parse_str("k.conf", &text)
            .config
            .unwrap();
        assert_eq!(
            back.vrrp_instances[0].priority,
            cfg.vrrp_instances[0].priority
        );
        assert_eq!(
            back.vrrp_instances[0].track_scripts,
            cfg.vrrp_instances[0].track_scripts
        );
        assert_eq!(back.vrrp_scripts[0].interval, cfg.vrrp_scripts[0].interval);

        hooks.set_script("chk", false).unwrap();
        assert!(hooks.set_script("nope", false).is_err());
        let status = std::process::Command::new(h.join("script-chk"))
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(1));
        hooks.set_file("/run/x/adj", "-25\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(h.join("file-adj")).unwrap(),
            "-25\n"
        );
        assert!(hooks.set_file("/elsewhere", "1").is_err());

        std::process::Command::new(&rec)
            .args(["/etc/k/n.sh", "INSTANCE", "web", "MASTER", "100"])
            .status()
            .unwrap();
        let calls = hooks.notifies();
        assert_eq!(calls.len(), 1);
        assert_eq!(
            calls[0].1,
            ["/etc/k/n.sh", "INSTANCE", "web", "MASTER", "100"]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
