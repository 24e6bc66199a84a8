//! `realpath(3)` for planning a session: while a plan is being made, each
//! directory is resolved once and kept, and an entry of it that is not a
//! symlink is the kept directory plus its name (one `lstat`), so a
//! thousand grants in one directory (or the protected paths under `~`)
//! cost one walk of it, not a readlink per component each.
//!
//! Only inside [`planning`] (the plan is made in a few milliseconds, before
//! anything runs); everywhere else, and for anything unusual (a symlink, a
//! relative path, a path that is not plain — a trailing `/` or `/.`, after
//! which the final symlink is followed even by `lstat` — an error), this is
//! `fs::canonicalize` itself, errors included.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

thread_local! {
    static DIRS: RefCell<Option<HashMap<PathBuf, PathBuf>>> = const { RefCell::new(None) };
}

/// Run `f` with directories kept between calls to [`canonicalize`].
pub fn planning<T>(f: impl FnOnce() -> T) -> T {
    let outer = DIRS.with(|d| d.borrow_mut().replace(HashMap::new()));
    let r = f();
    DIRS.with(|d| *d.borrow_mut() = outer);
    r
}

/// `fs::canonicalize`, with the kept directories while [`planning`].
pub fn canonicalize(path: &Path) -> io::Result<PathBuf> {
    if let Some(r) = via_kept_dir(path) {
        return r;
    }
    fs::canonicalize(path)
}

/// None: not answered here (ask `realpath`).
fn via_kept_dir(path: &Path) -> Option<io::Result<PathBuf>> {
    if !sandbox::plain_absolute(path) {
        return None;
    }
    let (dir, name) = (path.parent()?, path.file_name()?);
    DIRS.with(|d| {
        let mut d = d.borrow_mut();
        let map = d.as_mut()?;
        // A directory asked for again (`~` for every protected path in it).
        if let Some(c) = map.get(path) {
            return Some(Ok(c.clone()));
        }
        let kept = match map.get(dir) {
            Some(c) => c.clone(),
            None => {
                let c = fs::canonicalize(dir).ok()?;
                map.insert(dir.to_path_buf(), c.clone());
                c
            }
        };
        let meta = match fs::symlink_metadata(path) {
            Ok(m) => m,
            // In a directory that resolves, a missing name is realpath's
            // ENOENT too (protected paths that do not exist here).
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Some(Err(e)),
            Err(_) => return None,
        };
        if meta.file_type().is_symlink() {
            return None;
        }
        let canon = kept.join(name);
        if meta.is_dir() {
            map.insert(path.to_path_buf(), canon.clone());
        }
        Some(Ok(canon))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
            // After a trailing `/` or `/.` even lstat follows the link.
            d.path().join("via/"),
            d.path().join("via/."),
            real.join("s/"),
        ];
        let plain: Vec<_> = cases.iter().map(|p| fs::canonicalize(p).ok()).collect();
        let missing = d.path().join("via/missing");
        let kind = planning(|| canonicalize(&missing).unwrap_err().kind());
        assert_eq!(kind, fs::canonicalize(&missing).unwrap_err().kind());
        let kept = planning(|| {
            // Twice: the second round comes from the kept directories.
            let _: Vec<_> = cases.iter().map(|p| canonicalize(p).ok()).collect();
            cases
                .iter()
                .map(|p| canonicalize(p).ok())
                .collect::<Vec<_>>()
        });
        assert_eq!(plain, kept);
        assert_eq!(kept[0], Some(real.join("f")));
        assert_eq!(kept[1], Some(real.join("f")));
        assert_eq!(kept[3], None);
        // Nothing is kept once planning is over.
        assert!(DIRS.with(|d| d.borrow().is_none()));
    }
}
