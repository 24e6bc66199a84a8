//! The metadata cache on real files (a same-size rewrite with its mtime
//! put back is still read again; a file changed just now is not cached),
//! and blob collection (mark and sweep) with its lock and cache upkeep.

#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rollback::cache::RACY_NS;
use rollback::gc::{self, collect_older};
use rollback::session::{save_manifest, Meta, BEFORE};
use rollback::snapshot::{take, Keep};
use rollback::{Cache, Filter, Manifest, Store};

/// Long enough for the files written so far to be cached.
fn wait_out_racy_window() {
    let ns = u64::try_from(RACY_NS).unwrap();
    std::thread::sleep(Duration::from_nanos(ns) + Duration::from_millis(200));
}

fn snap(root: &Path, store: &Store, cache: &mut Cache) -> Manifest {
    take(&[root], &Filter::default(), Keep::Blobs(store), cache).unwrap()
}

fn hash_of(m: &Manifest, path: &str) -> String {
    let e = m.roots[0].entries.iter().find(|e| e.path == path).unwrap();
    e.hash.clone().unwrap()
}

fn canonical_tmp() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let base = fs::canonicalize(tmp.path()).unwrap();
    (tmp, base)
}

#[test]
fn a_same_size_rewrite_with_its_mtime_restored_is_read_again() {
    let (_tmp, base) = canonical_tmp();
    let root = base.join("g");
    fs::create_dir_all(&root).unwrap();
    let file = root.join("a.txt");
    fs::write(&file, "hello world\n").unwrap();
    let mtime = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    wait_out_racy_window();
    let store = Store::open(&base.join("store")).unwrap();
    let mut cache = Cache::default();
    let first = snap(&root, &store, &mut cache);
    assert_eq!(store.written(), 1);
    assert_eq!(cache.len(), 1, "an old file was not cached");
    let again = snap(&root, &store, &mut cache);
    assert_eq!(store.written(), 1, "an unchanged file was read again");
    assert_eq!(hash_of(&first, "a.txt"), hash_of(&again, "a.txt"));

    // Same size, same inode, the mtime put back as `touch -d` would: only
    // the ctime tells.
    let before = fs::metadata(&file).unwrap();
    fs::write(&file, "HELLO WORLD\n").unwrap();
    fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let after = fs::metadata(&file).unwrap();
    assert_eq!(before.len(), after.len());
    assert_eq!(before.modified().unwrap(), after.modified().unwrap());
    use std::os::unix::fs::MetadataExt;
    assert_eq!(before.ino(), after.ino());
    let changed = snap(&root, &store, &mut cache);
    assert_eq!(store.written(), 2, "the rewrite was not read");
    assert_ne!(hash_of(&first, "a.txt"), hash_of(&changed, "a.txt"));
    let blob = store.read(&hash_of(&changed, "a.txt")).unwrap();
    assert_eq!(blob, b"HELLO WORLD\n");
}

#[test]
fn a_file_changed_just_now_is_not_cached_and_a_hash_is_not_a_blob() {
    let (_tmp, base) = canonical_tmp();
    let root = base.join("g");
    fs::create_dir_all(&root).unwrap();
    fs::write(root.join("new.txt"), "fresh").unwrap();
    let store = Store::open(&base.join("store")).unwrap();
    let mut cache = Cache::default();
    take(&[&root], &Filter::default(), Keep::HashOnly, &mut cache).unwrap();
    assert!(cache.is_empty(), "a racy file was cached");
    wait_out_racy_window();
    take(&[&root], &Filter::default(), Keep::HashOnly, &mut cache).unwrap();
    assert_eq!(cache.len(), 1);
    // Only hashed: a snapshot keeping blobs must still store it.
    let m = snap(&root, &store, &mut cache);
    assert_eq!(store.written(), 1);
    assert_eq!(store.read(&hash_of(&m, "new.txt")).unwrap(), b"fresh");
    // The cache survives a save and a load.
    store.save_cache(&mut cache).unwrap();
    let mut loaded = store.load_cache();
    snap(&root, &store, &mut loaded);
    assert_eq!(store.written(), 1, "the saved cache did not vouch");
}

