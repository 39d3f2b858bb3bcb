//! The verdict of a replay: every state change the real node made, when
//! Vigil's node made it, and the difference, judged against a tolerance.
//! The first disagreement is named; when the real node's own timing
//! departs from the RFC's (a peer that rounds its skew), the message
//! says so plainly. A replay that skipped frames of its instances, or saw
//! no state change of the real node it could check, is not checked: its
//! [`Outcome`] says so rather than pass.

use std::fmt::Write;
use std::net::IpAddr;
use std::time::Duration;

use vigil_core::vrrp::{Reason, State};

use super::engine::{Replayed, Transition, offset};
use super::observe::{Change, LifeCause, LifeKind, Observation, PeerAdvert};
use super::skip::{self, Skipped};
use super::{fmt_diff, fmt_offset};

/// How a row is judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Within the tolerance.
    Agree,
    /// Outside it, or made by one side only.
    Disagree,
    /// Given by how the replay started: not checked.
    Given,
    /// An input the replay took from the capture (stop, disappearance).
    Input,
    /// Timed from the daemon's start, which the capture does not show
    /// (estimated from its group join): shown, not checked.
    UnseenStart,
    /// Outside the tolerance, or made by one side only, after frames of
    /// the instance were skipped (they may explain it): shown, not judged.
    AfterSkip,
}

impl Status {
    fn name(self) -> &'static str {
        match self {
            Status::Agree => "ok",
            Status::Disagree => "DIFFERS",
            Status::Given => "given",
            Status::Input => "input",
            Status::UnseenStart => "unseen-start",
            Status::AfterSkip => "after-skip",
        }
    }
}

/// One row of the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// Instance name.
    pub instance: String,
    /// The change.
    pub change: String,
    /// When the real node made it (ns from the capture's start).
    pub capture: Option<i128>,
    /// When Vigil's node made it.
    pub vigil: Option<i128>,
    /// The capture's time since the last peer advert before it, and that peer.
    pub capture_since: Option<(Duration, IpAddr)>,
    /// Vigil's time since the last peer advert before it.
    pub vigil_since: Option<(Duration, IpAddr)>,
    /// The judgement.
    pub status: Status,
    /// The packet that shows the real change.
    pub packet: Option<usize>,
}

impl Row {
    /// Vigil's time minus the capture's.
    pub fn diff(&self) -> Option<i128> {
        Some(self.vigil? - self.capture?)
    }
}

/// The judged table.
#[derive(Clone, Debug)]
pub struct Verdict {
    /// Rows in time order.
    pub rows: Vec<Row>,
    /// The tolerance used.
    pub tolerance: Duration,
    /// The first disagreement, explained.
    pub first_disagreement: Option<String>,
    /// Frames of the replayed instances that could not be used.
    pub skipped: Vec<Skipped>,
}

/// What a replay concludes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Vigil agrees with the capture on every state change it could
    /// check, it checked at least one, and no frame of the replayed
    /// instances was skipped.
    Pass,
    /// Vigil disagrees with the capture before any skipped frame of the
    /// instance (wins over [`Outcome::NotChecked`]; later differences are
    /// [`Status::AfterSkip`]).
    Fail,
    /// No disagreement, but the replay cannot vouch for the capture:
    /// frames of the replayed instances were skipped, or no state change
    /// of the real node could be checked.
    NotChecked,
}

impl Outcome {
    /// The word the report ends with: `PASS`, `FAIL`, `NOT CHECKED`.
    pub fn word(self) -> &'static str {
        match self {
            Outcome::Pass => "PASS",
            Outcome::Fail => "FAIL",
            Outcome::NotChecked => "NOT CHECKED",
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.word())
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Master,
    Backup,
}

fn kind_of_change(c: Change) -> Option<Kind> {
    match c {
        Change::BecameMaster => Some(Kind::Master),
        Change::BecameBackup => Some(Kind::Backup),
        Change::Stopped | Change::Vanished => None,
    }
}

