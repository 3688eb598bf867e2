//! The HTML report in a real headless browser (Chromium, which `scripts/test.sh` installs from
//! the distribution's packages): at 1280 px nothing is wider than the page, every table opened,
//! and the summary's cards are on the first screen. A screenshot is taken as a person would see
//! it.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use tempfile::TempDir;

use common::{bundled_trace, overrun};

const WIDTH: u32 = 1280;
const HEIGHT: u32 = 900;

/// The browser: `OVERRUN_TEST_CHROMIUM`, else `chromium` on the PATH. Missing is a failure, not a
/// skip: the script that runs the tests installs it.
fn chromium() -> PathBuf {
    if let Ok(path) = std::env::var("OVERRUN_TEST_CHROMIUM") {
        return path.into();
    }
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("chromium"))
        .find(|candidate| candidate.is_file());
    found.unwrap_or_else(|| {
        panic!("chromium is not on the PATH: ./scripts/test.sh installs it (apt-get install chromium), or set OVERRUN_TEST_CHROMIUM")
    })
}

/// Chromium, headless, at the page size, given at most a minute.
fn headless(args: &[&str], page: &Path) -> std::process::Output {
    let url = format!("file://{}", page.display());
    let output = Command::new("timeout")
        .arg("60")
        .arg(chromium())
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run"])
        .arg(format!("--window-size={WIDTH},{HEIGHT}"))
        .args(args)
        .arg(url)
        .output()
        .expect("run chromium");
    assert!(output.status.success(), "chromium failed: {}", String::from_utf8_lossy(&output.stderr));
    output
}

/// Opens every "show all", then measures what overflows the window, into `<pre id="probe">`.
const PROBE: &str = r#"<script>
document.querySelectorAll('details').forEach(d => d.open = true);
const width = window.innerWidth;
const over = [...document.querySelectorAll('body *')]
  .filter(e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.right > width + 1; })
  .map(e => e.tagName + (e.id ? '#' + e.id : '') + ' ' + (e.textContent || '').slice(0, 60))
  .slice(0, 20);
const cards = document.querySelector('.cards');
const probe = document.createElement('pre');
probe.id = 'probe';
probe.textContent = JSON.stringify({
  width,
  scroll_width: document.documentElement.scrollWidth,
  over,
  cards: cards ? cards.children.length : 0,
  cards_bottom: cards ? cards.getBoundingClientRect().bottom : -1,
  tables: document.querySelectorAll('table').length,
});
document.body.appendChild(probe);
</script>
"#;

fn measured(page: &Path, dir: &TempDir) -> Value {
    let html = std::fs::read_to_string(page).unwrap();
    let probed = dir.path().join("probed.html");
    std::fs::write(&probed, html.replace("</body>", &format!("{PROBE}</body>"))).unwrap();
    let dom = headless(&["--virtual-time-budget=5000", "--dump-dom"], &probed);
    let dom = String::from_utf8_lossy(&dom.stdout);
    let start = dom.find("<pre id=\"probe\">").expect("the probe ran") + "<pre id=\"probe\">".len();
    let end = start + dom[start..].find("</pre>").expect("the probe's end");
    let json = dom[start..end].replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">");
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"))
}

#[test]
fn the_report_fits_a_1280_pixel_window_with_every_table_open_and_its_cards_on_the_first_screen() {
    let dir = TempDir::new().unwrap();
    let page = dir.path().join("report.html");
    overrun().arg("report").arg(bundled_trace()).arg("-o").arg(&page).assert().success();

    let probe = measured(&page, &dir);
    assert_eq!(probe["width"], WIDTH, "{probe}");
    assert!(
        probe["scroll_width"].as_u64().unwrap() <= u64::from(WIDTH),
        "the page scrolls sideways: {probe}"
    );
    assert_eq!(probe["over"], Value::Array(Vec::new()), "wider than the window: {probe}");
    assert!(probe["cards"].as_u64().unwrap() >= 5, "{probe}");
    assert!(
        probe["cards_bottom"].as_f64().unwrap() < f64::from(HEIGHT),
        "the cards are on the first screen: {probe}"
    );
    assert!(probe["tables"].as_u64().unwrap() >= 4, "noisiest, alerts, missed starts, too short: {probe}");

    // The screenshot a person would see: a PNG of the window's width.
    let screenshot = dir.path().join("report.png");
    headless(&[&format!("--screenshot={}", screenshot.display())], &page);
    let png = std::fs::read(&screenshot).expect("a screenshot");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let width = u32::from_be_bytes([png[16], png[17], png[18], png[19]]);
    assert_eq!(width, WIDTH);
}

#[test]
fn a_report_whose_names_are_longer_than_the_page_still_fits_it() {
    let dir = TempDir::new().unwrap();
    let page = dir.path().join("report.html");
    // One unbreakable task type name and run id far wider than the window, alerted on.
    let name = format!("pipeline/{}", "segment_without_any_space_".repeat(12));
    let run = "r".repeat(150);
    let mut csv = String::from("task_type,run_id,start_epoch_s,end_epoch_s,status\n");
    for day in 0..10 {
        let start = 1_735_689_600 + day * 86_400;
        csv += &format!("{name},{run}{day},{start},{},succeeded\n", start + 600);
    }
    let start = 1_735_689_600 + 10 * 86_400;
    csv += &format!("{name},{run}-slow,{start},{},succeeded\n", start + 7_200);
    overrun().args(["report", "-", "-o"]).arg(&page).write_stdin(csv).assert().success();
    let probe = measured(&page, &dir);
    assert!(probe["scroll_width"].as_u64().unwrap() <= u64::from(WIDTH), "{probe}");
    assert_eq!(probe["over"], Value::Array(Vec::new()), "{probe}");
}
