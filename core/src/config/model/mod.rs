//! The typed configuration: what a keepalived.conf asks for, with
//! keepalived's defaults and inheritance already applied, so consumers
//! never re-apply them. Every item carries the [`Span`](crate::config::Span)
//! of its definition.

mod checker;
pub(crate) mod common;
mod global;
mod script;
mod track_ref;
mod virtual_server;
mod vrrp;

pub use checker::{
    CheckTiming, Checker, CheckerKind, ConnectOpts, DnsCheck, DnsType, FileCheck, HttpCheck,
    HttpProtocol, MiscCheck, ReplyPattern, SmtpCheck, StatusCodes, UdpCheck, Url,
};
pub use common::{Command, Family, ScriptUser};
pub use global::{
    GarpDefaults, GlobalDefs, LvsFlushOnStop, LvsSyncDaemon, LvsTimeouts, Notification, NotifyFifo,
    NotifyFifos,
};
pub use script::{ParamMatch, TrackFile, TrackProcess, VrrpScript};
pub use track_ref::TrackRef;
pub use virtual_server::{
    Forwarding, Granularity, Protocol, Quorum, RealServer, SchedFlags, Scheduler, ServiceAddr,
    SorryServer, TunnelCsum, TunnelType, VirtualServer, VirtualServerGroup, VsgEntry,
};
pub use vrrp::{
    Authentication, Garp, InitialState, Notify, Scope, SyncGroup, TrackFileRef, TrackInterface,
    TrackProcessRef, TrackScript, VirtualIp, Vmac, VrrpInstance, VrrpVersion,
};

/// A whole keepalived configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// `global_defs`.
    pub global: GlobalDefs,
    /// `vrrp_script` blocks, in order.
    pub vrrp_scripts: Vec<VrrpScript>,
    /// `track_file` blocks, in order.
    pub track_files: Vec<TrackFile>,
    /// `vrrp_track_process` blocks, in order.
    pub track_processes: Vec<TrackProcess>,
    /// `vrrp_instance` blocks, in order.
    pub vrrp_instances: Vec<VrrpInstance>,
    /// `vrrp_sync_group` blocks, in order.
    pub sync_groups: Vec<SyncGroup>,
    /// `virtual_server_group` blocks, in order.
    pub virtual_server_groups: Vec<VirtualServerGroup>,
    /// `virtual_server` blocks, in order.
    pub virtual_servers: Vec<VirtualServer>,
}

impl Config {
    /// The instance called `name`.
    pub fn vrrp_instance(&self, name: &str) -> Option<&VrrpInstance> {
        self.vrrp_instances.iter().find(|i| i.name == name)
    }

    /// The `vrrp_script` called `name`.
    pub fn vrrp_script(&self, name: &str) -> Option<&VrrpScript> {
        self.vrrp_scripts.iter().find(|s| s.name == name)
    }

    /// The `virtual_server_group` called `name`.
    pub fn virtual_server_group(&self, name: &str) -> Option<&VirtualServerGroup> {
        self.virtual_server_groups.iter().find(|g| g.name == name)
    }

    /// The `track_file` called `name`.
    pub fn track_file(&self, name: &str) -> Option<&TrackFile> {
        self.track_files.iter().find(|t| t.name == name)
    }

    /// The `vrrp_track_process` called `name`.
    pub fn track_process(&self, name: &str) -> Option<&TrackProcess> {
        self.track_processes.iter().find(|t| t.name == name)
    }
}
