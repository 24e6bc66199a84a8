//! Launching a confined command: `run` (a supervising parent stays) and
//! `wrap` (nono seals itself and execs).

mod child;
mod codex;
mod command;
mod credentials;
mod denials;
mod detach;
mod dry_run;
mod elevation;
mod footer;
pub(crate) mod helpers;
mod landlock_log;
mod landlock_records;
mod later;
mod mirror;
pub mod parents;
mod plan;
mod proxy;
mod pty;
pub(crate) mod reasons;
pub use pty::RawMode;
mod save_profile;
mod save_prompt;
mod session;
mod shell;
mod startup;
mod supervise;
mod suspend;
pub mod sysv;
pub mod unix;
mod verbose;

use anyhow::{bail, Result};

use crate::cli::RunArgs;
use crate::{sys, ui};
pub use plan::{Plan, POLICY_ENV};

/// The read-only mounts of git hooks and configuration (or a profile's
/// `keep_read_only`) could not be made: fail closed, naming the way out.
fn pin_failed(e: std::io::Error) -> anyhow::Error {
    anyhow::anyhow!(
        "cannot start the sandbox with git hooks and configuration read-only ({e}): that \
         needs a private mount namespace (unprivileged users need user namespaces). Run with \
         --allow-git-config-writes (or --bypass-protection for a profile's keep_read_only \
         paths) to go without this protection"
    )
}

/// A name a credential or profile path may be given as (A-Z, 0-9, _).
pub fn valid_env_name(v: &str) -> bool {
    credentials::valid_var(v)
}

/// `profile validate`: the credential checks `run` makes on a profile.
pub fn check_profile_credentials(profile: &crate::policy::load::Loaded) -> Result<()> {
    credentials::profile_items(profile).map(|_| ())
}

/// Exit code when the command exists but cannot be executed.
pub const EXIT_CANNOT_EXECUTE: i32 = 126;
/// Exit code when the command cannot be found.
pub const EXIT_NOT_FOUND: i32 = 127;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Run,
    Wrap,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Run => "run",
            Mode::Wrap => "wrap",
        }
    }
}

/// `nono shell`: `run` with the user's shell and a marked prompt.
pub fn shell(args: crate::cli::ShellArgs) -> Result<i32> {
    let mut run = args.run;
    if !run.command.is_empty() {
        bail!("nono shell takes no command; to run one, use nono run -- <COMMAND>");
    }
    run.command = vec![shell::program(args.shell)];
    launch_with(run, Mode::Run, shell::prepare)
}

pub fn launch(args: RunArgs, mode: Mode) -> Result<i32> {
    launch_with(args, mode, |_| Ok(()))
}

fn launch_with(
    mut args: RunArgs,
    mode: Mode,
    adjust: impl FnOnce(&mut Plan) -> Result<()>,
) -> Result<i32> {
    crate::envconfig::apply(&mut args.policy)?;
    crate::envconfig::apply_proxy(&mut args.proxy)?;
    later::check(&args.later, &args.proxy, mode)?;
    later::check_compat(&args.compat)?;
    if args.command.is_empty() {
        bail!(
            "no command given; usage: nono {} [OPTIONS] -- <COMMAND> [ARGS...]",
            mode.name()
        );
    }
    if let Some(flag) = args.command[0].to_str().filter(|a| a.starts_with('-')) {
        bail!(
            "unexpected argument '{flag}' for nono {}; see 'nono {} --help' (put the command after --)",
            mode.name(),
            mode.name()
        );
    }
    if args.detached && !args.dry_run {
        if mode == Mode::Wrap {
            bail!("--detached needs nono run: nono wrap keeps no supervisor to detach");
        }
        if !detach::is_child() {
            return detach::start(args.detach_timeout);
        }
    }
    let mut plan = match Plan::build(&args, mode)? {
        Ok(plan) => plan,
        Err(code) => return Ok(code),
    };
    if !args.dry_run {
        adjust(&mut plan)?;
    }
    // After the plan (which asked is_child), before any helper starts.
    plan.ready = detach::take_ready();
    plan.startup_timeout = match (args.startup_timeout, mode) {
        (None | Some(0), _) => None,
        (Some(_), Mode::Wrap) => {
            ui::info("--startup-timeout has no effect with nono wrap (no supervisor)");
            None
        }
        (Some(s), Mode::Run) => Some(std::time::Duration::from_secs(s)),
    };
    if args.dry_run {
        dry_run::print(&plan);
        return Ok(0);
    }
    if plan.sysv == sysv::SysvIpc::Shared {
        ui::warn(sysv::SHARED_WARNING);
    }
    verbose::plan(
        &plan,
        match mode {
            Mode::Run => "run",
            Mode::Wrap => "wrap",
        },
    );
    match mode {
        Mode::Run => crate::record::run(&args, plan, supervise::run),
        Mode::Wrap => {
            crate::record::check_wrap(&args)?;
            let mut plan = plan;
            if !plan.credentials.is_empty() {
                plan.env
                    .extend(credentials::fetch_for_wrap(&plan.credentials)?);
            }
            if let Some(p) = plan.pinning.take() {
                sys::pin_read_only_now(&p).map_err(pin_failed)?;
            }
            // Last, so only the sealed command enters the namespace.
            sysv::settle(plan.sysv, &mut plan.caps);
            let code = child::seal_and_exec(&plan);
            sys::exit_now(code)
        }
    }
}
