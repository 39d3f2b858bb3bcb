//! `--events FILE`: what the director did, as JSON lines
//! ([`vigil_core::director::stream::Line`]), for programs that judge
//! vigild (the namespace harness) to read without parsing log text.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use vigil_core::director::Output;
pub use vigil_core::director::stream::Line;

use crate::clock::Clock;

/// The event stream: shared by both sides; writes nothing when no file
/// was given.
#[derive(Clone, Debug)]
pub struct Events {
    file: Option<Arc<Mutex<File>>>,
    clock: Clock,
}

impl Events {
    /// No stream.
    pub fn none(clock: Clock) -> Events {
        Events { file: None, clock }
    }

    /// A stream appended to `path` (created if missing).
    pub fn open(path: &Path, clock: Clock) -> std::io::Result<Events> {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(Events {
            file: Some(Arc::new(Mutex::new(f))),
            clock,
        })
    }

    /// Records `out` if it is something the stream carries.
    pub fn output(&self, out: &Output) {
        if self.file.is_none() {
            return;
        }
        if let Some(l) = Line::of(self.clock.now(), out) {
            self.write(&l);
        }
    }

    fn write(&self, l: &Line) {
        let Some(f) = &self.file else { return };
        let Ok(mut text) = serde_json::to_string(l) else {
            return;
        };
        text.push('\n');
        if let Ok(mut f) = f.lock()
            && let Err(e) = f.write_all(text.as_bytes())
        {
            tracing::warn!("event stream: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_core::vrrp::{self, EventKind, Reason, State};

    #[test]
    fn lines_read_back() {
        let l = Line {
            vrrp: Some(vrrp::Event {
                instance: "apache".into(),
                kind: EventKind::State {
                    from: State::Backup,
                    to: State::Master,
                    reason: Reason::MasterDownTimeout,
                    priority: 100,
                },
            }),
            ..Line::at(12.5)
        };
        let text = serde_json::to_string(&l).unwrap();
        assert!(!text.contains('\n'));
        assert_eq!(serde_json::from_str::<Line>(&text).unwrap(), l);
    }
}
