//! The daemon: configuration, pid files, the VRRP and check threads, and
//! the signals that drive them (SIGHUP reload, SIGTERM/SIGINT stop,
//! SIGUSR2 counters).

use std::sync::Arc;

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, oneshot, watch};
use vigil_core::config::{self, Config, Severity, source::FsSource};

use crate::check_task::{self, Checks};
use crate::cli::Cli;
use crate::clock::Clock;
use crate::events::Events;
use crate::ipvs_backend;
use crate::log;
use crate::pidfile::PidFile;
use crate::vrrp_task;

/// Exit status for a configuration or environment that cannot run.
pub const EXIT_CONFIG: i32 = 1;

/// Parses the configuration file `cli` names, logging every diagnostic;
/// the config when it has no error (and, with `--strict`, no warning).
pub fn load(cli: &Cli, context: &str) -> Option<Config> {
    let opts = config::ParseOptions {
        config_id: cli.config_id.clone().or_else(config::host_config_id),
    };
    let parsed = config::parse_with(&FsSource, &cli.use_file.to_string_lossy(), &opts);
    let strict = cli.strict && parsed.config.is_some();
    for d in &parsed.diagnostics {
        match d.severity {
            Severity::Warning if strict => {
                tracing::error!(target: log::DIAG_TARGET, "{context}{d} (--strict)")
            }
            Severity::Error => tracing::error!(target: log::DIAG_TARGET, "{context}{d}"),
            Severity::Warning => tracing::warn!(target: log::DIAG_TARGET, "{context}{d}"),
        }
    }
    if strict && !parsed.diagnostics.is_empty() {
        return None;
    }
    parsed.config
}

/// Runs vigild as `cli` says; the process exit status.
pub fn run(cli: Cli) -> i32 {
    if let Some(name) = &cli.signum {
        return match crate::cli::signum(name) {
            Some(n) => {
                println!("{n}");
                0
            }
            None => {
                eprintln!("Unknown sigfunc {name}");
                1
            }
        };
    }
    let sinks = match log::Sinks::open(
        cli.log_console || cli.config_test,
        cli.log_file.as_deref(),
        !cli.no_syslog && !cli.config_test,
        cli.log_facility,
    ) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("vigild: cannot open log file: {e}");
            return EXIT_CONFIG;
        }
    };
    log::init(sinks, cli.log_detail);

    let Some(cfg) = load(&cli, "") else {
        tracing::error!(
            "configuration {} has errors; not starting",
            cli.use_file.display()
        );
        return EXIT_CONFIG;
    };
    if cli.config_test {
        tracing::info!("configuration {} is valid", cli.use_file.display());
        return 0;
    }
    if cli.dump_conf {
        for line in config::dump(&cfg).lines() {
            tracing::info!("conf | {line}");
        }
    }
    // keepalived starts its VRRP and checker children whatever the config
    // holds (unless --vrrp / --check); one with nothing to run idles until
    // a reload gives it something.
    let run_vrrp = !cli.check_only;
    let run_check = !cli.vrrp_only;
    if (!run_vrrp || cfg.vrrp_instances.is_empty())
        && (!run_check || cfg.virtual_servers.is_empty())
    {
        tracing::warn!(
            "configuration {} has nothing to run (no vrrp_instance{}, no virtual_server{}); idle until a reload (SIGHUP) gives it something, as keepalived does",
            cli.use_file.display(),
            if cli.check_only { " wanted" } else { "" },
            if cli.vrrp_only { " wanted" } else { "" }
        );
    }
    if !cli.no_cap_check {
        let missing = crate::caps::effective().map_or(vec!["(unknown)"], crate::caps::missing);
        if !missing.is_empty() {
            tracing::error!(
                "vigild needs CAP_NET_ADMIN and CAP_NET_RAW; missing: {} (run as root or grant them)",
                missing.join(", ")
            );
            return EXIT_CONFIG;
        }
    }
    let mut pidfiles = Vec::new();
    for p in [
        Some(&cli.pid),
        cli.vrrp_pid.as_ref(),
        cli.checkers_pid.as_ref(),
    ]
    .into_iter()
    .flatten()
    {
        match PidFile::create(p) {
            Ok(f) => pidfiles.push(f),
            Err(e) => {
                tracing::error!("pid file {}: {e}", p.display());
                return EXIT_CONFIG;
            }
        }
    }
    raise_nofile();
    tracing::info!(
        "vigild {} starting: config {} pid {}",
        env!("CARGO_PKG_VERSION"),
        cli.use_file.display(),
        std::process::id()
    );
    let code = supervise(&cli, Arc::new(cfg), run_vrrp, run_check);
    drop(pidfiles);
    code
}

