//! From the generic block tree to the typed [`Config`]: each block's
//! keywords read into typed values, keepalived's defaults and
//! inheritance applied, unknown keywords reported.

mod checker;
mod global;
mod keywords;
mod script;
mod values;
mod virtual_server;
mod vrrp;

pub(crate) use checker::{Inherit, inherited_timing};
pub(crate) use values::fmt_secs;

use super::diag::Diags;
use super::model::Config;
use super::parser::Node;
use keywords::{Ctx, unhandled};
use values::Cx;

/// Builds the typed config from the top-level statements. Blocks are
/// read in two passes so that `global_defs`, `vrrp_script`, `track_file`
/// and `virtual_server_group` may come after the blocks that use them.
pub(crate) fn build(nodes: &[Node], diags: &mut Diags) -> Config {
    let mut cx = Cx { diags };
    let mut config = Config::default();
    for n in nodes {
        match n.keyword.as_str() {
            "global_defs" => global::global_defs(&mut cx, n, &mut config.global),
            "vrrp_script" => {
                if let Some(s) = script::vrrp_script(&mut cx, n) {
                    if config.vrrp_script(&s.name).is_some() {
                        cx.diags
                            .error(&n.span, format!("vrrp_script {} is defined twice", s.name));
                    } else {
                        config.vrrp_scripts.push(s);
                    }
                }
            }
            "track_file" | "vrrp_track_file" => {
                if let Some(t) = script::track_file(&mut cx, n) {
                    if config.track_file(&t.name).is_some() {
                        cx.diags
                            .error(&n.span, format!("track_file {} is defined twice", t.name));
                    } else {
                        config.track_files.push(t);
                    }
                }
            }
            "vrrp_track_process" => {
                if let Some(t) = script::track_process(&mut cx, n) {
                    if config.track_process(&t.name).is_some() {
                        cx.diags.warning(
                            &n.span,
                            format!(
                                "vrrp_track_process {} is defined twice; keepalived uses the first",
                                t.name
                            ),
                        );
                    } else {
                        config.track_processes.push(t);
                    }
                }
            }
            "virtual_server_group" => {
                if let Some(g) = virtual_server::virtual_server_group(&mut cx, n) {
                    if config.virtual_server_group(&g.name).is_some() {
                        cx.diags.error(
                            &n.span,
                            format!("virtual_server_group {} is defined twice", g.name),
                        );
                    } else if !g.entries.is_empty() {
                        config.virtual_server_groups.push(g);
                    }
                }
            }
            _ => {}
        }
    }
    let mut instances = Vec::new();
    let mut groups = Vec::new();
    let mut servers = Vec::new();
    {
        let tracked = vrrp::Tracked { config: &config };
        for n in nodes {
            match n.keyword.as_str() {
                "global_defs"
                | "vrrp_script"
                | "track_file"
                | "vrrp_track_file"
                | "vrrp_track_process"
                | "virtual_server_group" => {}
                "vrrp_instance" => {
                    if let Some(i) = vrrp::vrrp_instance(&mut cx, &tracked, n) {
                        instances.push(i);
                    }
                }
                "vrrp_sync_group" => {
                    if let Some(g) = vrrp::sync_group(&mut cx, &tracked, n) {
                        groups.push(g);
                    }
                }
                "virtual_server" => {
                    if let Some(v) = virtual_server::virtual_server(&mut cx, &config, n) {
                        servers.push(v);
                    }
                }
                _ => unhandled(&mut cx, n, Ctx::Top),
            }
        }
    }
    config.vrrp_instances = instances;
    config.sync_groups = groups;
    config.virtual_servers = servers;
    config
}
