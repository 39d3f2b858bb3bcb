//! Logging: one line per event through `tracing`, to the console (`-l`),
//! a file (`-g`) and syslog (unless `-G`).
//!
//! Core's trace events are logged with their `Display` rendering, the
//! simulator's vocabulary: `vrrp/apache state from=backup to=master ...`.
//! Lines are `TIME message`, with `warning: ` or `error: ` before the
//! message for those levels.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::registry::LookupSpan;
use vigil_core::trace;

/// Where log lines go.
#[derive(Clone, Debug, Default)]
pub struct Sinks {
    /// Standard error.
    pub console: bool,
    /// An append-only file.
    pub file: Option<Arc<Mutex<File>>>,
    /// The local syslog socket (`/dev/log`) and the facility number.
    pub syslog: Option<(Arc<UnixDatagram>, u8)>,
}

impl Sinks {
    /// Opens the sinks the options ask for. A log file that cannot be
    /// opened is an error; a missing syslog socket is not (it is skipped).
    pub fn open(
        console: bool,
        file: Option<&Path>,
        syslog: bool,
        facility: Option<u8>,
    ) -> io::Result<Sinks> {
        let file = match file {
            Some(p) => Some(Arc::new(Mutex::new(
                OpenOptions::new().create(true).append(true).open(p)?,
            ))),
            None => None,
        };
        let syslog = if syslog {
            UnixDatagram::unbound()
                .and_then(|s| s.connect("/dev/log").map(|_| s))
                .ok()
                .map(|s| (Arc::new(s), facility.map_or(3, |f| 16 + f)))
        } else {
            None
        };
        Ok(Sinks {
            console,
            file,
            syslog,
        })
    }
}

/// The `tracing` target of configuration diagnostics, which render as
/// `FILE:LINE:COL: error|warning: message` themselves.
pub const DIAG_TARGET: &str = "vigild::diag";

/// One formatted line being written to every sink.
pub struct LineWriter {
    sinks: Sinks,
    level: Level,
}

impl Write for LineWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.sinks.console {
            let _ = io::stderr().write_all(buf);
        }
        if let Some(f) = &self.sinks.file
            && let Ok(mut f) = f.lock()
        {
            let _ = f.write_all(buf);
        }
        if let Some((s, facility)) = &self.sinks.syslog {
            let severity = match self.level {
                Level::ERROR => 3,
                Level::WARN => 4,
                Level::INFO => 6,
                _ => 7,
            };
            // Skip our own timestamp: syslog adds one.
            let text = String::from_utf8_lossy(buf);
            let msg = text.split_once(' ').map_or(&*text, |(_, m)| m).trim_end();
            let line = format!(
                "<{}>vigild[{}]: {msg}",
                u32::from(*facility) * 8 + severity,
                std::process::id()
            );
            let _ = s.send(line.as_bytes());
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Sinks {
    type Writer = LineWriter;

    fn make_writer(&'a self) -> LineWriter {
        LineWriter {
            sinks: self.clone(),
            level: Level::INFO,
        }
    }

    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> LineWriter {
        LineWriter {
            sinks: self.clone(),
            level: *meta.level(),
        }
    }
}

/// `TIME [warning: |error: ]message`.
struct LineFormat;

impl<S, N> FormatEvent<S, N> for LineFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        write!(w, "{} ", Timestamp(SystemTime::now()))?;
        // Config diagnostics carry their own severity word.
        if event.metadata().target() != DIAG_TARGET {
            match *event.metadata().level() {
                Level::ERROR => w.write_str("error: ")?,
                Level::WARN => w.write_str("warning: ")?,
                _ => {}
            }
        }
        ctx.field_format().format_fields(w.by_ref(), event)?;
        writeln!(w)
    }
}

/// Installs the global subscriber: info and above, debug with `detail`.
pub fn init(sinks: Sinks, detail: bool) {
    let level = if detail { Level::DEBUG } else { Level::INFO };
    let sub = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(sinks)
        .with_ansi(false)
        .event_format(LineFormat)
        .finish();
    let _ = tracing::subscriber::set_global_default(sub);
}

/// Logs a core trace event, one line in the simulator's vocabulary (an
/// IPVS table that cannot be brought in line as an error).
pub fn event(e: &trace::Event) {
    match e {
        trace::Event::Ipvs(
            vigil_core::ipvs::Event::Stuck(_) | vigil_core::ipvs::Event::Refused { .. },
        ) => {
            tracing::error!("{e}")
        }
        _ => tracing::info!("{e}"),
    }
}

/// A wall-clock time rendered as RFC 3339 UTC with milliseconds.
pub struct Timestamp(pub SystemTime);

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0.duration_since(UNIX_EPOCH).unwrap_or_default();
        let secs = d.as_secs();
        let (days, rem) = (secs / 86_400, secs % 86_400);
        let (y, m, day) = civil(days as i64);
        write!(
            f,
            "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
            rem / 3600,
            rem / 60 % 60,
            rem % 60,
            d.subsec_millis()
        )
    }
}

/// Days since 1970-01-01 to (year, month, day) (Howard Hinnant's algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps() {
        let t = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        assert_eq!(Timestamp(t).to_string(), "2023-11-14T22:13:20.123Z");
        assert_eq!(
            Timestamp(UNIX_EPOCH).to_string(),
            "1970-01-01T00:00:00.000Z"
        );
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(&Timestamp(leap).to_string()[..10], "2000-02-29");
    }
}
