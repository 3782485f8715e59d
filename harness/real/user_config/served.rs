//! Served directories (nginx `root`/`alias`, Apache `DocumentRoot`) that do
//! not exist on this machine: created in the run's own view, under
//! `<run>/www` mirroring the absolute path, with a page for every route the
//! run asks for, so a missing `/var/www/app` is not counted as the
//! configuration's 404. Apache's `<Directory>` sections over such a path
//! (and over its parents, `/` aside) follow it, so the configuration's
//! access rules still apply there.

use std::path::{Path, PathBuf};

pub(super) struct Served {
    root: PathBuf,
    routes: Vec<String>,
    /// The user's paths that were missing, as written.
    pub moved: Vec<PathBuf>,
}

impl Served {
    pub(super) fn new(run_dir: &Path, routes: &[String]) -> Self {
        Served {
            root: run_dir.join("www"),
            routes: routes.to_vec(),
            moved: Vec::new(),
        }
    }

    /// Where `path` is in the run's view.
    pub(super) fn mirror(&self, path: &Path) -> PathBuf {
        self.root
            .join(path.strip_prefix("/").unwrap_or(path))
            .components()
            .collect()
    }

    /// `path` (as written, quotes and `;` stripped) when it does not exist
    /// here: created in the run's view with a page for every route; its new
    /// place. `None` when it exists (served as it is) or is not absolute.
    pub(super) fn place(&mut self, path: &str) -> std::io::Result<Option<PathBuf>> {
        let original = Path::new(path);
        if !original.is_absolute() || original.exists() || path.contains('$') {
            return Ok(None);
        }
        let mirror = self.mirror(original);
        std::fs::create_dir_all(&mirror)?;
        let page = |route: &str| {
            format!(
                "mtls-harness: {route} (created for the run: {} does not exist on this machine)\n",
                original.display()
            )
        };
        std::fs::write(mirror.join("index.html"), page("/"))?;
        for route in &self.routes {
            let rel = route.trim_start_matches('/');
            if rel.is_empty() {
                continue;
            }
            if rel.ends_with('/') {
                let dir = mirror.join(rel);
                std::fs::create_dir_all(&dir)?;
                std::fs::write(dir.join("index.html"), page(route))?;
            } else {
                let file = mirror.join(rel);
                if let Some(parent) = file.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                if !file.exists() {
                    std::fs::write(&file, page(route))?;
                }
            }
        }
        if !self.moved.iter().any(|m| m == original) {
            self.moved.push(original.to_path_buf());
        }
        Ok(Some(mirror))
    }

    /// An Apache `<Directory Q>` path that must follow a moved path: `Q`
    /// is a moved path, lies under one, or is a parent of one (not `/`).
    pub(super) fn follows(&self, q: &str) -> Option<PathBuf> {
        let q = Path::new(q);
        if !q.is_absolute() || q == Path::new("/") {
            return None;
        }
        self.moved
            .iter()
            .any(|m| m.starts_with(q) || q.starts_with(m))
            .then(|| self.mirror(q))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_directory_is_made_with_a_page_per_route() {
        let tmp = tempfile::tempdir().unwrap();
        let mut served = Served::new(
            tmp.path(),
            &["/".into(), "/healthz".into(), "/admin/".into()],
        );
        let at = served
            .place("/nonexistent-mtls-harness/app")
            .unwrap()
            .expect("moved");
        assert_eq!(at, tmp.path().join("www/nonexistent-mtls-harness/app"));
        assert!(at.join("index.html").is_file());
        assert!(at.join("healthz").is_file());
        assert!(at.join("admin/index.html").is_file());
        // What exists is served as it is.
        assert_eq!(served.place("/").unwrap(), None);
        assert_eq!(served.place("relative/dir").unwrap(), None);
        assert_eq!(
            served.follows("/nonexistent-mtls-harness/"),
            Some(tmp.path().join("www/nonexistent-mtls-harness"))
        );
        assert_eq!(
            served.follows("/nonexistent-mtls-harness/app/static"),
            Some(tmp.path().join("www/nonexistent-mtls-harness/app/static"))
        );
        assert_eq!(served.follows("/"), None);
        assert_eq!(served.follows("/usr/share"), None);
    }
}
