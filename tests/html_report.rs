//! `run --format html` in a real headless browser (Debian's `chromium`,
//! installed by `ci/test`): the page of the whole catalog loads with every
//! case present and no script or console error, a case opens with its
//! transcript and capture link, the fidelity view has its table. Screenshots
//! are kept under target/ (`CARGO_TARGET_TMPDIR`). Every browser process is
//! stopped: each run is its own process group, killed and checked empty.
//!
//! Without chromium the test is skipped loudly; under CI it fails
//! (`support::require`).

mod support;

use mtls_harness::runner::execute::{plan, RunOptions};
use mtls_harness::scenario::load_catalog;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The browser (`chromium` or `chromium-browser`), or `None` after the
/// skip policy's `SKIP` line (a failure under CI).
fn chromium() -> Option<PathBuf> {
    let found =
        support::find_program("chromium").or_else(|| support::find_program("chromium-browser"));
    support::installed(found.is_some(), "chromium", "chromium")
        .then_some(found)
        .flatten()
}

/// The process group ids of every live process.
fn process_groups() -> Vec<(i32, i32)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ppid pgrp ...: comm may hold spaces, so split after ')'.
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if let Some(pgrp) = fields.get(2).and_then(|f| f.parse().ok()) {
            out.push((pid, pgrp));
        }
    }
    out
}

/// What one headless run printed.
struct BrowserRun {
    stdout: String,
    stderr: String,
}

/// Run chromium headless on `url` with `extra` flags, in its own process
/// group and profile directory; afterwards nothing of it may be running.
fn headless(bin: &Path, url: &str, extra: &[String]) -> BrowserRun {
    let profile = tempfile::tempdir().expect("profile dir");
    let mut child = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(extra)
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("chromium starts");
    let pgid = child.id() as i32;
    // Read both pipes on threads so a full pipe never blocks the browser.
    let mut out_pipe = child.stdout.take().expect("stdout");
    let mut err_pipe = child.stderr.take().expect("stderr");
    let out_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut out_pipe, &mut s);
        s
    });
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut err_pipe, &mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // The browser's helpers (zygote, GPU, crash handler) share its group:
    // stop whatever of it is left, then check that nothing is.
    // SAFETY: kill(2) on a process group this test created.
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
    let _ = child.wait();
    let gone_by = Instant::now() + Duration::from_secs(10);
    loop {
        let left: Vec<i32> = process_groups()
            .into_iter()
            .filter(|(_, g)| *g == pgid)
            .map(|(p, _)| p)
            .collect();
        if left.is_empty() {
            break;
        }
        assert!(
            Instant::now() < gone_by,
            "browser processes left behind: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let stdout = out_thread.join().expect("stdout thread");
    let stderr = err_thread.join().expect("stderr thread");
    let status = status.unwrap_or_else(|| panic!("chromium did not finish in 90 s: {stderr}"));
    assert!(status.success(), "chromium failed ({status}): {stderr}");
    BrowserRun { stdout, stderr }
}

/// Console messages chromium logged for the page (`INFO:CONSOLE:<line>]`).
fn console_lines(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.contains(":CONSOLE")).collect()
}

fn url(page: &Path, fragment: &str) -> String {
    let abs = std::path::absolute(page).expect("absolute path");
    format!("file://{}{fragment}", abs.display())
}

fn encode_fragment(name: &str) -> String {
    name.replace('%', "%25")
        .replace(' ', "%20")
        .replace('[', "%5B")
        .replace(']', "%5D")
}

/// A value of `attr` for every element of the dumped DOM that has it.
fn attr_values<'a>(dom: &'a str, attr: &str) -> Vec<&'a str> {
    let needle = format!(" {attr}=\"");
    dom.match_indices(&needle)
        .filter_map(|(i, _)| {
            let rest = &dom[i + needle.len()..];
            rest.find('"').map(|end| &rest[..end])
        })
        .collect()
}

