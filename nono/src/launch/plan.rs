//! Everything decided before launch: grants, capability set, program, argv
//! and environment. Built once, then shown (`--dry-run`) or executed.

use std::ffi::{CString, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use anyhow::{Context, Result};
use sandbox::{AccessMode, CapabilitySet, GrantKind, NetworkPolicy};

use super::command;
use super::tmp::AgentTmp;
use super::Mode;
use crate::cli::RunArgs;
use crate::env_policy;
use crate::grants::{self, Grant, Source};

#[derive(Debug)]
pub struct Plan {
    pub grants: Vec<Grant>,
    pub caps: CapabilitySet,
    pub network: NetworkPolicy,
    pub program: CString,
    pub argv: Vec<CString>,
    pub env: Vec<CString>,
    /// The agent's temp dir, held so a session's is removed when the plan
    /// is dropped. None in dry runs: nothing is created.
    #[allow(dead_code)]
    pub tmp: Option<AgentTmp>,
}

fn cstring(bytes: &[u8], what: &str) -> Result<CString> {
    CString::new(bytes).with_context(|| format!("{what} contains a NUL byte"))
}

impl Plan {
    /// `Ok(Err(code))`: the command cannot be run; the reason was reported.
    pub fn build(args: &RunArgs, mode: Mode) -> Result<Result<Plan, i32>> {
        let mut grants = grants::user_grants(&args.fs)?;
        grants.extend(grants::default_grants()?);
        grants.extend(grants::own_terminals());
        let host_path = std::env::var_os("PATH");
        let program = match command::resolve(&args.command[0], host_path.as_ref()) {
            Ok(p) => p,
            Err(code) => return Ok(Err(code)),
        };
        let tmp = match (args.dry_run, mode) {
            (true, _) => None,
            (false, Mode::Run) => Some(AgentTmp::session()?),
            (false, Mode::Wrap) => Some(AgentTmp::per_user()?),
        };
        let mut overrides: Vec<(&str, OsString)> = Vec::new();
        if let Some(t) = &tmp {
            grants.push(Grant {
                path: t.path().to_path_buf(),
                mode: AccessMode::ReadWrite,
                kind: GrantKind::Tree,
                source: Source::PrivateTmp,
            });
            for var in ["TMPDIR", "TMP", "TEMP"] {
                overrides.push((var, t.path().as_os_str().to_owned()));
            }
        }
        let network = if args.block_net {
            NetworkPolicy::Blocked
        } else {
            NetworkPolicy::Allowed
        };
        let mut caps = grants::capability_set(&grants)?;
        caps.set_network(network);
        let env = env_policy::agent_env(std::env::vars_os(), &overrides)?
            .into_iter()
            .map(|(k, v)| {
                let mut kv = k.as_bytes().to_vec();
                kv.push(b'=');
                kv.extend_from_slice(v.as_bytes());
                cstring(&kv, "an environment variable")
            })
            .collect::<Result<Vec<_>>>()?;
        let argv = args
            .command
            .iter()
            .map(|a| cstring(a.as_bytes(), "a command argument"))
            .collect::<Result<Vec<_>>>()?;
        Ok(Ok(Plan {
            grants,
            caps,
            network,
            program: cstring(program.as_os_str().as_bytes(), "the command path")?,
            argv,
            env,
            tmp,
        }))
    }

    /// The program path, for messages.
    pub fn program_display(&self) -> String {
        self.program.to_string_lossy().into_owned()
    }

    /// Where the program lives, for the "grant its directory" hint.
    pub fn program_dir(&self) -> PathBuf {
        let dir = PathBuf::from(self.program_display())
            .parent()
            .map(PathBuf::from)
            .unwrap_or_default();
        std::fs::canonicalize(&dir).unwrap_or(dir)
    }
}
