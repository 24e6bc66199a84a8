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

pub use super::vars::user_dir;

/// How deep `extends` may nest: far beyond any real profile, far below
/// what the stack can take.
pub const MAX_EXTENDS_DEPTH: usize = 128;

fn is_path_spec(spec: &str) -> bool {
    spec.contains('/') || spec.ends_with(".json") || spec.ends_with(".toml")
}

/// Parse a profile file (a file named neither `.json` nor `.toml` is read
/// as JSON when it starts with `{`, else as TOML).
pub fn read_file(path: &Path) -> Result<Profile> {
    let text = read_text(path)?;
    let format = match path.extension().and_then(|e| e.to_str()) {
        Some("json" | "toml") => Format::of(path),
        _ if text.trim_start().starts_with('{') => Format::Json,
        _ => Format::Toml,
    };
    Ok(parse(&text, format, &path.display().to_string())?)
}

/// What a path is when it is not a regular file (`a FIFO (named pipe)`).
pub fn not_regular(m: &std::fs::Metadata) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    let t = m.file_type();
    let kind = match () {
        _ if t.is_file() => return None,
        _ if t.is_dir() => "a directory",
        _ if t.is_fifo() => "a FIFO (named pipe)",
        _ if t.is_char_device() => "a character device",
        _ if t.is_block_device() => "a block device",
        _ if t.is_socket() => "a socket",
        _ => "a special file",
    };
    Some(kind)
}

/// A profile file's text. Opened without blocking and read only if it is
/// a regular file: a FIFO put in its place is never waited on.
fn read_text(path: &Path) -> Result<String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let cannot = || format!("cannot read profile {}", path.display());
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .with_context(cannot)?;
    if let Some(kind) = not_regular(&f.metadata().with_context(cannot)?) {
        bail!(
            "profile {} is {kind}, not a regular file; give a profile file (.json or .toml)",
            path.display()
        );
    }
    let mut text = String::new();
    f.read_to_string(&mut text).with_context(cannot)?;
    Ok(text)
}

fn builtin(name: &str) -> Option<(&'static str, Profile)> {
    let (n, text) = BUILTIN.iter().find(|(n, _)| *n == name)?;
    let file = format!("profiles/builtin/{n}.toml");
    // Built-ins are covered by unit tests; a parse failure here is a build defect.
    parse(text, Format::Toml, &file).ok().map(|p| (*n, p))
}

/// A built-in's own description, never a user override's.
pub fn builtin_description(name: &str) -> Option<String> {
    builtin(name).and_then(|(_, p)| p.meta.description)
}

fn user_file(name: &str) -> Option<PathBuf> {
    let dir = user_dir()?;
    ["json", "toml"]
        .iter()
        .map(|ext| dir.join(format!("{name}.{ext}")))
        .find(|p| p.is_file())
}

fn profile_file(spec: &str, path: &Path) -> Result<(Origin, Profile)> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => bail!(
            "profile {spec} is a directory; give a profile file (.json or .toml) or a profile name"
        ),
        Ok(m) => {
            if let Some(kind) = not_regular(&m) {
                bail!("profile {spec} is {kind}, not a regular file; give a profile file (.json or .toml) or a profile name");
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!("profile file {spec} does not exist")
        }
        Err(e) => bail!("cannot read profile {spec}: {e}"),
    }
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let profile = read_file(&path)?;
    Ok((Origin::File(path), profile))
}

/// Find one profile (without its parents). A relative path is taken from
/// `base` (the directory of the extending profile), else from the current
/// directory (a path given on the command line). `skip_user` makes a user
/// profile that extends its own name reach the built-in of that name.
fn find(spec: &str, skip_user: bool, base: Option<&Path>) -> Result<(Origin, Profile)> {
    if is_path_spec(spec) {
        let path = match base {
            Some(dir) if Path::new(spec).is_relative() => dir.join(spec),
            _ => PathBuf::from(spec),
        };
        return profile_file(spec, &path);
    }
    if !skip_user {
        if let Some(p) = user_file(spec) {
            return Ok((Origin::User(p.clone()), read_file(&p)?));
        }
    }
    if let Some((n, p)) = builtin(spec) {
        return Ok((Origin::Builtin(n), p));
    }
    let hint = match super::nearest(spec, names().iter().map(String::as_str)) {
        Some(n) => format!(" (did you mean '{n}'?)"),
        // Named on the command line: a file here is what was meant.
        None if base.is_none() && Path::new(spec).exists() => {
            format!(" (for the file in the current directory, give ./{spec})")
        }
        None => String::new(),
    };
    Err(anyhow!(
        "unknown profile '{spec}'{hint}; 'nono profile list' shows the available ones"
    ))
}

fn file_of(origin: &Origin) -> Option<&Path> {
    match origin {
        Origin::User(p) | Origin::File(p) => Some(p),
        Origin::Builtin(_) => None,
    }
}

