//! `realpath(3)` with directories resolved once: an entry of a kept
//! directory that is not itself a symlink is the directory's canonical
//! path plus its name, known from one `lstat`, so a thousand paths in one
//! directory (an expanded home, the protected paths under `~`) cost one
//! walk of it, not a readlink per component each.
//!
//! Only plain absolute paths are answered ([`plain_absolute`]): after a
//! trailing `/` or `/.` even `lstat` follows a final symlink while
//! `Path::file_name` still gives the link's name. Anything else, and any
//! error but a missing name, is left to `realpath`.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// `path` is absolute and names its last component plainly: no empty, `.`
/// or `..` component anywhere (so no trailing `/` or `/.`).
pub fn plain_absolute(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    match path.as_os_str().as_bytes().strip_prefix(b"/") {
        Some(rest) => {
            rest.is_empty()
                || rest
                    .split(|&b| b == b'/')
                    .all(|c| !c.is_empty() && c != b"." && c != b"..")
        }
        None => false,
    }
}

/// Directories resolved so far: path as asked → canonical path.
#[derive(Debug, Clone, Default)]
pub struct KeptDirs(HashMap<PathBuf, PathBuf>);

impl KeptDirs {
    /// `path`'s canonical form and whether it is a directory, or the
    /// NotFound `realpath` would give for a missing name in a directory
    /// that resolves; None: not answered here (ask `realpath`).
    pub fn resolve(&mut self, path: &Path) -> Option<io::Result<(PathBuf, bool)>> {
        if !plain_absolute(path) {
            return None;
        }
        // A directory asked for again (`~` for every protected path in it).
        if let Some(c) = self.0.get(path) {
            return Some(Ok((c.clone(), true)));
        }
        let (dir, name) = (path.parent()?, path.file_name()?);
        let kept = match self.0.get(dir) {
            Some(c) => c.clone(),
            None => {
                let c = fs::canonicalize(dir).ok()?;
                self.0.insert(dir.to_path_buf(), c.clone());
                c
            }
        };
        let meta = match fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Some(Err(e)),
            Err(_) => return None,
        };
        if meta.file_type().is_symlink() {
            return None;
        }
        let canon = kept.join(name);
        if meta.is_dir() {
            self.0.insert(path.to_path_buf(), canon.clone());
        }
        Some(Ok((canon, meta.is_dir())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_absolute_paths_are_plain() {
        for p in ["/", "/a", "/a/b.c", "/a/.b", "/a/..b"] {
            assert!(plain_absolute(Path::new(p)), "{p}");
        }
        for p in [
            "", "a", "./a", "/a/", "//a", "/a//b", "/a/./b", "/a/../b", "/a/.", "/a/..",
        ] {
            assert!(!plain_absolute(Path::new(p)), "{p}");
        }
    }

    #[test]
    fn the_same_answers_as_realpath() {
        let d = tempfile::tempdir().unwrap();
        let real = fs::canonicalize(d.path()).unwrap().join("real");
        fs::create_dir(&real).unwrap();
        fs::write(real.join("f"), "").unwrap();
        std::os::unix::fs::symlink(&real, d.path().join("via")).unwrap();
        std::os::unix::fs::symlink(real.join("f"), real.join("s")).unwrap();
        let cases = [
            d.path().join("via/f"),
            d.path().join("via/s"),
            d.path().join("via"),
            d.path().join("via/missing"),
            d.path().join("via/./f"),
            d.path().join("via/../via/f"),
            d.path().join("via/"),
            d.path().join("via/."),
            real.join("s/"),
        ];
        let plain: Vec<_> = cases.iter().map(|p| fs::canonicalize(p).ok()).collect();
        let mut kept = KeptDirs::default();
        let ask = |k: &mut KeptDirs, p: &Path| match k.resolve(p) {
            Some(r) => r.map(|(c, _)| c).ok(),
            None => fs::canonicalize(p).ok(),
        };
        // Twice: the second round comes from the kept directories.
        let _: Vec<_> = cases.iter().map(|p| ask(&mut kept, p)).collect();
        let again: Vec<_> = cases.iter().map(|p| ask(&mut kept, p)).collect();
        assert_eq!(plain, again);
        assert_eq!(again[0], Some(real.join("f")));
        assert_eq!(again[1], Some(real.join("f")));
        assert_eq!(again[3], None);
    }
}
