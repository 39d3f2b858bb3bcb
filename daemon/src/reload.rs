//! What a reload keeps: the pure part of applying a new configuration.
//!
//! VRRP instances are matched by name; one whose resolved
//! [`InstanceConfig`] is unchanged keeps its state (no failover), the
//! others are stopped and started anew. `vrrp_script` trackers are
//! matched by name and settings (their position in the file does not
//! matter).

use vigil_core::config::VrrpScript;
use vigil_core::vrrp::InstanceConfig;

/// What becomes of one instance of the new configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Slot {
    /// The old instance at this index carries on, state and all.
    Keep(usize),
    /// A new (or changed) instance, started fresh.
    Start(Box<InstanceConfig>),
}

/// The instances of a reload: one slot per new instance (in the new
/// order), and the old instances to stop (changed or removed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstancePlan {
    /// New instances, in configuration order.
    pub slots: Vec<Slot>,
    /// Indices of old instances that stop.
    pub stop: Vec<usize>,
}

/// Matches the old instances' configs with the new ones.
pub fn plan_instances(old: &[InstanceConfig], new: Vec<InstanceConfig>) -> InstancePlan {
    let mut kept = vec![false; old.len()];
    let slots = new
        .into_iter()
        .map(|cfg| match old.iter().position(|o| *o == cfg) {
            Some(i) if !kept[i] => {
                kept[i] = true;
                Slot::Keep(i)
            }
            _ => Slot::Start(Box::new(cfg)),
        })
        .collect();
    let stop = (0..old.len()).filter(|&i| !kept[i]).collect();
    InstancePlan { slots, stop }
}

/// Whether two `vrrp_script`s are the same tracker (span ignored).
pub fn same_script(a: &VrrpScript, b: &VrrpScript) -> bool {
    let mut a = a.clone();
    a.span = b.span.clone();
    a == *b
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_core::vrrp::Vip;

    fn cfg(name: &str, prio: u8) -> InstanceConfig {
        let mut c = InstanceConfig::new(
            name,
            "eth0",
            51,
            "192.0.2.150".parse().unwrap(),
            vec![Vip::host("192.0.2.160".parse().unwrap())],
        );
        c.priority = prio;
        c
    }

    #[test]
    fn unchanged_kept_changed_restarted_removed_stopped() {
        let old = vec![cfg("a", 100), cfg("b", 100), cfg("c", 100)];
        let p = plan_instances(
            &old,
            vec![cfg("c", 100), cfg("a", 100), cfg("b", 90), cfg("d", 1)],
        );
        assert_eq!(p.slots[0], Slot::Keep(2));
        assert_eq!(p.slots[1], Slot::Keep(0));
        assert_eq!(p.slots[2], Slot::Start(Box::new(cfg("b", 90))));
        assert_eq!(p.slots[3], Slot::Start(Box::new(cfg("d", 1))));
        assert_eq!(p.stop, vec![1]);
        let same = plan_instances(&old, old.clone());
        assert_eq!(
            same.slots,
            vec![Slot::Keep(0), Slot::Keep(1), Slot::Keep(2)]
        );
        assert!(same.stop.is_empty());
    }

    #[test]
    fn scripts_compare_without_span() {
        let t1 = "vrrp_script s {\n script /bin/true\n interval 2\n}\n";
        let t2 = "\n\nvrrp_script s {\n script /bin/true\n interval 2\n}\n";
        let t3 = "vrrp_script s {\n script /bin/true\n interval 3\n}\n";
        let g = |t: &str| {
            vigil_core::config::parse_str("t.conf", t)
                .config
                .unwrap()
                .vrrp_scripts
                .remove(0)
        };
        assert!(same_script(&g(t1), &g(t2)));
        assert!(!same_script(&g(t1), &g(t3)));
    }
}