/// A session recorded in `sessions/<id>` naming `m`, registered in the store.
fn session(sessions: &Path, id: &str, store: &Store, m: &Manifest) -> PathBuf {
    let dir = sessions.join(id);
    let meta = Meta {
        version: 1,
        id: id.to_string(),
        workdir: String::new(),
        roots: Vec::new(),
        filter: Filter::default(),
        store: store.dir().display().to_string(),
        started: "2026-01-01T00:00:00Z".to_string(),
        taken: vec!["before".to_string(), "after".to_string()],
        restored: None,
    };
    meta.save(&dir).unwrap();
    store.add_ref(id, &dir).unwrap();
    save_manifest(&dir, BEFORE, m).unwrap();
    dir
}

#[test]
fn collection_removes_only_unnamed_blobs_and_drops_their_cache_entries() {
    let (_tmp, base) = canonical_tmp();
    let (one, two) = (base.join("one"), base.join("two"));
    fs::create_dir_all(&one).unwrap();
    fs::create_dir_all(&two).unwrap();
    fs::write(one.join("x"), "only in one").unwrap();
    fs::write(two.join("y"), "only in two").unwrap();
    wait_out_racy_window();
    // A --rollback-dest store: its sessions live elsewhere.
    let store = Store::open(&base.join("dest")).unwrap();
    let elsewhere = base.join("state/rollbacks");
    let mut cache = Cache::default();
    let m1 = snap(&one, &store, &mut cache);
    let m2 = snap(&two, &store, &mut cache);
    store.save_cache(&mut cache).unwrap();
    let d1 = session(&elsewhere, "20260101-000000-1", &store, &m1);
    session(&elsewhere, "20260101-000001-2", &store, &m2);
    let (h1, h2) = (hash_of(&m1, "x"), hash_of(&m2, "y"));

    // Everything named (found through refs/ alone) is kept.
    let swept = collect_older(&store, None, Duration::ZERO).unwrap();
    assert_eq!((swept.blobs, swept.busy), (0, false));

    fs::remove_dir_all(&d1).unwrap();
    // Unnamed now, but written less than an hour before the collection.
    let swept = gc::collect(&store, None).unwrap();
    assert_eq!(swept.blobs, 0);
    assert!(store.has(&h1), "a fresh blob was removed");
    // A snapshot in progress holds the store: nothing is collected.
    let held = store.lock_shared().unwrap();
    let swept = collect_older(&store, None, Duration::ZERO).unwrap();
    assert!(swept.busy);
    assert!(store.has(&h1));
    drop(held);

    let generation = store.generation();
    let swept = collect_older(&store, None, Duration::ZERO).unwrap();
    assert_eq!(swept.blobs, 1, "{swept:?}");
    assert!(!store.has(&h1), "an unnamed blob was kept");
    assert!(store.has(&h2), "a named blob was removed");
    assert_eq!(store.refs().len(), 1, "the removed session's ref stayed");
    assert_eq!(store.generation(), generation + 1);

    // The cache loaded before the collection is refreshed and no longer
    // vouches for the removed blob: the file is stored again.
    let written = store.written();
    store.refresh(&mut cache);
    let again = snap(&one, &store, &mut cache);
    assert_eq!(
        store.written(),
        written + 1,
        "a removed blob was vouched for"
    );
    assert_eq!(store.read(&hash_of(&again, "x")).unwrap(), b"only in one");
    // y is still vouched for (its blob was kept).
    snap(&two, &store, &mut cache);
    assert_eq!(store.written(), written + 1);
}

#[test]
fn collection_marks_sessions_under_the_given_directory() {
    let (_tmp, base) = canonical_tmp();
    let root = base.join("g");
    fs::create_dir_all(&root).unwrap();
    fs::write(root.join("z"), "named").unwrap();
    let store = Store::open(&base.join("rollbacks")).unwrap();
    let m = snap(&root, &store, &mut Cache::default());
    let dir = session(&base.join("rollbacks"), "20260101-000000-3", &store, &m);
    // Without its ref, the session is still found where sessions live.
    fs::remove_dir_all(store.dir().join("refs")).unwrap();
    let swept = collect_older(&store, Some(&base.join("rollbacks")), Duration::ZERO).unwrap();
    assert_eq!(swept.blobs, 0);
    assert!(store.has(&hash_of(&m, "z")));
    fs::remove_dir_all(dir).unwrap();
    let swept = collect_older(&store, Some(&base.join("rollbacks")), Duration::ZERO).unwrap();
    assert_eq!(swept.blobs, 1);
}
