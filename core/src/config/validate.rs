//! Checks across blocks: duplicate instance names, one VRID per
//! interface and family, sync group members, duplicate virtual servers.

use std::collections::HashMap;

use super::diag::Diags;
use super::model::{Config, Family};

/// Reports cross-block problems of `config`.
pub(crate) fn validate(config: &Config, diags: &mut Diags) {
    let mut names: HashMap<&str, &super::span::Span> = HashMap::new();
    let mut vrids: HashMap<(&str, u8, Family), &str> = HashMap::new();
    for i in &config.vrrp_instances {
        if let Some(first) = names.get(i.name.as_str()) {
            diags.error(
                &i.span,
                format!(
                    "vrrp_instance {} is defined twice (first at {first})",
                    i.name
                ),
            );
            continue;
        }
        names.insert(&i.name, &i.span);
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
    let mut member_of: HashMap<&str, &str> = HashMap::new();
    let mut group_names: HashMap<&str, ()> = HashMap::new();
    for g in &config.sync_groups {
        if group_names.insert(&g.name, ()).is_some() {
            diags.error(
                &g.span,
                format!("vrrp_sync_group {} is defined twice", g.name),
            );
        }
        for m in &g.instances {
            if config.vrrp_instance(m).is_none() {
                let hint = super::diag::did_you_mean(
                    m,
                    config.vrrp_instances.iter().map(|i| i.name.as_str()),
                )
                .map(|s| format!("; did you mean '{s}'?"))
                .unwrap_or_default();
                diags.error(
                    &g.span,
                    format!(
                        "vrrp_sync_group {}: no vrrp_instance named '{m}'{hint}",
                        g.name
                    ),
                );
            } else if let Some(other) = member_of.insert(m, &g.name) {
                diags.error(
                    &g.span,
                    format!(
                        "vrrp_instance {m} is in both sync groups {other} and {}",
                        g.name
                    ),
                );
            }
        }
        if g.instances.len() == 1 {
            diags.warning(
                &g.span,
                format!("vrrp_sync_group {} has a single instance", g.name),
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
