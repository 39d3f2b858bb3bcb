//! `vigil check-config [--strict] [-i ID] [--dump | --table] FILE`: parse a
//! keepalived.conf (with its includes) and report every diagnostic as
//! `FILE:LINE:COL: error|warning: message`; exit 0 when the config can
//! run (warnings allowed, as keepalived runs it), 1 when it has errors,
//! or with `--strict` any warning.

use std::process::ExitCode;

use vigil_core::config::{self, source::FsSource};
use vigil_core::ipvs;

/// Arguments of `vigil check-config`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print the normalised config as keepalived.conf text instead of the summary.
    #[arg(long, conflicts_with = "table")]
    pub dump: bool,
    /// Print the IPVS table the config asks for when every real server is
    /// healthy, exactly as `ipvsadm -Ln` shows it.
    #[arg(long)]
    pub table: bool,
    /// Treat every warning as an error (exit 1): for CI, where a config
    /// keepalived runs only with a fallback should not land.
    #[arg(long)]
    pub strict: bool,
    /// keepalived's `-i`/`--config-id`: which `@ID` lines to read
    /// (default: this host's name up to the first dot, as keepalived).
    #[arg(short = 'i', long = "config-id", value_name = "ID")]
    pub config_id: Option<String>,
    /// The keepalived.conf to check.
    pub file: String,
}

/// Runs the subcommand.
pub fn run(args: Args) -> ExitCode {
    let opts = config::ParseOptions {
        config_id: args.config_id.clone().or_else(config::host_config_id),
    };
    let parsed = config::parse_with(&FsSource, &args.file, &opts);
    for d in &parsed.diagnostics {
        eprintln!("{d}");
    }
    let warnings =
        parsed.diagnostics.len() - parsed.diagnostics.iter().filter(|d| d.is_error()).count();
    if args.strict && parsed.config.is_some() && warnings > 0 {
        eprintln!(
            "{}: {warnings} warning{}; --strict refuses them (keepalived would run with the fallbacks above)",
            args.file,
            if warnings == 1 { "" } else { "s" }
        );
        return ExitCode::from(1);
    }
    let Some(cfg) = parsed.config else {
        let errors = parsed.diagnostics.iter().filter(|d| d.is_error()).count();
        eprintln!(
            "{}: {errors} error{}; the config cannot run",
            args.file,
            if errors == 1 { "" } else { "s" }
        );
        return ExitCode::from(1);
    };
    if args.table {
        let table = ipvs::desired(&cfg, &ipvs::Health::all_up(&cfg));
        print!("{}", ipvs::ipvsadm_ln(&table));
    } else if args.dump {
        print!("{}", config::dump(&cfg));
    } else {
        println!("{}", config::summary(&cfg));
    }
    ExitCode::SUCCESS
}