fn kind_of_transition(t: &Transition) -> Option<Kind> {
    match (t.from, t.to) {
        (_, State::Master) => Some(Kind::Master),
        (State::Master, State::Backup) => Some(Kind::Backup),
        _ => None,
    }
}

fn label(k: Kind) -> &'static str {
    match k {
        Kind::Master => "-> master",
        Kind::Backup => "master -> backup",
    }
}

fn since(peers: &[PeerAdvert], at: i128) -> Option<(Duration, IpAddr)> {
    peers
        .iter()
        .rev()
        .find(|p| (p.at.as_nanos() as i128) <= at)
        .map(|p| {
            (
                Duration::from_nanos((at - p.at.as_nanos() as i128) as u64),
                p.src,
            )
        })
}

/// Judges `replayed` against `obs` for the instances named `names`;
/// `skipped` are the frames of those instances the replay could not use.
pub fn judge(
    obs: &Observation,
    replayed: &Replayed,
    names: &[String],
    tolerance: Duration,
    skipped: Vec<Skipped>,
) -> Verdict {
    let mut rows = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let from = rows.len();
        let peers = &obs.peers[i];
        let real: Vec<_> = obs
            .changes
            .iter()
            .filter(|c| c.instance == i)
            .filter_map(|c| kind_of_change(c.change).map(|k| (k, c)))
            .collect();
        let vigil: Vec<_> = replayed
            .transitions
            .iter()
            .filter(|t| t.instance == i)
            .filter_map(|t| kind_of_transition(t).map(|k| (k, t)))
            .collect();
        let row = |k: Kind, capture: Option<i128>, vigil: Option<i128>, status, packet| Row {
            instance: name.clone(),
            change: label(k).to_string(),
            capture,
            vigil,
            capture_since: capture
                .filter(|_| k == Kind::Master)
                .and_then(|t| since(peers, t)),
            vigil_since: vigil
                .filter(|_| k == Kind::Master)
                .and_then(|t| since(peers, t)),
            status,
            packet,
        };
        let (mut a, mut b) = (0, 0);
        while a < real.len() || b < vigil.len() {
            match (real.get(a), vigil.get(b)) {
                (Some((rk, r)), Some((vk, v))) if rk == vk => {
                    let (ct, vt) = (r.at.as_nanos() as i128, offset(v.at));
                    let unseen = v
                        .from_start
                        .as_ref()
                        .is_some_and(|c| *c != LifeCause::Given);
                    let status = if r.given {
                        Status::Given
                    } else if unseen {
                        Status::UnseenStart
                    } else if (vt - ct).unsigned_abs() <= tolerance.as_nanos() {
                        Status::Agree
                    } else {
                        Status::Disagree
                    };
                    rows.push(row(*rk, Some(ct), Some(vt), status, Some(r.index)));
                    a += 1;
                    b += 1;
                }
                (Some((rk, r)), Some((_, v))) if (r.at.as_nanos() as i128) <= offset(v.at) => {
                    let st = if r.given {
                        Status::Given
                    } else {
                        Status::Disagree
                    };
                    rows.push(row(
                        *rk,
                        Some(r.at.as_nanos() as i128),
                        None,
                        st,
                        Some(r.index),
                    ));
                    a += 1;
                }
                (_, Some((vk, v))) => {
                    let st = if v
                        .from_start
                        .as_ref()
                        .is_some_and(|c| *c != LifeCause::Given)
                    {
                        Status::UnseenStart
                    } else {
                        Status::Disagree
                    };
                    rows.push(row(*vk, None, Some(offset(v.at)), st, None));
                    b += 1;
                }
                (Some((rk, r)), None) => {
                    let st = if r.given {
                        Status::Given
                    } else {
                        Status::Disagree
                    };
                    rows.push(row(
                        *rk,
                        Some(r.at.as_nanos() as i128),
                        None,
                        st,
                        Some(r.index),
                    ));
                    a += 1;
                }
                (None, None) => break,
            }
        }
        // Inputs: the real node stopped or disappeared; Vigil's node was
        // stopped or crashed with it.
        for c in obs.changes.iter().filter(|c| c.instance == i) {
            if kind_of_change(c.change).is_some() {
                continue;
            }
            let vt = match c.change {
                Change::Stopped => replayed
                    .transitions
                    .iter()
                    .find(|t| {
                        t.instance == i
                            && t.reason == Reason::Shutdown
                            && offset(t.at) >= c.at.as_nanos() as i128
                    })
                    .map(|t| offset(t.at)),
                Change::Vanished => obs
                    .life
                    .iter()
                    .find(|l| l.kind == LifeKind::Crash && l.at >= c.at)
                    .map(|l| l.at.as_nanos() as i128),
                _ => None,
            };
            rows.push(Row {
                instance: name.clone(),
                change: c.change.to_string(),
                capture: Some(c.at.as_nanos() as i128),
                vigil: vt,
                capture_since: None,
                vigil_since: None,
                status: Status::Input,
                packet: Some(c.index),
            });
        }
        // A difference at or after the instance's first skipped frame
        // may be the skipped frame's doing: not judged.
        if let Some(skip) = skipped
            .iter()
            .filter(|s| s.instance == i)
            .map(|s| s.first_at.as_nanos() as i128)
            .min()
        {
            for r in &mut rows[from..] {
                let latest = r.capture.max(r.vigil).unwrap_or(i128::MAX);
                if r.status == Status::Disagree && latest >= skip {
                    r.status = Status::AfterSkip;
                }
            }
        }
    }
    rows.sort_by_key(|r| (r.capture.or(r.vigil), r.vigil));
    let first_disagreement = rows
        .iter()
        .enumerate()
        .find(|(_, r)| r.status == Status::Disagree)
        .map(|(n, r)| explain(n + 1, r, tolerance));
    Verdict {
        rows,
        tolerance,
        first_disagreement,
        skipped,
    }
}

