//! `vigil`: run, check and replay keepalived failovers.

fn main() {
    eprintln!("vigil: no subcommands yet");
    std::process::exit(2);
}
