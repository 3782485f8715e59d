//! `run --format html`: one self-contained page (inline CSS and script, no
//! external resource). The first view is the matrix scenario x profile x TLS
//! version coloured by verdict; a cell opens the case: expected and observed
//! outcome, the diffs, the transcript, the gateway log and a link to its
//! capture (`#case=<name>` opens one). The second view (`#view=fidelity`)
//! is the fidelity table (built-in profiles against
//! the real gateways), from `docs/fidelity.md` or a file `mtls-harness
//! fidelity` wrote.
//!
//! The data is one JSON document inside the page; the script draws both
//! views from it, so the page is as large as the JSON report, not larger.

use super::captures::CaptureOptions;
use super::report::{CaseResult, RunReport};
use crate::oracle::Verdict;
use crate::scenario::{Scenario, PROFILES};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// The fidelity page of this repository, as committed (`tests/fidelity.rs`
/// keeps it current against the real gateways).
pub const BUILTIN_FIDELITY_MARKDOWN: &str = include_str!("../../docs/fidelity.md");

/// What the page is made of.
#[derive(Debug, Clone)]
pub struct HtmlReport<'a> {
    pub report: &'a RunReport,
    /// The scenarios the report ran (for descriptions and expectations).
    pub scenarios: &'a [&'a Scenario],
    /// The captures written, if `--capture` was given.
    pub captures: Option<&'a CaptureOptions>,
    /// The directory the page will be written to: capture links are made
    /// relative to it.
    pub page_dir: Option<&'a Path>,
    /// A fidelity page (Markdown with the generated table); where it came
    /// from is `fidelity_source`.
    pub fidelity_markdown: &'a str,
    pub fidelity_source: String,
}

/// The fidelity table of a Markdown page: header, rows and the lines after.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FidelityTable {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// The lines after the table (totals, documented-only gateways).
    pub notes: Vec<String>,
}

/// Read the generated table out of a fidelity page (between the
/// `fidelity:begin` and `fidelity:end` markers, or the whole text).
pub fn fidelity_table(markdown: &str) -> FidelityTable {
    let body = match (
        markdown.find("<!-- fidelity:begin"),
        markdown.find("<!-- fidelity:end"),
    ) {
        (Some(a), Some(b)) if a < b => {
            let from = markdown[a..].find('\n').map_or(b, |n| a + n + 1);
            &markdown[from.min(b)..b]
        }
        _ => markdown,
    };
    let cells = |line: &str| -> Vec<String> {
        line.trim()
            .trim_matches('|')
            .split(" | ")
            .map(|c| c.trim().replace('`', ""))
            .collect()
    };
    let mut table = FidelityTable::default();
    for line in body.lines() {
        let t = line.trim();
        if t.starts_with('|') {
            if t.starts_with("|---") {
                continue;
            }
            if table.header.is_empty() {
                table.header = cells(t);
            } else {
                table.rows.push(cells(t));
            }
        } else if !t.is_empty() {
            table
                .notes
                .push(t.trim_start_matches("- ").replace('`', ""));
        }
    }
    table
}

/// The profile whose expectations judged a case: the label itself for a
/// built-in profile, the name in parentheses for `real:nginx (nginx)`.
fn judging_profile(label: &str) -> &str {
    match (label.rfind(" ("), label.ends_with(')')) {
        (Some(i), true) => &label[i + 2..label.len() - 1],
        _ => label,
    }
}

fn relative_link(path: &Path, page_dir: Option<&Path>) -> String {
    let rel: PathBuf = match page_dir {
        Some(dir) => {
            let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
            let (p, d) = (abs(path), abs(dir));
            match p.strip_prefix(&d) {
                Ok(r) => r.to_path_buf(),
                Err(_) => p,
            }
        }
        None => path.to_path_buf(),
    };
    let text = rel.to_string_lossy().replace('\\', "/");
    if rel.is_absolute() {
        format!("file://{text}")
    } else {
        text
    }
}

