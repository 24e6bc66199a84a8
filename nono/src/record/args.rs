//! The audit and rollback flags of `run`, and the `audit` / `rollback`
//! commands (clap).

use std::path::PathBuf;

use clap::{Args, Subcommand};

#[derive(Debug, Args, Default, Clone)]
pub struct RecordArgs {
    /// Take content-addressed snapshots of the writable grants before and
    /// after the command, and offer to restore them when it exits.
    #[arg(long, conflicts_with = "no_rollback")]
    pub rollback: bool,
    /// Skip the review after the command exits (snapshots are still taken).
    #[arg(long, requires = "rollback")]
    pub no_rollback_prompt: bool,
    /// No snapshots, no restore offer.
    #[arg(long)]
    pub no_rollback: bool,
    /// Leave out of snapshots: a glob (file names), a name with `/` (path
    /// substring) or a plain name (path component). Repeatable.
    #[arg(long, value_name = "PATTERN")]
    pub rollback_exclude: Vec<String>,
    /// Snapshot an auto-excluded directory name (e.g. target). Repeatable.
    #[arg(long, value_name = "NAME")]
    pub rollback_include: Vec<String>,
    /// No auto-exclusions at all (may be slow).
    #[arg(long)]
    pub rollback_all: bool,
    /// Keep this session's rollback blobs in DIR (outside every grant).
    #[arg(long, value_name = "DIR", requires = "rollback")]
    pub rollback_dest: Option<PathBuf>,
    /// Record nothing for this session.
    #[arg(long, conflicts_with_all = ["audit_integrity", "audit_sign_key"])]
    pub no_audit: bool,
    /// Also hash the tracked writable filesystem state before and after.
    #[arg(long, conflicts_with = "no_audit_integrity")]
    pub audit_integrity: bool,
    /// Keep the session record without the hash chain and Merkle root.
    #[arg(long, conflicts_with = "audit_sign_key")]
    pub no_audit_integrity: bool,
    /// Sign the final audit root and session context with this key (a trust
    /// key id, keystore://, file://, op://, keyring://, env://); the key
    /// stays in nono-keyholder.
    #[arg(long, value_name = "REF")]
    pub audit_sign_key: Option<String>,
}

impl RecordArgs {
    /// Flags that need a supervisor, as the user spelled one of them.
    pub fn supervised_flag(&self) -> Option<&'static str> {
        [
            (self.rollback, "--rollback"),
            (self.audit_integrity, "--audit-integrity"),
            (self.audit_sign_key.is_some(), "--audit-sign-key"),
            (!self.rollback_exclude.is_empty(), "--rollback-exclude"),
            (!self.rollback_include.is_empty(), "--rollback-include"),
            (self.rollback_all, "--rollback-all"),
        ]
        .into_iter()
        .find(|(set, _)| *set)
        .map(|(_, f)| f)
    }
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List recorded sessions (oldest first).
    List {
        /// Output JSON.
        #[arg(long)]
        json: bool,
        /// Only sessions whose command contains TEXT.
        #[arg(long, value_name = "TEXT")]
        command: Option<String>,
        /// Only the last N sessions.
        #[arg(long, value_name = "N")]
        recent: Option<usize>,
    },
    /// Show one session's record and events.
    Show {
        id: String,
        /// Output JSON.
        #[arg(long)]
        json: bool,
    },
    /// Recompute the chain and root, check the attestation; exit 1 on any finding.
    Verify {
        id: String,
        /// The public key (PEM or base64 DER) the attestation must be signed with.
        #[arg(long, value_name = "FILE")]
        public_key_file: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum RollbackCommand {
    /// List sessions with snapshots (and each one's working directory).
    List {
        /// Output JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show what changed in a session.
    Show {
        id: String,
        /// Output JSON.
        #[arg(long)]
        json: bool,
    },
    /// Recompute the Merkle commitments against the stored blobs.
    Verify { id: String },
    /// Restore the tracked paths (or only PATHS) to the state before the session.
    Restore {
        /// The session (default: the most recent).
        id: Option<String>,
        /// Only these paths (absolute, or relative to the current directory).
        paths: Vec<PathBuf>,
        /// Show what would be restored without changing anything.
        #[arg(long)]
        dry_run: bool,
    },
}
