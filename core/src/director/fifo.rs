//! The VRRP notify FIFO lines keepalived 2.2.7 writes (vrrp_notify.c
//! notify_fifo): one line per instance or sync group state change
//! (`INSTANCE "NAME" STATE PRIO`, `GROUP "NAME" STATE 0`), and per
//! effective priority change with `notify_priority_changes`
//! (`MASTER_PRIORITY`, `BACKUP_PRIORITY`), to the global FIFO and to the
//! VRRP one. The checker's lines (`VS …`, `RS …`) are not written yet.

use super::io::Output;
use crate::config::Config;
use crate::vrrp::State;

/// The VRRP side's FIFOs of `cfg`: the global one, then `vrrp_notify_fifo`.
fn vrrp_fifos(cfg: &Config) -> impl Iterator<Item = &str> {
    let f = &cfg.global.fifos;
    f.global.iter().chain(&f.vrrp).map(|x| x.path.as_str())
}

/// keepalived's line for `kind` (`INSTANCE` or `GROUP`) `name` entering
/// `state` (`MASTER`, `BACKUP`, `FAULT`, `STOP`, `MASTER_RX_LOWER_PRI`,
/// `MASTER_PRIORITY`, `BACKUP_PRIORITY`, …) at `priority`.
pub fn line(kind: &str, name: &str, state: &str, priority: u8) -> String {
    format!("{kind} \"{name}\" {state} {priority}")
}

/// The outputs writing `line` to every VRRP FIFO of `cfg` (none without).
pub fn vrrp_lines(cfg: &Config, line: &str) -> Vec<Output> {
    vrrp_fifos(cfg)
        .map(|path| Output::FifoLine {
            path: path.to_string(),
            line: line.to_string(),
        })
        .collect()
}

/// Whether instance `name` of `cfg` reports its priority changes:
/// its `notify_priority_changes`, else its sync group's, else
/// `vrrp_notify_priority_changes` (keepalived's vrrp_complete_instance).
pub fn priority_changes(cfg: &Config, name: &str) -> bool {
    let Some(inst) = cfg.vrrp_instance(name) else {
        return false;
    };
    let group = cfg
        .sync_groups
        .iter()
        .find(|g| g.instances.iter().any(|i| i == name))
        .and_then(|g| g.notify_priority_changes);
    inst.notify_priority_changes
        .or(group)
        .unwrap_or(cfg.global.fifos.priority_changes)
}

/// The state word of a priority change line for an instance in `state`:
/// `MASTER_PRIORITY` for a master, `BACKUP_PRIORITY` for any other.
pub fn priority_state(state: State) -> &'static str {
    if state == State::Master {
        "MASTER_PRIORITY"
    } else {
        "BACKUP_PRIORITY"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(g: &str) -> Config {
        let t = format!("global_defs {{\n{g}}}\n");
        crate::config::parse_str("t.conf", &t)
            .config
            .expect("config")
    }

    #[test]
    fn lines_go_to_the_global_then_the_vrrp_fifo() {
        let c = cfg(" notify_fifo /run/k.fifo\n vrrp_notify_fifo /run/v.fifo\n");
        let out = vrrp_lines(&c, &line("INSTANCE", "VI_1", "MASTER", 100));
        let shown: Vec<String> = out.iter().map(|o| o.to_string()).collect();
        assert_eq!(
            shown,
            [
                "fifo /run/k.fifo INSTANCE \"VI_1\" MASTER 100",
                "fifo /run/v.fifo INSTANCE \"VI_1\" MASTER 100"
            ]
        );
        assert!(vrrp_lines(&cfg(""), "x").is_empty());
    }

    #[test]
    fn a_vrrp_fifo_on_the_global_path_is_dropped_with_a_warning() {
        let t = "global_defs {\n notify_fifo /run/k.fifo\n vrrp_notify_fifo /run/k.fifo\n \
                 lvs_notify_fifo_script /bin/true\n}\n";
        let p = crate::config::parse_str("t.conf", t);
        let c = p.config.expect("config");
        assert!(c.global.fifos.vrrp.is_none());
        assert!(c.global.fifos.lvs.is_none(), "a script without its FIFO");
        assert_eq!(
            p.diagnostics.iter().filter(|d| !d.is_error()).count(),
            2,
            "{:?}",
            p.diagnostics
        );
    }

    #[test]
    fn priority_lines_as_the_instance_then_its_group_then_global_says() {
        let inst = |extra: &str| {
            format!(
                "vrrp_instance v {{\n interface eth0\n virtual_router_id 1\n priority 100\n{extra} \
                 virtual_ipaddress {{\n 192.0.2.1\n }}\n}}\n"
            )
        };
        let parse = |t: &str| {
            crate::config::parse_str("t.conf", t)
                .config
                .expect("config")
        };
        let global = format!(
            "global_defs {{\n vrrp_notify_priority_changes\n}}\n{}",
            inst("")
        );
        assert!(priority_changes(&parse(&global), "v"));
        assert!(!priority_changes(&parse(&inst("")), "v"));
        let off = format!(
            "global_defs {{\n vrrp_notify_priority_changes\n}}\n{}",
            inst(" notify_priority_changes false\n")
        );
        assert!(!priority_changes(&parse(&off), "v"));
        let group = format!(
            "vrrp_sync_group g {{\n group {{\n v\n }}\n notify_priority_changes\n}}\n{}",
            inst("")
        );
        assert!(priority_changes(&parse(&group), "v"));
        assert_eq!(priority_state(State::Master), "MASTER_PRIORITY");
        assert_eq!(priority_state(State::Fault), "BACKUP_PRIORITY");
    }
}
