//! `nono trust`: keys, policies, signing and verification of instruction
//! files, and the pre-exec scan (`scan`). Formats and checks live in the
//! `trust` crate; this module does the file system and the messages.

mod anchor;
mod check;
mod discover;
mod keys;
pub(crate) mod keystore;
pub mod scan;
mod sign;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use trust::policy::FILE_NAME;
use trust::TrustPolicy;

use crate::cli::TrustCommand;
use crate::out::outln;
use check::Finding;
use keys::KeySource;

pub fn run(cmd: TrustCommand) -> Result<i32> {
    match cmd {
        TrustCommand::Init {
            recursive,
            exclude_dirs,
            key,
            force,
            user,
        } => {
            let source = KeySource::new(key.keyref.as_deref(), key.key.as_deref(), "--key")?;
            sign::init(&source, recursive, &exclude_dirs, force, user)
        }
        TrustCommand::Sign {
            files,
            all,
            key,
            keyless,
            policy,
        } => {
            if keyless {
                bail!(
                    "--keyless needs Sigstore keyless signing: an OIDC identity token (CI), Fulcio and \
                     Rekor over the network, which this build does not use; sign with a key instead: \
                     --key NAME or --keyref file:///PATH"
                );
            }
            let source = KeySource::new(key.keyref.as_deref(), key.key.as_deref(), "--key")?;
            sign::files(&source, files, all, policy.as_deref())
        }
        TrustCommand::SignPolicy { path, user, key } => {
            let source = KeySource::new(key.keyref.as_deref(), key.key.as_deref(), "--key")?;
            sign::policy(&source, path, user)
        }
        TrustCommand::Verify { files, all, policy } => verify(files, all, policy.as_deref()),
        TrustCommand::List { json } => list(json),
        TrustCommand::Keygen { key, force } => {
            let source = KeySource::new(key.keyref.as_deref(), key.id.as_deref(), "--id")?;
            keys::keygen(&source, force)
        }
        TrustCommand::ExportKey { key, pem } => {
            let source = KeySource::new(key.keyref.as_deref(), key.id.as_deref(), "--id")?;
            keys::export(&source, pem)
        }
    }
}

fn cwd() -> Result<PathBuf> {
    std::env::current_dir().context("cannot determine the current directory")
}

/// `./trust-policy.json` or the given file, else a policy with the
/// built-in patterns only.
fn patterns_policy(explicit: Option<&Path>, dir: &Path) -> Result<TrustPolicy> {
    match explicit {
        Some(p) => anchor::load(p),
        None if dir.join(FILE_NAME).is_file() => anchor::load(&dir.join(FILE_NAME)),
        None => Ok(TrustPolicy::parse(br#"{"version": 1}"#)?),
    }
}

/// Instruction files under `dir` (recursive, `.gitignore` not honoured).
fn all_files(dir: &Path, policy: &TrustPolicy) -> Vec<discover::Found> {
    let opts = discover::Options {
        skip: &[],
        recursive: true,
        gitignore: false,
    };
    discover::find(dir, policy, &opts)
}

/// Named files as found entries, relative to `dir` when under it.
fn named(files: &[PathBuf], dir: &Path) -> Result<Vec<(PathBuf, discover::Found)>> {
    files
        .iter()
        .map(|f| {
            let abs = std::path::absolute(f).with_context(|| format!("{}", f.display()))?;
            let meta = std::fs::symlink_metadata(&abs)
                .with_context(|| format!("cannot read {}", f.display()))?;
            let (root, rel) = match abs.strip_prefix(dir) {
                Ok(r) => (dir.to_path_buf(), r.to_string_lossy().into_owned()),
                Err(_) => {
                    let parent = abs.parent().context("a file has no directory")?;
                    let name = abs.file_name().context("not a file name")?;
                    (parent.to_path_buf(), name.to_string_lossy().into_owned())
                }
            };
            let found = discover::Found {
                rel,
                path: abs,
                symlink: meta.file_type().is_symlink(),
            };
            Ok((root, found))
        })
        .collect()
}

/// `nono trust verify`: exit 0 only when every file verified.
fn verify(files: Vec<PathBuf>, all: bool, policy_path: Option<&Path>) -> Result<i32> {
    let policy = match policy_path {
        Some(p) => {
            let policy = anchor::load(p)?;
            anchor::effective_note(p)?;
            policy
        }
        None => match anchor::user_policy()? {
            Some((_, p)) => p,
            None => bail!(
                "no user-level trust policy at {}; create one (nono trust init --user) or pass --policy FILE",
                anchor::user_policy_path()?.display()
            ),
        },
    };
    let dir = cwd()?;
    let targets: Vec<(PathBuf, discover::Found)> = if all {
        all_files(&dir, &policy)
            .into_iter()
            .map(|f| (dir.clone(), f))
            .collect()
    } else {
        named(&files, &dir)?
    };
    if targets.is_empty() {
        bail!(
            "no instruction files under {} match the trust policy",
            dir.display()
        );
    }
    let mut bundles = check::Bundles::default();
    let findings: Vec<Finding> = targets
        .iter()
        .map(|(root, f)| check::file(root, f, &policy, &mut bundles))
        .collect();
    for f in &findings {
        outln!("{}: {}", f.rel, f.describe());
    }
    Ok(if findings.iter().all(Finding::is_verified) {
        0
    } else {
        crate::out::EXIT_NONO_ERROR
    })
}

/// `nono trust list`: instruction files under the current directory and
/// their status under the policy a run here would use.
fn list(json: bool) -> Result<i32> {
    let dir = cwd()?;
    let projects: Vec<PathBuf> = Some(dir.join(FILE_NAME))
        .filter(|p| p.is_file())
        .into_iter()
        .collect();
    let policy = match anchor::effective(&projects)? {
        Some((p, _)) => p,
        None => {
            crate::ui::warn("no trust policy: nothing is trusted (nono trust init --user)");
            TrustPolicy::parse(br#"{"version": 1}"#)?
        }
    };
    let mut bundles = check::Bundles::default();
    let findings: Vec<Finding> = all_files(&dir, &policy)
        .iter()
        .map(|f| check::file(&dir, f, &policy, &mut bundles))
        .collect();
    if json {
        let rows: Vec<serde_json::Value> = findings
            .iter()
            .map(|f| {
                serde_json::json!({
                    "path": f.rel,
                    "status": f.code(),
                    "detail": f.describe(),
                    "sha256": f.digest,
                })
            })
            .collect();
        outln!("{}", serde_json::to_string_pretty(&rows)?);
    } else if findings.is_empty() {
        outln!("no instruction files under {}", dir.display());
    } else {
        for f in &findings {
            outln!("{:<40} {}", f.rel, f.describe());
        }
    }
    Ok(0)
}
