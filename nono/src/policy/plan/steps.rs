//! Building the plan, one named step at a time:
//!
//! 1. `load`: the program, the profile, what needs a helper (`wrap`
//!    refuses here, before anything is asked or created), the network
//!    plan, the unix-socket grants;
//! 2. `Asked::resolve`: the working-directory consent, flags + profile +
//!    groups → grants around protected paths (`policy::resolve`), the
//!    pre-exec trust scan, credentials;
//! 3. `Resolved::plan`, with what the launch made (`AtLaunch`: session
//!    directory, terminal, Codex home, CA files): those grants added and
//!    everything re-checked (`protect`), then the network policy, the
//!    broker's elevation scope, SysV IPC, the environment and argv.
//!
//! Paths are canonicalised once, where a grant is made (`grants.rs`,
//! `policy/unix.rs`); later steps compare and forward them as they are.

use std::ffi::OsString;
use std::io::IsTerminal;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use sandbox::NetworkPolicy;

use super::env::{self, cstring};
use super::needs::{Needs, Wanted};
use super::{Mode, Plan};
use crate::cli::RunArgs;
use crate::grants::{self, Grant};
use crate::network::{self, NetworkPlan};
use crate::policy::load::Loaded;
use crate::policy::profile::WorkdirAccess;
use crate::policy::protect::canonical_lenient;
use crate::policy::resolve::{self, Materialize, Policy, WorkdirConsent};
use crate::policy::vars::Vars;
use crate::ui;

/// After step 1: what was asked for, before anything was granted.
pub struct Asked {
    mode: Mode,
    program: PathBuf,
    profile: Loaded,
    workdir: PathBuf,
    vars: Vars,
    network: NetworkPlan,
    intercepts: bool,
    unix_grants: Vec<ipc::broker::WireUnixGrant>,
    unix_view: Vec<crate::policy::decide::ViewUnix>,
    unix_fs: Vec<Grant>,
    elevate: bool,
    needs: Needs,
}

/// After step 2: the policy, before the launch's own grants.
pub struct Resolved {
    asked: Asked,
    pub policy: Policy,
    credentials: Vec<ipc::keyholder::CredentialItem>,
    env_paths: Vec<(String, OsString)>,
    trust_scan: Option<crate::trust_cmd::scan::Summary>,
    save_prompt: Option<Vec<PathBuf>>,
}

