//! Reading scenario files and catalogs: ids from paths, parse, validate.

use super::schema::ScenarioFile;
use super::{validate, Scenario, ScenarioError};
use crate::source::describe_toml_error;
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

impl Scenario {
    /// Parse and validate scenario text. `path` is only used in messages.
    pub fn from_source(id: &str, path: &Path, source: String) -> Result<Scenario, ScenarioError> {
        let shown = path.display().to_string();
        let file: ScenarioFile = toml::from_str(&source).map_err(|e| {
            let (line, rendered) = describe_toml_error(&shown, &source, &e);
            ScenarioError::Parse {
                path: path.to_path_buf(),
                line,
                rendered,
            }
        })?;
        let scenario = Scenario {
            id: id.to_string(),
            path: path.to_path_buf(),
            source,
            file,
        };
        match ScenarioError::collect(validate::validate(&scenario)) {
            Some(e) => Err(e),
            None => Ok(scenario),
        }
    }
}

/// Load one scenario file. Under `catalog_root`, `<root>/<namespace>/<name>.toml`
/// has id `<namespace>::<name>` (deeper folders join with `::`); a file outside
/// a root (or directly in it) takes its parent folder's name as namespace.
pub fn load_file(path: &Path, catalog_root: Option<&Path>) -> Result<Scenario, ScenarioError> {
    let id = scenario_id(path, catalog_root)?;
    let source = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    Scenario::from_source(&id, path, source)
}

/// Load every `*.toml` below `dir` (recursively; hidden folders skipped), sorted
/// by id. All errors of all files are returned together.
pub fn load_catalog(dir: &Path) -> Result<Vec<Scenario>, ScenarioError> {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    collect_toml_files(dir, &mut files, &mut errors);
    files.sort();

    let mut by_id: BTreeMap<String, Scenario> = BTreeMap::new();
    for path in files {
        match load_file(&path, Some(dir)) {
            Ok(s) => {
                if let Some(first) = by_id.get(&s.id) {
                    errors.push(ScenarioError::DuplicateId {
                        id: s.id.clone(),
                        path: s.path.clone(),
                        first: first.path.clone(),
                    });
                } else {
                    by_id.insert(s.id.clone(), s);
                }
            }
            Err(e) => errors.push(e),
        }
    }
    match ScenarioError::collect(errors) {
        Some(e) => Err(e),
        None => Ok(by_id.into_values().collect()),
    }
}

fn collect_toml_files(dir: &Path, files: &mut Vec<PathBuf>, errors: &mut Vec<ScenarioError>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(source) => {
            errors.push(ScenarioError::Io {
                path: dir.to_path_buf(),
                source,
            });
            return;
        }
    };
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(source) => {
                errors.push(ScenarioError::Io {
                    path: dir.to_path_buf(),
                    source,
                });
                continue;
            }
        };
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if path.is_dir() {
            if !hidden {
                collect_toml_files(&path, files, errors);
            }
        } else if !hidden && path.extension().is_some_and(|e| e == "toml") {
            files.push(path);
        }
    }
}

/// The id of a scenario file; see [`load_file`].
pub fn scenario_id(path: &Path, catalog_root: Option<&Path>) -> Result<String, ScenarioError> {
    let bad = |message: String| ScenarioError::BadPath {
        path: path.to_path_buf(),
        message,
    };
    if path.extension().is_none_or(|e| e != "toml") {
        return Err(bad("a scenario file name ends in `.toml`".into()));
    }
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .ok_or_else(|| bad("file name is not UTF-8".into()))?;

    let relative_dirs: Option<Vec<String>> = catalog_root
        .and_then(|root| path.strip_prefix(root).ok())
        .and_then(|rel| rel.parent())
        .map(|parent| {
            parent
                .components()
                .filter_map(|c| match c {
                    Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
                    _ => None,
                })
                .collect()
        });
    let namespace: Vec<String> = match relative_dirs {
        Some(dirs) if !dirs.is_empty() => dirs,
        // Outside a root, or directly in it: the parent folder names the namespace.
        _ => {
            // `a.toml` or `../a.toml` name no folder: resolve it on disk.
            let parent = path.parent().unwrap_or(Path::new(""));
            let resolved = match parent.file_name() {
                Some(_) => Some(parent.to_path_buf()),
                None if parent.as_os_str().is_empty() => std::env::current_dir().ok(),
                None => parent.canonicalize().ok(),
            };
            let name = resolved
                .as_deref()
                .and_then(|p| p.file_name())
                .and_then(|n| n.to_str())
                .ok_or_else(|| bad("cannot take a namespace from the parent folder".into()))?;
            vec![name.to_string()]
        }
    };
    for part in namespace.iter().map(String::as_str).chain([stem]) {
        if !is_id_part(part) {
            return Err(bad(format!(
                "`{part}` cannot be part of a scenario id (use letters, digits, `-`, `_`)"
            )));
        }
    }
    Ok(format!("{}::{stem}", namespace.join("::")))
}