fn explain(n: usize, r: &Row, tolerance: Duration) -> String {
    let head = format!("#{n} {} {}", r.instance, r.change);
    match (r.capture, r.vigil) {
        (Some(c), Some(v)) => {
            let mut s = format!(
                "{head}: the capture has it at {}, Vigil at {}: Vigil {} by {} (tolerance {})",
                fmt_offset(c),
                fmt_offset(v),
                if v > c { "later" } else { "earlier" },
                fmt_diff((v - c).abs()).trim_start_matches('+'),
                fmt_diff(tolerance.as_nanos() as i128).trim_start_matches('+'),
            );
            if let (Some((cs, peer)), Some((vs, vpeer))) = (r.capture_since, r.vigil_since)
                && peer == vpeer
            {
                let _ = write!(
                    s,
                    "; the real node took over {} after {peer}'s last advert where the RFC's \
                     interval, which Vigil keeps, is {}: a disagreement of the peer with the \
                     RFC, by {}",
                    ms(cs),
                    ms(vs),
                    fmt_diff(cs.as_nanos() as i128 - vs.as_nanos() as i128)
                );
            }
            s
        }
        (Some(c), None) => format!(
            "{head}: the real node did it at {} (packet {}), Vigil's node never did",
            fmt_offset(c),
            r.packet.unwrap_or(0)
        ),
        (None, Some(v)) => format!(
            "{head}: Vigil's node did it at {}, the real node never did",
            fmt_offset(v)
        ),
        (None, None) => head,
    }
}

fn ms(d: Duration) -> String {
    fmt_diff(d.as_nanos() as i128)
        .trim_start_matches('+')
        .to_string()
}

impl Verdict {
    /// What the replay concludes.
    pub fn outcome(&self) -> Outcome {
        if self.first_disagreement.is_some() {
            Outcome::Fail
        } else if !self.skipped.is_empty() || self.matched() == 0 {
            Outcome::NotChecked
        } else {
            Outcome::Pass
        }
    }

    /// Whether the outcome is [`Outcome::Pass`] (never when not checked).
    pub fn passed(&self) -> bool {
        self.outcome() == Outcome::Pass
    }

