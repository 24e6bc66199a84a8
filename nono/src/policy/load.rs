//! Finding profiles (built-in, user directory, explicit path) and
//! resolving `extends` chains.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};

use super::merge::merge;
use super::profile::{parse, Format, Profile};

/// Built-in profiles, embedded from `profiles/builtin/`.
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "default",
        include_str!("../../../profiles/builtin/default.toml"),
    ),
    (
        "claude-code",
        include_str!("../../../profiles/builtin/claude-code.toml"),
    ),
    (
        "codex",
        include_str!("../../../profiles/builtin/codex.toml"),
    ),
    (
        "opencode",
        include_str!("../../../profiles/builtin/opencode.toml"),
    ),
    (
        "openclaw",
        include_str!("../../../profiles/builtin/openclaw.toml"),
    ),
    (
        "python-dev",
        include_str!("../../../profiles/builtin/python-dev.toml"),
    ),
    (
        "node-dev",
        include_str!("../../../profiles/builtin/node-dev.toml"),
    ),
    (
        "rust-dev",
        include_str!("../../../profiles/builtin/rust-dev.toml"),
    ),
    (
        "go-dev",
        include_str!("../../../profiles/builtin/go-dev.toml"),
    ),
    (
        "java-dev",
        include_str!("../../../profiles/builtin/java-dev.toml"),
    ),
    (
        "linux-host-compat",
        include_str!("../../../profiles/builtin/linux-host-compat.toml"),
    ),
];

/// Where a profile came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Builtin(&'static str),
    User(PathBuf),
    File(PathBuf),
}

impl Origin {
    pub fn describe(&self) -> String {
        match self {
            Origin::Builtin(n) => format!("built-in {n}"),
            Origin::User(p) | Origin::File(p) => p.display().to_string(),
        }
    }
}

/// A profile with its `extends` chain merged in.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub name: String,
    pub origin: Origin,
    pub profile: Profile,
}

/// `$XDG_CONFIG_HOME/nono/profiles` (or `~/.config/nono/profiles`).
pub fn user_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("nono").join("profiles"))
}

fn is_path_spec(spec: &str) -> bool {
    spec.contains('/') || spec.ends_with(".json") || spec.ends_with(".toml")
}

/// Parse a profile file.
pub fn read_file(path: &Path) -> Result<Profile> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read profile {}", path.display()))?;
    Ok(parse(&text, Format::of(path), &path.display().to_string())?)
}

fn builtin(name: &str) -> Option<(&'static str, Profile)> {
    let (n, text) = BUILTIN.iter().find(|(n, _)| *n == name)?;
    let file = format!("profiles/builtin/{n}.toml");
    // Built-ins are covered by unit tests; a parse failure here is a build defect.
    parse(text, Format::Toml, &file).ok().map(|p| (*n, p))
}

fn user_file(name: &str) -> Option<PathBuf> {
    let dir = user_dir()?;
    ["json", "toml"]
        .iter()
        .map(|ext| dir.join(format!("{name}.{ext}")))
        .find(|p| p.is_file())
}

/// Find one profile (without its parents). `skip_user` makes a user profile
/// that extends its own name reach the built-in of that name.
fn find(spec: &str, skip_user: bool) -> Result<(Origin, Profile)> {
    if is_path_spec(spec) {
        let path = PathBuf::from(spec);
        if !path.is_file() {
            bail!("profile file {spec} does not exist");
        }
        return Ok((Origin::File(path.clone()), read_file(&path)?));
    }
    if !skip_user {
        if let Some(p) = user_file(spec) {
            return Ok((Origin::User(p.clone()), read_file(&p)?));
        }
    }
    if let Some((n, p)) = builtin(spec) {
        return Ok((Origin::Builtin(n), p));
    }
    let hint = super::nearest(spec, names().iter().map(String::as_str))
        .map(|n| format!(" (did you mean '{n}'?)"))
        .unwrap_or_default();
    Err(anyhow!(
        "unknown profile '{spec}'{hint}; 'nono profile list' shows the available ones"
    ))
}

fn chain(spec: &str, skip_user: bool, stack: &mut Vec<String>) -> Result<(Origin, Profile)> {
    let (origin, own) = find(spec, skip_user)?;
    let key = origin.describe();
    if stack.contains(&key) {
        stack.push(key);
        bail!("circular extends: {}", stack.join(" -> "));
    }
    stack.push(key);
    let own_name = match &origin {
        Origin::User(p) => p.file_stem().map(|s| s.to_string_lossy().into_owned()),
        _ => None,
    };
    let mut merged = Profile::default();
    // No `extends` means "build on default" (`extends = []` opts out).
    let parents = match (&own.extends, &origin) {
        (Some(e), _) => e.names(),
        (None, Origin::Builtin("default")) => Vec::new(),
        (None, _) => vec!["default".to_string()],
    };
    for parent in parents {
        let skip = own_name.as_deref() == Some(parent.as_str());
        let (_, p) = chain(&parent, skip, stack)
            .with_context(|| format!("in the profile extended by {spec}"))?;
        merged = merge(merged, &p);
    }
    stack.pop();
    Ok((origin, merge(merged, &own)))
}

/// Load `spec` (a name or a path) with its parents merged.
pub fn load(spec: &str) -> Result<Loaded> {
    let (origin, profile) = chain(spec, false, &mut Vec::new())?;
    let name = profile
        .meta
        .name
        .clone()
        .unwrap_or_else(|| spec.to_string());
    Ok(Loaded {
        name,
        origin,
        profile,
    })
}

/// Names of every available profile: built-in and user.
pub fn names() -> Vec<String> {
    let mut n: Vec<String> = BUILTIN.iter().map(|(n, _)| n.to_string()).collect();
    n.extend(user_profiles().into_iter().map(|(name, _)| name));
    n.sort();
    n.dedup();
    n
}

/// User profiles on disk: (name, path).
pub fn user_profiles() -> Vec<(String, PathBuf)> {
    let Some(dir) = user_dir() else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, PathBuf)> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("json" | "toml")
            )
        })
        .filter_map(|p| Some((p.file_stem()?.to_string_lossy().into_owned(), p)))
        .collect();
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_parses_and_extends_default() {
        for (name, text) in BUILTIN {
            let p = parse(text, Format::Toml, name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(p.meta.name.as_deref(), Some(*name));
            if *name != "default" {
                assert_eq!(
                    p.extends,
                    Some(super::super::profile::Extends::One("default".into())),
                    "{name}"
                );
            }
        }
    }

    #[test]
    fn agent_profiles_inherit_the_system_groups() {
        let l = load("claude-code").unwrap();
        let g = l.profile.group_names();
        assert!(
            g.contains(&"system_read_linux".to_string()) && g.contains(&"node_runtime".to_string())
        );
        assert_eq!(
            l.profile.workdir.unwrap().access,
            super::super::profile::WorkdirAccess::Readwrite
        );
    }

    #[test]
    fn circular_extends_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("a.json");
        let b = d.path().join("b.json");
        std::fs::write(&a, format!("{{\"extends\": \"{}\"}}", b.display())).unwrap();
        std::fs::write(&b, format!("{{\"extends\": \"{}\"}}", a.display())).unwrap();
        let e = format!("{:#}", load(a.to_str().unwrap()).unwrap_err());
        assert!(e.contains("circular extends"), "{e}");
    }

    #[test]
    fn unknown_profile_suggests_nearest() {
        let e = load("claud-code").unwrap_err().to_string();
        assert!(e.contains("did you mean 'claude-code'"), "{e}");
    }
}
