//! Weighted round robin (`ip_vs_wrr.c`): passes over the list with a
//! falling weight bar `cw`, from the highest weight down in steps of the
//! weights' greatest common divisor; each pass picks the destinations
//! whose weight reaches the bar.

use super::PoolDest;

/// The kernel's `ip_vs_wrr_mark`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Wrr {
    /// Current destination (`None` = list head).
    cl: Option<u64>,
    /// Current weight bar.
    cw: i32,
    /// Maximum weight, lowered by `di - 1` so the last pass is at 1.
    mw: i32,
    /// Step: gcd of the positive weights (1 if none).
    di: i32,
}

fn gcd(a: i32, b: i32) -> i32 {
    let (mut a, mut b) = (a, b);
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

fn gcd_weight(dests: &[PoolDest]) -> i32 {
    let mut g = 0;
    for d in dests {
        if d.weight > 0 {
            g = if g > 0 { gcd(d.weight, g) } else { d.weight };
        }
    }
    if g != 0 { g } else { 1 }
}

fn max_weight(dests: &[PoolDest]) -> i32 {
    dests.iter().map(|d| d.weight).fold(0, i32::max)
}

impl Wrr {
    /// `init_service`.
    pub(super) fn new(dests: &[PoolDest]) -> Wrr {
        let di = gcd_weight(dests);
        let mw = max_weight(dests) - (di - 1);
        Wrr {
            cl: None,
            cw: mw,
            mw,
            di,
        }
    }

    /// `dest_changed` (the add, delete and update hook): back to the head,
    /// with the bar kept where it can be.
    pub(super) fn changed(&mut self, dests: &[PoolDest]) {
        self.cl = None;
        self.di = gcd_weight(dests);
        self.mw = max_weight(dests) - (self.di - 1);
        if self.cw > self.mw || self.cw == 0 {
            self.cw = self.mw;
        } else if self.di > 1 {
            self.cw = (self.cw / self.di) * self.di + 1;
        }
    }

    /// `schedule`.
    pub(super) fn schedule(&mut self, dests: &[PoolDest]) -> Option<usize> {
        let pos = |id: Option<u64>| id.and_then(|id| dests.iter().position(|d| d.id == id));
        // `dest` in the kernel: a list position, None for the head.
        let mut dest = pos(self.cl);
        if self.mw == 0 {
            return None;
        }
        let last = dest;
        let mut stop: Option<usize> = None;
        let (mut last_pass, mut restarted) = (false, false);
        loop {
            let from = dest.map_or(0, |p| p + 1);
            for (i, d) in dests.iter().enumerate().skip(from) {
                if !d.overloaded && d.weight >= self.cw {
                    self.cl = Some(d.id);
                    return Some(i);
                }
                if stop == Some(i) {
                    self.cl = Some(d.id);
                    return None;
                }
            }
            dest = None;
            self.cw -= self.di;
            if self.cw <= 0 {
                self.cw = self.mw;
                if last_pass || last.is_none() {
                    self.cl = None;
                    return None;
                }
                restarted = true;
            }
            last_pass = self.cw <= self.di;
            if last_pass && restarted && last.is_some() {
                stop = last;
            }
        }
    }
}
