//! The command line, spelled as keepalived 2.2.7 spells it.

use std::path::PathBuf;

use clap::Parser;

/// Where keepalived (and so vigild) reads its configuration by default.
pub const DEFAULT_CONFIG: &str = "/etc/keepalived/keepalived.conf";
/// The pid file when `-p` is not given: keepalived's, as a drop-in for it.
pub const DEFAULT_PID: &str = "/run/keepalived.pid";

/// vigild's options: keepalived's flags, with the same short and long
/// spellings. vigild is one process, so the per-child pid files are
/// accepted and written with the same pid.
#[derive(Clone, Debug, Parser)]
#[command(
    name = "vigild",
    version,
    disable_version_flag = true,
    about = "VRRP, health checks and IPVS from a keepalived.conf (a drop-in for keepalived)"
)]
pub struct Cli {
    /// Print the version and exit.
    #[arg(short = 'v', long = "version", action = clap::ArgAction::Version)]
    pub version: Option<bool>,
    /// Configuration file.
    #[arg(short = 'f', long = "use-file", default_value = DEFAULT_CONFIG)]
    pub use_file: PathBuf,
    /// Only run the VRRP side (no health checks, no IPVS).
    #[arg(short = 'P', long = "vrrp")]
    pub vrrp_only: bool,
    /// Only run health checks and IPVS (no VRRP).
    #[arg(short = 'C', long = "check")]
    pub check_only: bool,
    /// Log to the console (standard error).
    #[arg(short = 'l', long = "log-console")]
    pub log_console: bool,
    /// Detailed log: every probe and its result, rejected adverts.
    #[arg(short = 'D', long = "log-detail")]
    pub log_detail: bool,
    /// Syslog facility local0..local7 (0-7).
    #[arg(short = 'S', long = "log-facility", value_parser = clap::value_parser!(u8).range(0..=7))]
    pub log_facility: Option<u8>,
    /// Also log to this file.
    #[arg(short = 'g', long = "log-file", num_args = 0..=1, default_missing_value = "/tmp/keepalived.log")]
    pub log_file: Option<PathBuf>,
    /// Do not log to syslog.
    #[arg(short = 'G', long = "no-syslog")]
    pub no_syslog: bool,
    /// Stay in the foreground (vigild never forks; accepted for keepalived's
    /// command lines).
    #[arg(short = 'n', long = "dont-fork")]
    pub dont_fork: bool,
    /// Dump the parsed configuration to the log at start.
    #[arg(short = 'd', long = "dump-conf")]
    pub dump_conf: bool,
    /// Pid file.
    #[arg(short = 'p', long = "pid", default_value = DEFAULT_PID)]
    pub pid: PathBuf,
    /// VRRP child's pid file (vigild writes its own pid there).
    #[arg(short = 'r', long = "vrrp_pid")]
    pub vrrp_pid: Option<PathBuf>,
    /// Checker child's pid file (vigild writes its own pid there).
    #[arg(short = 'c', long = "checkers_pid")]
    pub checkers_pid: Option<PathBuf>,
    /// keepalived's config id: which `@ID` config lines to read (default:
    /// the host name up to its first dot).
    #[arg(short = 'i', long = "config-id", value_name = "ID")]
    pub config_id: Option<String>,
    /// Refuse a configuration with warnings (keepalived runs those with a
    /// fallback), at start and on reload.
    #[arg(long = "strict")]
    pub strict: bool,
    /// Check the configuration, print its diagnostics and exit (1 on error).
    #[arg(short = 't', long = "config-test")]
    pub config_test: bool,
    /// Leave the VIPs in place on exit (keepalived's --dont-release-vrrp).
    #[arg(short = 'V', long = "dont-release-vrrp")]
    pub dont_release_vrrp: bool,
    /// Leave the IPVS table in place on exit (keepalived's --dont-release-ipvs).
    #[arg(short = 'I', long = "dont-release-ipvs")]
    pub dont_release_ipvs: bool,
    /// Write what the director does (VRRP states, VIPs, IPVS ops,
    /// mastership) to this file as JSON lines, for test harnesses.
    #[arg(long = "events", value_name = "FILE")]
    pub events: Option<PathBuf>,
    /// Print the number of the signal for keepalived's function name
    /// (STOP, RELOAD, DATA, STATS, STATS_CLEAR, JSON) and exit.
    #[arg(long = "signum", value_name = "SIGFUNC")]
    pub signum: Option<String>,
    /// Skip the capability check (tests that run vigild unprivileged to see
    /// its error messages use it; nothing works without the capabilities).
    #[arg(long = "no-cap-check", hide = true)]
    pub no_cap_check: bool,
}

/// The signal keepalived 2.2.7 sends for a function name (its
/// `get_signum`, as Debian builds it: JSON, no TDUMP).
pub fn signum(name: &str) -> Option<i32> {
    Some(match name {
        "STOP" => libc::SIGTERM,
        "RELOAD" => libc::SIGHUP,
        "DATA" => libc::SIGUSR1,
        "STATS" => libc::SIGUSR2,
        "STATS_CLEAR" => libc::SIGRTMAX() - 1,
        "JSON" => libc::SIGRTMIN() + 2,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_numbers_as_keepalived_prints_them() {
        assert_eq!(signum("STOP"), Some(15));
        assert_eq!(signum("RELOAD"), Some(1));
        assert_eq!(signum("DATA"), Some(10));
        assert_eq!(signum("STATS"), Some(12));
        assert_eq!(signum("STATS_CLEAR"), Some(63));
        assert_eq!(signum("JSON"), Some(36));
        assert_eq!(signum("TDUMP"), None);
    }

    #[test]
    fn keepalived_spellings() {
        let c = Cli::try_parse_from([
            "vigild",
            "-f",
            "/tmp/k.conf",
            "-p",
            "/tmp/p",
            "-l",
            "-D",
            "-n",
            "-r",
            "/tmp/r",
            "-c",
            "/tmp/c",
        ])
        .unwrap();
        assert_eq!(c.use_file, PathBuf::from("/tmp/k.conf"));
        assert_eq!(c.pid, PathBuf::from("/tmp/p"));
        assert!(c.log_console && c.log_detail && c.dont_fork);
        let c = Cli::try_parse_from([
            "vigild",
            "--use-file=/a",
            "--pid=/b",
            "--log-console",
            "--log-detail",
            "--dont-fork",
            "--log-file=/tmp/x.log",
        ])
        .unwrap();
        assert_eq!(c.log_file, Some(PathBuf::from("/tmp/x.log")));
        let c = Cli::try_parse_from(["vigild"]).unwrap();
        assert_eq!(c.use_file, PathBuf::from(DEFAULT_CONFIG));
        assert_eq!(c.pid, PathBuf::from(DEFAULT_PID));
    }
}
