//! `bench` against real gateways and its ratios, `run --shard K/N` and
//! `report merge`. Short durations: these check behaviour, never a time.

mod support;

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

fn json_of(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("report")).expect("JSON")
}

#[test]
fn bench_against_real_nginx_reads_its_cpu_and_reports_the_oversized_list_as_its_alert() {
    if !support::require_real(mtls_harness::real::RealKind::Nginx) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let off = tmp.path().join("off.json");
    let (code, _, err) = support::run(&[
        "bench",
        "--gateway",
        "real:nginx",
        "--trust-anchors",
        "1,1000",
        "--ca-names",
        "off",
        "--duration",
        "300ms",
        "--format",
        "json",
        "--output",
        off.to_str().unwrap(),
    ])
    .into_parts();
    assert_eq!(code, 0, "{err}");
    let run = json_of(&off);
    assert_eq!(run["gateway"], "real:nginx");
    for p in run["points"].as_array().unwrap() {
        let st = &p["stats"];
        assert!(st["handshakes"].as_u64().unwrap() > 0, "{p}");
        // nginx's own processes did the server's work.
        assert!(
            st["server_cpu_us_per_handshake"].as_f64().unwrap() > 0.0,
            "{p}"
        );
        assert!(
            st["client_cpu_us_per_handshake"].as_f64().unwrap() > 0.0,
            "{p}"
        );
        // nginx cannot send an empty list: only the client's CA is named.
        assert!(
            p["ca_names_note"]
                .as_str()
                .unwrap()
                .contains("cannot send none"),
            "{p}"
        );
        assert!(p["ca_names_bytes"].as_u64().unwrap() < 100, "{p}");
    }
    assert!(run["points"][1]["cost_ratio_vs_baseline"].as_f64().unwrap() > 0.0);

    // 1,000 names are over 64 KiB: nginx (OpenSSL) answers internal_error.
    let on = tmp.path().join("on.json");
    let (code, _, err) = support::run(&[
        "bench",
        "--gateway",
        "real:nginx",
        "--trust-anchors",
        "1,1000",
        "--ca-names",
        "on",
        "--duration",
        "300ms",
        "--format",
        "json",
        "--output",
        on.to_str().unwrap(),
    ])
    .into_parts();
    assert_eq!(code, 0, "a refusal is a finding, not a failed run: {err}");
    let run = json_of(&on);
    let big = &run["points"][1];
    assert!(big["ca_names_bytes"].as_u64().unwrap() > 65_535, "{big}");
    assert_eq!(big["stats"]["handshakes"], 0, "{big}");
    assert_eq!(
        big["refused_by_server"], "alert internal_error from server",
        "{big}"
    );
    assert!(run["points"][0]["stats"]["handshakes"].as_u64().unwrap() > 0);
}

#[test]
fn bench_floor_s_time_plot_and_max_ratio() {
    if !support::require("openssl") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("b.json");
    let svg = tmp.path().join("b.svg");
    let (code, _, err) = support::run(&[
        "bench",
        "--trust-anchors",
        "1,100",
        "--duration",
        "300ms",
        "--floor",
        "--compare",
        "s_time",
        "--format",
        "json",
        "--output",
        out.to_str().unwrap(),
        "--plot",
        svg.to_str().unwrap(),
        "--max-ratio",
        "1000",
    ])
    .into_parts();
    assert_eq!(code, 0, "{err}");
    let run = json_of(&out);
    for p in run["points"].as_array().unwrap() {
        assert!(
            p["floor"]["cpu_us_per_handshake"].as_f64().unwrap() > 0.0,
            "{p}"
        );
        assert!(p["floor_ratio"].as_f64().unwrap() > 0.0, "{p}");
        assert!(p["stats"]["errors"] == 0, "{p}");
    }
    assert!(run["s_time"]["connections"].as_u64().unwrap() > 0, "{run}");
    assert!(run["s_time_ratio"].as_f64().unwrap() > 0.0);
    // s_time's own CPU per handshake, from its rusage.
    assert!(
        run["s_time"]["cpu_us_per_handshake"].as_f64().unwrap() > 0.0,
        "{run}"
    );
    // A bare --floor is the in-memory one: no TCP floor measured.
    assert!(run["points"][0]["tcp_floor"].is_null(), "{run}");

    // --floor tcp: the minimal tokio-rustls pair over loopback, and each
    // row's cost as a multiple of it, in the same run.
    let (code, out_text, err) = support::run(&[
        "bench",
        "--trust-anchors",
        "1",
        "--duration",
        "300ms",
        "--floor",
        "memory,tcp",
        "--format",
        "json",
    ])
    .into_parts();
    assert_eq!(code, 0, "{err}");
    let run: serde_json::Value = serde_json::from_str(&out_text).unwrap();
    let p = &run["points"][0];
    assert!(p["tcp_floor"]["handshakes"].as_u64().unwrap() >= 50, "{p}");
    assert!(p["tcp_floor_ratio"].as_f64().unwrap() > 0.0, "{p}");
    assert!(p["floor_ratio"].as_f64().unwrap() > 0.0, "{p}");
    // The built-in gateway is in process: no machine ceiling to state.
    assert!(p["ceiling_fraction"].is_null(), "{p}");
    let svg = std::fs::read_to_string(&svg).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("builtin"), "{svg}");

    // Every row's cost ratio is above a tiny bound: exit 1, each named.
    let (code, _, err) = support::run(&[
        "bench",
        "--trust-anchors",
        "1",
        "--duration",
        "100ms",
        "--max-ratio",
        "0.001",
    ])
    .into_parts();
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("FAIL: 1 anchors cost 1.00x"), "{err}");
    let (code, _, err) = support::run(&["bench", "--max-ratio", "0"]).into_parts();
    assert_eq!(code, 2, "{err}");
    // One point against an external target: nothing to take a floor of.
    let (code, _, err) = support::run(&[
        "bench",
        "--target",
        "https://127.0.0.1:1",
        "--pki",
        "/nonexistent",
        "--floor",
    ])
    .into_parts();
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--floor does not apply to --target"), "{err}");
}