fn case_json(r: &CaseResult, scenarios: &[&Scenario], page: &HtmlReport<'_>) -> Value {
    let expected = scenarios
        .iter()
        .find(|s| s.id == r.scenario)
        .map(|s| s.expectation(judging_profile(&r.profile), r.tls));
    let mut case = json!({
        "name": r.case_name(),
        "scenario": r.scenario,
        "profile": r.profile,
        "tls": r.tls,
        "verdict": r.verdict.label(),
        "outcome": r.outcome(),
        "duration_ms": (r.duration_ms * 10.0).round() / 10.0,
        "expected": expected,
        "observation": r.observation,
    });
    let extra = match &r.verdict {
        Verdict::Fail { diffs } => ("diffs", json!(diffs)),
        Verdict::Skip { reason } => ("reason", json!(reason)),
        Verdict::Hang { stage } => ("reason", json!(format!("timed out in {stage}"))),
        Verdict::Pass => ("diffs", json!([])),
    };
    if let Some(obj) = case.as_object_mut() {
        obj.insert(extra.0.into(), extra.1);
        let file = page.captures.and_then(|c| c.file_for(&r.case_name()));
        if let Some(file) = file {
            obj.insert("capture".into(), json!(relative_link(&file, page.page_dir)));
        }
    }
    case
}

/// The page.
pub fn render_html(page: &HtmlReport<'_>) -> String {
    let report = page.report;
    let results = report.sorted_results();
    // Columns: the profiles (in registry order, then any other label) x TLS.
    let mut profiles: Vec<&str> = Vec::new();
    for r in &results {
        if !profiles.contains(&r.profile.as_str()) {
            profiles.push(&r.profile);
        }
    }
    let rank = |p: &str| {
        PROFILES
            .iter()
            .position(|q| *q == p)
            .unwrap_or(PROFILES.len())
    };
    profiles.sort_by_key(|p| (rank(p), p.to_string()));
    let mut columns = Vec::new();
    for p in &profiles {
        for v in crate::observation::TlsVersion::ALL {
            if results.iter().any(|r| r.profile == *p && r.tls == v) {
                columns.push(json!({"profile": p, "tls": v}));
            }
        }
    }
    let mut scenario_ids: Vec<&str> = results.iter().map(|r| r.scenario.as_str()).collect();
    scenario_ids.extend(report.not_run.iter().map(|(s, _, _)| s.as_str()));
    scenario_ids.sort();
    scenario_ids.dedup();
    let scenarios: Vec<Value> = scenario_ids
        .iter()
        .map(|id| {
            let s = page.scenarios.iter().find(|s| s.id == *id);
            json!({
                "id": id,
                "description": s.map(|s| s.file.description.clone()).unwrap_or_default(),
                "seed": s.and_then(|s| s.file.seed.clone()),
            })
        })
        .collect();
    let fidelity = fidelity_table(page.fidelity_markdown);
    let summary = report.summary();
    let data = json!({
        "generated": time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        "summary": {
            "passed": summary.passed,
            "failed": summary.failed,
            "skipped": summary.skipped,
            "hung": summary.hung,
            "total": report.results.len(),
            "wall_ms": (report.wall_ms).round(),
        },
        "exit_code": report.exit_code(),
        "columns": columns,
        "scenarios": scenarios,
        "cases": results.iter().map(|r| case_json(r, page.scenarios, page)).collect::<Vec<_>>(),
        "not_run": report.not_run.iter().map(|(s, p, why)| json!({"scenario": s, "profile": p, "reason": why})).collect::<Vec<_>>(),
        "fidelity": {
            "source": page.fidelity_source,
            "header": fidelity.header,
            "rows": fidelity.rows,
            "notes": fidelity.notes,
        },
    });
    // Inside <script type="application/json">: no `</script>` or `<!--`.
    let data = serde_json::to_string(&data)
        .unwrap_or_else(|_| "{}".into())
        .replace("</", "<\\/")
        .replace("<!--", "<\\u0021--");
    let mut out = String::with_capacity(data.len() + PAGE_HEAD.len() + PAGE_SCRIPT.len() + 512);
    out.push_str(PAGE_HEAD);
    out.push_str("<script type=\"application/json\" id=\"report-data\">");
    out.push_str(&data);
    out.push_str("</script>\n<script>");
    out.push_str(PAGE_SCRIPT);
    out.push_str("</script>\n</body>\n</html>\n");
    out
}

