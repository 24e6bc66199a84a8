//! Snapshot, change everything, restore, compare.

#![allow(clippy::unwrap_used)]

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};

use rollback::snapshot::{take_root, Keep};
use rollback::{restore, Cache, Filter, Store};

fn state(root: &std::path::Path) -> Vec<rollback::Entry> {
    take_root(
        root,
        &Filter::default(),
        Keep::HashOnly,
        &mut Cache::default(),
    )
    .unwrap()
    .entries
}

#[test]
fn restore_undoes_every_kind_of_change() {
    let tmp = tempfile::tempdir().unwrap();
    let root = fs::canonicalize(tmp.path()).unwrap().join("g");
    let store = Store::open(&tmp.path().join("store")).unwrap();
    fs::create_dir_all(root.join("d/e")).unwrap();
    fs::write(root.join("a.txt"), "alpha").unwrap();
    fs::write(root.join("d/b.txt"), "beta").unwrap();
    fs::write(root.join("d/e/c.sh"), "#!/bin/sh").unwrap();
    fs::set_permissions(root.join("d/e/c.sh"), fs::Permissions::from_mode(0o755)).unwrap();
    symlink("a.txt", root.join("link")).unwrap();
    fs::create_dir_all(root.join(".git")).unwrap();
    fs::write(root.join(".git/HEAD"), "ref").unwrap();
    let before = take_root(
        &root,
        &Filter::default(),
        Keep::Blobs(&store),
        &mut Cache::default(),
    )
    .unwrap();

    fs::write(root.join("a.txt"), "changed").unwrap();
    fs::write(root.join("new.txt"), "created").unwrap();
    fs::create_dir_all(root.join("newdir/x")).unwrap();
    fs::remove_file(root.join("d/b.txt")).unwrap();
    fs::rename(root.join("d/e/c.sh"), root.join("d/moved.sh")).unwrap();
    fs::set_permissions(root.join("d"), fs::Permissions::from_mode(0o711)).unwrap();
    fs::remove_file(root.join("link")).unwrap();
    symlink("/etc/passwd", root.join("link")).unwrap();
    fs::write(root.join(".git/HEAD"), "agent").unwrap();

    let out = restore::restore_root(&store, &before, &Filter::default(), &[]).unwrap();
    assert!(out.failed.is_empty(), "{:?}", out.failed);
    assert_eq!(state(&root), before.entries);
    assert_eq!(fs::read_to_string(root.join("a.txt")).unwrap(), "alpha");
    assert!(!root.join("new.txt").exists() && !root.join("newdir").exists());
    assert_eq!(
        fs::read_link(root.join("link")).unwrap().to_str(),
        Some("a.txt")
    );
    // excluded: left as the agent made it
    assert_eq!(fs::read_to_string(root.join(".git/HEAD")).unwrap(), "agent");
}

#[test]
fn restore_never_follows_a_planted_directory_link() {
    let tmp = tempfile::tempdir().unwrap();
    let base = fs::canonicalize(tmp.path()).unwrap();
    let (root, outside) = (base.join("g"), base.join("outside"));
    fs::create_dir_all(root.join("sub")).unwrap();
    fs::create_dir_all(&outside).unwrap();
    fs::write(root.join("sub/f"), "mine").unwrap();
    let store = Store::open(&base.join("store")).unwrap();
    let before = take_root(
        &root,
        &Filter::default(),
        Keep::Blobs(&store),
        &mut Cache::default(),
    )
    .unwrap();
    fs::remove_dir_all(root.join("sub")).unwrap();
    symlink(&outside, root.join("sub")).unwrap();
    let out = restore::restore_root(&store, &before, &Filter::default(), &[]).unwrap();
    assert!(out.failed.is_empty(), "{:?}", out.failed);
    assert!(!outside.join("f").exists(), "wrote through the link");
    assert_eq!(fs::read_to_string(root.join("sub/f")).unwrap(), "mine");
}
