//! The content-addressed blob store, shared by every session using it:
//! `blobs/<first two hex>/<sha256 hex>`, written through a temporary file
//! in `blobs/tmp/` and renamed into place once complete, so a blob's name
//! always matches its whole content; one `syncfs` makes them durable
//! before a manifest names them. The metadata cache (`cache.json`)
//! maps a path to the (device, inode, size, mtime, ctime) it had when it was
//! hashed; a file whose metadata still matches is not read again. ctime
//! cannot be set by the file's owner, so a rewrite that restores the mtime
//! still misses the cache.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{io_read, io_write, Result, RollbackError};
use crate::manifest::hex;

const CACHE_FILE: &str = "cache.json";
/// Leftover temporary blobs older than this are removed when a store opens.
const STALE_TMP_SECS: u64 = 3600;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    pub dev: u64,
    pub ino: u64,
    pub size: u64,
    pub mtime_ns: i128,
    pub ctime_ns: i128,
}

impl Stamp {
    pub fn of(m: &std::fs::Metadata) -> Stamp {
        Stamp {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
            ctime_ns: i128::from(m.ctime()) * 1_000_000_000 + i128::from(m.ctime_nsec()),
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Cache {
    entries: HashMap<String, (Stamp, String)>,
    #[serde(skip)]
    changed: bool,
}

impl Cache {
    pub fn get(&self, path: &str, stamp: &Stamp) -> Option<&str> {
        self.entries
            .get(path)
            .filter(|(s, _)| s == stamp)
            .map(|(_, h)| h.as_str())
    }

    pub fn put(&mut self, path: String, stamp: Stamp, hash: String) {
        self.entries.insert(path, (stamp, hash));
        self.changed = true;
    }

    /// Whether anything was added since it was loaded or last saved.
    pub fn changed(&self) -> bool {
        self.changed
    }

    /// Forget the entries whose blob is not in `present`.
    pub fn retain_present(&mut self, present: &HashSet<String>) {
        let before = self.entries.len();
        self.entries.retain(|_, (_, h)| present.contains(h));
        self.changed |= self.entries.len() != before;
    }

    pub fn mark_saved(&mut self) {
        self.changed = false;
    }
}

#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    /// Blobs written through this handle (none: nothing to sync).
    written: AtomicUsize,
    no_reflink: AtomicBool,
    tmp_prefix: String,
    tmp_seq: AtomicUsize,
}

impl Clone for Store {
    fn clone(&self) -> Store {
        Store {
            dir: self.dir.clone(),
            written: AtomicUsize::new(self.written.load(Ordering::Relaxed)),
            no_reflink: AtomicBool::new(self.no_reflink.load(Ordering::Relaxed)),
            tmp_prefix: random_name(),
            tmp_seq: AtomicUsize::new(0),
        }
    }
}

pub(crate) fn private_dir(path: &Path) -> Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(io_write(path))
}

/// Write `bytes` to `path` atomically (temporary file, fsync, rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io_write(&tmp))?;
    f.write_all(bytes).map_err(io_write(&tmp))?;
    f.sync_all().map_err(io_write(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io_write(path))
}

impl Store {
    /// Open (creating) the store in `dir`; stale temporary blobs of killed
    /// snapshots are removed.
    pub fn open(dir: &Path) -> Result<Store> {
        private_dir(&dir.join("blobs").join("tmp"))?;
        let store = Store {
            dir: dir.to_path_buf(),
            written: AtomicUsize::new(0),
            no_reflink: AtomicBool::new(false),
            tmp_prefix: random_name(),
            tmp_seq: AtomicUsize::new(0),
        };
        store.clean_tmp();
        Ok(store)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn clean_tmp(&self) {
        let Ok(entries) = std::fs::read_dir(self.dir.join("blobs/tmp")) else {
            return;
        };
        for e in entries.flatten() {
            let old = e
                .metadata()
                .ok()
                .and_then(|m| m.modified().ok())
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age.as_secs() > STALE_TMP_SECS);
            if old {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }

    pub fn blob_path(&self, hash: &str) -> PathBuf {
        let prefix = hash.get(..2).unwrap_or("xx");
        self.dir.join("blobs").join(prefix).join(hash)
    }

    pub fn has(&self, hash: &str) -> bool {
        self.blob_path(hash).is_file()
    }

    /// Copy an open file into the store; the hash of what was stored.
    /// The copy is a reflink (`FICLONE`) where the filesystem offers one,
    /// hashed from the copy itself (so its name always matches what it
    /// holds); otherwise one read of the file both hashes and copies it.
    /// (`copy_file_range` and then reading the copy back to hash it was
    /// measured at twice the cost of that read/write on ext4.)
    pub fn put(&self, src: &mut File, what: &Path) -> Result<String> {
        let tmp = self.dir.join("blobs/tmp").join(self.tmp_name());
        let mut out = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(io_write(&tmp))?;
        let copied = if self.reflink(&out, src) {
            out.seek(SeekFrom::Start(0))
                .map_err(io_read(&tmp))
                .and_then(|_| hash_only(&mut out, &tmp))
        } else {
            // A refused FICLONE changed neither file; `src` is at its start.
            copy_hashing(src, &mut out, what, &tmp)
        };
        let hash = match copied {
            Ok(h) => h,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
        };
        let dest = self.blob_path(&hash);
        // An existing blob of that name has the same content: replacing it
        // is harmless and saves a lookup.
        match std::fs::rename(&tmp, &dest) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(parent) = dest.parent() {
                    private_dir(parent)?;
                }
                std::fs::rename(&tmp, &dest).map_err(io_write(&dest))?;
            }
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(io_write(&dest)(e));
            }
        }
        self.written.fetch_add(1, Ordering::Relaxed);
        Ok(hash)
    }

