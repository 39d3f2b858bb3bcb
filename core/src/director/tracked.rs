//! The trackers a director's VRRP side runs: the `vrrp_script`s,
//! `track_file`s and `vrrp_track_process`es some `vrrp_instance` or
//! `vrrp_sync_group` tracks (keepalived skips the others).

use crate::config::{Config, TrackFile, TrackProcess, TrackRef, VrrpScript};

/// The objects of `all` whose name some instance or sync group lists
/// in its references of kind `R`.
fn used<'a, T, R: TrackRef>(cfg: &Config, all: &'a [T], name: impl Fn(&T) -> &str) -> Vec<&'a T> {
    all.iter()
        .filter(|t| {
            let n = name(t);
            let has = |refs: &[R]| refs.iter().any(|r| r.name() == n);
            cfg.vrrp_instances.iter().any(|i| has(R::of_instance(i)))
                || cfg.sync_groups.iter().any(|g| has(R::of_group(g)))
        })
        .collect()
}

/// The `vrrp_script`s some instance or sync group tracks.
pub fn scripts(cfg: &Config) -> Vec<&VrrpScript> {
    used::<_, crate::config::TrackScript>(cfg, &cfg.vrrp_scripts, |s| &s.name)
}

/// The `track_file`s some instance or sync group tracks.
pub fn files(cfg: &Config) -> Vec<&TrackFile> {
    used::<_, crate::config::TrackFileRef>(cfg, &cfg.track_files, |f| &f.name)
}

/// The `vrrp_track_process`es some instance or sync group tracks.
pub fn processes(cfg: &Config) -> Vec<&TrackProcess> {
    used::<_, crate::config::TrackProcessRef>(cfg, &cfg.track_processes, |p| &p.name)
}