/// Tells systemd `state` when it started vigild with a notify socket
/// (nothing otherwise).
fn notify(state: &[sd_notify::NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(false, state) {
        tracing::warn!("sd_notify: {e}");
    }
}

/// Says READY=1 again when dropped: the end of a reload, whichever way
/// it ended.
struct Ready;

impl Drop for Ready {
    fn drop(&mut self) {
        notify(&[sd_notify::NotifyState::Ready]);
    }
}

/// Raises the soft open-file limit to the hard one: every probe in flight
/// holds a socket.
fn raise_nofile() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE)
        && soft < hard
        && let Err(e) = setrlimit(Resource::RLIMIT_NOFILE, hard, hard)
    {
        tracing::warn!("cannot raise the open-file limit from {soft} to {hard}: {e}");
    }
}

struct Sides {
    vrrp: Option<(
        mpsc::UnboundedSender<vrrp_task::Command>,
        std::thread::JoinHandle<()>,
    )>,
    check: Option<(
        mpsc::UnboundedSender<check_task::Command>,
        std::thread::JoinHandle<()>,
    )>,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

fn supervise(cli: &Cli, cfg: Arc<Config>, run_vrrp: bool, run_check: bool) -> i32 {
    let clock = Clock::start();
    let events = match &cli.events {
        None => Events::none(clock),
        Some(p) => match Events::open(p, clock) {
            Ok(e) => e,
            Err(e) => {
                tracing::error!("event stream {}: {e}", p.display());
                return EXIT_CONFIG;
            }
        },
    };
    // The runtime of the signal loop; the notify FIFOs open on it (their
    // scripts run there) before either side starts, as keepalived opens
    // them before its first state line.
    let rt = runtime();
    {
        let _on = rt.enter();
        crate::fifo::open(&cfg, &crate::script::Policy::of(&cfg));
    }
    let (master_tx, master_rx) = watch::channel(false);
    let mut sides = Sides {
        vrrp: None,
        check: None,
    };
    if run_vrrp {
        let (tx, rx) = mpsc::unbounded_channel();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
        let c = cfg.clone();
        let ev = events.clone();
        let h = std::thread::Builder::new()
            .name("vrrp".into())
            .spawn(move || {
                runtime().block_on(async move {
                    match vrrp_task::setup(c, clock, master_tx, ev).await {
                        Ok((v, ch)) => {
                            let _ = ready_tx.send(Ok(()));
                            v.run(rx, ch).await;
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                        }
                    }
                })
            })
            .expect("spawn the vrrp thread");
        match ready_rx.recv() {
            Ok(Ok(())) => sides.vrrp = Some((tx, h)),
            Ok(Err(e)) => {
                tracing::error!("cannot run: {e}");
                let _ = h.join();
                crate::fifo::close();
                return EXIT_CONFIG;
            }
            Err(_) => {
                tracing::error!("cannot run: the VRRP thread failed to start");
                crate::fifo::close();
                return EXIT_CONFIG;
            }
        }
    } else {
        drop(master_tx);
    }
    if run_check {
        let backend = ipvs_backend::choose();
        if !backend.programs_kernel() && !cfg.virtual_servers.is_empty() {
            let why = ipvs_backend::kernel_ipvs().err().unwrap_or_else(|| {
                "the kernel has IPVS but its generic-netlink family could not be opened".into()
            });
            tracing::warn!(
                "ipvs unavailable: {why}; running VRRP and health checks only (as keepalived --vrrp \
                 would), logging the table vigild would program"
            );
        }
        let (tx, rx) = mpsc::unbounded_channel();
        let c = cfg.clone();
        let detail = cli.log_detail;
        let h = std::thread::Builder::new()
            .name("check".into())
            .spawn(move || {
                runtime().block_on(async move {
                    let (checks, receivers) = Checks::start(c, backend, clock, detail, events);
                    checks.run(rx, receivers, master_rx).await;
                })
            })
            .expect("spawn the check thread");
        sides.check = Some((tx, h));
    }
    rt.block_on(signals(cli, cfg, sides))
}

async fn signals(cli: &Cli, mut cfg: Arc<Config>, sides: Sides) -> i32 {
    // Every signal keepalived 2.2.7 acts on is handled: none of them may
    // end vigild without its graceful stop.
    let rt = |off: i32| SignalKind::from_raw(off);
    let (mut term, mut int, mut hup, mut usr1, mut usr2, mut json, mut clear, mut tdump) = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
        signal(SignalKind::user_defined1()),
        signal(SignalKind::user_defined2()),
        signal(rt(libc::SIGRTMIN() + 2)),
        signal(rt(libc::SIGRTMAX() - 1)),
        signal(rt(libc::SIGRTMAX())),
    ) {
        (Ok(a), Ok(b), Ok(c), Ok(d), Ok(e), Ok(f), Ok(g), Ok(h)) => (a, b, c, d, e, f, g, h),
        _ => {
            tracing::error!("cannot install signal handlers");
            return EXIT_CONFIG;
        }
    };
    // systemd (Type=notify, as Debian's keepalived.service): ready once
    // the first configuration runs; a watchdog ping at half its period
    // when the unit sets one.
    notify(&[
        sd_notify::NotifyState::Ready,
        sd_notify::NotifyState::Status("running"),
    ]);
    let mut wd_usec = 0u64;
    let watchdog = sd_notify::watchdog_enabled(false, &mut wd_usec);
    let mut wd_tick = tokio::time::interval(std::time::Duration::from_micros(
        (wd_usec / 2).max(1_000_000),
    ));
    let dump = |kind: vrrp_task::Dump| {
        if let Some((tx, _)) = &sides.vrrp {
            let _ = tx.send(vrrp_task::Command::Dump(kind));
        }
    };
    loop {
        tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = usr1.recv() => dump(vrrp_task::Dump::Data),
            _ = usr2.recv() => {
                dump(vrrp_task::Dump::Stats);
                if let Some((tx, _)) = &sides.check {
                    let _ = tx.send(check_task::Command::Stats);
                }
            }
            _ = json.recv() => dump(vrrp_task::Dump::Json),
            _ = clear.recv() => dump(vrrp_task::Dump::StatsClear),
            _ = tdump.recv() => tracing::info!("thread dump requested (SIGRTMAX): vigild has no thread dump; ignored"),
            _ = wd_tick.tick(), if watchdog => notify(&[sd_notify::NotifyState::Watchdog]),
            _ = hup.recv() => {
                let mut reloading = vec![sd_notify::NotifyState::Reloading];
                if let Ok(m) = sd_notify::NotifyState::monotonic_usec_now() {
                    reloading.push(m);
                }
                notify(&reloading);
                let _ready = Ready;
                tracing::info!("reload requested (SIGHUP): checking {}", cli.use_file.display());
                let Some(new) = load(cli, "reload refused: ") else {
                    tracing::error!("reload refused: {} is not accepted (above); the running configuration stays", cli.use_file.display());
                    continue;
                };
                let new = Arc::new(new);
                if let Some((tx, _)) = &sides.vrrp {
                    let (rtx, rrx) = oneshot::channel();
                    let _ = tx.send(vrrp_task::Command::Reload(new.clone(), rtx));
                    match rrx.await {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => {
                            tracing::error!("reload refused: {e}; the running configuration stays");
                            continue;
                        }
                        Err(_) => {
                            tracing::error!("reload: the VRRP side is gone");
                            continue;
                        }
                    }
                }
                // keepalived closes and reopens its FIFOs on a reload.
                crate::fifo::open(&new, &crate::script::Policy::of(&new));
                if let Some((tx, _)) = &sides.check {
                    let _ = tx.send(check_task::Command::Reload(new.clone()));
                }
                cfg = new;
                tracing::info!("reload done");
            }
        }
    }
    let _ = &cfg;
    notify(&[sd_notify::NotifyState::Stopping]);
    tracing::info!("stopping");
    let Sides { vrrp, check } = sides;
    let mut joins = Vec::new();
    // The VRRP side first: its priority-0 adverts start the backup's
    // takeover at once; then the check side releases the IPVS table.
    // One after the other, so that the stop reads the same every time.
    if let Some((tx, h)) = vrrp {
        let (d, w) = oneshot::channel();
        let _ = tx.send(vrrp_task::Command::Shutdown {
            keep_vips: cli.dont_release_vrrp,
            done: d,
        });
        let _ = tokio::time::timeout(std::time::Duration::from_secs(30), w).await;
        joins.push(h);
    }
    if let Some((tx, h)) = check {
        let (d, w) = oneshot::channel();
        let _ = tx.send(check_task::Command::Shutdown {
            keep_ipvs: cli.dont_release_ipvs,
            done: d,
        });
        let _ = tokio::time::timeout(std::time::Duration::from_secs(30), w).await;
        joins.push(h);
    }
    // After the last line (the instances' STOP).
    crate::fifo::close();
    tracing::info!("stopped");
    // The side threads end with their runtimes; do not wait on stuck probes.
    drop(joins);
    0
}