    /// A temporary blob name unique to this handle: a random prefix drawn
    /// once, then a counter (no random draw per file; `create_new` refuses
    /// a name that exists anyway).
    fn tmp_name(&self) -> String {
        let n = self.tmp_seq.fetch_add(1, Ordering::Relaxed);
        format!("{}-{n}", self.tmp_prefix)
    }

    /// A reflink of `src` into `out`, unless the store's filesystem
    /// already refused one.
    fn reflink(&self, out: &File, src: &File) -> bool {
        if self.no_reflink.load(Ordering::Relaxed) {
            return false;
        }
        let ok = crate::sys::clone_file(out, src).is_ok();
        if !ok {
            self.no_reflink.store(true, Ordering::Relaxed);
        }
        ok
    }

    /// How many blobs were written through this handle.
    pub fn written(&self) -> usize {
        self.written.load(Ordering::Relaxed)
    }

    /// The names of every blob in the store (one directory listing, not a
    /// lookup per blob).
    pub fn present(&self) -> HashSet<String> {
        let mut out = HashSet::new();
        let blobs = self.dir.join("blobs");
        for prefix in std::fs::read_dir(&blobs).into_iter().flatten().flatten() {
            if prefix.file_name().len() != 2 {
                continue; // tmp/
            }
            for blob in std::fs::read_dir(prefix.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                if let Ok(name) = blob.file_name().into_string() {
                    out.insert(name);
                }
            }
        }
        out
    }

    /// A blob's content, checked against its name.
    pub fn read(&self, hash: &str) -> Result<Vec<u8>> {
        let path = self.blob_path(hash);
        let bytes = std::fs::read(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => RollbackError::MissingBlob {
                hash: hash.to_string(),
            },
            _ => RollbackError::Read {
                path: path.clone(),
                source: e,
            },
        })?;
        let actual = hex(&Sha256::digest(&bytes).into());
        if actual != hash {
            return Err(RollbackError::CorruptBlob {
                hash: hash.to_string(),
                actual,
            });
        }
        Ok(bytes)
    }

    /// Flush every blob written so far to stable storage (one `syncfs`
    /// before a manifest names them, rather than one fsync per blob).
    pub fn sync(&self) -> Result<()> {
        let dir = File::open(&self.dir).map_err(io_read(&self.dir))?;
        nix::unistd::syncfs(&dir).map_err(|e| RollbackError::Write {
            path: self.dir.clone(),
            source: e.into(),
        })
    }

    pub fn load_cache(&self) -> Cache {
        std::fs::read(self.dir.join(CACHE_FILE))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    pub fn save_cache(&self, cache: &mut Cache) -> Result<()> {
        let path = self.dir.join(CACHE_FILE);
        let bytes = serde_json::to_vec(cache).map_err(|e| RollbackError::Malformed {
            path: path.clone(),
            why: e.to_string(),
        })?;
        write_atomic(&path, &bytes)?;
        cache.mark_saved();
        Ok(())
    }
}

fn copy_hashing(src: &mut File, out: &mut File, what: &Path, tmp: &Path) -> Result<String> {
    let mut d = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = src.read(&mut buf).map_err(io_read(what))?;
        if n == 0 {
            break;
        }
        d.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(io_write(tmp))?;
    }
    Ok(hex(&d.finalize().into()))
}

/// Hash an open file without storing it (filesystem-state hashing).
pub fn hash_only(src: &mut File, what: &Path) -> Result<String> {
    let mut d = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = src.read(&mut buf).map_err(io_read(what))?;
        if n == 0 {
            break;
        }
        d.update(&buf[..n]);
    }
    Ok(hex(&d.finalize().into()))
}

fn random_name() -> String {
    let mut b = [0u8; 16];
    if getrandom::getrandom(&mut b).is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        b = (t ^ u128::from(std::process::id())).to_le_bytes();
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}
