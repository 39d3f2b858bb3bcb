//! The timeline report renders in a real browser: headless Chromium
//! (Debian's package, installed by the README's test command) draws it,
//! the screenshot is not blank, and every lane is in the DOM.

use std::process::Command;

use vigil_sim::{embedded, scenario, world};

fn required() -> bool {
    std::env::var("VIGIL_REQUIRE_ROOT_TESTS").is_ok_and(|v| v == "1")
}

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser"]
        .into_iter()
        .find(|c| Command::new(c).arg("--version").output().is_ok())
}

#[test]
fn report_renders_in_headless_chromium() {
    let Some(browser) = chromium() else {
        assert!(
            !required(),
            "chromium is missing but VIGIL_REQUIRE_ROOT_TESTS=1"
        );
        eprintln!("SKIPPED: chromium not installed (scripts/test-all installs it)");
        return;
    };
    let s = scenario::load(&embedded::source(), embedded::SEED_SCENARIO).unwrap();
    let out = vigil_sim::run(&s, &world::Options::default()).unwrap();
    let html = vigil_sim::report::html(&s, &out.run, &out.verdict);
    assert!(!html.contains("<script"), "the report runs no script");

    let dir = std::env::temp_dir().join(format!("vigil-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let page = dir.join("report.html");
    std::fs::write(&page, &html).unwrap();
    let url = format!("file://{}", page.display());
    let profile = dir.join("profile");
    let common = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--window-size=1300,900",
    ];
    let shot = dir.join("shot.png");
    let o = Command::new(browser)
        .args(common)
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(&url)
        .output()
        .unwrap();
    assert!(
        shot.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let dom = Command::new(browser)
        .args(common)
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&dom.stdout).into_owned();

    // Every lane is in the DOM the browser built.
    for id in [
        "timeline",
        "lane-director-lb1",
        "lane-director-lb2",
        "lane-arp-client",
        "lane-rs-rs1",
        "lane-rs-rs2",
        "lane-client",
        "expectations",
        "invariants",
    ] {
        assert!(
            dom.contains(&format!("id=\"{id}\"")),
            "lane {id} missing from the rendered DOM"
        );
    }

    // The screenshot is not blank: many colours, much ink.
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let px = info.color_type.samples();
    let pixels = &buf[..info.buffer_size()];
    let mut colours = std::collections::BTreeSet::new();
    let mut ink = 0usize;
    let n = pixels.len() / px;
    for p in pixels.chunks(px) {
        colours.insert((p[0], p[1], p[2]));
        if p[0] < 200 || p[1] < 200 || p[2] < 200 {
            ink += 1;
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        colours.len() > 20,
        "{} colours: blank screenshot?",
        colours.len()
    );
    assert!(ink * 100 / n >= 5, "only {ink} of {n} pixels drawn");
}
