//! The content-addressed blob store, shared by every session using it:
//! `blobs/<first two hex>/<sha256 hex>`, written through a temporary file
//! in `blobs/tmp/` and renamed into place once complete, so a blob's name
//! always matches its whole content; one `syncfs` makes them durable
//! before a manifest names them. Beside them: the metadata cache
//! (`cache.bin`, see `cache.rs`), `lock` (shared by snapshots, exclusive
//! for collection), `generation` (bumped by each collection that removes
//! blobs, so a cache loaded earlier is reloaded) and `refs/<session id>`
//! (the directory of each session naming blobs here, wherever it lives).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use nix::fcntl::{Flock, FlockArg};
use sha2::{Digest, Sha256};

use crate::cache::Cache;
use crate::error::{io_read, io_write, Result, RollbackError};
use crate::manifest::hex;

/// A lock on a store: shared while a snapshot names blobs (from its start
/// until its manifest is written), exclusive while blobs are collected.
pub type StoreLock = Flock<File>;

const CACHE_FILE: &str = "cache.bin";
/// The cache's earlier format, removed when the new one is first written.
const OLD_CACHE_FILE: &str = "cache.json";
const LOCK_FILE: &str = "lock";
const GENERATION_FILE: &str = "generation";
/// Leftover temporary blobs older than this are removed when a store opens.
const STALE_TMP_SECS: u64 = 3600;

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
    pub fn put(&self, src: &mut File, what: &Path) -> Result<[u8; 32]> {
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
        let dest = self.blob_path(&hex(&hash));
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

    /// The metadata cache (empty if missing or damaged), stamped with the
    /// store's collection generation.
    pub fn load_cache(&self) -> Cache {
        let generation = self.generation();
        let mut cache = std::fs::read(self.dir.join(CACHE_FILE))
            .ok()
            .and_then(|b| Cache::decode(&b))
            .unwrap_or_default();
        cache.generation = generation;
        cache
    }

    /// Reload `cache` if blobs were collected since it was loaded (the
    /// collector drops the entries naming the blobs it removes). Call with
    /// the store's lock held.
    pub fn refresh(&self, cache: &mut Cache) {
        if self.generation() != cache.generation {
            *cache = self.load_cache();
        }
    }

    pub fn save_cache(&self, cache: &mut Cache) -> Result<()> {
        write_atomic(&self.dir.join(CACHE_FILE), &cache.encode())?;
        let _ = std::fs::remove_file(self.dir.join(OLD_CACHE_FILE));
        cache.mark_saved();
        Ok(())
    }

    /// How many collections removed blobs from this store.
    pub fn generation(&self) -> u64 {
        std::fs::read_to_string(self.dir.join(GENERATION_FILE))
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0)
    }

    /// Note that blobs are about to be removed (exclusive lock held).
    pub(crate) fn bump_generation(&self) -> Result<u64> {
        let next = self.generation() + 1;
        write_atomic(&self.dir.join(GENERATION_FILE), next.to_string().as_bytes())?;
        Ok(next)
    }

    /// Wait for a shared lock (a snapshot: until its manifest is written).
    pub fn lock_shared(&self) -> Result<StoreLock> {
        self.lock(FlockArg::LockShared)
    }

    /// An exclusive lock if no snapshot holds the store (collection).
    pub fn try_lock_exclusive(&self) -> Result<Option<StoreLock>> {
        match self.lock(FlockArg::LockExclusiveNonblock) {
            Ok(l) => Ok(Some(l)),
            Err(RollbackError::Write { source, .. })
                if source.kind() == std::io::ErrorKind::WouldBlock =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    fn lock(&self, how: FlockArg) -> Result<StoreLock> {
        let path = self.dir.join(LOCK_FILE);
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(io_write(&path))?;
        Flock::lock(f, how).map_err(|(_, e)| io_write(&path)(e.into()))
    }

    /// Record that the session in `session_dir` names blobs of this store
    /// (`refs/<id>`: what collection marks from, wherever sessions live).
    pub fn add_ref(&self, id: &str, session_dir: &Path) -> Result<()> {
        let refs = self.dir.join("refs");
        private_dir(&refs)?;
        write_atomic(&refs.join(id), session_dir.as_os_str().as_encoded_bytes())
    }

    /// The sessions recorded as naming blobs of this store.
    pub fn refs(&self) -> Vec<(PathBuf, PathBuf)> {
        let refs = self.dir.join("refs");
        std::fs::read_dir(&refs)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| !e.file_name().to_string_lossy().contains(".tmp"))
            .filter_map(|e| {
                let dir = std::fs::read(e.path()).ok()?;
                let dir = PathBuf::from(std::ffi::OsString::from_vec(dir));
                Some((e.path(), dir))
            })
            .collect()
    }
}

fn copy_hashing(src: &mut File, out: &mut File, what: &Path, tmp: &Path) -> Result<[u8; 32]> {
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
    Ok(d.finalize().into())
}

/// Hash an open file without storing it (filesystem-state hashing).
pub fn hash_only(src: &mut File, what: &Path) -> Result<[u8; 32]> {
    let mut d = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = src.read(&mut buf).map_err(io_read(what))?;
        if n == 0 {
            break;
        }
        d.update(&buf[..n]);
    }
    Ok(d.finalize().into())
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
