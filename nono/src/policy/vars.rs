//! `$VAR` expansion in profile and group paths.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

/// Values for the variables a path may use.
#[derive(Debug, Clone)]
pub struct Vars {
    pub workdir: PathBuf,
    pub home: Option<PathBuf>,
    pub xdg_config: Option<PathBuf>,
    pub xdg_data: Option<PathBuf>,
    pub xdg_state: Option<PathBuf>,
    pub tmpdir: PathBuf,
    pub uid: u32,
}

const NAMES: [&str; 7] = [
    "WORKDIR",
    "HOME",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "XDG_STATE_HOME",
    "TMPDIR",
    "UID",
];

fn env_dir(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
}

impl Vars {
    /// From the environment of this process.
    pub fn from_env(workdir: PathBuf) -> Vars {
        let home = env_dir("HOME").filter(|h| h != Path::new("/"));
        Vars {
            workdir,
            xdg_config: env_dir("XDG_CONFIG_HOME")
                .or_else(|| home.as_ref().map(|h| h.join(".config"))),
            xdg_data: env_dir("XDG_DATA_HOME")
                .or_else(|| home.as_ref().map(|h| h.join(".local/share"))),
            xdg_state: env_dir("XDG_STATE_HOME")
                .or_else(|| home.as_ref().map(|h| h.join(".local/state"))),
            home,
            tmpdir: env_dir("TMPDIR").unwrap_or_else(|| PathBuf::from("/tmp")),
            uid: nix::unistd::getuid().as_raw(),
        }
    }

    fn value(&self, name: &str) -> Result<Option<String>> {
        let dir = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string());
        Ok(match name {
            "WORKDIR" => Some(self.workdir.display().to_string()),
            "HOME" => dir(&self.home),
            "XDG_CONFIG_HOME" => dir(&self.xdg_config),
            "XDG_DATA_HOME" => dir(&self.xdg_data),
            "XDG_STATE_HOME" => dir(&self.xdg_state),
            "TMPDIR" => Some(self.tmpdir.display().to_string()),
            "UID" => Some(self.uid.to_string()),
            other => bail!("unknown variable ${other} (known: ${})", NAMES.join(", $")),
        })
    }

    /// Expand `$NAME`, `${NAME}` and a leading `~/`. `Ok(None)` when a
    /// variable has no value here (e.g. no HOME): the path is then skipped,
    /// never widened. The result must be absolute.
    pub fn expand(&self, raw: &str) -> Result<Option<PathBuf>> {
        let raw = match raw.strip_prefix("~/") {
            Some(rest) => format!("$HOME/{rest}"),
            None if raw == "~" => "$HOME".to_string(),
            None => raw.to_string(),
        };
        let mut out = String::new();
        let mut rest = raw.as_str();
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            let (name, tail) = match after.strip_prefix('{') {
                Some(b) => match b.find('}') {
                    Some(j) => (&b[..j], &b[j + 1..]),
                    None => bail!("unterminated ${{ in {raw}"),
                },
                None => {
                    let end = after
                        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                        .unwrap_or(after.len());
                    (&after[..end], &after[end..])
                }
            };
            if name.is_empty() {
                bail!("a lone $ in {raw}");
            }
            match self.value(name)? {
                Some(v) => out.push_str(&v),
                None => return Ok(None),
            }
            rest = tail;
        }
        out.push_str(rest);
        let path = PathBuf::from(&out);
        if !path.is_absolute() {
            bail!("{raw} does not expand to an absolute path ({out})");
        }
        Ok(Some(path))
    }
}

/// `$XDG_CONFIG_HOME/nono/profiles` (or `~/.config/nono/profiles`).
pub fn user_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("nono").join("profiles"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars {
        Vars {
            workdir: "/w".into(),
            home: Some("/h".into()),
            xdg_config: Some("/h/.config".into()),
            xdg_data: Some("/h/.local/share".into()),
            xdg_state: Some("/h/.local/state".into()),
            tmpdir: "/tmp".into(),
            uid: 1000,
        }
    }

    #[test]
    fn expands_every_variable_and_tilde() {
        let v = vars();
        assert_eq!(
            v.expand("$HOME/.claude").unwrap().unwrap(),
            PathBuf::from("/h/.claude")
        );
        assert_eq!(v.expand("~/x").unwrap().unwrap(), PathBuf::from("/h/x"));
        assert_eq!(
            v.expand("$TMPDIR/openclaw-$UID").unwrap().unwrap(),
            PathBuf::from("/tmp/openclaw-1000")
        );
        assert_eq!(
            v.expand("${WORKDIR}/src").unwrap().unwrap(),
            PathBuf::from("/w/src")
        );
        assert_eq!(
            v.expand("$XDG_CONFIG_HOME/nono").unwrap().unwrap(),
            PathBuf::from("/h/.config/nono")
        );
    }

    #[test]
    fn unknown_variables_and_relative_results_are_errors() {
        let v = vars();
        assert!(v
            .expand("$HOMEDIR/x")
            .unwrap_err()
            .to_string()
            .contains("unknown variable $HOMEDIR"));
        assert!(v.expand("relative/path").is_err());
        assert!(v.expand("${HOME").is_err());
    }

    #[test]
    fn missing_home_skips_instead_of_widening() {
        let v = Vars {
            home: None,
            ..vars()
        };
        assert_eq!(v.expand("$HOME/.ssh").unwrap(), None);
    }
}
