//! The crate's one error type.

use std::path::PathBuf;

use thiserror::Error;

/// What went wrong, named for the operation that failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum RollbackError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a valid rollback record: {why}")]
    Malformed { path: PathBuf, why: String },
    #[error("blob {hash} is missing from the store")]
    MissingBlob { hash: String },
    #[error("blob {hash} is corrupt (its content hashes to {actual})")]
    CorruptBlob { hash: String, actual: String },
    #[error("cannot restore {path}: {why}")]
    Restore { path: PathBuf, why: String },
    #[error("no rollback session '{0}'")]
    NoSession(String),
}

pub type Result<T> = std::result::Result<T, RollbackError>;

pub(crate) fn io_read(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> RollbackError + '_ {
    move |source| RollbackError::Read {
        path: path.to_path_buf(),
        source,
    }
}

pub(crate) fn io_write(
    path: &std::path::Path,
) -> impl FnOnce(std::io::Error) -> RollbackError + '_ {
    move |source| RollbackError::Write {
        path: path.to_path_buf(),
        source,
    }
}
