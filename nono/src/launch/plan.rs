//! Everything decided before launch: policy, capability set, program, argv
//! and environment. Built once, then shown (`--dry-run`) or executed.

use std::ffi::{CString, OsString};
use std::io::{BufRead, IsTerminal, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use sandbox::{AccessMode, CapabilitySet, GrantKind, NetworkPolicy};

use super::command;
use super::session::SessionDir;
use super::Mode;
use crate::cli::RunArgs;
use crate::env_policy;
use crate::grants::{self, Grant, Source};
use crate::network::{self, NetworkPlan};
use crate::policy::decide::View;
use crate::policy::load::Loaded;
use crate::policy::profile::WorkdirAccess;
use crate::policy::resolve::{self, Materialize, Policy, WorkdirConsent};
use crate::ui;

/// The variable that tells `nono why --self` where the snapshot is.
pub const POLICY_ENV: &str = "NONO_SANDBOX_POLICY";

#[derive(Debug)]
pub struct Plan {
    pub policy: Policy,
    /// Environment credentials to fetch through the keyholder.
    pub credentials: Vec<ipc::keyholder::CredentialItem>,
    pub caps: CapabilitySet,
    pub program: CString,
    pub argv: Vec<CString>,
    pub env: Vec<CString>,
    /// Proxy mode and local ports.
    pub network: NetworkPlan,
    /// Pathname unix sockets the broker lets the agent reach (`run` only).
    pub unix_grants: Vec<ipc::broker::WireUnixGrant>,
    /// Capability elevation: the broker's scope and who decides (`run` only).
    pub elevation: Option<(ipc::broker::WireElevation, super::elevation::Decider)>,
    /// Expanded directories the broker lists and creates in (`run` only).
    pub parents: Option<ipc::broker::WireParents>,
    /// How the agent's SysV IPC is kept from the user's other processes.
    pub sysv: super::sysv::SysvIpc,
    /// The agent's trust bundle and the session CA alone (proxy mode).
    pub ca_files: Option<(PathBuf, PathBuf)>,
    /// The pre-exec trust scan's findings (or the override), for the audit
    /// record.
    pub trust_scan: Option<crate::trust_cmd::scan::Summary>,
    /// `--name` of the session.
    pub session_name: Option<String>,
    /// A detached session (no user terminal; attach clients only).
    pub headless: bool,
    /// The detached start's readiness pipe (the background copy only).
    pub ready: Option<std::os::fd::OwnedFd>,
    /// `--startup-timeout` (`run` only).
    pub startup_timeout: Option<std::time::Duration>,
    /// The agent's own pseudo-terminal (`run` with a terminal).
    pub pty: Option<super::pty::Pty>,
    /// Profile `mirror_files`, copied back after a `run` session.
    pub mirrors: Vec<super::mirror::Mirror>,
    /// Codex's per-session `CODEX_HOME` (profile `[codex]`, `run` only).
    pub codex: Option<super::codex::Overlay>,
    /// Held so a `run` session's directory is removed when the plan is
    /// dropped. None in dry runs: nothing is created.
    #[allow(dead_code)]
    pub session: Option<SessionDir>,
    /// The diagnostic footer after a failed run (`--no-diagnostics`: off).
    pub diagnostics: bool,
    /// The save prompt after the footer, with the paths it never offers
    /// (`--suppress-save-prompt`, the profile's
    /// `filesystem.suppress_save_prompt`); None: off.
    pub save_prompt: Option<Vec<PathBuf>>,
    /// The read-only mounts of `policy.pins`, prepared (None: no pins, or
    /// a dry run).
    pub pinning: Option<crate::sys::Pinning>,
}

fn cstring(bytes: &[u8], what: &str) -> Result<CString> {
    CString::new(bytes).with_context(|| format!("{what} contains a NUL byte"))
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
fn workdir_consent(args: &RunArgs, profile: &Loaded) -> Result<WorkdirConsent> {
    let access = profile
        .profile
        .workdir
        .as_ref()
        .map(|w| w.access)
        .unwrap_or_default();
    if access == WorkdirAccess::None || args.policy.fs.allow_cwd {
        return Ok(WorkdirConsent::Given);
    }
    if args.dry_run {
        return Ok(WorkdirConsent::Given);
    }
    let workdir = grants::workdir(&args.policy.fs)?;
    let question = format!(
        "profile '{}' shares the working directory {} with {} access",
        profile.name,
        workdir.display(),
        access_name(access)
    );
    if ui::verbosity_silent() || !std::io::stdin().is_terminal() {
        bail!("{question}; pass --allow-cwd to confirm (cannot prompt: not interactive)");
    }
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty");
    let Ok(mut tty) = tty else {
        bail!("{question}; pass --allow-cwd to confirm (cannot prompt: no terminal)");
    };
    write!(tty, "nono: {question}. Allow? [y/N] ").context("cannot prompt")?;
    let mut answer = String::new();
    std::io::BufReader::new(&tty)
        .read_line(&mut answer)
        .context("cannot read the answer")?;
    Ok(match answer.trim() {
        "y" | "Y" | "yes" => WorkdirConsent::Given,
        _ => {
            // Say what the command gets instead, before it starts.
            ui::note(format!(
                "not shared: the command runs without access to {} (pass --allow-cwd to share it)",
                workdir.display()
            ));
            WorkdirConsent::Refused
        }
    })
}

/// The deprecated startup-only blocklist: warnings for each spelling in
/// use, then the check of the command's own name.
fn command_blocklist(
    args: &RunArgs,
    profile: &crate::policy::profile::Profile,
    program: &std::path::Path,
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

impl Plan {
    /// `Ok(Err(code))`: the command cannot be run; the reason was reported.
    pub fn build(args: &RunArgs, mode: Mode) -> Result<Result<Plan, i32>> {
        let host_path = std::env::var_os("PATH");
        let program = match command::find(&args.command[0], host_path.as_ref()) {
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
        let consent = workdir_consent(args, &profile)?;
        let materialize = if args.dry_run {
            Materialize::Nothing
        } else {
            Materialize::StateDirs
        };
        let mut policy = resolve::resolve(&args.policy, profile, consent, materialize)?;
        let workdir = grants::workdir(&args.policy.fs)?;
        let save_prompt = super::save_prompt::plan(args, &policy.profile, &workdir);
        let mut trust_scan = None;
        if let Err(code) = crate::trust_cmd::scan::before_launch(
            args.trust_override,
            &args.skip_dir,
            &workdir,
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
                if mode == Mode::Run {
                    "the broker lists it and creates new entries directly in it"
                } else {
                    "nothing new can be created directly in it (nono run's broker can)"
                }
            ));
        }
        let credentials = super::credentials::items(args, &policy.profile)?;
        let net = network::plan(&args.proxy, &args.policy, &policy.profile.profile)?;
        let intercepts = match &net.proxy {
            // The proxy's parser: a rule it would refuse fails here, dry runs included.
            Some(px) => ipc::hostrules::Allowlist::parse(&px.hosts)
                .map_err(|e| anyhow::anyhow!("host rule {e}"))?
                .intercepts(),
            None => false,
        };
        if mode == Mode::Wrap && net.proxy.is_some() {
            bail!(
                "nono wrap does not support proxy mode (the profile's network settings ask for it): \
                 the network proxy requires a parent process. Use nono run instead."
            );
        }
        let session = match (args.dry_run, mode) {
            (true, _) => None,
            (false, Mode::Run) => Some(SessionDir::for_run()?),
            (false, Mode::Wrap) => Some(SessionDir::for_wrap()?),
        };
        let mut overrides: Vec<(&str, OsString)> = Vec::new();
        // With a pseudo-terminal of its own the agent gets that, and none
        // of the user's terminals.
        let headless = mode == Mode::Run && super::detach::is_child();
        let pty = if mode == Mode::Run && !args.dry_run && (headless || super::pty::wanted()) {
            Some(super::pty::open()?)
        } else {
            None
        };
        let mut extra = match &pty {
            Some(p) => vec![Grant {
                path: p.slave_path.clone(),
                mode: AccessMode::ReadWrite,
                kind: GrantKind::File,
                source: Source::Terminal,
            }],
            None => grants::own_terminals(),
        };
        if let Some(s) = &session {
            s.create_policy_file()?;
            extra.push(Grant {
                path: s.tmp.clone(),
                mode: AccessMode::ReadWrite,
                kind: GrantKind::Tree,
                source: Source::PrivateTmp,
            });
            extra.extend(grants::existing(
                &s.policy_file,
                AccessMode::Read,
                Source::PrivateTmp,
            ));
            for var in ["TMPDIR", "TMP", "TEMP"] {
                overrides.push((var, s.tmp.as_os_str().to_owned()));
            }
            overrides.push((POLICY_ENV, s.policy_file.as_os_str().to_owned()));
        }
        let vars = crate::policy::vars::Vars::from_env(grants::workdir(&args.policy.fs)?);
        let (unix_grants, unix_fs) =
            super::unix::plan(&args.later.unix, &policy.profile.profile, &vars)?;
        let env_paths = env_paths(&policy.profile.profile.env_paths, &vars)?;
        for (k, v) in &env_paths {
            overrides.push((k.as_str(), v.clone()));
        }
        let mirrors = if args.dry_run {
            Vec::new()
        } else {
            mirrors(&policy.profile.profile, &vars)?
        };
        let mut codex = None;
        if policy.profile.profile.codex.is_some() && mode == Mode::Wrap {
            ui::info(
                "nono wrap leaves Codex's configuration as it is: its own sandbox cannot start \
                 inside nono, so run it with --dangerously-bypass-approvals-and-sandbox (or use nono run)",
            );
        }
        if let (Some(c), Some(s), Mode::Run) = (&policy.profile.profile.codex, &session, mode) {
            if let Some(home) = vars.expand(&c.home)? {
                let root = s.policy_file.parent().context("session directory")?;
                let o = super::codex::prepare(root, home)?;
                extra.extend(grants::existing(
                    &o.dir,
                    AccessMode::ReadWrite,
                    Source::PrivateTmp,
                ));
                codex = Some(o);
            }
        }
        if mode == Mode::Wrap && !unix_grants.is_empty() {
            bail!("unix-socket grants need the broker, and nono wrap keeps no helper process. Use nono run instead.");
        }
        extra.extend(unix_fs);
        let elevate = super::elevation::enabled(
            &args.later,
            policy.profile.profile.security.capability_elevation,
        )?;
        if mode == Mode::Wrap && elevate {
            bail!("capability elevation needs the broker, and nono wrap keeps no helper process. Use nono run instead.");
        }
        if args.later.elevation_decisions.is_some() && !elevate {
            bail!("--elevation-decisions needs --capability-elevation");
        }
        let mut ca_files = None;
        if let (Some(s), Some(_)) = (&session, &net.proxy) {
            let files = s.create_ca_files()?;
            for f in [&files.0, &files.1] {
                extra.extend(grants::existing(f, AccessMode::Read, Source::PrivateTmp));
            }
            ca_files = Some(files);
        }
        policy.add_rules(extra)?;
        let pinning = if args.dry_run {
            None
        } else {
            pinning(&mut policy.pins)?
        };
        policy.network = network_policy(policy.network, &net);
        let elevation = if elevate && !args.dry_run {
            let decider = match &args.later.elevation_decisions {
                Some(f) => super::elevation::Decider::from_file(f)?,
                None => super::elevation::Decider::Terminal,
            };
            Some((super::elevation::wire(&policy)?, decider))
        } else {
            None
        };
        let parents = (mode == Mode::Run)
            .then(|| super::parents::wire(&policy))
            .flatten();
        if let Some(s) = &session {
            let unix = super::unix::view(&args.later.unix, &policy.profile.profile, &vars)?;
            let brokered = parents.as_ref().map(|_| super::parents::dirs(&policy));
            s.write_policy(
                &View::of(&policy)
                    .with_proxy(net.proxy.as_ref())
                    .with_unix(unix)
                    .with_parents(brokered.unwrap_or_default()),
            )?;
        }
        // learn's `/`-wide read grant lists every entry of busy
        // directories (/tmp): what vanished since is skipped (only narrows).
        let mut caps = grants::capability_set(
            &grants::existing_or_created(&policy.rules, args.dry_run),
            args.learn,
        )?;
        // Only `nono learn --sandboxed` sets it: strace runs inside.
        caps.set_self_trace(args.learn && mode == Mode::Run);
        caps.set_network(policy.network);
        // In `run` the broker mediates pathname unix sockets.
        caps.set_unix_sockets(mode == Mode::Run);
        let sysv = super::sysv::plan(
            policy.profile.profile.security.allow_sysv_ipc == Some(true),
            mode,
            &net,
            nix::unistd::geteuid().is_root(),
        );
        // Open now only when shared; a namespace opens them once it exists.
        caps.set_sysv_ipc(sysv == super::sysv::SysvIpc::Shared);
        if policy.network == NetworkPolicy::TcpPorts {
            for &p in &net.open_ports {
                caps.allow_tcp_connect(p).allow_tcp_bind(p);
            }
            for &p in net.proxy.iter().flat_map(|x| &x.listen_ports) {
                caps.allow_tcp_bind(p);
            }
        }
        // An env:// credential's source variable never reaches the agent.
        let mut sources = super::credentials::source_vars(&credentials);
        sources.extend(crate::record::sign::source_var(&args.record));
        if let Some(px) = &net.proxy {
            let items: Vec<_> = px.routes.iter().map(|r| r.item.clone()).collect();
            sources.extend(super::credentials::source_vars(&items));
            sources.extend(network::REPLACED_VARS.iter().map(|v| v.to_string()));
            if intercepts {
                sources.extend(
                    network::REMOVED_WITH_INTERCEPTION
                        .iter()
                        .map(|v| v.to_string()),
                );
            }
        }
        let env = env_policy::agent_env(
            std::env::vars_os().filter(|(k, _)| !sources.iter().any(|v| k == v.as_str())),
            &overrides,
        )?
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
            policy,
            credentials,
            caps,
            program: cstring(program.as_os_str().as_bytes(), "the command path")?,
            argv,
            env,
            network: net,
            unix_grants,
            elevation,
            parents,
            sysv,
            ca_files,
            codex,
            mirrors,
            pty,
            startup_timeout: None,
            trust_scan,
            session_name: args.name.clone(),
            headless,
            ready: None,
            session,
            diagnostics: !args.no_diagnostics,
            save_prompt,
            pinning,
        }))
    }

    /// The launch request for the broker; `extra_env` replaces variables
    /// of the same name.
    pub fn launch_spec(&self, extra_env: &[(String, String)]) -> ipc::broker::LaunchSpec {
        use ipc::broker::{LaunchSpec, WireCaps, WireNetwork};
        let grants = self.policy.rules.iter().map(wire_grant).collect();
        LaunchSpec {
            program: self.program.as_bytes().to_vec(),
            argv: self.argv.iter().map(|a| a.as_bytes().to_vec()).collect(),
            env: self
                .env
                .iter()
                .map(|e| e.as_bytes())
                .filter(|e| {
                    !extra_env.iter().any(|(k, _)| {
                        e.len() > k.len() && e.starts_with(k.as_bytes()) && e[k.len()] == b'='
                    })
                })
                .map(|e| zeroize::Zeroizing::new(e.to_vec()))
                .chain(
                    extra_env
                        .iter()
                        .map(|(k, v)| zeroize::Zeroizing::new(format!("{k}={v}").into_bytes())),
                )
                .collect(),
            caps: WireCaps {
                grants,
                network: match self.policy.network {
                    NetworkPolicy::Allowed => WireNetwork::Allowed,
                    NetworkPolicy::TcpPorts => WireNetwork::TcpPorts,
                    NetworkPolicy::Blocked | NetworkPolicy::UnixOnly => WireNetwork::Blocked,
                },
                tcp_connect_ports: self.caps.tcp_connect_ports().to_vec(),
                tcp_bind_ports: self.caps.tcp_bind_ports().to_vec(),
                sysv_ipc: super::sysv::wire(self.sysv),
                learn: self.caps.allows_self_trace(),
            },
            credential_vars: self
                .credentials
                .iter()
                .map(|c| c.target.name().to_string())
                .collect(),
            unix_grants: self.unix_grants.clone(),
            elevation: self.elevation.as_ref().map(|(w, _)| w.clone()),
            parents: self.parents.clone(),
        }
    }
}

