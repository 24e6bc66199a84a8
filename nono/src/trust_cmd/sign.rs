//! `nono trust init`, `sign` and `sign-policy`.

use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use trust::patterns::MULTI_BUNDLE;
use trust::policy::FILE_NAME;
use trust::{bundle, keys as tkeys, Publisher, Purpose, Subject, TrustPolicy};

use super::keys::KeySource;
use super::{anchor, cwd, discover, named, patterns_policy};
use crate::out::outln;
use crate::stderr::errln;
use crate::ui;

/// `nono trust init`: a policy trusting the key, listing the instruction
/// files found here (project) or none (`--user`).
pub fn init(
    source: &KeySource,
    recursive: bool,
    exclude: &[String],
    force: bool,
    user: bool,
) -> Result<i32> {
    let der = source.public_key_der()?;
    let key_id = source.key_id();
    let publisher = Publisher {
        name: key_id.clone(),
        key_id,
        public_key: tkeys::public_key_base64(&der),
    };
    let (path, includes) = if user {
        let path = anchor::user_policy_path()?;
        if let Some(dir) = path.parent() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        (path, Vec::new())
    } else {
        let dir = cwd()?;
        let opts = discover::Options {
            skip: exclude,
            recursive,
            gitignore: true,
        };
        let base = TrustPolicy::parse(br#"{"version": 1}"#)?;
        let found = discover::find(&dir, &base, &opts);
        (
            dir.join(FILE_NAME),
            found.into_iter().map(|f| f.rel).collect(),
        )
    };
    if path.exists() && !force {
        bail!(
            "{} already exists; pass --force to overwrite it",
            path.display()
        );
    }
    let policy = TrustPolicy::new(publisher, includes);
    std::fs::write(&path, policy.to_json()?)
        .with_context(|| format!("cannot write {}", path.display()))?;
    outln!(
        "Created {} (publisher {}, {} instruction file(s))",
        path.display(),
        policy.publishers[0].name,
        policy.includes.len()
    );
    let next = if user {
        "nono trust sign-policy --user"
    } else {
        "nono trust sign-policy"
    };
    errln!("Next: sign it with {next}");
    Ok(0)
}

fn write_bundle(path: &Path, b: &trust::Bundle) -> Result<()> {
    std::fs::write(path, b.to_json()? + "\n")
        .with_context(|| format!("cannot write the bundle {}", path.display()))
}

/// `nono trust sign`: one file → `FILE.bundle`; several → `.nono-trust.bundle`.
pub fn files(
    source: &KeySource,
    files: Vec<PathBuf>,
    all: bool,
    policy: Option<&Path>,
) -> Result<i32> {
    let dir = cwd()?;
    let targets: Vec<PathBuf> = if all {
        let policy = patterns_policy(policy, &dir)?;
        super::all_files(&dir, &policy)
            .into_iter()
            .map(|f| f.path)
            .collect()
    } else {
        named(&files, &dir)?
            .into_iter()
            .map(|(_, f)| f.path)
            .collect()
    };
    if targets.is_empty() {
        bail!(
            "no instruction files under {} match the trust policy's patterns",
            dir.display()
        );
    }
    let signer = source.signer()?;
    let key_id = source.key_id();
    let digest = |p: &Path| -> Result<String> {
        let bytes = std::fs::read(p).with_context(|| format!("cannot read {}", p.display()))?;
        Ok(tkeys::sha256_hex(&bytes))
    };
    if let [one] = targets.as_slice() {
        let name = one
            .file_name()
            .context("not a file")?
            .to_string_lossy()
            .into_owned();
        let b = bundle::sign(
            vec![Subject::sha256(&name, &digest(one)?)],
            Purpose::InstructionFile,
            &key_id,
            signer.as_ref(),
        )?;
        let out = anchor::sidecar(one);
        write_bundle(&out, &b)?;
        outln!(
            "Signed {} with key {key_id}: {}",
            one.display(),
            out.display()
        );
        return Ok(0);
    }
    let mut subjects = Vec::new();
    for t in &targets {
        let rel = t.strip_prefix(&dir).with_context(|| {
            format!(
                "{} is not under the current directory; sign it on its own",
                t.display()
            )
        })?;
        if anchor::sidecar(t).exists() {
            ui::warn(format!(
                "{}.bundle exists and is checked before {MULTI_BUNDLE}; remove it if it is stale",
                rel.display()
            ));
        }
        subjects.push(Subject::sha256(&rel.to_string_lossy(), &digest(t)?));
    }
    let b = bundle::sign(subjects, Purpose::InstructionFile, &key_id, signer.as_ref())?;
    let out = dir.join(MULTI_BUNDLE);
    write_bundle(&out, &b)?;
    outln!(
        "Signed {} files with key {key_id}: {}",
        targets.len(),
        out.display()
    );
    Ok(0)
}

/// `nono trust sign-policy`: `POLICY.bundle`.
pub fn policy(source: &KeySource, path: Option<PathBuf>, user: bool) -> Result<i32> {
    let path = match (user, path) {
        (true, _) => anchor::user_policy_path()?,
        (false, Some(p)) => p,
        (false, None) => cwd()?.join(FILE_NAME),
    };
    let parsed = anchor::load(&path)?;
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let signer = source.signer()?;
    let key_id = source.key_id();
    let name = path
        .file_name()
        .context("not a file")?
        .to_string_lossy()
        .into_owned();
    let b = bundle::sign(
        vec![Subject::sha256(&name, &tkeys::sha256_hex(&bytes))],
        Purpose::TrustPolicy,
        &key_id,
        signer.as_ref(),
    )?;
    let out = anchor::sidecar(&path);
    write_bundle(&out, &b)?;
    outln!(
        "Signed {} with key {key_id}: {}",
        path.display(),
        out.display()
    );
    if user && parsed.publisher_for(&signer.public_key_der()).is_none() {
        ui::warn("the user-level policy does not list this key as a publisher, so it cannot verify itself; add the key (nono trust export-key) or sign with a listed key");
    }
    Ok(0)
}
