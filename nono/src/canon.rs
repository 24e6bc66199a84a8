//! `realpath(3)` for planning a session: while a plan is being made,
//! directories are resolved once and kept (`sandbox::kept_dirs`, which
//! also says what it answers and what it leaves to `realpath`).
//!
//! Only inside [`planning`] (the plan is made in a few milliseconds, before
//! anything runs); everywhere else this is `fs::canonicalize` itself.

use std::cell::RefCell;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use sandbox::kept_dirs::KeptDirs;

thread_local! {
    static DIRS: RefCell<Option<KeptDirs>> = const { RefCell::new(None) };
}

/// Run `f` with directories kept between calls to [`canonicalize`].
pub fn planning<T>(f: impl FnOnce() -> T) -> T {
    let outer = DIRS.with(|d| d.borrow_mut().replace(KeptDirs::default()));
    let r = f();
    DIRS.with(|d| *d.borrow_mut() = outer);
    r
}

/// The kept directories' answer for `path`, while [`planning`].
fn kept(path: &Path) -> Option<io::Result<(PathBuf, bool)>> {
    DIRS.with(|d| d.borrow_mut().as_mut().and_then(|k| k.resolve(path)))
}

/// `fs::canonicalize`, with the kept directories while [`planning`].
pub fn canonicalize(path: &Path) -> io::Result<PathBuf> {
    match kept(path) {
        Some(r) => r.map(|(canon, _)| canon),
        None => fs::canonicalize(path),
    }
}

/// [`canonicalize`], and whether the path names a directory (from the
/// same `lstat` when the kept directories answer; else one `stat` of the
/// canonical path, which has no symlink left to follow).
pub fn canonicalize_kind(path: &Path) -> io::Result<(PathBuf, bool)> {
    match kept(path) {
        Some(r) => r,
        None => {
            let canon = fs::canonicalize(path)?;
            let dir = canon.is_dir();
            Ok((canon, dir))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_only_while_planning() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("f");
        fs::write(&f, "").unwrap();
        let want = fs::canonicalize(&f).unwrap();
        assert_eq!(planning(|| canonicalize(&f).unwrap()), want);
        let missing = d.path().join("missing");
        let kind = planning(|| canonicalize(&missing).unwrap_err().kind());
        assert_eq!(kind, fs::canonicalize(&missing).unwrap_err().kind());
        // Nothing is kept once planning is over.
        assert!(DIRS.with(|d| d.borrow().is_none()));
        assert_eq!(canonicalize(&f).unwrap(), want);
    }

    #[test]
    fn the_kind_comes_with_the_path_kept_or_not() {
        let d = tempfile::tempdir().unwrap();
        let (f, sub) = (d.path().join("f"), d.path().join("sub"));
        fs::write(&f, "").unwrap();
        fs::create_dir(&sub).unwrap();
        let link = d.path().join("link");
        std::os::unix::fs::symlink(&sub, &link).unwrap();
        for kept in [false, true] {
            let kind = |p: &Path| {
                let run = || canonicalize_kind(p).unwrap();
                if kept {
                    planning(run)
                } else {
                    run()
                }
            };
            assert_eq!(kind(&f), (fs::canonicalize(&f).unwrap(), false));
            assert_eq!(kind(&sub), (fs::canonicalize(&sub).unwrap(), true));
            assert_eq!(kind(&link), (fs::canonicalize(&sub).unwrap(), true));
        }
    }
}
