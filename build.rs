//! Embeds the scenario catalog (`scenarios/**/*.toml`) in the library, so
//! `Conformance` and an installed binary need no source tree: writes
//! `$OUT_DIR/catalog.rs`, a table of (path below `scenarios/`, text).

use std::path::{Path, PathBuf};

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        if hidden {
            continue;
        }
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let catalog = root.join("scenarios");
    println!("cargo:rerun-if-changed=scenarios");
    let mut files = Vec::new();
    collect(&catalog, &mut files);
    files.sort();
    let mut text = String::from(
        "/// The built-in catalog: (path below `scenarios/`, file text), sorted by path.\n\
         pub static EMBEDDED: &[(&str, &str)] = &[\n",
    );
    for path in &files {
        // Every directory is watched too: a new file reruns the script.
        if let Some(parent) = path.parent() {
            println!("cargo:rerun-if-changed={}", parent.display());
        }
        let rel = path
            .strip_prefix(&catalog)
            .expect("below the catalog")
            .to_string_lossy()
            .replace('\\', "/");
        text.push_str(&format!(
            "    ({rel:?}, include_str!({:?})),\n",
            path.display().to_string()
        ));
    }
    text.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it")).join("catalog.rs");
    std::fs::write(out, text).expect("write catalog.rs");
}
