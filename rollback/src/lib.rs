//! `rollback`: content-addressed snapshots of writable grants, and exact
//! restore.
//!
//! # Invariants
//! - Snapshots never follow a symbolic link: the walk uses `lstat`, a file
//!   is opened with `O_NOFOLLOW` and must be the inode the walk saw; links
//!   are recorded as links (their target string).
//! - A blob's name is the SHA-256 of its whole content: it is written to a
//!   temporary file and renamed into place only when complete. Blobs are
//!   shared by every session of a store; one is read back only after its
//!   content is checked against its name.
//! - A manifest is written (atomically) after every blob it names, so a
//!   snapshot killed half-way leaves the store consistent: stray temporary
//!   blobs at worst, removed later, never a reference to a partial one.
//! - Unchanged files are recognised by (device, inode, size, mtime, ctime,
//!   mode) and not read again; ctime cannot be forged by the file's owner,
//!   and a file changed within two seconds of being read is never cached
//!   (`cache.rs`). A cached digest stands for a blob only if the file was
//!   stored, not merely hashed.
//! - Restore acts only inside the grant, through directory descriptors
//!   opened with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS`, on one name at a
//!   time; new content is renamed into place. Excluded, skipped and special
//!   files are never touched.
//! - Retention removes whole sessions (never one the caller protects or
//!   one still running) and then only blobs no remaining session names
//!   and not written in the last hour (`retention.rs`, `gc.rs`), under the
//!   store's exclusive lock: a snapshot holds it shared until its manifest
//!   is written, so no blob it names disappears meanwhile; collection drops
//!   the cache entries naming the blobs it removes.
//! - The crate holds no policy about where stores live or who may read
//!   them: the caller keeps them out of the agent's reach.

#![deny(unsafe_code)] // allowed in `sys` only

pub mod cache;
pub mod error;
pub mod filter;
pub mod gc;
pub mod manifest;
pub mod restore;
pub mod retention;
pub mod session;
pub mod snapshot;
pub mod store;
mod sys;
pub mod walk;

pub use cache::{Cache, Stamp};
pub use error::{Result, RollbackError};
pub use filter::Filter;
pub use manifest::{Change, Entry, Kind, Manifest, RootManifest};
pub use store::Store;