#[test]
fn bench_rows_of_two_load_machines_merge_summed() {
    let tmp = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for i in 0..2 {
        let f = tmp.path().join(format!("m{i}.json"));
        let (code, _, err) = support::run(&[
            "bench",
            "--trust-anchors",
            "1,10",
            "--duration",
            "200ms",
            "--format",
            "json",
            "--output",
            f.to_str().unwrap(),
        ])
        .into_parts();
        assert_eq!(code, 0, "{err}");
        files.push(f);
    }
    let merged = tmp.path().join("merged.json");
    let (code, _, err) = support::run(&[
        "report",
        "merge",
        files[0].to_str().unwrap(),
        files[1].to_str().unwrap(),
        "--output",
        merged.to_str().unwrap(),
    ])
    .into_parts();
    assert_eq!(code, 0, "{err}");
    let (a, b, m) = (json_of(&files[0]), json_of(&files[1]), json_of(&merged));
    for i in 0..2 {
        let n = |v: &Value| v["points"][i]["stats"]["handshakes"].as_u64().unwrap();
        assert_eq!(n(&m), n(&a) + n(&b));
        assert_eq!(
            m["points"][i]["trust_anchors"],
            a["points"][i]["trust_anchors"]
        );
    }
    assert_eq!(m["concurrency"], 8);
}

/// What a report says about its cases, without what differs run to run
/// (durations, timings, wall time, and the transcript, whose interleaving
/// of the two sides' messages varies between two runs of one case).
fn stable(mut v: Value) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(o) => {
                for k in ["duration_ms", "wall_ms", "timings", "transcript"] {
                    o.remove(k);
                }
                o.values_mut().for_each(strip);
            }
            Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut v);
    v
}

