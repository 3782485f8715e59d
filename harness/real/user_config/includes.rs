//! Where an included file is: the config's own tree first (`--config-root`,
//! standing for the program's configuration directory), then the machine.
//! A pattern (`conf.d/*.conf`) or a directory (Apache) stands for the files
//! it matches, in name order.

use std::path::{Path, PathBuf};

/// What an include line names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Included {
    /// The files, in the order the program reads them.
    pub files: Vec<PathBuf>,
    /// The last component is a pattern (or a directory): the rewritten line
    /// keeps it, over a directory of the rewritten files.
    pub pattern: Option<String>,
    /// Where it was looked for, for an error.
    pub looked: Vec<PathBuf>,
}

/// Candidates for `arg`, in order: under `config_root`, then on the machine.
/// `conf_dir` is the program's own configuration directory (`/etc/nginx`).
fn candidates(arg: &str, config_root: &Path, conf_dir: &str) -> Vec<PathBuf> {
    let path = Path::new(arg);
    let mut out = Vec::new();
    if path.is_absolute() {
        if let Ok(rest) = path.strip_prefix(conf_dir) {
            out.push(config_root.join(rest));
        }
        out.push(path.to_path_buf());
    } else {
        out.push(config_root.join(path));
        out.push(Path::new(conf_dir).join(path));
    }
    out.dedup();
    out
}

fn is_pattern(name: &str) -> bool {
    name.contains(['*', '?', '['])
}

/// `*` and `?` over one file name (a `[...]` class matches one character).
fn matches(pattern: &str, name: &str) -> bool {
    fn go(p: &[char], n: &[char]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some('*'), _) => go(&p[1..], n) || (!n.is_empty() && go(p, &n[1..])),
            (Some('?'), Some(_)) => go(&p[1..], &n[1..]),
            (Some('['), Some(c)) => match p.iter().position(|x| *x == ']') {
                Some(end) => p[1..end].contains(c) && go(&p[end + 1..], &n[1..]),
                None => false,
            },
            (Some(a), Some(b)) if a == b => go(&p[1..], &n[1..]),
            _ => false,
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    go(&p, &n)
}

/// The regular files of `dir` whose name matches `pattern`, sorted.
fn listing(dir: &Path, pattern: &str) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file() || t.is_symlink()))
        .filter(|e| matches(pattern, &e.file_name().to_string_lossy()))
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Resolve the include argument `arg`.
pub(super) fn resolve(arg: &str, config_root: &Path, conf_dir: &str) -> Included {
    let arg = arg.trim_end_matches(';').trim_matches('"');
    let looked = candidates(arg, config_root, conf_dir);
    let name = Path::new(arg)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if is_pattern(&name) {
        for candidate in &looked {
            let dir = candidate.parent().unwrap_or(Path::new("/"));
            if dir.is_dir() {
                return Included {
                    files: listing(dir, &name),
                    pattern: Some(name),
                    looked,
                };
            }
        }
        return Included {
            files: Vec::new(),
            pattern: Some(name),
            looked,
        };
    }
    for candidate in &looked {
        if candidate.is_file() {
            return Included {
                files: vec![candidate.clone()],
                pattern: None,
                looked,
            };
        }
        if candidate.is_dir() {
            return Included {
                files: listing(candidate, "*"),
                pattern: Some(String::new()),
                looked,
            };
        }
    }
    Included {
        files: Vec::new(),
        pattern: None,
        looked,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert!(matches("*.conf", "a.conf"));
        assert!(!matches("*.conf", "a.conf.bak"));
        assert!(matches("site-?", "site-1"));
        assert!(matches("[ab]*", "beta"));
        assert!(!matches("[ab]*", "gamma"));
    }

    #[test]
    fn the_config_tree_comes_before_the_machine() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("snippets")).unwrap();
        std::fs::write(root.path().join("snippets/mtls.conf"), "x").unwrap();
        std::fs::create_dir_all(root.path().join("conf.d")).unwrap();
        std::fs::write(root.path().join("conf.d/b.conf"), "b").unwrap();
        std::fs::write(root.path().join("conf.d/a.conf"), "a").unwrap();
        std::fs::write(root.path().join("conf.d/c.txt"), "c").unwrap();
        let got = resolve("/etc/nginx/snippets/mtls.conf;", root.path(), "/etc/nginx");
        assert_eq!(got.files, vec![root.path().join("snippets/mtls.conf")]);
        let got = resolve("conf.d/*.conf", root.path(), "/etc/nginx");
        assert_eq!(
            got.files,
            vec![
                root.path().join("conf.d/a.conf"),
                root.path().join("conf.d/b.conf")
            ]
        );
        assert_eq!(got.pattern.as_deref(), Some("*.conf"));
        let got = resolve("/etc/nginx/nowhere.conf", root.path(), "/etc/nginx");
        assert!(got.files.is_empty());
        assert_eq!(got.looked.len(), 2);
    }
}
