//! The profile fragment `nono learn --json` prints: the grants found, in
//! the profile format (so `nono profile validate` and `nono run --profile`
//! take it as it is), paths written with `$WORKDIR` and `~`. It is checked
//! before it is printed: merged into the profile and resolved again, every
//! access it is meant to grant must then be allowed.

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde_json::Value;

use super::analyse::{Cand, Dest, Need};
use crate::policy::decide::{self, View};
use crate::policy::load::Loaded;
use crate::policy::merge::merge;
use crate::policy::profile::Profile;
use crate::policy::resolve::{self, Materialize, WorkdirConsent};

/// Where paths are written relative to.
pub struct Places {
    pub workdir: PathBuf,
    pub home: Option<PathBuf>,
}

impl Places {
    /// `$WORKDIR/...`, `~/...` or the absolute path (the deeper base wins).
    pub fn show(&self, p: &Path) -> String {
        let rel = |base: &Path, name: &str| {
            p.strip_prefix(base).ok().map(|r| {
                if r.as_os_str().is_empty() {
                    name.to_string()
                } else {
                    format!("{name}/{}", r.display())
                }
            })
        };
        let wd = rel(&self.workdir, "$WORKDIR");
        let home = self.home.as_deref().and_then(|h| rel(h, "~"));
        let home_deeper = self
            .home
            .as_deref()
            .is_some_and(|h| h.starts_with(&self.workdir) && h != self.workdir);
        match (wd, home) {
            (Some(_), Some(h)) if home_deeper => h,
            (Some(w), _) => w,
            (None, Some(h)) => h,
            (None, None) => p.display().to_string(),
        }
    }
}

/// The fragment as a profile.
pub fn build(
    cands: &[Cand],
    dests: &[Dest],
    listen: &[u16],
    unix: &[(PathBuf, bool)],
    extends: Option<&str>,
    places: &Places,
) -> Profile {
    let mut p = Profile::default();
    if let Some(e) = extends {
        p.extends = Some(crate::policy::profile::Extends::One(e.to_string()));
    }
    let f = &mut p.filesystem;
    for c in cands {
        let list = match (c.tree, c.read, c.write) {
            (true, true, true) => &mut f.allow,
            (true, true, false) => &mut f.read,
            (true, false, _) => &mut f.write,
            (false, true, true) => &mut f.allow_file,
            (false, true, false) => &mut f.read_file,
            (false, false, _) => &mut f.write_file,
        };
        list.push(places.show(&c.path));
    }
    for (path, bind) in unix {
        let list = if *bind {
            &mut f.allow_unix_socket_bind
        } else {
            &mut f.allow_unix_socket
        };
        list.push(places.show(path));
    }
    p.network.allow_domain = dests.iter().map(Dest::rule).collect();
    if !p.network.allow_domain.is_empty() {
        p.network.listen_port = listen.to_vec();
    }
    p
}

/// JSON without the empty sections.
pub fn to_json(p: &Profile) -> Result<String> {
    let mut v = serde_json::to_value(p)?;
    if let Value::Object(map) = &mut v {
        map.retain(|_, x| !matches!(x, Value::Object(o) if o.is_empty()));
    }
    Ok(serde_json::to_string_pretty(&v)?)
}

/// The needs still denied once the fragment is merged into `base`, with
/// the reason (empty when the fragment does what it is meant to).
pub fn verify(
    base: &Loaded,
    fragment: &Profile,
    args: &crate::cli::PolicyArgs,
    needs: &[Need],
) -> Result<Vec<(Need, String)>> {
    let mut own = fragment.clone();
    own.extends = None;
    let loaded = Loaded {
        profile: merge(base.profile.clone(), &own),
        ..base.clone()
    };
    let policy = resolve::resolve(args, loaded, WorkdirConsent::Given, Materialize::Nothing)?;
    let view = View::of(&policy);
    Ok(needs
        .iter()
        .filter_map(|n| {
            let a = decide::path(&view, &n.path, n.op());
            (!a.allowed()).then(|| (n.clone(), a.details))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::profile::{parse, Format};

    #[test]
    fn fragment_parses_as_a_profile_and_uses_workdir_and_home() {
        let places = Places {
            workdir: "/w".into(),
            home: Some("/home/u".into()),
        };
        let cands = vec![
            Cand {
                path: "/w".into(),
                tree: true,
                read: true,
                write: true,
            },
            Cand {
                path: "/home/u/.cfg".into(),
                tree: false,
                read: true,
                write: false,
            },
        ];
        let dests = vec![Dest {
            host: "127.0.0.1".into(),
            port: 8080,
            addr: "127.0.0.1".parse().unwrap(),
        }];
        let p = build(&cands, &dests, &[], &[], Some("python-dev"), &places);
        let text = to_json(&p).unwrap();
        let back = parse(&text, Format::Json, "fragment").unwrap();
        assert_eq!(back.filesystem.allow, vec!["$WORKDIR"]);
        assert_eq!(back.filesystem.read_file, vec!["~/.cfg"]);
        assert_eq!(back.network.allow_domain, vec!["127.0.0.1:8080"]);
        assert!(text.contains("\"extends\": \"python-dev\""), "{text}");
        assert!(!text.contains("\"meta\""), "{text}");
    }
}