/// The launch request in a sealed memory file for the broker, and its
/// size. Any plan the kernel could exec fits; above `ipc::MAX_PLAN` the
/// message names the limit and what to do.
pub fn seal_launch(spec: &ipc::broker::LaunchSpec) -> Result<(std::os::fd::OwnedFd, u64)> {
    match ipc::broker::seal_plan(spec) {
        Ok(sealed) => Ok(sealed),
        Err(ipc::IpcError::PayloadTooLarge(n, max)) => bail!(
            "the launch plan (command line, environment and {} filesystem rules) is {} MiB, over nono's {} MiB limit for it; grant parent directories instead of many single paths, or start the command with a smaller environment",
            spec.caps.grants.len(),
            n >> 20,
            max >> 20
        ),
        Err(e) => Err(e).context("cannot hand the launch plan to the broker"),
    }
}

/// The pins made ready to mount: missing hooks/config created, no
/// symbolic link (a mount would follow it, and the link itself could be
/// swapped).
fn pinning(pins: &mut Vec<crate::policy::persist::Pin>) -> Result<Option<crate::sys::Pinning>> {
    *pins = crate::policy::persist::materialize(std::mem::take(pins))?;
    if pins.is_empty() {
        return Ok(None);
    }
    for p in pins.iter() {
        let link = std::fs::symlink_metadata(&p.path).is_ok_and(|m| m.file_type().is_symlink());
        if link {
            bail!(
                "{} is a symbolic link, so it cannot be kept read-only ({}); {} runs without this protection",
                p.path.display(),
                p.category,
                p.lift
            );
        }
    }
    let list: Vec<(PathBuf, bool)> = pins.iter().map(|p| (p.path.clone(), p.read_only)).collect();
    crate::sys::prepare_pinning(&list)
        .map(Some)
        .context("cannot prepare the read-only mounts of git hooks and configuration")
}

