//! The layer graph, checked from the source: no module imports a module of a
//! higher layer (the TLS engine knows neither the scenario format nor the
//! gateway profiles), and no two sibling modules import each other, directly
//! or around a loop. The binary (`main.rs`, `cli/`) is read too: it is the
//! top layer, may import any library module, and its own modules follow the
//! same no-cycle rule. `docs/architecture.md` describes the layers.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The top-level modules by layer, lowest first. A module may import its own
/// layer (without a cycle) and any lower one.
const LAYERS: &[&[&str]] = &[
    &[
        "exit_codes",
        "source",
        "alert",
        "knobs",
        "observation",
        "interrupt",
        "error_chain",
        "process",
    ],
    &["pki"],
    &["tls", "capture", "revocation"],
    &["gateway"],
    &["scenario", "policy"],
    &["oracle"],
    &["case", "steps", "backend"],
    &["real", "probe", "bench", "runner", "credential"],
    &["docs", "api", "prelude"],
    // The binary: `main.rs` and the modules under `cli/`.
    &["cli", "main"],
];

/// Imports the layer rule alone would allow but the design forbids.
const FORBIDDEN: &[(&str, &str)] = &[("tls", "scenario"), ("tls", "gateway")];

/// One module (a file) and the module paths it refers to.
struct ModuleFile {
    path: Vec<String>,
    file: PathBuf,
    refs: Vec<Vec<String>>,
}

/// The module path of `file` under `root`. The binary's root `main.rs` is
/// `main` (the library's root `lib.rs` is the empty path); its modules under
/// `cli/` are `cli::...`, as `crate::cli::...` names them.
fn module_path(root: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(root).expect("under root");
    if rel == Path::new("main.rs") {
        return vec!["main".to_string()];
    }
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if parts
        .last()
        .is_some_and(|p| p == "mod" || p == "lib" || p == "main")
    {
        parts.pop();
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable source dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Code outside `#[cfg(test)]` items (unit tests may reach anywhere) and
/// outside comments.
fn production_code(text: &str) -> String {
    let mut out = String::new();
    let mut skip_depth: Option<i32> = None;
    let mut depth = 0i32;
    let mut pending_test = false;
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        if code.trim_start().starts_with("#[cfg(test)]") {
            pending_test = true;
            continue;
        }
        let opens = code.matches('{').count() as i32;
        let closes = code.matches('}').count() as i32;
        if pending_test && skip_depth.is_none() {
            skip_depth = Some(depth);
            pending_test = false;
        }
        depth += opens - closes;
        match skip_depth {
            Some(d)
                if depth <= d && (opens > 0 || closes > 0 || code.trim_end().ends_with(';')) =>
            {
                skip_depth = None;
            }
            Some(_) => {}
            None => {
                out.push_str(code);
                out.push('\n');
            }
        }
    }
    out
}

fn load() -> Vec<ModuleFile> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("harness");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    // In the binary `mtls_harness::` is the library's `crate::`.
    let path_re = regex_lite::Regex::new(r"\b(crate|super|mtls_harness)((?:::[a-z_][a-z0-9_]*)+)")
        .expect("regex");
    files
        .into_iter()
        .map(|file| {
            let path = module_path(&root, &file);
            let text = std::fs::read_to_string(&file).expect("readable source");
            let code = production_code(&text);
            let mut refs = Vec::new();
            for cap in path_re.captures_iter(&code) {
                let tail: Vec<String> = cap[2]
                    .split("::")
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect();
                let absolute = if &cap[1] == "crate" || &cap[1] == "mtls_harness" {
                    tail
                } else {
                    // `super` is the parent of the module this file is,
                    // whether it is `x.rs` or `x/mod.rs`.
                    let mut base = path.clone();
                    base.pop();
                    base.extend(tail);
                    base
                };
                refs.push(absolute);
            }
            // `use super::{a, b}` groups: count each name.
            let group_re = regex_lite::Regex::new(r"\buse super::\{([^}]*)\}").expect("regex");
            for cap in group_re.captures_iter(&code) {
                for name in cap[1].split(',') {
                    let name = name.trim().split("::").next().unwrap_or("").trim();
                    if !name.is_empty() {
                        let mut base = path.clone();
                        base.pop();
                        base.push(name.to_string());
                        refs.push(base);
                    }
                }
            }
            ModuleFile { path, file, refs }
        })
        .collect()
}

/// Each reference resolved to the longest known module path it names.
fn edges(modules: &[ModuleFile]) -> Vec<(Vec<String>, Vec<String>, PathBuf)> {
    let known: BTreeSet<Vec<String>> = modules.iter().map(|m| m.path.clone()).collect();
    let mut out = Vec::new();
    for m in modules {
        for r in &m.refs {
            let target = (1..=r.len())
                .rev()
                .map(|n| r[..n].to_vec())
                .find(|p| known.contains(p));
            if let Some(t) = target {
                if t != m.path {
                    out.push((m.path.clone(), t, m.file.clone()));
                }
            }
        }
    }
    out
}