/// testcase name -> its element with times stripped, from a JUnit report.
fn junit_cases(xml: &str) -> BTreeMap<String, String> {
    let time = regex_lite::Regex::new(r#" (time|timestamp)="[^"]*""#).unwrap();
    let mut cases = BTreeMap::new();
    let mut rest = xml;
    while let Some(i) = rest.find("<testcase ") {
        let end = rest[i..]
            .find("</testcase>")
            .map(|e| i + e + "</testcase>".len())
            .or_else(|| rest[i..].find("/>").map(|e| i + e + 2))
            .unwrap();
        let el = &rest[i..end];
        let name = el
            .split("name=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert!(
            cases
                .insert(name.to_string(), time.replace_all(el, "").into_owned())
                .is_none(),
            "{name} twice"
        );
        rest = &rest[end..];
    }
    cases
}

#[test]
fn three_shards_cover_every_case_once_and_merge_to_the_unsharded_report() {
    let tmp = tempfile::tempdir().unwrap();
    let catalog = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios");
    let filter = "ca_names::*";
    let run = |shard: Option<&str>, format: &str, file: &Path| {
        let mut args = vec!["run", catalog, "--filter", filter, "--format", format];
        args.extend(["--output", file.to_str().unwrap()]);
        if let Some(s) = shard {
            args.extend(["--shard", s]);
        }
        let (code, out, err) = support::run(&args).into_parts();
        assert!(code == 0 || code == 1, "{out}{err}");
    };
    let whole = tmp.path().join("whole.json");
    run(None, "json", &whole);
    let whole_xml = tmp.path().join("whole.xml");
    run(None, "junit", &whole_xml);
    let mut parts = Vec::new();
    let mut xml_parts = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for k in 1..=3 {
        let f = tmp.path().join(format!("s{k}.json"));
        run(Some(&format!("{k}/3")), "json", &f);
        for r in json_of(&f)["results"].as_array().unwrap() {
            let name = format!("{} [{} TLS{}]", r["scenario"], r["profile"], r["tls"]);
            *seen.entry(name).or_default() += 1;
        }
        parts.push(f.to_str().unwrap().to_string());
        let x = tmp.path().join(format!("s{k}.xml"));
        run(Some(&format!("{k}/3")), "junit", &x);
        xml_parts.push(x.to_str().unwrap().to_string());
    }
    let whole_json = json_of(&whole);
    let total = whole_json["results"].as_array().unwrap().len();
    assert!(total > 10, "{total}");
    assert_eq!(seen.len(), total, "every case in some shard");
    assert!(
        seen.values().all(|&n| n == 1),
        "a case in two shards: {seen:?}"
    );

    let merged = tmp.path().join("merged.json");
    let mut args = vec!["report", "merge"];
    args.extend(parts.iter().map(String::as_str));
    args.extend(["--output", merged.to_str().unwrap()]);
    let (code, _, err) = support::run(&args).into_parts();
    assert_eq!(code, 0, "{err}");
    assert_eq!(stable(json_of(&merged)), stable(whole_json));

    let merged_xml = tmp.path().join("merged.xml");
    let mut args = vec!["report", "merge"];
    args.extend(xml_parts.iter().map(String::as_str));
    args.extend(["--output", merged_xml.to_str().unwrap()]);
    let (code, _, err) = support::run(&args).into_parts();
    assert_eq!(code, 0, "{err}");
    let (m, w) = (
        std::fs::read_to_string(&merged_xml).unwrap(),
        std::fs::read_to_string(&whole_xml).unwrap(),
    );
    assert_eq!(junit_cases(&m), junit_cases(&w));
    let totals = |x: &str| {
        let head = &x[x.find("<testsuites").unwrap()..];
        let head = &head[..head.find('>').unwrap()];
        ["tests", "failures", "errors"].map(|a| {
            head.split(&format!(" {a}=\""))
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .to_string()
        })
    };
    assert_eq!(totals(&m), totals(&w));
}

/// `bench --gateway GATEWAY --during CHANGE` for 3 s, a change a second:
/// each change is seen by the canary and was made by `mechanism` (the end
/// of its `what`).
fn every_change_takes_effect(gateway: &str, change: &str, mechanism: &str) {
    let (code, out, err) = support::run(&[
        "bench",
        "--gateway",
        gateway,
        "--during",
        change,
        "--every",
        "1s",
        "--duration",
        "3s",
        "--format",
        "json",
    ])
    .into_parts();
    assert_eq!(code, 0, "{gateway} {change}: {err}");
    let run: serde_json::Value = serde_json::from_str(&out).unwrap();
    // Requests went on established connections the whole run.
    assert!(
        run["keep_alive"]["requests"].as_u64().unwrap() > 0,
        "{gateway} {change}: {run}"
    );
    let changes = run["changes"].as_array().unwrap();
    assert!(!changes.is_empty(), "{gateway} {change}: {run}");
    for c in changes {
        assert!(
            c["effect_ms"].as_f64().is_some(),
            "{gateway} {change}: {run}"
        );
        assert!(
            c["what"].as_str().unwrap().ends_with(mechanism),
            "{gateway} {change}: {run}"
        );
    }
}

/// `bench --during`: real nginx reloads, its CRL and its certificate change
/// under load; each change's time to effect is measured by the canary.
#[test]
fn bench_during_changes_on_real_nginx_haproxy_and_caddy() {
    if !support::require("nginx") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    for change in ["reload", "crl-update", "cert-rotation", "ca-rollover"] {
        let svg = tmp.path().join(format!("{change}.svg"));
        let (code, out, err) = support::run(&[
            "bench",
            "--plot",
            svg.to_str().unwrap(),
            "--gateway",
            "real:nginx",
            "--during",
            change,
            "--every",
            "1s",
            "--duration",
            "3s",
            "--format",
            "json",
        ])
        .into_parts();
        assert_eq!(code, 0, "{change}: {err}");
        let run: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert!(run["stats"]["handshakes"].as_u64().unwrap() > 0, "{run}");
        assert!(run["stats"]["errors"].is_u64(), "{run}");
        let changes = run["changes"].as_array().unwrap();
        assert_eq!(changes.len(), 2, "{change}: {run}");
        for (i, c) in changes.iter().enumerate() {
            // Seen by the canary before the next change.
            assert!(c["effect_ms"].as_f64().is_some(), "{change} #{i}: {run}");
            assert!(c["failed_handshakes"].is_u64(), "{run}");
            if change == "cert-rotation" {
                assert!(c["stale_after_rotation"].is_u64(), "{run}");
            }
        }
        // The time axis: handshakes and failures over time, changes marked.
        let svg = std::fs::read_to_string(&svg).unwrap();
        assert!(
            svg.starts_with("<svg")
                && svg.contains("failed handshakes/s")
                && svg.contains("failed request on a keep-alive connection")
                && svg.contains("seconds"),
            "{svg}"
        );
        if change == "ca-rollover" {
            // The overlap, then the removal, each seen by the canary (a
            // client of the new CA); the load's failures are measured.
            assert_eq!(
                changes[0]["what"], "new-ca trusted beside root, then SIGHUP",
                "{run}"
            );
            assert_eq!(changes[1]["what"], "new-ca removed, then SIGHUP", "{run}");
        }
        if change == "crl-update" {
            assert_eq!(changes[0]["what"], "an empty CRL, then SIGHUP", "{run}");
            assert_eq!(
                changes[1]["what"], "a CRL listing the canary, then SIGHUP",
                "{run}"
            );
        }
    }
    // Without a reload nginx keeps the CRL it loaded: no change takes.
    let (code, out, err) = support::run(&[
        "bench",
        "--gateway",
        "real:nginx",
        "--during",
        "crl-update",
        "--no-reload",
        "--every",
        "500ms",
        "--duration",
        "1500ms",
        "--format",
        "json",
    ])
    .into_parts();
    assert_eq!(code, 0, "{err}");
    let run: serde_json::Value = serde_json::from_str(&out).unwrap();
    for c in run["changes"].as_array().unwrap() {
        assert!(c["effect_ms"].is_null(), "{run}");
    }
    // Only a gateway with a reload mechanism the harness drives.
    let (code, _, err) =
        support::run(&["bench", "--gateway", "real:openssl", "--during", "reload"]).into_parts();
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--during with real:openssl"), "{err}");
    // Caddy takes a new certificate and a new trust through its admin
    // endpoint (`POST /load`); it loads no CRL, and has no workers a reload
    // replaces.
    if support::require("caddy") {
        for change in ["cert-rotation", "ca-rollover"] {
            every_change_takes_effect(
                "real:caddy",
                change,
                "through the admin API (POST /load), no restart",
            );
        }
        let (code, _, err) =
            support::run(&["bench", "--gateway", "real:caddy", "--during", "crl-update"])
                .into_parts();
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("loads no CRL"), "{err}");
    }
    // HAProxy takes a new CRL and certificate through its runtime API,
    // without a reload, and reloads by SIGUSR2 to its master.
    if support::require("haproxy") {
        for change in ["crl-update", "cert-rotation", "ca-rollover"] {
            every_change_takes_effect("real:haproxy", change, "through the runtime API, no reload");
        }
        every_change_takes_effect(
            "real:haproxy",
            "reload",
            "then SIGUSR2 (a new worker with -sf)",
        );
    }
}

