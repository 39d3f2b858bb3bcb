//! Checks across blocks, with keepalived 2.2.7's fallbacks where it runs
//! anyway: a second `vrrp_instance` or `vrrp_sync_group` of the same name
//! is skipped, sync group members that do not exist (or are already in a
//! group) are ignored and a group left empty is removed
//! (vrrp_sync.c vrrp_sync_set_group); one VRID per interface and family
//! and unique virtual servers remain errors.

use std::collections::{HashMap, HashSet};

use super::diag::Diags;
use super::model::{Config, Family};

/// Reports cross-block problems of `config`, applying keepalived's
/// fallbacks to it.
pub(crate) fn validate(config: &mut Config, diags: &mut Diags) {
    let mut names: HashMap<String, super::span::Span> = HashMap::new();
    config.vrrp_instances.retain(|i| {
        if let Some(first) = names.get(i.name.as_str()) {
            diags.warning(
                &i.span,
                format!(
                    "vrrp_instance {} is defined twice (first at {first}); keepalived skips this one",
                    i.name
                ),
            );
            return false;
        }
        names.insert(i.name.clone(), i.span.clone());
        true
    });
    let mut groups: HashSet<String> = HashSet::new();
    config.sync_groups.retain(|g| {
        if !groups.insert(g.name.clone()) {
            diags.warning(
                &g.span,
                format!(
                    "vrrp_sync_group {} is defined twice; keepalived skips this one",
                    g.name
                ),
            );
            return false;
        }
        true
    });
    let mut member_of: HashMap<String, String> = HashMap::new();
    let instances: Vec<String> = config
        .vrrp_instances
        .iter()
        .map(|i| i.name.clone())
        .collect();
    config.sync_groups.retain_mut(|g| {
        g.instances.retain(|m| {
            if !instances.contains(m) {
                let hint = super::diag::did_you_mean(m, instances.iter().map(String::as_str))
                    .map(|s| format!("; did you mean '{s}'?"))
                    .unwrap_or_default();
                diags.warning(
                    &g.span,
                    format!(
                        "vrrp_sync_group {}: no vrrp_instance named '{m}'{hint}; keepalived ignores it",
                        g.name
                    ),
                );
                return false;
            }
            if let Some(other) = member_of.get(m) {
                diags.warning(
                    &g.span,
                    format!(
                        "vrrp_instance {m} is already in sync group {other}; keepalived ignores it in {}",
                        g.name
                    ),
                );
                return false;
            }
            member_of.insert(m.clone(), g.name.clone());
            true
        });
        match g.instances.len() {
            0 => {
                diags.warning(
                    &g.span,
                    format!(
                        "vrrp_sync_group {} has no instance; keepalived removes it",
                        g.name
                    ),
                );
                false
            }
            1 => {
                diags.warning(
                    &g.span,
                    format!(
                        "vrrp_sync_group {} has a single instance; keepalived runs it, though a group of one syncs nothing",
                        g.name
                    ),
                );
                true
            }
            _ => true,
        }
    });
    group_owner_weights(config, diags);
    weights_ignored(config, diags);
    let config = &*config;
    let mut vrids: HashMap<(&str, u8, Family), &str> = HashMap::new();
    for i in &config.vrrp_instances {
        if i.virtual_router_id == 0 {
            continue;
        }
        // keepalived allows one VRID per interface and address family
        // (vrrp.c: "VRID is already in use on interface"); unicast
        // instances without an interface are keyed by "".
        let iface = i.interface.as_deref().unwrap_or("");
        if let Some(other) = vrids.insert((iface, i.virtual_router_id, i.family), &i.name) {
            diags.error(
                &i.span,
                format!(
                    "virtual_router_id {} is already used by vrrp_instance {other} on interface {iface} ({})",
                    i.virtual_router_id, i.family
                ),
            );
        }
    }
    let mut services: HashMap<(String, Option<super::model::Protocol>), &super::span::Span> =
        HashMap::new();
    for v in &config.virtual_servers {
        let proto = match v.service {
            super::model::ServiceAddr::Addr(_) => Some(v.protocol),
            _ => None,
        };
        let key = (v.service.to_string(), proto);
        if let Some(first) = services.get(&key) {
            diags.error(
                &v.span,
                format!(
                    "virtual_server {} is defined twice (first at {first})",
                    v.service
                ),
            );
        } else {
            services.insert(key, &v.span);
        }
    }
    if let Some(d) = &config.global.lvs_sync_daemon
        && let Some(inst) = &d.instance
        && config.vrrp_instance(inst).is_none()
    {
        diags.error(
            &config.global.span,
            format!("lvs_sync_daemon: no vrrp_instance named '{inst}'"),
        );
    }
}

