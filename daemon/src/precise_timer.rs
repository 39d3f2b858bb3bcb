//! A timer precise to tens of microseconds for VRRP deadlines.
//!
//! tokio's timer wheel has millisecond granularity and rounds deadlines
//! up, so a backup would take over up to 1 ms after its master-down
//! interval (and after keepalived, whose timers are microsecond-exact).
//! This timer arms a `CLOCK_MONOTONIC` timerfd at the exact deadline and
//! waits for it through tokio's reactor.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use tokio::io::unix::AsyncFd;

/// A one-shot timer on a timerfd.
pub struct PreciseTimer {
    fd: AsyncFd<OwnedFd>,
}

fn monotonic_now() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec into the pointer it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

impl PreciseTimer {
    /// A disarmed timer.
    pub fn new() -> io::Result<PreciseTimer> {
        // SAFETY: timerfd_create takes no pointers; a negative result is an error.
        let raw = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: raw is a freshly created descriptor owned by nothing else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: the OwnedFd stays open, and is the same descriptor, for as
        // long as the AsyncFd that owns it.
        let fd = unsafe { AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE) }?;
        Ok(PreciseTimer { fd })
    }

    /// Arms the timer for `deadline` (at once when it has passed).
    pub fn set(&self, deadline: Instant) -> io::Result<()> {
        let wait = deadline.saturating_duration_since(Instant::now());
        // A zero it_value disarms a timerfd: fire 1 ns from now instead.
        let at = monotonic_now() + wait.max(Duration::from_nanos(1));
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: at.as_secs() as libc::time_t,
                tv_nsec: at.subsec_nanos() as libc::c_long,
            },
        };
        // SAFETY: spec is a valid itimerspec; the old value is not wanted.
        let r = unsafe {
            libc::timerfd_settime(
                self.fd.as_raw_fd(),
                libc::TFD_TIMER_ABSTIME,
                &spec,
                std::ptr::null_mut(),
            )
        };
        if r < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    /// Waits until the armed deadline has passed.
    pub async fn wait(&self) -> io::Result<()> {
        loop {
            let mut guard = self.fd.readable().await?;
            let mut buf = [0u8; 8];
            // SAFETY: reads at most 8 bytes into an 8-byte buffer.
            let n = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n == 8 {
                return Ok(());
            }
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::WouldBlock {
                guard.clear_ready();
                continue;
            }
            return Err(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn fires_within_a_fraction_of_a_millisecond() {
        let t = PreciseTimer::new().unwrap();
        let mut worst = Duration::ZERO;
        for ms in [3u64, 7, 12] {
            let deadline = Instant::now() + Duration::from_micros(ms * 1000 + 300);
            t.set(deadline).unwrap();
            t.wait().await.unwrap();
            let late = Instant::now().saturating_duration_since(deadline);
            assert!(Instant::now() >= deadline, "fired early");
            worst = worst.max(late);
        }
        // Generous for a loaded CI machine, still below tokio's 1 ms rounding.
        assert!(worst < Duration::from_millis(5), "late by {worst:?}");
    }

    #[tokio::test]
    async fn past_deadline_fires_at_once() {
        let t = PreciseTimer::new().unwrap();
        t.set(Instant::now() - Duration::from_secs(1)).unwrap();
        tokio::time::timeout(Duration::from_secs(1), t.wait())
            .await
            .unwrap()
            .unwrap();
    }
}