/// The parents `own` names (no `extends` means "build on default";
/// `extends = []` opts out).
fn parents(own: &Profile, origin: &Origin) -> Vec<String> {
    match (&own.extends, origin) {
        (Some(e), _) => e.names(),
        (None, Origin::Builtin("default")) => Vec::new(),
        (None, _) => vec!["default".to_string()],
    }
}

fn chain(origin: Origin, mut own: Profile, stack: &mut Vec<String>) -> Result<Profile> {
    let key = origin.describe();
    if stack.contains(&key) {
        bail!(
            "circular extends: {key} extends itself (through {} profile(s)); remove one of the extends",
            stack.len()
        );
    }
    if stack.len() >= MAX_EXTENDS_DEPTH {
        bail!(
            "extends chain too deep at {key}: more than {MAX_EXTENDS_DEPTH} profiles; \
             merge some of them into one file"
        );
    }
    super::modes::fold_deny(&mut own);
    if let Some(file) = file_of(&origin) {
        super::check::own_fields(&own, file)?;
    }
    stack.push(key);
    let own_name = match &origin {
        Origin::User(p) => p.file_stem().map(|s| s.to_string_lossy().into_owned()),
        _ => None,
    };
    let base = file_of(&origin)
        .and_then(Path::parent)
        .map(Path::to_path_buf);
    let mut merged = Profile::default();
    for parent in parents(&own, &origin) {
        let skip = own_name.as_deref() == Some(parent.as_str());
        let (po, pp) = find(&parent, skip, base.as_deref())
            .with_context(|| format!("{}: extends", origin.describe()))?;
        merged = merge(merged, &chain(po, pp, stack)?);
    }
    stack.pop();
    Ok(merge(merged, &own))
}

/// Load `spec` (a name or a path) with its parents merged.
pub fn load(spec: &str) -> Result<Loaded> {
    let (origin, own) = find(spec, false, None)?;
    // The profile's own name, never one inherited from a parent: errors
    // and messages must name the profile the user chose.
    let name = own.meta.name.clone().unwrap_or_else(|| match &origin {
        Origin::Builtin(n) => n.to_string(),
        Origin::User(p) | Origin::File(p) => p.display().to_string(),
    });
    let profile = chain(origin.clone(), own, &mut Vec::new())?;
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
        assert!(!e.contains('\n') && e.len() < 400, "{e}");
    }

    /// Profiles p0..p{n-1} in `d`, each extending the next, each reading
    /// `/r{i}`; p0.json's path.
    fn extends_chain(d: &std::path::Path, n: usize) -> String {
        for i in 0..n {
            let ext = if i + 1 < n {
                format!("\"extends\": \"p{}.json\", ", i + 1)
            } else {
                String::new()
            };
            let text = format!("{{{ext}\"filesystem\": {{\"read\": [\"/r{i}\"]}}}}");
            std::fs::write(d.join(format!("p{i}.json")), text).unwrap();
        }
        d.join("p0.json").to_str().unwrap().to_string()
    }

    #[test]
    fn a_hundred_deep_extends_chain_loads_every_profile() {
        let d = tempfile::tempdir().unwrap();
        let p = load(&extends_chain(d.path(), 100)).unwrap();
        let text = format!("{p:?}");
        assert!(
            text.contains("\"/r0\"") && text.contains("\"/r99\""),
            "{text}"
        );
    }

    #[test]
    fn deep_extends_is_capped_with_one_short_line() {
        let d = tempfile::tempdir().unwrap();
        let e = format!("{:#}", load(&extends_chain(d.path(), 200)).unwrap_err());
        assert!(e.contains("extends chain too deep"), "{e}");
        assert!(!e.contains('\n') && e.len() < 400, "{} bytes: {e}", e.len());
    }

    #[test]
    fn relative_extends_is_taken_from_the_profile_directory() {
        let d = tempfile::tempdir().unwrap();
        let sub = d.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        std::fs::write(
            sub.join("base.json"),
            r#"{"filesystem": {"read": ["/usr"]}}"#,
        )
        .unwrap();
        std::fs::write(sub.join("child.json"), r#"{"extends": "base.json"}"#).unwrap();
        let l = load(sub.join("child.json").to_str().unwrap()).unwrap();
        assert!(l.profile.filesystem.read.contains(&"/usr".to_string()));
    }

    #[test]
    fn a_directory_and_a_suffixless_toml_file_get_clear_answers() {
        let d = tempfile::tempdir().unwrap();
        let e = load(d.path().to_str().unwrap()).unwrap_err().to_string();
        assert!(e.contains("is a directory"), "{e}");
        let f = d.path().join("myprofile");
        std::fs::write(&f, "[meta]\nname = \"mine\"\n").unwrap();
        assert_eq!(load(f.to_str().unwrap()).unwrap().name, "mine");
    }

    #[test]
    fn unknown_profile_suggests_nearest() {
        let e = load("claud-code").unwrap_err().to_string();
        assert!(e.contains("did you mean 'claude-code'"), "{e}");
    }
}
