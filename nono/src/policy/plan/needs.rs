//! What needs a process beside the command — the network proxy, the broker,
//! a supervisor — and who asked for it. `nono wrap` keeps none of them, so
//! this is the one place that refuses them there, naming every flag or
//! profile field at once.

use anyhow::{bail, Result};

use super::Mode;
use crate::cli::{LaterArgs, RunArgs};

/// Who asked for a helper: flags, variables or profile fields, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    /// The network proxy (proxy flags, or the profile's network settings).
    pub proxy: Vec<&'static str>,
    /// The broker (unix-socket grants, capability elevation).
    pub broker: Vec<&'static str>,
    /// A supervisor that outlives the exec (rollback, audit, `--detached`).
    pub supervisor: Vec<&'static str>,
}

/// The broker flags that are set.
fn broker_flags(l: &LaterArgs) -> Vec<&'static str> {
    [
        (!l.unix.allow_unix_socket.is_empty(), "--allow-unix-socket"),
        (
            !l.unix.allow_unix_socket_bind.is_empty(),
            "--allow-unix-socket-bind",
        ),
        (
            !l.unix.allow_unix_socket_dir.is_empty(),
            "--allow-unix-socket-dir",
        ),
        (
            !l.unix.allow_unix_socket_dir_bind.is_empty(),
            "--allow-unix-socket-dir-bind",
        ),
        (
            !l.unix.allow_unix_socket_subtree.is_empty(),
            "--allow-unix-socket-subtree",
        ),
        (
            !l.unix.allow_unix_socket_subtree_bind.is_empty(),
            "--allow-unix-socket-subtree-bind",
        ),
        (l.capability_elevation, "--capability-elevation"),
    ]
    .into_iter()
    .filter_map(|(set, flag)| set.then_some(flag))
    .collect()
}

/// What the session will have, whoever asked: the profile is named where
/// no flag or variable did.
#[derive(Debug, Clone, Copy)]
pub struct Wanted {
    pub proxy: bool,
    pub unix_sockets: bool,
    pub elevation: bool,
}

impl Needs {
    /// Who asked for what the session will have.
    pub fn of(args: &RunArgs, profile: Wanted) -> Result<Needs> {
        let mut n = Needs {
            proxy: crate::network::proxy_flags(&args.proxy),
            ..Needs::default()
        };
        if n.proxy.is_empty() && profile.proxy {
            n.proxy.push("the profile's network settings");
        }
        n.broker = broker_flags(&args.later);
        if crate::envconfig::boolean("NONO_CAPABILITY_ELEVATION")? == Some(true)
            && !args.later.capability_elevation
        {
            n.broker.push("NONO_CAPABILITY_ELEVATION");
        }
        if profile.unix_sockets && n.broker.iter().all(|f| !f.contains("unix-socket")) {
            n.broker.push("the profile's unix-socket fields");
        }
        if profile.elevation
            && n.broker
                .iter()
                .all(|f| !f.contains("ELEVATION") && !f.contains("elevation"))
        {
            n.broker.push("the profile's security.capability_elevation");
        }
        // A dry run starts nothing, so nothing needs supervising.
        if !args.dry_run {
            n.supervisor.extend(args.record.supervised_flag());
            if args.detached {
                n.supervisor.push("--detached");
            }
        }
        Ok(n)
    }

    /// For `--dry-run -v`: each helper and who asked for it.
    pub fn describe(&self) -> Vec<String> {
        [
            ("network proxy", &self.proxy),
            ("broker", &self.broker),
            ("supervisor", &self.supervisor),
        ]
        .into_iter()
        .filter(|(_, by)| !by.is_empty())
        .map(|(helper, by)| format!("{helper} (asked by {})", by.join(", ")))
        .collect()
    }

    /// `wrap` keeps no helper process: refuse everything that needs one,
    /// before anything is created or asked.
    pub fn refuse_in(&self, mode: Mode) -> Result<()> {
        if mode == Mode::Run {
            return Ok(());
        }
        let mut parts = Vec::new();
        if !self.proxy.is_empty() {
            parts.push(format!(
                "proxy flags ({}: the network proxy requires a parent process)",
                self.proxy.join(", ")
            ));
        }
        if !self.broker.is_empty() {
            parts.push(format!("{} (needs the broker)", self.broker.join(", ")));
        }
        if !self.supervisor.is_empty() {
            parts.push(format!(
                "{} (needs a supervisor, and nono wrap has none: nono replaces itself with the command)",
                self.supervisor.join(", ")
            ));
        }
        if parts.is_empty() {
            return Ok(());
        }
        bail!(
            "nono wrap does not support {}: nono wrap keeps no helper process. Use nono run instead.",
            parts.join("; ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn needs() -> Needs {
        Needs {
            proxy: vec!["--allow-domain"],
            broker: vec!["--allow-unix-socket", "--capability-elevation"],
            supervisor: vec!["--rollback", "--detached"],
        }
    }

    #[test]
    fn wrap_names_every_flag_in_one_refusal() {
        let err = needs().refuse_in(Mode::Wrap).unwrap_err().to_string();
        for flag in [
            "--allow-domain",
            "--allow-unix-socket",
            "--capability-elevation",
            "--rollback",
            "--detached",
            "Use nono run instead",
        ] {
            assert!(err.contains(flag), "{flag}: {err}");
        }
        assert!(!err.contains('\n'), "one line: {err}");
    }

    #[test]
    fn run_and_a_helperless_wrap_pass() {
        assert!(needs().refuse_in(Mode::Run).is_ok());
        assert!(Needs::default().refuse_in(Mode::Wrap).is_ok());
    }

    #[test]
    fn the_profile_is_named_only_where_no_flag_asked() {
        use clap::Parser;
        let run = |extra: &[&str]| {
            let argv = [&["nono", "run", "--dry-run"], extra, &["--", "x"]].concat();
            match crate::cli::Cli::try_parse_from(argv).unwrap().command {
                crate::cli::Command::Run(a) => a,
                _ => unreachable!(),
            }
        };
        let args = run(&[]);
        let all = Wanted {
            proxy: true,
            unix_sockets: true,
            elevation: true,
        };
        let n = Needs::of(&args, all).unwrap();
        assert_eq!(n.proxy, vec!["the profile's network settings"]);
        assert_eq!(
            n.broker,
            vec![
                "the profile's unix-socket fields",
                "the profile's security.capability_elevation"
            ]
        );
        let n = Needs::of(&run(&["--capability-elevation"]), all).unwrap();
        assert_eq!(
            n.broker,
            vec!["--capability-elevation", "the profile's unix-socket fields"]
        );
        let none = Wanted {
            proxy: false,
            unix_sockets: false,
            elevation: false,
        };
        let flags = [
            "--allow-domain",
            "x.com",
            "--credential",
            "openai",
            "--proxy-port",
            "19999",
        ];
        let n = Needs::of(&run(&flags), none).unwrap();
        assert_eq!(
            n.proxy,
            vec!["--allow-domain", "--credential", "--proxy-port"]
        );
        let n = Needs::of(&run(&["--proxy-port", "19999"]), none).unwrap();
        assert!(n.proxy.is_empty(), "refused as outside proxy mode: {n:?}");
    }
}