/// What the launch made for the session, as grants and variables.
#[derive(Default)]
pub struct AtLaunch {
    /// Terminals, the private temp dir and policy snapshot, Codex's home.
    pub grants: Vec<Grant>,
    /// The CA files of proxy mode (added after the unix-socket grants).
    pub ca_grants: Vec<Grant>,
    /// `TMPDIR` & co., the snapshot's variable.
    pub env: Vec<(&'static str, OsString)>,
}

/// Step 1. `Ok(Err(code))`: the command cannot be run; the reason was
/// reported.
pub fn load(args: &RunArgs, mode: Mode) -> Result<Result<Asked, i32>> {
    let host_path = std::env::var_os("PATH");
    let program = match crate::policy::program::find(&args.command[0], host_path.as_ref()) {
        Ok(p) => p,
        // A dry run executes nothing: it shows the plan and says so.
        Err((_, msg)) if args.dry_run => {
            ui::note(format!("nono: {msg} (a dry run executes nothing)"));
            PathBuf::from(&args.command[0])
        }
        Err((code, msg)) => {
            ui::error(msg);
            return Ok(Err(code));
        }
    };
    let profile = resolve::load_profile(&args.policy)?;
    command_blocklist(args, &profile.profile, &program)?;
    let p = &profile.profile;
    let elevate = crate::policy::elevation::enabled(&args.later, p.security.capability_elevation)?;
    let wanted = Wanted {
        proxy: network::wants_proxy(&args.proxy, &args.policy, p),
        unix_sockets: crate::policy::unix::asked_by_profile(p),
        elevation: elevate,
    };
    let needs = Needs::of(args, wanted)?;
    needs.refuse_in(mode)?;
    let network = network::plan(&args.proxy, &args.policy, p)?;
    let intercepts = match &network.proxy {
        // The proxy's parser: a rule it would refuse fails here, dry runs included.
        Some(px) => ipc::hostrules::Allowlist::parse(&px.hosts)
            .map_err(|e| anyhow::anyhow!("host rule {e}"))?
            .intercepts(),
        None => false,
    };
    let workdir = grants::workdir(&args.policy.fs)?;
    let vars = Vars::from_env(workdir.clone());
    let (unix_grants, unix_fs) = crate::policy::unix::plan(&args.later.unix, p, &vars)?;
    let unix_view = crate::policy::unix::view(&args.later.unix, p, &vars)?;
    if args.later.elevation_decisions.is_some() && !elevate {
        bail!("--elevation-decisions needs --capability-elevation");
    }
    Ok(Ok(Asked {
        mode,
        program,
        profile,
        workdir,
        vars,
        network,
        intercepts,
        unix_grants,
        unix_view,
        unix_fs,
        elevate,
        needs,
    }))
}

impl Asked {
    /// Step 2. `Ok(Err(code))`: the trust scan refused the launch.
    pub fn resolve(self, args: &RunArgs) -> Result<Result<Resolved, i32>> {
        let consent = workdir_consent(args, &self.profile, &self.workdir)?;
        let materialize = if args.dry_run {
            Materialize::Nothing
        } else {
            Materialize::StateDirs
        };
        let profile = self.profile.clone();
        let mut policy = resolve::resolve(&args.policy, profile, consent, materialize)?;
        let save_prompt = save_prompt(args, &policy.profile, &self.workdir);
        let mut trust_scan = None;
        if let Err(code) = crate::trust_cmd::scan::before_launch(
            args.trust_override,
            &args.skip_dir,
            &self.workdir,
            &mut policy,
            &mut trust_scan,
            args.learn,
        )? {
            return Ok(Err(code));
        }
        for dir in &policy.expanded {
            ui::info(format!(
                "{} contains protected paths: its existing entries are granted one by one; {}",
                dir.display(),
                if self.mode == Mode::Run {
                    "the broker lists it and creates new entries directly in it"
                } else {
                    "nothing new can be created directly in it (nono run's broker can)"
                }
            ));
        }
        let credentials = crate::policy::credentials::items(args, &policy.profile)?;
        let env_paths = env::env_paths(&policy.profile.profile.env_paths, &self.vars)?;
        Ok(Ok(Resolved {
            asked: self,
            policy,
            credentials,
            env_paths,
            trust_scan,
            save_prompt,
        }))
    }
}

impl Resolved {
    pub fn network(&self) -> &NetworkPlan {
        &self.asked.network
    }

    pub fn vars(&self) -> &Vars {
        &self.asked.vars
    }

    /// Step 3: the launch's grants added and every rule re-checked against
    /// every protection, then the rest of the plan.
    pub fn plan(self, args: &RunArgs, at: AtLaunch) -> Result<Plan> {
        let Resolved {
            asked,
            mut policy,
            credentials,
            env_paths,
            trust_scan,
            save_prompt,
        } = self;
        let mode = asked.mode;
        let mut extra = at.grants;
        extra.extend(asked.unix_fs);
        extra.extend(at.ca_grants);
        policy.add_rules(extra)?;
        if !args.dry_run {
            policy.pins = crate::policy::persist::materialize(std::mem::take(&mut policy.pins))?;
        }
        policy.network = network_policy(policy.network, &asked.network);
        let elevation = if asked.elevate && !args.dry_run {
            Some(crate::policy::elevation::wire(&policy)?)
        } else {
            None
        };
        // Served by the broker, so only in `run`.
        let parent_view = match mode {
            Mode::Run => crate::policy::parents::dirs(&policy),
            Mode::Wrap => Vec::new(),
        };
        let sysv = crate::policy::sysv::plan(
            policy.profile.profile.security.allow_sysv_ipc == Some(true),
            mode == Mode::Run,
            &asked.network,
            nix::unistd::geteuid().is_root(),
        );
        let mut overrides: Vec<(&str, OsString)> = at.env;
        for (k, v) in &env_paths {
            overrides.push((k.as_str(), v.clone()));
        }
        let env = env::agent(
            args,
            &credentials,
            &asked.network,
            asked.intercepts,
            &overrides,
        )?;
        let argv = args
            .command
            .iter()
            .map(|a| cstring(a.as_bytes(), "a command argument"))
            .collect::<Result<Vec<_>>>()?;
        Ok(Plan {
            mode,
            dry_run: args.dry_run,
            learn: args.learn,
            policy,
            credentials,
            program: cstring(asked.program.as_os_str().as_bytes(), "the command path")?,
            argv,
            env,
            network: asked.network,
            unix_grants: asked.unix_grants,
            unix_view: asked.unix_view,
            parent_view,
            elevation,
            elevation_decisions: args.later.elevation_decisions.clone(),
            sysv,
            needs: asked.needs,
            trust_scan,
            session_name: args.name.clone(),
            diagnostics: !args.no_diagnostics,
            save_prompt,
        })
    }
}

fn access_name(a: WorkdirAccess) -> &'static str {
    match a {
        WorkdirAccess::None => "no",
        WorkdirAccess::Read => "read",
        WorkdirAccess::Write => "write",
        WorkdirAccess::Readwrite => "read+write",
    }
}

