//! Launching a confined command: `run` (a supervising parent stays) and
//! `wrap` (nono seals itself and execs).

mod child;
mod codex;
mod credentials;
mod denials;
mod detach;
mod elevation;
mod footer;
mod landlock_log;
mod landlock_records;
mod later;
mod mirror;
mod prepare;
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
mod sysv;
mod verbose;

use anyhow::{bail, Result};

use crate::cli::RunArgs;
pub use crate::policy::plan::Mode;
use crate::policy::plan::{self, Plan};
use crate::{sys, ui};
use prepare::Session;

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
    launch_with(args, mode, |_, _| Ok(()))
}

fn launch_with(
    mut args: RunArgs,
    mode: Mode,
    adjust: impl FnOnce(&mut Plan, &Session) -> Result<()>,
) -> Result<i32> {
    crate::envconfig::apply(&mut args.policy)?;
    crate::envconfig::apply_proxy(&mut args.proxy)?;
    later::check_compat(&args.compat)?;
    if args.command.is_empty() {
        bail!(
            "no command given; usage: nono {} [OPTIONS] -- <COMMAND> [ARGS...]",
            mode.name()
        );
    }
    if let Some(flag) = args.command[0].to_str().filter(|a| a.starts_with('-')) {
        bail!(
            "unexpected argument '{flag}' for nono {}{}; see 'nono {} --help' (put the command after --)",
            mode.name(),
            similar_flag(mode, flag),
            mode.name()
        );
    }
    // The background copy decides for itself (wrap refuses --detached
    // while deciding).
    if mode == Mode::Run && args.detached && !args.dry_run && !detach::is_child() {
        return detach::start(args.detach_timeout);
    }
    let (mut plan, mut session) = match decide(&args, mode)? {
        Ok(p) => p,
        Err(code) => return Ok(code),
    };
    if !args.dry_run {
        adjust(&mut plan, &session)?;
    }
    let plan = plan; // decided: from here on only read
                     // After the plan (which asked is_child), before any helper starts.
    session.ready = detach::take_ready();
    session.startup_timeout = match (args.startup_timeout, mode) {
        (None | Some(0), _) => None,
        (Some(_), Mode::Wrap) => {
            ui::info("--startup-timeout has no effect with nono wrap (no supervisor)");
            None
        }
        (Some(s), Mode::Run) => Some(std::time::Duration::from_secs(s)),
    };
    if args.dry_run {
        // A run checks the key's form before anything starts (the dry run
        // fetches nothing, so the key itself is not loaded).
        crate::record::sign::check(&args.record)?;
        crate::dry_run::print(&plan)?;
        return Ok(0);
    }
    if plan.sysv == crate::policy::sysv::SysvIpc::Shared {
        ui::warn(crate::policy::sysv::SHARED_WARNING);
    }
    verbose::plan(
        &plan,
        match mode {
            Mode::Run => "run",
            Mode::Wrap => "wrap",
        },
    );
    match mode {
        Mode::Run => crate::record::run(&args, &plan, || supervise::run(&plan, session)),
        Mode::Wrap => wrap(&args, &plan, session),
    }
}

/// ` (did you mean '--allow'?)` for a mistyped flag of `nono run|wrap`.
fn similar_flag(mode: Mode, flag: &str) -> String {
    let def = crate::help::definition();
    let Some(cmd) = def.find_subcommand(mode.name()) else {
        return String::new();
    };
    let longs: Vec<&str> = cmd.get_arguments().filter_map(|a| a.get_long()).collect();
    let typed = flag.trim_start_matches('-');
    match crate::policy::nearest(typed, longs.iter().copied()) {
        Some(n) => format!(" (did you mean '--{n}'?)"),
        None => String::new(),
    }
}

/// Decide (the plan's steps, with what the launch makes in between).
/// `Ok(Err(code))`: the command cannot be run; the reason was reported.
fn decide(args: &RunArgs, mode: Mode) -> Result<Result<(Plan, Session), i32>> {
    crate::canon::planning(|| decide_planning(args, mode))
}

fn decide_planning(args: &RunArgs, mode: Mode) -> Result<Result<(Plan, Session), i32>> {
    let asked = match plan::load(args, mode)? {
        Ok(a) => a,
        Err(code) => return Ok(Err(code)),
    };
    let resolved = match asked.resolve(args)? {
        Ok(r) => r,
        Err(code) => return Ok(Err(code)),
    };
    let (mut session, at_launch) = prepare::session(args, mode, &resolved)?;
    let plan = resolved.plan(args, at_launch)?;
    session.settle(&plan)?;
    Ok(Ok((plan, session)))
}

/// `wrap`: nono seals itself and execs the command.
fn wrap(args: &RunArgs, plan: &Plan, mut session: Session) -> Result<i32> {
    crate::record::note_wrap(args);
    let mut env = plan.env.clone();
    if !plan.credentials.is_empty() {
        env.extend(credentials::fetch_for_wrap(&plan.credentials)?);
    }
    if let Some(p) = session.pinning.take() {
        sys::pin_read_only_now(&p).map_err(pin_failed)?;
    }
    let mut caps = plan.capability_set()?;
    // Last, so only the sealed command enters the namespace.
    sysv::settle(plan.sysv, &mut caps);
    let code = child::seal_and_exec(plan, &caps, &env);
    sys::exit_now(code)
}