    /// How many rows have `status`.
    pub fn count(&self, status: Status) -> usize {
        self.rows.iter().filter(|r| r.status == status).count()
    }

    /// The real node's state changes seen in the capture that Vigil's
    /// node made too, at the same place in the sequence: those timed
    /// within the tolerance (`ok`) and those whose timing rests on an
    /// unseen daemon start (`unseen-start` with both times).
    pub fn matched(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| match r.status {
                Status::Agree => true,
                Status::UnseenStart => r.capture.is_some() && r.vigil.is_some(),
                _ => false,
            })
            .count()
    }

    /// The report's last line: the outcome and why.
    pub fn conclusion(&self) -> String {
        let tolerance = ms(self.tolerance);
        let mut others = format!(
            "{} unseen-start, {} given, {} input",
            self.count(Status::UnseenStart),
            self.count(Status::Given),
            self.count(Status::Input),
        );
        if self.count(Status::AfterSkip) > 0 {
            let _ = write!(others, ", {} after-skip", self.count(Status::AfterSkip));
        }
        let checked = self.count(Status::Agree);
        let counts = format!("{checked} checked, {others}");
        match self.outcome() {
            Outcome::Fail => {
                let mut s = format!("FAIL: {}", self.first_disagreement.as_deref().unwrap_or(""));
                if !self.skipped.is_empty() {
                    let _ = write!(s, "; besides, {}", skip::describe(&self.skipped));
                }
                s
            }
            Outcome::NotChecked if !self.skipped.is_empty() => format!(
                "NOT CHECKED: {}; {checked} state change{} checked ({others})",
                skip::describe(&self.skipped),
                if checked == 1 { "" } else { "s" },
            ),
            Outcome::NotChecked => format!(
                "NOT CHECKED: the capture shows no state change of the real node that Vigil \
                 could check ({counts})"
            ),
            Outcome::Pass if checked == 0 => {
                let (s, its) = if self.matched() == 1 {
                    ("", "its")
                } else {
                    ("s", "their")
                };
                format!(
                    "PASS: Vigil's node makes the real node's {} state change{s} in the same \
                     order; {its} timing rests on the daemon's unseen start and is not checked \
                     ({counts})",
                    self.matched(),
                )
            }
            Outcome::Pass => format!(
                "PASS: Vigil agrees with the capture within {tolerance} on every state change it \
                 can check ({counts})"
            ),
        }
    }

    /// The table as aligned text.
    pub fn render(&self) -> String {
        let mut cells: Vec<Vec<String>> = vec![
            [
                "#",
                "instance",
                "change",
                "capture",
                "vigil",
                "diff",
                "since last peer advert (capture / vigil)",
                "verdict",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        ];
        for (n, r) in self.rows.iter().enumerate() {
            let opt = |t: Option<i128>| t.map_or_else(|| "never".to_string(), fmt_offset);
            let sinces = match (r.capture_since, r.vigil_since) {
                (None, None) => "-".to_string(),
                (c, v) => {
                    let peer = c.or(v).map(|x| x.1).expect("one is set");
                    format!(
                        "{} / {} ({peer})",
                        c.map_or_else(|| "-".to_string(), |x| ms(x.0)),
                        v.map_or_else(|| "-".to_string(), |x| ms(x.0))
                    )
                }
            };
            cells.push(vec![
                (n + 1).to_string(),
                r.instance.clone(),
                r.change.clone(),
                opt(r.capture),
                opt(r.vigil),
                r.diff().map_or_else(|| "-".to_string(), fmt_diff),
                sinces,
                r.status.name().to_string(),
            ]);
        }
        let widths: Vec<usize> = (0..cells[0].len())
            .map(|c| {
                cells
                    .iter()
                    .map(|row| row[c].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for row in &cells {
            let line: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(c, w)| format!("{c:<w$}"))
                .collect();
            let _ = writeln!(out, "{}", line.join("  ").trim_end());
        }
        out
    }
}
