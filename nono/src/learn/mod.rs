//! `nono learn`: run a command under strace — unconfined, or with
//! `--sandboxed` inside a record-mode sandbox (`sandboxed.rs`) — and
//! report what it used that the sandbox would deny (`--all`: everything),
//! as a report or as a profile fragment (`--json`).
//!
//! Decisions come from the policy code `nono why` uses, against the
//! profile asked for (`--profile`, else `default`); protected paths are
//! reported, never put in the fragment; the fragment is re-checked against
//! the same code before it is printed.

mod analyse;
mod event;
mod events;
mod fragment;
mod net;
mod parse;
mod report;
mod sandboxed;
pub mod seen;
mod trace;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::cli::{FsArgs, LearnArgs, PolicyArgs};
use crate::policy::decide::View;
use crate::policy::resolve::{self, Materialize, WorkdirConsent};
use crate::ui;
use analyse::{Dest, Net};
use events::Thread;

/// What the report and the fragment are made of.
pub struct Findings {
    pub fs: analyse::Fs,
    pub grants: Vec<analyse::Cand>,
    pub dests: Vec<Dest>,
    pub net: Net,
    pub unix: Vec<(PathBuf, bool)>,
    pub still_denied: Vec<(analyse::Need, String)>,
    /// The profile filters the network (proxy or blocked).
    pub filtered: bool,
    /// `--sandboxed`: destinations the proxy refused while recording.
    pub proxy_refused: Vec<Dest>,
}

pub fn run(args: LearnArgs) -> Result<i32> {
    if args.command.is_empty() {
        bail!("no command given; usage: nono learn [OPTIONS] -- <COMMAND> [ARGS...]");
    }
    if args.trace {
        ui::info("--trace selects the legacy macOS tracer; on Linux nono learn always uses strace");
    }
    let policy_args = PolicyArgs {
        profile: args.profile.clone(),
        fs: FsArgs {
            workdir: args.workdir.clone(),
            ..FsArgs::default()
        },
        ..PolicyArgs::default()
    };
    let loaded = resolve::load_profile(&policy_args)?;
    let policy = resolve::resolve(
        &policy_args,
        loaded.clone(),
        WorkdirConsent::Given,
        Materialize::Nothing,
    )?;
    let net_plan = crate::network::plan(&Default::default(), &policy_args, &loaded.profile)?;
    let view = View::of(&policy).with_proxy(net_plan.proxy.as_ref());
    let (events, proxied, code) = if args.sandboxed {
        let r = sandboxed::record(&args)?;
        let code = if r.timed_out { 0 } else { r.code };
        (r.events, r.proxied, code)
    } else {
        let (events, code) = unconfined(&args)?;
        (events, Vec::new(), code)
    };
    let places = fragment::Places {
        workdir: crate::grants::workdir(&policy_args.fs)?,
        home: std::env::var_os("HOME")
            .map(PathBuf::from)
            .and_then(|h| std::fs::canonicalize(h).ok()),
    };
    let seen = Seen {
        events: &events,
        proxied: &proxied,
    };
    let found = findings(&seen, &view, &args, &places, &policy_args, &loaded)?;
    let extends = args.profile.as_deref();
    let frag = fragment::build(
        &found.grants,
        &found.dests,
        &found.net.listen,
        &found.unix,
        extends,
        &places,
    );
    if args.json {
        crate::out::outln!("{}", fragment::to_json(&frag)?);
        report::refused_to_stderr(&found, &places);
    } else {
        report::print(&found, &places, &loaded.name, &args);
    }
    Ok(code)
}

/// What a trace produced: events, and with `--sandboxed` the proxy's view.
struct Seen<'a> {
    events: &'a [events::Event],
    proxied: &'a [(Dest, bool)],
}

/// Plain `nono learn`: strace and the command unconfined.
fn unconfined(args: &LearnArgs) -> Result<(Vec<events::Event>, i32)> {
    trace::strace()?;
    ui::warn(format!(
        "nono learn runs '{}' WITHOUT a sandbox, traced by strace: it can read, change and \
         send anything you can. Use it only on a command you trust (--sandboxed runs it confined).",
        args.command[0].to_string_lossy()
    ));
    let timeout = args.timeout.map(Duration::from_secs);
    let traced = trace::run(&args.command, timeout, args.json)?;
    let events = read_files(&traced.files()?, false)?;
    Ok((events, exit_code(&traced)))
}