const PAGE_HEAD: &str = r##"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mtls-harness report</title>
<script>
// Errors anywhere on the page are shown on it (and counted for tests).
window.reportErrors = [];
(function () {
  function note(text) {
    window.reportErrors.push(String(text));
    document.documentElement.setAttribute("data-errors", String(window.reportErrors.length));
    var box = document.getElementById("page-errors");
    if (box) { box.hidden = false; box.textContent = window.reportErrors.join("\n"); }
  }
  window.addEventListener("error", function (e) { note(e.message + " (line " + e.lineno + ")"); });
  var original = console.error;
  console.error = function () { note(Array.prototype.join.call(arguments, " ")); original.apply(console, arguments); };
})();
</script>
<style>
:root { --pass: #1a7f37; --fail: #cf222e; --skip: #9a6700; --hang: #8250df; --none: #eaeef2;
        --line: #d0d7de; --dim: #57606a; font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
body { margin: 0; color: #1f2328; background: #fff; font-size: 14px; }
header { padding: 12px 20px; border-bottom: 1px solid var(--line); display: flex; flex-wrap: wrap; gap: 16px; align-items: baseline; }
header h1 { font-size: 18px; margin: 0; }
.counts span { margin-right: 12px; font-weight: 600; }
.counts .pass { color: var(--pass); } .counts .fail { color: var(--fail); }
.counts .skip { color: var(--skip); } .counts .hang { color: var(--hang); }
nav button { font: inherit; padding: 4px 12px; border: 1px solid var(--line); background: #f6f8fa; border-radius: 6px; cursor: pointer; }
nav button[aria-selected="true"] { background: #0969da; color: #fff; border-color: #0969da; }
.tools { padding: 8px 20px; display: flex; gap: 16px; align-items: center; }
.tools input[type=search] { font: inherit; padding: 3px 8px; width: 320px; }
main { padding: 0 20px 20px; }
table { border-collapse: collapse; }
th, td { border: 1px solid var(--line); padding: 2px 6px; text-align: left; vertical-align: top; }
thead th { position: sticky; top: 0; background: #f6f8fa; z-index: 1; }
th.ns { background: #f6f8fa; font-weight: 600; }
td.id { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12px; white-space: nowrap; }
td.cell { padding: 0; text-align: center; }
td.cell button { font: 600 11px ui-monospace, "DejaVu Sans Mono", monospace; border: 0; width: 100%; min-width: 44px; padding: 4px 2px; color: #fff; cursor: pointer; }
button.PASS { background: var(--pass); } button.FAIL { background: var(--fail); }
button.SKIP { background: var(--skip); } button.HANG { background: var(--hang); }
td.cell.none { background: var(--none); color: var(--dim); font-size: 11px; }
tr.hidden { display: none; }
#detail { position: fixed; top: 0; right: 0; bottom: 0; width: min(900px, 62vw); background: #fff; border-left: 2px solid var(--line);
          box-shadow: -4px 0 12px rgba(0,0,0,.12); overflow: auto; padding: 12px 18px; z-index: 5; }
#detail h2 { font-size: 16px; margin: 4px 0 8px; font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
#detail h3 { font-size: 14px; margin: 14px 0 4px; }
#detail .close { float: right; font: inherit; }
.verdict { display: inline-block; padding: 1px 8px; border-radius: 10px; color: #fff; font-weight: 600; }
.verdict.PASS { background: var(--pass); } .verdict.FAIL { background: var(--fail); }
.verdict.SKIP { background: var(--skip); } .verdict.HANG { background: var(--hang); }
dl.kv { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 0; }
dl.kv dt { color: var(--dim); } dl.kv dd { margin: 0; font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12px; word-break: break-word; }
table.wire td { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12px; }
table.wire td.from-server { color: #0550ae; } table.wire td.from-client { color: #953800; }
pre { background: #f6f8fa; padding: 8px; overflow: auto; font-size: 12px; white-space: pre-wrap; }
ol.names { margin: 2px 0; padding-left: 36px; max-height: 240px; overflow: auto; }
.diff { color: var(--fail); }
.fid-agree { background: #dafbe1; } .fid-differ { background: #ffebe9; } .fid-na { background: var(--none); color: var(--dim); }
#fidelity td { font-size: 12px; max-width: 360px; }
#page-errors { background: #ffebe9; color: var(--fail); margin: 8px 20px; }
.muted { color: var(--dim); }
.enc { display: inline-block; margin-left: 6px; padding: 0 4px; border-radius: 4px; background: #ddf4ff; color: #0550ae; font-size: 10px; }
</style>
</head>
<body>
<header>
  <h1>mtls-harness report</h1>
  <div class="counts" id="counts"></div>
  <nav role="tablist">
    <button role="tab" id="tab-matrix" aria-selected="true">Matrix</button>
    <button role="tab" id="tab-fidelity" aria-selected="false">Fidelity</button>
  </nav>
  <span class="muted" id="generated"></span>
</header>
<pre id="page-errors" hidden></pre>
<section id="view-matrix">
  <div class="tools">
    <input type="search" id="filter" placeholder="filter scenarios (id or description)">
    <label><input type="checkbox" id="only-problems"> only FAIL / HANG</label>
    <span class="muted">A cell opens the case.</span>
  </div>
  <main><table id="matrix"></table><div id="not-run"></div></main>
</section>
<section id="view-fidelity" hidden>
  <main><p class="muted" id="fidelity-source"></p><table id="fidelity"></table><ul id="fidelity-notes"></ul></main>
</section>
<aside id="detail" hidden></aside>
"##;

const PAGE_SCRIPT: &str = r##"
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) {
      if (k === "text") e.textContent = attrs[k];
      else if (k === "class") e.className = attrs[k];
      else e.setAttribute(k, attrs[k]);
    }
    (children || []).forEach(function (c) { if (c) e.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return e;
  }
  function kv(pairs) {
    var dl = el("dl", {class: "kv"});
    pairs.forEach(function (p) {
      if (p[1] === undefined || p[1] === null || p[1] === "") return;
      dl.appendChild(el("dt", {text: p[0]}));
      dl.appendChild(el("dd", {text: typeof p[1] === "string" ? p[1] : JSON.stringify(p[1])}));
    });
    return dl;
  }

  var s = data.summary;
  var counts = document.getElementById("counts");
  [["pass", s.passed + " passed"], ["fail", s.failed + " failed"], ["skip", s.skipped + " skipped"], ["hang", s.hung + " hung"]]
    .forEach(function (c) { counts.appendChild(el("span", {class: c[0], text: c[1]})); });
  counts.appendChild(el("span", {class: "muted", text: s.total + " cases, " + (s.wall_ms / 1000).toFixed(1) + " s"}));
  document.getElementById("generated").textContent = "generated " + data.generated;

  // The matrix.
  var byName = {};
  var byCell = {};
  data.cases.forEach(function (c) {
    byName[c.name] = c;
    byCell[c.scenario + "\u0000" + c.profile + "\u0000" + c.tls] = c;
  });
  var matrix = document.getElementById("matrix");
  var head = el("tr", null, [el("th", {text: "scenario"})]);
  data.columns.forEach(function (col) { head.appendChild(el("th", {text: col.profile + " " + col.tls})); });
  matrix.appendChild(el("thead", null, [head]));
  var body = el("tbody");
  var namespace = null;
  data.scenarios.forEach(function (sc) {
    var ns = sc.id.split("::")[0];
    if (ns !== namespace) {
      namespace = ns;
      body.appendChild(el("tr", {class: "ns-row", "data-namespace": ns},
        [el("th", {class: "ns", colspan: String(data.columns.length + 1), text: ns})]));
    }
    var row = el("tr", {class: "scenario-row", "data-scenario": sc.id, title: sc.description});
    row.appendChild(el("td", {class: "id", text: sc.id}));
    data.columns.forEach(function (col) {
      var c = byCell[sc.id + "\u0000" + col.profile + "\u0000" + col.tls];
      if (!c) { row.appendChild(el("td", {class: "cell none", text: "\u00b7", title: "not run"})); return; }
      var b = el("button", {class: c.verdict, "data-case": c.name, "data-verdict": c.verdict, title: c.outcome, text: c.verdict});
      b.addEventListener("click", function () { show(c.name); });
      row.appendChild(el("td", {class: "cell"}, [b]));
    });
    body.appendChild(row);
  });
  matrix.appendChild(body);
  if (data.not_run.length) {
    var grouped = {};
    data.not_run.forEach(function (n) {
      var k = n.scenario + ": " + n.reason;
      (grouped[k] = grouped[k] || []).push(n.profile);
    });
    var ul = el("ul", {class: "muted"});
    Object.keys(grouped).forEach(function (k) {
      var i = k.indexOf(": ");
      ul.appendChild(el("li", {text: "not run: " + k.slice(0, i) + " on " + grouped[k].join(", ") + k.slice(i)}));
    });
    document.getElementById("not-run").appendChild(el("details", null, [el("summary", {text: data.not_run.length + " profile(s) not run"}), ul]));
  }

  function applyFilter() {
    var q = document.getElementById("filter").value.toLowerCase();
    var problems = document.getElementById("only-problems").checked;
    Array.prototype.forEach.call(body.querySelectorAll("tr.scenario-row"), function (tr) {
      var text = (tr.getAttribute("data-scenario") + " " + (tr.title || "")).toLowerCase();
      var bad = tr.querySelector("button.FAIL, button.HANG") !== null;
      tr.classList.toggle("hidden", (q && text.indexOf(q) < 0) || (problems && !bad));
    });
  }
  document.getElementById("filter").addEventListener("input", applyFilter);
  document.getElementById("only-problems").addEventListener("change", applyFilter);

  // One case.
  function transcriptTable(t) {
    var table = el("table", {class: "wire"});
    table.appendChild(el("tr", null, [el("th", {text: "ms"}), el("th", {text: "from"}), el("th", {text: "message"}), el("th", {text: "details"})]));
    t.messages.forEach(function (m) {
      var details = el("td");
      var skip = {from: 1, at_ms: 1, encrypted: 1, type: 1, ca_names: 1};
      var parts = [];
      Object.keys(m).forEach(function (k) {
        if (skip[k]) return;
        var v = m[k];
        if (v === "" || v === null) return;
        if (Array.isArray(v)) v = v.map(function (x) { return typeof x === "string" ? x : (x.subject ? x.subject + " \u2190 " + x.issuer : JSON.stringify(x)); }).join(", ") || "(empty)";
        parts.push(k.replace(/_/g, " ") + ": " + v);
      });
      details.appendChild(document.createTextNode(parts.join("; ")));
      if (m.ca_names) {
        details.appendChild(el("div", {text: m.ca_names.count + " CA names, " + m.ca_names.encoded_bytes + " bytes"}));
        var ol = el("ol", {class: "names"});
        m.ca_names.names.forEach(function (n) { ol.appendChild(el("li", {text: n})); });
        details.appendChild(ol);
      }
      var name = el("td", {text: m.type.replace(/_/g, " ")});
      if (m.encrypted) name.appendChild(el("span", {class: "enc", title: "sent encrypted, read with the client's key log", text: "decrypted"}));
      table.appendChild(el("tr", {"data-message": m.type, "data-from": m.from}, [
        el("td", {text: m.at_ms.toFixed(1)}),
        el("td", {class: "from-" + m.from, text: m.from === "client" ? "client \u2192" : "\u2190 server"}),
        name, details]));
    });
    var box = el("div", null, [table]);
    (t.notes || []).forEach(function (n) { box.appendChild(el("p", {class: "muted", text: "note: " + n})); });
    return box;
  }
  function show(name) {
    var c = byName[name];
    var d = document.getElementById("detail");
    if (!c) { d.hidden = true; return; }
    d.innerHTML = "";
    var close = el("button", {class: "close", text: "close \u2715"});
    close.addEventListener("click", function () { d.hidden = true; history.replaceState(null, "", "#"); });
    d.appendChild(close);
    d.appendChild(el("h2", {text: c.name}));
    var sc = data.scenarios.filter(function (x) { return x.id === c.scenario; })[0];
    if (sc) d.appendChild(el("p", {text: sc.description}));
    d.appendChild(el("p", null, [el("span", {class: "verdict " + c.verdict, text: c.verdict}), " " + c.outcome + " (" + c.duration_ms + " ms)"]));
    if (c.reason) d.appendChild(el("p", {text: c.reason}));
    d.appendChild(el("h3", {text: "Expected"}));
    d.appendChild(c.expected ? kv(Object.keys(c.expected).map(function (k) { return [k, c.expected[k]]; })) : el("p", {class: "muted", text: "-"}));
    d.appendChild(el("h3", {text: "Diff"}));
    if (c.diffs && c.diffs.length) {
      var dt = el("table", {class: "diffs"}, [el("tr", null, [el("th", {text: "field"}), el("th", {text: "expected"}), el("th", {text: "got"})])]);
      c.diffs.forEach(function (x) { dt.appendChild(el("tr", {class: "diff"}, [el("td", {text: x.field}), el("td", {text: x.expected}), el("td", {text: x.got})])); });
      d.appendChild(dt);
    } else {
      d.appendChild(el("p", {class: "muted", text: c.verdict === "PASS" ? "none: every expected field matched" : "-"}));
    }
    var o = c.observation;
    d.appendChild(el("h3", {text: "Observed"}));
    if (o) {
      d.appendChild(kv([
        ["tls version", o.tls_version], ["handshake", o.handshake],
        ["certificate requested", String(o.certificate_requested)],
        ["CA names", o.ca_names ? o.ca_names.count + " names, " + o.ca_names.encoded_bytes + " bytes" + (o.ca_names.truncated ? ", truncated" : "") : null],
        ["chosen certificate", o.chosen_cert], ["selection", o.selection_reason],
        ["certificate sent", String(o.client_certificate_sent)],
        ["alert", o.alert ? o.alert.description + " by " + o.alert.sent_by : null],
        ["client error", o.client_error], ["detail", o.client_error_detail],
        ["http", o.http ? o.http.status + (o.http.substatus != null ? "." + o.http.substatus : "") : null],
        ["body", o.http ? o.http.body_excerpt.slice(0, 400) : null], ["hang", o.hang]
      ]));
    } else {
      d.appendChild(el("p", {class: "muted", text: "no connection was made"}));
    }
    d.appendChild(el("h3", {text: "Transcript"}));
    d.appendChild(o && o.transcript ? transcriptTable(o.transcript) : el("p", {class: "muted", text: "no bytes went over the wire"}));
    d.appendChild(el("h3", {text: "Gateway log"}));
    d.appendChild(o && o.gateway_log ? el("pre", {class: "gateway-log", text: o.gateway_log}) : el("p", {class: "muted", text: "-"}));
    d.appendChild(el("h3", {text: "Capture"}));
    d.appendChild(c.capture
      ? el("p", null, [el("a", {class: "capture", href: c.capture, download: "", text: c.capture}), " (pcapng with its TLS key log: Wireshark decrypts it as is)"])
      : el("p", {class: "muted", text: "none (run with --capture DIR)"}));
    d.hidden = false;
    d.scrollTop = 0;
    if (location.hash !== "#case=" + encodeURIComponent(name)) history.replaceState(null, "", "#case=" + encodeURIComponent(name));
  }

  // The fidelity table.
  var f = data.fidelity;
  document.getElementById("fidelity-source").textContent = f.source;
  var ft = document.getElementById("fidelity");
  if (f.header.length) {
    ft.appendChild(el("thead", null, [el("tr", null, f.header.map(function (h) { return el("th", {text: h}); }))]));
    var fb = el("tbody");
    f.rows.forEach(function (r) {
      fb.appendChild(el("tr", {"data-scenario": r[0]}, r.map(function (cell, i) {
        var cls = i === 0 ? "id" : cell.indexOf("agree") === 0 ? "fid-agree" : cell.indexOf("differ") === 0 ? "fid-differ" : "fid-na";
        return el("td", {class: cls, text: cell});
      })));
    });
    ft.appendChild(fb);
  }
  var notes = document.getElementById("fidelity-notes");
  f.notes.forEach(function (n) { notes.appendChild(el("li", {text: n})); });

  function tab(which) {
    ["matrix", "fidelity"].forEach(function (v) {
      document.getElementById("view-" + v).hidden = v !== which;
      document.getElementById("tab-" + v).setAttribute("aria-selected", String(v === which));
    });
  }
  document.getElementById("tab-matrix").addEventListener("click", function () { tab("matrix"); history.replaceState(null, "", "#"); });
  document.getElementById("tab-fidelity").addEventListener("click", function () { tab("fidelity"); history.replaceState(null, "", "#view=fidelity"); });

  function route() {
    var h = location.hash;
    if (h === "#view=fidelity") tab("fidelity");
    else if (h.indexOf("#case=") === 0) { tab("matrix"); show(decodeURIComponent(h.slice(6))); }
  }
  window.addEventListener("hashchange", route);
  route();
  document.documentElement.setAttribute("data-ready", "1");
})();
"##;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_fidelity_page_has_a_table() {
        let t = fidelity_table(BUILTIN_FIDELITY_MARKDOWN);
        assert_eq!(t.header[0], "scenario");
        assert!(t.header.len() >= 2, "{:?}", t.header);
        assert!(t.rows.len() > 40, "{} rows", t.rows.len());
        assert!(t.rows.iter().all(|r| r.len() == t.header.len()));
        assert!(t.rows[0][0].contains("::"), "{:?}", t.rows[0]);
        assert!(t.notes.iter().any(|n| n.contains("agree")), "{:?}", t.notes);
    }

    #[test]
    fn the_judging_profile_of_a_label() {
        assert_eq!(judging_profile("nginx"), "nginx");
        assert_eq!(judging_profile("real:nginx (nginx)"), "nginx");
        assert_eq!(judging_profile("https://h:1 (iis)"), "iis");
    }

    #[test]
    fn embedded_data_cannot_close_its_script() {
        let report = RunReport {
            results: vec![CaseResult {
                scenario: "a::b".into(),
                description: "</script><script>alert(1)</script> <!--".into(),
                profile: "strict".into(),
                tls: crate::observation::TlsVersion::Tls13,
                verdict: Verdict::Skip {
                    reason: "</script>".into(),
                },
                observation: None,
                duration_ms: 1.0,
                not_run_reason: None,
                adjusted: Vec::new(),
                observed: None,
            }],
            ..Default::default()
        };
        let html = render_html(&HtmlReport {
            report: &report,
            scenarios: &[],
            captures: None,
            page_dir: None,
            fidelity_markdown: "",
            fidelity_source: String::new(),
        });
        assert_eq!(html.matches("</script>").count(), 3, "only the page's own");
        assert!(!html.contains("<!--"));
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "no external link"
        );
    }
}
