//! The scenario file as written (TOML), before validation.
//!
//! Values that need checking after parsing (durations, names, addresses)
//! keep their position ([`Spanned`]) so that errors name the line. The
//! keys each struct reads are also the keys the loader accepts: unknown
//! keys are all reported, with the nearest known one (see `keys`).

use serde::Deserialize;
use toml::Spanned;

/// A string value with its byte range in the file.
pub type Text = Spanned<String>;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Short name (defaults to the file stem).
    pub name: Option<String>,
    /// What the scenario shows.
    pub description: Option<String>,
    /// Seed of the simulated world (default 1).
    pub seed: Option<u64>,
    /// Simulated time to run: more than 0s, at most 24h (see
    /// [`super::limits`]).
    pub duration: Text,
    /// Tick of the simulator (default `1ms`).
    pub resolution: Option<Text>,
    /// Default link behaviour.
    #[serde(default)]
    pub network: NetworkFile,
    /// Directors, each running a keepalived.conf.
    #[serde(default)]
    pub director: Vec<DirectorFile>,
    /// Real servers.
    #[serde(default)]
    pub real_server: Vec<RealServerFile>,
    /// Clients sending requests to the VIP.
    #[serde(default)]
    pub client: Vec<ClientFile>,
    /// Scripted actions.
    #[serde(default)]
    pub timeline: Vec<ActionFile>,
    /// Checks of the outcome.
    #[serde(default)]
    pub expect: Vec<ExpectFile>,
    /// Nodes of captures replayed onto the segment.
    #[serde(default)]
    pub recorded_peer: Vec<super::recorded::RecordedPeerFile>,
}

/// `[network]`: defaults for every link.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkFile {
    /// One-way latency (default `100us`).
    pub latency: Option<Text>,
    /// Extra random latency up to this much (default `0ms`).
    pub jitter: Option<Text>,
    /// Datagram loss rate 0..1 on every link (default 0).
    pub loss: Option<Spanned<f64>>,
}

/// `[[director]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectorFile {
    /// Host name (`lb1`).
    pub name: Text,
    /// Its address on the segment.
    pub address: Text,
    /// keepalived.conf path, relative to the scenario file (or absolute).
    pub config: Text,
}

/// `[[real_server]]`: its address and port must be a `real_server` or
/// `sorry_server` of some director's config.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RealServerFile {
    /// Host name (`rs1`).
    pub name: Text,
    /// Its address.
    pub address: Text,
    /// HTTP port (default 80).
    pub port: Option<u16>,
    /// Page content it serves (default: its name).
    pub page: Option<String>,
}

/// `[[client]]`: its address may not be a virtual address of any
/// director's config, and its target must be one of their virtual
/// servers.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientFile {
    /// Host name.
    pub name: Text,
    /// Its address.
    pub address: Text,
    /// Requests per second.
    pub rate: Spanned<f64>,
    /// The virtual address and port it requests (default: the first
    /// virtual server of the first director's config).
    pub target: Option<Text>,
    /// Per-request timeout (default `1s`).
    pub timeout: Option<Text>,
}

/// `[[timeline]]`: one action at one time, within the run.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionFile {
    /// When.
    pub at: Text,
    /// What: crash, restart, stop, start, reload, partition, heal, loss, latency,
    /// link-down, link-up, drift, rs (real-server mode), script, file,
    /// process.
    pub action: Text,
    /// The host acted on.
    pub target: Option<Text>,
    /// Partition / loss / latency: the other side (a host name, or `*`).
    pub peer: Option<Text>,
    /// Partition: only from target to peer.
    #[serde(default)]
    pub oneway: bool,
    /// Loss rate 0..1.
    pub rate: Option<Spanned<f64>>,
    /// Latency / slow mode: a duration.
    pub delay: Option<Text>,
    /// Drift: factor applied to the director's clock (1.01 = 1% fast).
    pub factor: Option<Spanned<f64>>,
    /// Real-server mode: ok, hang, slow, status, body, refuse, udp-silent,
    /// dns-nxdomain, smtp-refuse, misc-exit.
    pub mode: Option<Text>,
    /// Real-server `status` mode: the code.
    pub status: Option<u16>,
    /// Real-server `body` mode: the wrong page.
    pub body: Option<String>,
    /// Real-server `misc-exit` mode: the MISC_CHECK scripts' exit status.
    pub exit: Option<Spanned<i64>>,
    /// link-down / link-up: one interface of the director (default: the
    /// whole host leaves the segment).
    pub interface: Option<Text>,
    /// script: the `vrrp_script` name.
    pub script: Option<Text>,
    /// script: `ok` or `fail`.
    pub result: Option<Text>,
    /// file: the tracked file's path.
    pub path: Option<Text>,
    /// file: what it holds from now on.
    pub content: Option<String>,
    /// process: the tracked process name.
    pub process: Option<Text>,
    /// process: `running` or `stopped`.
    pub state: Option<Text>,
    /// vip-removed: the virtual address deleted.
    pub address: Option<Text>,
}

/// `[[expect]]`: one check of the outcome. Its times fall within the run
/// and its windows are not empty; an expectation that sees nothing to
/// judge fails.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectFile {
    /// What: master, max-failover, success-ratio, in-table, single-master,
    /// vip-holder, state, priority, notify.
    pub check: Text,
    /// master, state, priority: the instance (master: default every one).
    pub instance: Option<Text>,
    /// state: master, backup or fault.
    pub state: Option<Text>,
    /// priority: the effective priority.
    pub value: Option<Spanned<i64>>,
    /// notify: program and leading arguments the call starts with.
    #[serde(default)]
    pub argv: Vec<String>,
    /// notify: the window `["from", "to"]` (default the whole run).
    pub within: Option<(Text, Text)>,
    /// Director (master, vip-holder, in-table).
    pub node: Option<Text>,
    /// Real server (in-table).
    pub server: Option<Text>,
    /// Point in time.
    pub at: Option<Text>,
    /// in-table: whether it should be there (default true).
    pub present: Option<bool>,
    /// in-table: the weight it should have (0: present, out of rotation).
    pub weight: Option<Spanned<i64>>,
    /// in-table: whose table, `master` (default) or `backup`.
    pub on: Option<Text>,
    /// max-failover: the bound.
    pub max: Option<Text>,
    /// success-ratio: the least acceptable ratio.
    pub min: Option<Spanned<f64>>,
    /// success-ratio: window start (default 0s), before `to`.
    pub from: Option<Text>,
    /// success-ratio: window end (default: the end of the run).
    pub to: Option<Text>,
    /// single-master: windows where two masters are allowed, as
    /// `["20s", "25s"]` pairs, the first time before the second.
    #[serde(default)]
    pub except: Vec<(Text, Text)>,
}