/// Profile `mirror_files`: bring each copy up to date. A mirror that
/// cannot be made safely is skipped with a warning (the agent then starts
/// without the user's state; nothing is widened).
fn mirrors(
    profile: &crate::policy::profile::Profile,
    vars: &crate::policy::vars::Vars,
) -> Result<Vec<super::mirror::Mirror>> {
    let mut out = Vec::new();
    for (inside, outside) in &profile.mirror_files {
        let (Some(i), Some(o)) = (vars.expand(inside)?, vars.expand(outside)?) else {
            continue;
        };
        let keys = profile
            .mirror_user_keys
            .get(inside)
            .cloned()
            .unwrap_or_default();
        match super::mirror::prepare(i, o, keys) {
            Ok(m) => out.push(m),
            Err(e) => ui::warn(format!(
                "profile mirror_files {inside}: {e:#}; not mirrored"
            )),
        }
    }
    Ok(out)
}

/// Profile `env_paths`: variable -> expanded path. A path whose variable
/// has no value here is skipped.
fn env_paths(
    raw: &std::collections::BTreeMap<String, String>,
    vars: &crate::policy::vars::Vars,
) -> Result<Vec<(String, OsString)>> {
    let mut out = Vec::new();
    for (k, v) in raw {
        let valid = k.starts_with(|c: char| c.is_ascii_uppercase() || c == '_')
            && k.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        if !valid {
            bail!("env_paths: invalid environment variable name '{k}' (use A-Z, 0-9, _)");
        }
        if env_policy::is_removed(k)? {
            bail!("env_paths: nono removes {k} from every agent's environment; a profile cannot set it");
        }
        if let Some(p) = vars.expand(v).with_context(|| format!("env_paths.{k}"))? {
            out.push((k.clone(), p.into_os_string()));
        }
    }
    Ok(out)
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

/// One grant as the broker receives it.
pub fn wire_grant(g: &Grant) -> ipc::broker::WireGrant {
    use ipc::broker::{WireAccess, WireGrant};
    WireGrant {
        path: g.path.as_os_str().as_bytes().to_vec(),
        access: match g.mode {
            AccessMode::Read => WireAccess::Read,
            AccessMode::Write => WireAccess::Write,
            AccessMode::ReadWrite => WireAccess::ReadWrite,
        },
        tree: g.kind == GrantKind::Tree,
    }
}