#[test]
fn the_html_report_of_the_catalog_in_headless_chromium() {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let page = dir.path().join("report.html");
    let out = support::command()
        .args(["run", "--format", "html", "--output"])
        .arg(&page)
        .arg("--capture")
        .arg(dir.path().join("captures"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("mtls-harness runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(&page).expect("page");
    for external in ["src=\"http", "href=\"http", "url(http", "@import"] {
        assert!(!html.contains(external), "self-contained: {external}");
    }

    // Every case the catalog plans, by name.
    let catalog =
        load_catalog(&Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")).expect("catalog");
    let mut expected: Vec<String> = catalog
        .iter()
        .flat_map(|s| {
            plan(s, &RunOptions::default())
                .cases
                .into_iter()
                .map(move |(p, v)| format!("{} [{} TLS{}]", s.id, p.name(), v))
        })
        .collect();
    expected.sort();

    let seed = "seeds::003_iis_405_roots_truncated_client_root_last [iis TLS1.3]";
    let opened = url(&page, &format!("#case={}", encode_fragment(seed)));
    let run = headless(&browser, &opened, &["--dump-dom".to_string()]);
    let dom = run.stdout;
    assert!(
        dom.contains("data-ready=\"1\""),
        "the script ran to its end"
    );
    assert!(!dom.contains("data-errors="), "script errors on the page");
    assert!(
        dom.contains("<pre id=\"page-errors\" hidden=\"\"></pre>"),
        "no error shown on the page"
    );
    assert_eq!(
        console_lines(&run.stderr),
        Vec::<&str>::new(),
        "console messages"
    );

    let mut cases: Vec<String> = attr_values(&dom, "data-case")
        .into_iter()
        .map(str::to_string)
        .collect();
    cases.sort();
    assert_eq!(cases, expected, "one matrix cell per catalog case");
    let verdicts = attr_values(&dom, "data-verdict");
    let passed = verdicts.iter().filter(|v| **v == "PASS").count();
    assert!(verdicts
        .iter()
        .all(|v| ["PASS", "FAIL", "SKIP", "HANG"].contains(v)));
    assert!(
        dom.contains(&format!("<span class=\"pass\">{passed} passed</span>")),
        "the counts agree with the cells"
    );

    // The opened case: expected, observed, transcript, capture.
    let detail = &dom[dom.find("<aside id=\"detail\"").expect("detail panel")..];
    assert!(
        detail.starts_with("<aside id=\"detail\">"),
        "the panel is open (not hidden)"
    );
    assert!(detail.contains(&format!("<h2>{seed}</h2>")));
    for needle in [
        "<h3>Expected</h3>",
        "<h3>Diff</h3>",
        "<h3>Observed</h3>",
        "103 names, 16237 bytes, truncated",
        "data-message=\"certificate_request\" data-from=\"server\"",
        "103 CA names, 16237 bytes",
        "data-message=\"certificate\" data-from=\"client\"",
        "certificates: (empty)",
        "data-message=\"http_response\" data-from=\"server\"",
        "<h3>Gateway log</h3>",
    ] {
        assert!(detail.contains(needle), "`{needle}` in the case panel");
    }
    let link = attr_values(detail, "href")
        .into_iter()
        .find(|h| h.ends_with(".pcapng"))
        .expect("a capture link");
    assert!(!link.contains("://"), "relative link: {link}");
    assert!(
        dir.path().join(link).is_file(),
        "the link points at the capture: {link}"
    );

    // The fidelity view: the committed table, one row per scenario.
    let fidelity = &dom[dom.find("<table id=\"fidelity\">").expect("fidelity table")..];
    let fidelity = &fidelity[..fidelity.find("</table>").expect("end")];
    let rows = attr_values(fidelity, "data-scenario");
    let committed = mtls_harness::runner::html::fidelity_table(
        mtls_harness::runner::html::BUILTIN_FIDELITY_MARKDOWN,
    );
    assert_eq!(rows.len(), committed.rows.len());
    assert!(rows.len() >= 40, "{} fidelity rows", rows.len());

    // Screenshots, kept as artefacts.
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR"));
    for (name, fragment) in [
        ("html-report-matrix.png", String::new()),
        (
            "html-report-case.png",
            format!("#case={}", encode_fragment(seed)),
        ),
        ("html-report-fidelity.png", "#view=fidelity".to_string()),
    ] {
        let file = shots.join(name);
        let _ = std::fs::remove_file(&file);
        let run = headless(
            &browser,
            &url(&page, &fragment),
            &[
                format!("--screenshot={}", file.display()),
                "--window-size=1500,1000".to_string(),
            ],
        );
        assert_eq!(console_lines(&run.stderr), Vec::<&str>::new());
        let png = std::fs::read(&file).expect("screenshot written");
        assert!(png.starts_with(b"\x89PNG"), "{name} is a PNG");
        assert!(png.len() > 20_000, "{name}: {} bytes", png.len());
        println!("screenshot: {}", file.display());
    }
}

#[test]
fn a_script_error_on_the_page_is_caught() {
    // The checks above would see an error: an injected one is reported on
    // the page and on the console.
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let page = dir.path().join("report.html");
    let out = support::command()
        .args([
            "run",
            "--filter",
            "seeds::001_*",
            "--format",
            "html",
            "--output",
        ])
        .arg(&page)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("mtls-harness runs");
    assert_eq!(out.status.code(), Some(0));
    let html = std::fs::read_to_string(&page).expect("page");
    let broken = html.replace(
        "</body>",
        "<script>noSuchFunctionInThisPage();</script></body>",
    );
    std::fs::write(&page, broken).expect("write");
    let run = headless(&browser, &url(&page, ""), &["--dump-dom".to_string()]);
    assert!(
        run.stdout.contains("data-errors=\"1\""),
        "the page counted it"
    );
    assert!(run
        .stdout
        .contains("noSuchFunctionInThisPage is not defined"));
    assert!(
        console_lines(&run.stderr)
            .iter()
            .any(|l| l.contains("noSuchFunctionInThisPage")),
        "{}",
        run.stderr
    );
}