/// keepalived 2.2.7's sync_group_tracking_init: a group's own trackers
/// apply to every member with their weights, unless a member is an
/// address owner (priority 255); then their weights are cleared.
fn group_owner_weights(config: &mut Config, diags: &mut Diags) {
    for g in &mut config.sync_groups {
        let owner = config
            .vrrp_instances
            .iter()
            .any(|i| i.priority == 255 && g.instances.contains(&i.name));
        if !owner {
            continue;
        }
        let name = g.name.clone();
        let mut clear = |kind: &str, what: &str, weight: &mut i32, span: &super::span::Span| {
            if *weight != 0 {
                diags.warning(
                    span,
                    format!(
                        "vrrp_sync_group {name}: {kind} {what} weight {weight} is ignored: a member is the address owner (priority 255); keepalived tracks it unweighted"
                    ),
                );
                *weight = 0;
            }
        };
        for t in &mut g.track_interfaces {
            clear("track_interface", &t.name, &mut t.weight, &t.span);
        }
        for t in &mut g.track_scripts {
            clear("track_script", &t.name, &mut t.weight, &t.span);
        }
        for t in &mut g.track_files {
            clear("track_file", &t.name, &mut t.weight, &t.span);
        }
    }
}

/// keepalived 2.2.7's vrrp_complete_instance: an address owner (priority
/// 255) and a member of a sync group without `sync_group_tracking_weight`
/// do not float their priority. A weighted `track_interface` is dropped
/// (owner) or unweighted (sync group); a weighted `track_script` is
/// dropped; a `track_file` of weight 1 (the default) is unweighted and
/// one of another weight dropped.
fn weights_ignored(config: &mut Config, diags: &mut Diags) {
    let fixed_groups: Vec<String> = config
        .sync_groups
        .iter()
        .filter(|g| !g.tracking_weight)
        .flat_map(|g| g.instances.clone())
        .collect();
    for i in &mut config.vrrp_instances {
        let sync = fixed_groups.contains(&i.name);
        if !sync && i.priority != 255 {
            continue;
        }
        let why = if sync {
            "its sync group has no sync_group_tracking_weight"
        } else {
            "it is the address owner (priority 255)"
        };
        let name = i.name.clone();
        i.track_interfaces.retain_mut(|t| {
            if t.weight == 0 {
                return true;
            }
            diags.warning(
                &t.span,
                format!(
                    "vrrp_instance {name}: track_interface {} weight {} is ignored: {why}; keepalived {}",
                    t.name,
                    t.weight,
                    if sync { "tracks it unweighted" } else { "stops tracking it" }
                ),
            );
            t.weight = 0;
            sync
        });
        i.track_scripts.retain(|t| {
            if t.weight == 0 {
                return true;
            }
            diags.warning(
                &t.span,
                format!(
                    "vrrp_instance {name}: track_script {} with weight {} is ignored: {why}; keepalived stops tracking it",
                    t.name, t.weight
                ),
            );
            false
        });
        i.track_files.retain_mut(|t| match t.weight {
            0 => true,
            1 => {
                diags.warning(
                    &t.span,
                    format!(
                        "vrrp_instance {name}: track_file {} weight 1 is ignored: {why}; keepalived tracks it unweighted (a non-zero value is a fault)",
                        t.name
                    ),
                );
                t.weight = 0;
                true
            }
            w => {
                diags.warning(
                    &t.span,
                    format!(
                        "vrrp_instance {name}: track_file {} with weight {w} is ignored: {why}; keepalived stops tracking it",
                        t.name
                    ),
                );
                false
            }
        });
    }
}