fn layer_of(top: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&top))
}

#[test]
fn no_module_imports_a_higher_layer_or_a_forbidden_one() {
    let modules = load();
    assert!(modules.len() > 30, "found only {} modules", modules.len());
    // The binary is read too: its root and the command modules.
    for binary in [&["main"][..], &["cli"], &["cli", "run"]] {
        assert!(
            modules.iter().any(|m| m.path == binary),
            "`{}` not read",
            binary.join("::")
        );
    }
    let mut wrong = Vec::new();
    for (from, to, file) in edges(&modules) {
        let (Some(a), Some(b)) = (from.first(), to.first()) else {
            continue;
        };
        if a == b {
            continue;
        }
        let (Some(la), Some(lb)) = (layer_of(a), layer_of(b)) else {
            wrong.push(format!(
                "{}: `{a}` -> `{b}`: a top-level module missing from LAYERS",
                file.display()
            ));
            continue;
        };
        if lb > la || FORBIDDEN.contains(&(a.as_str(), b.as_str())) {
            wrong.push(format!(
                "{}: `{}` imports `{}` (a higher layer)",
                file.display(),
                from.join("::"),
                to.join("::")
            ));
        }
    }
    assert!(wrong.is_empty(), "forbidden imports:\n{}", wrong.join("\n"));
}

/// A cycle among `nodes` (Kahn: what cannot be ordered is on a cycle).
fn cyclic(graph: &BTreeMap<String, BTreeSet<String>>) -> BTreeSet<String> {
    let mut indegree: BTreeMap<&str, usize> = graph.keys().map(|k| (k.as_str(), 0)).collect();
    for targets in graph.values() {
        for t in targets {
            *indegree.entry(t.as_str()).or_default() += 1;
        }
    }
    let mut ready: Vec<&str> = indegree
        .iter()
        .filter(|(_, d)| **d == 0)
        .map(|(k, _)| *k)
        .collect();
    while let Some(n) = ready.pop() {
        indegree.remove(n);
        for t in graph.get(n).into_iter().flatten() {
            if let Some(d) = indegree.get_mut(t.as_str()) {
                *d -= 1;
                if *d == 0 {
                    ready.push(t.as_str());
                }
            }
        }
    }
    indegree.keys().map(|k| k.to_string()).collect()
}

#[test]
fn no_cycles_among_sibling_modules() {
    let modules = load();
    let edges = edges(&modules);
    // Every directory module (and the crate root) and its children.
    let mut parents: BTreeSet<Vec<String>> = modules
        .iter()
        .filter(|m| !m.path.is_empty())
        .map(|m| m.path[..m.path.len() - 1].to_vec())
        .collect();
    parents.insert(Vec::new());
    let mut found = Vec::new();
    for parent in parents {
        let depth = parent.len();
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (from, to, _) in &edges {
            // Both strictly below `parent`: project onto its children.
            if from.len() > depth
                && to.len() > depth
                && from[..depth] == parent[..]
                && to[..depth] == parent[..]
                && from[depth] != to[depth]
            {
                graph
                    .entry(from[depth].clone())
                    .or_default()
                    .insert(to[depth].clone());
            }
        }
        let on_cycle = cyclic(&graph);
        if !on_cycle.is_empty() {
            found.push(format!(
                "under `crate{}`, on or behind a cycle: {}",
                parent.iter().map(|p| format!("::{p}")).collect::<String>(),
                on_cycle.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
    }
    assert!(found.is_empty(), "module cycles:\n{}", found.join("\n"));
}

#[test]
fn the_checker_sees_a_cycle_and_a_forbidden_import() {
    // The checks above must be able to fail: a two-node loop is found...
    let mut graph = BTreeMap::new();
    graph.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
    graph.insert("b".to_string(), BTreeSet::from(["a".to_string()]));
    graph.insert("c".to_string(), BTreeSet::from(["a".to_string()]));
    assert_eq!(
        cyclic(&graph),
        BTreeSet::from(["a".to_string(), "b".to_string()])
    );
    // ...`crate::` paths in production code are seen, test modules are not...
    let code = production_code(
        "use crate::gateway::X;\n#[cfg(test)]\nmod tests {\n    use crate::runner::Y;\n}\nfn f() { crate::case::z(); }\n",
    );
    assert!(code.contains("crate::gateway::X"));
    assert!(code.contains("crate::case::z"));
    assert!(!code.contains("crate::runner"));
    // ...and tls -> gateway is forbidden whatever the layers say.
    assert!(FORBIDDEN.contains(&("tls", "gateway")));
    assert!(layer_of("tls") < layer_of("scenario"));
}
