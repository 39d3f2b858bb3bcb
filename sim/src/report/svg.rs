//! A tiny SVG canvas with a time axis: lanes, bars, markers, a polyline.

use std::fmt::Write;
use std::time::Duration;

use vigil_core::time::Instant;

/// Escapes text for HTML and SVG.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const LEFT: f64 = 120.0;
const WIDTH: f64 = 1200.0;

/// An SVG being drawn, time running left to right.
pub struct Canvas {
    span: f64,
    body: String,
}

impl Canvas {
    /// A canvas for a run of `span`.
    pub fn new(span: Duration) -> Canvas {
        Canvas {
            span: span.as_secs_f64().max(1e-3),
            body: String::new(),
        }
    }

    /// The canvas width in pixels.
    pub fn width(&self) -> f64 {
        WIDTH
    }

    fn x(&self, t: Instant) -> f64 {
        LEFT + (WIDTH - LEFT - 10.0) * (t.since_origin().as_secs_f64() / self.span).min(1.0)
    }

    /// Starts a lane at `y` with a label and a tooltip.
    pub fn lane(&mut self, id: &str, y: f64, label: &str, what: &str) {
        let _ = writeln!(
            self.body,
            "<g id=\"{}\"><title>{}</title><text x=\"4\" y=\"{:.1}\" font-size=\"12\">{}</text><rect x=\"{LEFT}\" y=\"{:.1}\" width=\"{:.1}\" height=\"18\" fill=\"#f1f3f4\"/></g>",
            esc(id),
            esc(what),
            y + 13.0,
            esc(label),
            y,
            WIDTH - LEFT - 10.0
        );
    }

    /// A bar from `a` to `b` at `y`, `h` high.
    pub fn bar(&mut self, y: f64, h: f64, a: Instant, b: Instant, fill: &str, title: &str) {
        let (x0, x1) = (self.x(a), self.x(b));
        let _ = writeln!(
            self.body,
            "<rect x=\"{x0:.2}\" y=\"{y:.1}\" width=\"{:.2}\" height=\"{h:.1}\" fill=\"{fill}\"><title>{}</title></rect>",
            (x1 - x0).max(0.8),
            esc(title)
        );
    }

    /// Text at a point.
    pub fn text(&mut self, x: f64, y: f64, text: &str, class: &str) {
        let _ = writeln!(
            self.body,
            "<text x=\"{x:.1}\" y=\"{y:.1}\" class=\"{class}\">{}</text>",
            esc(text)
        );
    }

    /// A dashed vertical marker at `t` from `y0` to `y1`, labelled.
    pub fn marker(&mut self, t: Instant, y0: f64, y1: f64, label: &str) {
        let x = self.x(t);
        let _ = writeln!(
            self.body,
            "<g class=\"fault\"><line x1=\"{x:.2}\" y1=\"{y0:.1}\" x2=\"{x:.2}\" y2=\"{y1:.1}\" stroke=\"#b00\" stroke-dasharray=\"4 3\"/><text x=\"{:.1}\" y=\"{:.1}\" class=\"small\" transform=\"rotate(-25 {x:.1} {:.1})\">{}</text><title>{} at {t}</title></g>",
            x + 2.0,
            y0 - 2.0,
            y0 - 2.0,
            esc(label),
            esc(label)
        );
    }

    /// A line through `points` (time, value) scaled so that `top` fills `h`.
    pub fn polyline(&mut self, y: f64, h: f64, points: &[(Instant, f64)], top: f64, stroke: &str) {
        let pts: Vec<String> = points
            .iter()
            .map(|(t, v)| format!("{:.1},{:.1}", self.x(*t), y + h - h * (v / top).min(1.0)))
            .collect();
        let _ = writeln!(
            self.body,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{stroke}\" stroke-width=\"1\"/>",
            pts.join(" ")
        );
    }

    /// The time axis at `y`.
    pub fn axis(&mut self, y: f64) {
        let _ = writeln!(
            self.body,
            "<line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#555\"/>",
            WIDTH - 10.0
        );
        let step = [1u64, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600]
            .into_iter()
            .find(|s| self.span / (*s as f64) <= 12.0)
            .unwrap_or(3600);
        let mut t = 0u64;
        while (t as f64) <= self.span {
            let x = self.x(Instant::from_secs(t));
            let _ = writeln!(
                self.body,
                "<line x1=\"{x:.1}\" y1=\"{y:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#555\"/><text x=\"{x:.1}\" y=\"{:.1}\" class=\"small\" text-anchor=\"middle\">{t}s</text>",
                y + 4.0,
                y + 16.0
            );
            t += step;
        }
    }

    /// The whole SVG element, `height` high.
    pub fn finish(self, height: f64) -> String {
        format!(
            "<svg id=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height:.0}\" viewBox=\"0 0 {WIDTH} {height:.0}\">\n{}</svg>\n",
            self.body
        )
    }
}