/// `bench --during` against the built-in gateway: a reload swaps a
/// configuration built from the changed files in whole, each change is
/// seen, and no request on an established connection fails (those keep the
/// configuration they were accepted with); without a reload no change is
/// seen (the model of every program here: none watches its files).
#[test]
fn bench_during_on_the_built_in_gateway_swaps_its_configuration() {
    for change in ["reload", "crl-update", "cert-rotation", "ca-rollover"] {
        every_change_takes_effect(
            "builtin",
            change,
            "then a reload (a configuration from the files, swapped in)",
        );
    }
    let (code, out, err) = support::run(&[
        "bench",
        "--during",
        "cert-rotation",
        "--every",
        "500ms",
        "--duration",
        "1500ms",
        "--format",
        "json",
    ])
    .into_parts();
    assert_eq!(code, 0, "{err}");
    let run: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(run["gateway"], "builtin", "{run}");
    assert_eq!(run["keep_alive"]["failed"], 0, "{run}");
    for c in run["changes"].as_array().unwrap() {
        assert_eq!(c["stale_after_rotation"], 0, "{run}");
        assert_eq!(c["failed_handshakes"], 0, "{run}");
    }
    let (code, out, err) = support::run(&[
        "bench",
        "--during",
        "crl-update",
        "--no-reload",
        "--every",
        "500ms",
        "--duration",
        "1500ms",
        "--format",
        "json",
    ])
    .into_parts();
    assert_eq!(code, 0, "{err}");
    let run: serde_json::Value = serde_json::from_str(&out).unwrap();
    let changes = run["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 2, "{run}");
    for c in changes {
        assert!(c["effect_ms"].is_null(), "{run}");
        assert!(c["what"].as_str().unwrap().ends_with("no reload"), "{run}");
    }
}