fn exit_code(t: &trace::Trace) -> i32 {
    if t.timed_out {
        0
    } else {
        t.code.unwrap_or(0)
    }
}

/// The events of strace's files (`sandboxed`: refusals count as needs).
fn read_files(files: &[PathBuf], sandboxed: bool) -> Result<Vec<events::Event>> {
    let cwd = std::env::current_dir().context("cannot determine the current directory")?;
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read(f).with_context(|| format!("cannot read {}", f.display()))?;
        let mut th = Thread {
            cwd: cwd.clone(),
            sandboxed,
        };
        for l in String::from_utf8_lossy(&text).lines() {
            if let Some(c) = parse::line(l) {
                out.extend(th.events(&c));
            }
        }
    }
    ui::info(format!(
        "traced {} thread(s), {} relevant call(s)",
        files.len(),
        out.len()
    ));
    Ok(out)
}

fn findings(
    seen: &Seen,
    view: &View,
    args: &LearnArgs,
    places: &fragment::Places,
    policy_args: &PolicyArgs,
    loaded: &crate::policy::load::Loaded,
) -> Result<Findings> {
    let mut fs = analyse::judge(seen.events, view);
    let mut wanted = fs.needs.clone();
    if args.all {
        wanted.extend(fs.allowed.iter().cloned());
    }
    let grants = analyse::collapse(&wanted, &places.workdir, places.home.as_deref());
    let mut net = analyse::network(seen.events);
    for (d, _) in seen.proxied {
        if !net
            .dests
            .iter()
            .any(|x| x.host == d.host && x.port == d.port)
        {
            net.dests.push(d.clone());
        }
    }
    let filtered = view.network_blocked || view.network_proxied;
    let mut dests = Vec::new();
    for d in &net.dests {
        let allowed = crate::policy::decide_host::host(view, &d.host, d.port, None).allowed();
        if !filtered || !allowed || args.all {
            dests.push(d.clone());
        }
    }
    let unix = unix_needed(&net.unix, loaded, places, args.all)?;
    let probe = fragment::build(&grants, &[], &[], &unix, None, places);
    let still_denied = fragment::verify(loaded, &probe, policy_args, &fs.needs)?;
    fs.needs
        .retain(|n| !still_denied.iter().any(|(s, _)| s == n));
    Ok(Findings {
        fs,
        grants,
        dests,
        net,
        unix,
        still_denied,
        filtered,
        proxy_refused: seen
            .proxied
            .iter()
            .filter(|(_, allowed)| !allowed)
            .map(|(d, _)| d.clone())
            .collect(),
    })
}

/// Unix sockets the profile does not grant (all with `--all`).
fn unix_needed(
    seen: &[(PathBuf, bool)],
    loaded: &crate::policy::load::Loaded,
    places: &fragment::Places,
    all: bool,
) -> Result<Vec<(PathBuf, bool)>> {
    use ipc::broker::WireUnixScope;
    use std::os::unix::ffi::OsStrExt;
    let vars = crate::policy::vars::Vars::from_env(places.workdir.clone());
    let (granted, _) =
        crate::policy::unix::plan(&Default::default(), &loaded.profile, &vars).unwrap_or_default();
    let covers = |path: &PathBuf, bind: bool| {
        granted.iter().any(|g| {
            let gp = std::path::Path::new(std::ffi::OsStr::from_bytes(&g.path));
            (g.bind || !bind)
                && match g.scope {
                    WireUnixScope::Socket => path == gp,
                    WireUnixScope::Dir => path.parent() == Some(gp),
                    WireUnixScope::Subtree => crate::policy::protect::under(path, gp),
                }
        })
    };
    Ok(seen
        .iter()
        .filter(|(p, b)| all || !covers(p, *b))
        .cloned()
        .collect())
}
