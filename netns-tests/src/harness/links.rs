//! Partitions and loss between hosts as nftables rules on the bridge, in
//! the bridge's namespace only: a `bridge` table whose forward chain
//! drops frames from one host's port to another's, all of them
//! (partition) or a random share (`numgen random`, loss). Flooded frames
//! (multicast adverts, broadcast ARP) pass the forward hook once per
//! output port, so per-pair rules cut them too.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

/// What happens to frames from one port to another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cut {
    /// All dropped.
    Partition,
    /// Dropped with probability `n / 1000`.
    Loss(u32),
}

/// The rules in force: (from port, to port) -> cut.
#[derive(Clone, Debug, Default)]
pub struct Links {
    rules: BTreeMap<(String, String), Cut>,
}

impl Links {
    /// Sets (or with `None` clears) the cut from `from` to `to`.
    pub fn set(&mut self, from: &str, to: &str, cut: Option<Cut>) {
        let key = (from.to_string(), to.to_string());
        match cut {
            Some(c) => {
                // A partition wins over loss on the same pair.
                if !(matches!(c, Cut::Loss(_)) && self.rules.get(&key) == Some(&Cut::Partition)) {
                    self.rules.insert(key, c);
                }
            }
            None => {
                self.rules.remove(&key);
            }
        }
    }

    /// Clears a partition from `from` to `to`, leaving loss in place.
    pub fn heal(&mut self, from: &str, to: &str) {
        let key = (from.to_string(), to.to_string());
        if self.rules.get(&key) == Some(&Cut::Partition) {
            self.rules.remove(&key);
        }
    }

    /// Clears loss from `from` to `to`, leaving a partition in place.
    pub fn clear_loss(&mut self, from: &str, to: &str) {
        let key = (from.to_string(), to.to_string());
        if matches!(self.rules.get(&key), Some(Cut::Loss(_))) {
            self.rules.remove(&key);
        }
    }

    /// The nft script that replaces the table with the rules in force
    /// (one transaction).
    pub fn script(&self) -> String {
        let mut s = String::from("table bridge vigil\ndelete table bridge vigil\n");
        s.push_str("table bridge vigil {\n  chain forward {\n    type filter hook forward priority 0; policy accept;\n");
        for ((from, to), cut) in &self.rules {
            match cut {
                Cut::Partition => {
                    s.push_str(&format!("    iifname \"{from}\" oifname \"{to}\" drop\n"));
                }
                Cut::Loss(n) => s.push_str(&format!(
                    "    iifname \"{from}\" oifname \"{to}\" numgen random mod 1000 < {n} drop\n"
                )),
            }
        }
        s.push_str("  }\n}\n");
        s
    }

    /// Applies the rules in namespace `netns` (the bridge's).
    pub fn apply(&self, netns: &str) -> Result<(), String> {
        let mut child = Command::new("ip")
            .args(["netns", "exec", netns, "nft", "-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("nft: {e}"))?;
        child
            .stdin
            .take()
            .expect("piped")
            .write_all(self.script().as_bytes())
            .map_err(|e| format!("nft: {e}"))?;
        let out = child.wait_with_output().map_err(|e| format!("nft: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "nft -f in {netns}: {}\n{}",
                String::from_utf8_lossy(&out.stderr).trim(),
                self.script()
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_render_as_one_table() {
        let mut l = Links::default();
        l.set("p0", "p1", Some(Cut::Partition));
        l.set("p1", "p0", Some(Cut::Loss(300)));
        l.set("p0", "p1", Some(Cut::Loss(100)));
        let s = l.script();
        assert!(s.contains("iifname \"p0\" oifname \"p1\" drop\n"), "{s}");
        assert!(s.contains("iifname \"p1\" oifname \"p0\" numgen random mod 1000 < 300 drop\n"));
        l.heal("p0", "p1");
        l.clear_loss("p1", "p0");
        assert!(!l.script().contains("iifname"));
        assert!(
            l.script()
                .starts_with("table bridge vigil\ndelete table bridge vigil\n")
        );
    }
}
