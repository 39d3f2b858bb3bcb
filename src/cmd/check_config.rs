//! `vigil check-config [--dump | --table] FILE`: parse a keepalived.conf
//! (with its includes) and report every diagnostic as
//! `FILE:LINE:COL: error|warning: message`; exit 0 when the config can
//! run (warnings allowed), 1 when it has errors.

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
    /// The keepalived.conf to check.
    pub file: String,
}

/// Runs the subcommand.
pub fn run(args: Args) -> ExitCode {
    let parsed = config::parse(&FsSource, &args.file);
    for d in &parsed.diagnostics {
        eprintln!("{d}");
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