/// Ask before sharing the working directory at the profile's level.
fn workdir_consent(args: &RunArgs, profile: &Loaded, workdir: &Path) -> Result<WorkdirConsent> {
    let access = profile
        .profile
        .workdir
        .as_ref()
        .map(|w| w.access)
        .unwrap_or_default();
    if access == WorkdirAccess::None || args.policy.fs.allow_cwd || args.dry_run {
        return Ok(WorkdirConsent::Given);
    }
    let question = format!(
        "profile '{}' shares the working directory {} with {} access",
        profile.name,
        workdir.display(),
        access_name(access)
    );
    if ui::verbosity_silent() || !std::io::stdin().is_terminal() {
        bail!("{question}; pass --allow-cwd to confirm (cannot prompt: not interactive)");
    }
    let reply = crate::prompt::ask(&format!("nono: {question}. Allow? [y/N] "), None)?;
    if let crate::prompt::Reply::NoTerminal = reply {
        bail!("{question}; pass --allow-cwd to confirm (cannot prompt: no terminal)");
    }
    if reply.is_yes() {
        return Ok(WorkdirConsent::Given);
    }
    // Say what the command gets instead, before it starts.
    ui::note(format!(
        "not shared: the command runs without access to {} (pass --allow-cwd to share it)",
        workdir.display()
    ));
    Ok(WorkdirConsent::Refused)
}

/// The deprecated startup-only blocklist: warnings for each spelling in
/// use, then the check of the command's own name.
fn command_blocklist(
    args: &RunArgs,
    profile: &crate::policy::profile::Profile,
    program: &Path,
) -> Result<()> {
    use crate::policy::commands;
    let asked = commands::Asked {
        allow_flag: &args.commands.allow_command,
        block_flag: &args.commands.block_command,
    };
    for w in commands::warnings(&asked, profile) {
        ui::warn(w);
    }
    commands::check(&asked, profile, &args.command[0], program)
}

/// Whether the prompt may be shown at all (`NONO_NO_SAVE_PROMPT`).
fn save_prompt_enabled_by_env() -> bool {
    !matches!(
        crate::envconfig::boolean("NONO_NO_SAVE_PROMPT"),
        Ok(Some(true))
    )
}

/// Whether the run gets the save prompt, and the paths it never offers
/// (`--suppress-save-prompt`, the profile's `filesystem.suppress_save_prompt`).
fn save_prompt(args: &RunArgs, profile: &Loaded, workdir: &Path) -> Option<Vec<PathBuf>> {
    if args.no_diagnostics || args.learn || !save_prompt_enabled_by_env() {
        return None;
    }
    let vars = Vars::from_env(workdir.to_path_buf());
    let mut out: Vec<PathBuf> = args
        .suppress_save_prompt
        .iter()
        .filter_map(|p| std::path::absolute(p).ok())
        .map(|p| canonical_lenient(&p))
        .collect();
    for raw in &profile.profile.filesystem.suppress_save_prompt {
        if let Ok(Some(p)) = vars.expand(raw) {
            out.push(canonical_lenient(&p));
        }
    }
    Some(out)
}

/// The agent's network policy: proxy mode and `--open-port` under a
/// blocked network both become "TCP to listed ports only".
fn network_policy(base: NetworkPolicy, net: &NetworkPlan) -> NetworkPolicy {
    match (base, &net.proxy) {
        (_, Some(_)) => NetworkPolicy::TcpPorts,
        (NetworkPolicy::Blocked, None) if !net.open_ports.is_empty() => NetworkPolicy::TcpPorts,
        (b, None) => b,
    }
}