fn is_id_part(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::super::locate::{Locator, Seg};
    use super::*;

    const MINIMAL: &str = r#"
description = "minimal"
[[pki.cert]]
name = "root"
role = "root"
[[pki.cert]]
name = "gw"
role = "server"
issuer = "root"
[server]
cert = "gw"
trust = ["root"]
[expect]
result = "SUCCESS"
"#;

    fn write(dir: &Path, rel: &str, text: &str) -> PathBuf {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().expect("has parent")).expect("mkdir");
        std::fs::write(&path, text).expect("write");
        path
    }

    #[test]
    fn ids_come_from_namespace_folder_and_stem() {
        let root = Path::new("/cat");
        assert_eq!(
            scenario_id(Path::new("/cat/nginx/no-cert.toml"), Some(root)).expect("id"),
            "nginx::no-cert"
        );
        assert_eq!(
            scenario_id(Path::new("/cat/a/b/c.toml"), Some(root)).expect("id"),
            "a::b::c"
        );
        // Outside the root: the parent folder.
        assert_eq!(
            scenario_id(Path::new("/elsewhere/seeds/s000.toml"), Some(root)).expect("id"),
            "seeds::s000"
        );
        assert!(scenario_id(Path::new("/cat/nginx/x.yaml"), Some(root)).is_err());
        assert!(scenario_id(Path::new("/cat/nginx/has space.toml"), Some(root)).is_err());
    }

    #[test]
    fn catalog_is_sorted_and_skips_hidden_and_other_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), "zeta/b.toml", MINIMAL);
        write(dir.path(), "alpha/z.toml", MINIMAL);
        write(dir.path(), "alpha/a.toml", MINIMAL);
        write(dir.path(), ".git/x.toml", "not toml at all [");
        write(dir.path(), "alpha/README.md", "text");
        let ids: Vec<String> = load_catalog(dir.path())
            .expect("loads")
            .into_iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(ids, ["alpha::a", "alpha::z", "zeta::b"]);
    }

    #[test]
    fn catalog_reports_every_broken_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), "ok/fine.toml", MINIMAL);
        write(
            dir.path(),
            "bad/syntax.toml",
            "description = \"x\"\n[server\ncert = \"gw\"\n",
        );
        write(
            dir.path(),
            "bad/unknown-key.toml",
            &MINIMAL.replace("trust = [\"root\"]", "trust = [\"root\"]\ncolour = \"red\""),
        );
        write(
            dir.path(),
            "bad/unknown-cert.toml",
            &MINIMAL.replace("trust = [\"root\"]", "trust = [\"nope\"]"),
        );
        let err = load_catalog(dir.path()).expect_err("three broken files");
        let messages: Vec<String> = err.errors().iter().map(|e| e.to_string()).collect();
        assert_eq!(messages.len(), 3, "{messages:#?}");
        let all = messages.join("\n");
        assert!(all.contains("syntax.toml:2:"), "{all}");
        assert!(all.contains("unknown-key.toml:13:"), "{all}");
        assert!(all.contains("colour"), "{all}");
        assert!(
            all.contains("unknown-cert.toml:12: `server.trust[0]`"),
            "{all}"
        );
    }

    #[test]
    fn directly_in_root_uses_root_folder_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ns = dir.path().join("seeds");
        write(&ns, "s000.toml", MINIMAL);
        let loaded = load_catalog(&ns).expect("loads");
        assert_eq!(loaded[0].id, "seeds::s000");
        let direct = load_file(&ns.join("s000.toml"), None).expect("loads");
        assert_eq!(direct.id, "seeds::s000");
        assert_eq!(direct.file.description, "minimal");
    }

    #[test]
    fn duplicate_ids_are_errors() {
        // `seeds/foo.toml` (directly in the root) and `seeds/seeds/foo.toml`
        // both map to `seeds::foo`.
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("seeds");
        write(&root, "foo.toml", MINIMAL);
        write(&root, "seeds/foo.toml", MINIMAL);
        let err = load_catalog(&root).expect_err("duplicate");
        assert!(
            matches!(&err, ScenarioError::DuplicateId { id, .. } if id == "seeds::foo"),
            "{err}"
        );
    }

    #[test]
    fn missing_file_and_dir_are_io_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("ns/none.toml");
        assert!(matches!(
            load_file(&missing, Some(dir.path())),
            Err(ScenarioError::Io { .. })
        ));
        assert!(matches!(
            load_catalog(&dir.path().join("nothing")),
            Err(ScenarioError::Io { .. })
        ));
    }

    proptest::proptest! {
        #[test]
        fn any_text_loads_or_errors_without_panicking(text in "\\PC{0,200}") {
            let _ = Scenario::from_source("p::p", Path::new("p.toml"), text);
        }

        #[test]
        fn a_scenario_missing_any_line_still_gives_a_result(drop in 0usize..15) {
            let text: Vec<&str> = MINIMAL.lines().collect();
            let kept: Vec<&str> = text
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != drop)
                .map(|(_, l)| *l)
                .collect();
            let result = Scenario::from_source("p::p", Path::new("p.toml"), kept.join("\n"));
            if let Err(e) = result {
                // Every error names the file.
                proptest::prop_assert!(e.to_string().contains("p.toml"), "{}", e);
            }
        }
    }

    #[test]
    fn locator_points_at_keys_and_elements() {
        let loc = Locator::new(MINIMAL);
        assert_eq!(loc.line(&[Seg::Key("server"), Seg::Key("cert")]), Some(11));
        assert_eq!(
            loc.line(&[Seg::Key("server"), Seg::Key("trust"), Seg::Index(0)]),
            Some(12)
        );
        assert_eq!(
            loc.line(&[
                Seg::Key("pki"),
                Seg::Key("cert"),
                Seg::Index(1),
                Seg::Key("issuer")
            ]),
            Some(9)
        );
        assert_eq!(loc.line(&[Seg::Key("nothing")]), None);
    }
}
