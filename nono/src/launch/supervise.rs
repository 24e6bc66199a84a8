//! `nono run`: the front end starts `nono-broker`, which confines itself,
//! forks the agent and seals it. The front end stays outside both, forwards
//! signals through the broker and passes the agent's exit status through.
//! If the broker dies the session ends with an error (the agent dies with
//! it: its parent-death signal is SIGKILL).

use std::os::fd::{AsFd, OwnedFd};
use std::process::{Child, Command};

use anyhow::{bail, Context, Result};
use ipc::broker::{BrokerRequest, BrokerResponse};
use ipc::credentials::{CredentialMessage, NoReply};
use ipc::{Endpoint, IpcError, CHANNEL_FD, CREDENTIALS_FD};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::unistd::{getpgid, Pid};

use super::prepare::Session;
use super::{credentials, proxy};
use crate::helpers;
use crate::policy::plan::{self, Plan};
use crate::{sys, ui};

type Front = Endpoint<BrokerRequest, BrokerResponse>;

/// Signals forwarded to the agent (SIGCHLD is watched, not forwarded).
const FORWARDED: [Signal; 7] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGWINCH,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
];

/// `si_code` of signals the kernel generated (e.g. the terminal's ^C).
const SI_KERNEL: i32 = 0x80;

fn watched() -> SigSet {
    let mut set = SigSet::empty();
    for s in FORWARDED {
        set.add(s);
    }
    set.add(Signal::SIGCHLD);
    // Blocked until the broker says where the agent runs: see `job_stops`.
    set.add(Signal::SIGTSTP);
    set
}

/// Ctrl-Z without a terminal of the agent's own. If the agent shares
/// nono's process group, the terminal stops both directly: SIGTSTP goes
/// back to its default action. In the session's PID namespace the agent
/// leads a session of its own, so nono takes SIGTSTP (through the
/// signalfd) and forwards it; once the agent has stopped nono stops
/// itself (`suspend::follow`).
fn job_stops(pid_namespace: bool, relay: bool) -> Result<()> {
    if !pid_namespace || relay {
        let mut tstp = SigSet::empty();
        tstp.add(Signal::SIGTSTP);
        tstp.thread_unblock().context("cannot unblock SIGTSTP")?;
    }
    Ok(())
}

pub fn run(plan: &Plan, mut res: Session) -> Result<i32> {
    let began = std::time::Instant::now();
    let broker_exe = helpers::path("nono-broker")?;
    let (front, end) = ipc::socketpair::<BrokerRequest, BrokerResponse>()
        .context("cannot create the broker channel")?;
    let mask = watched();
    mask.thread_block().context("cannot block signals")?;
    // Second line behind the broker's own subreaping: if the broker dies,
    // what the agent left behind is re-parented here, not to init.
    sandbox::reap::become_subreaper().map_err(anyhow::Error::msg)?;
    // A stderr nobody reads must not stall the loop below (and the agent).
    crate::stderr::queue();
    let live = register(plan, &res)?;
    let (keyholder_end, broker_creds) = ipc::socketpair::<CredentialMessage, NoReply>()?;
    let mut cmd = Command::new(&broker_exe);
    cmd.env_clear();
    sys::place_fds(
        &mut cmd,
        vec![
            (end.into_fd(), CHANNEL_FD),
            (broker_creds.into_fd(), CREDENTIALS_FD),
        ],
    );
    let pinned = res.pinning.take().map(|p| sys::pin_read_only(&mut cmd, p));
    let spawned = cmd.spawn().map_err(|e| match pinned {
        Some(()) => super::pin_failed(e),
        None => anyhow::anyhow!("cannot start {}: {e}", broker_exe.display()),
    });
    let mut broker = crate::record::helper_failed("broker", spawned)?;
    crate::record::helper("broker", format!("started (pid {})", broker.id()));
    drop(cmd); // closes our copy of the broker's end
    let code = session(
        &front,
        &mut broker,
        (plan, &mut res),
        &mask,
        keyholder_end.into_fd(),
        &live,
    );
    if code.is_err() {
        let _ = broker.kill();
        let _ = broker.wait();
    }
    let ended = std::time::Instant::now();
    match &code {
        Ok(c) => tracing::info!("command ended with status {c}"),
        Err(e) => tracing::info!("session failed: {e:#}"),
    }
    // Every helper has been waited for; anything left is the agent's.
    let left = sandbox::reap::kill_all();
    if left > 0 {
        ui::info(format!(
            "stopped {left} process(es) the command left behind"
        ));
    }
    // Only now, with no process of the agent left (even if the broker died
    // before killing them), copy its mirrored state back.
    for m in &res.mirrors {
        m.finish();
    }
    drop(res); // removes the session directory
    drop(live); // and the session's record
    tracing::info!(
        "teardown done in {:.1} ms (session {:.1} ms in all)",
        ended.elapsed().as_secs_f64() * 1000.0,
        began.elapsed().as_secs_f64() * 1000.0
    );
    code
}

/// List this session (nono ps) while it runs.
fn register(plan: &Plan, res: &Session) -> Result<crate::sessions::Live> {
    crate::sessions::start(crate::sessions::Start {
        name: plan.session_name.as_deref(),
        argv: &plan.argv,
        workdir: std::env::current_dir()
            .map(|d| d.display().to_string())
            .unwrap_or_default(),
        profile: Some(plan.policy.profile.name.clone()),
        detached: res.headless,
        terminal: res.pty.is_some(),
        policy_file: res
            .dir
            .as_ref()
            .map(|s| s.policy_file.display().to_string()),
    })
}

fn session(
    front: &Front,
    broker: &mut Child,
    (plan, res): (&Plan, &mut Session),
    mask: &SigSet,
    creds: OwnedFd,
    live: &crate::sessions::Live,
) -> Result<i32> {
    // The proxy's start-up overlaps the broker's (it waits to be configured).
    let early = crate::record::helper_failed("proxy", proxy::spawn_early(plan))?;
    greet(front, broker)?;
    let mut proxy = crate::record::helper_failed("proxy", proxy::start(plan, res, front, early))?;
    if let Some(p) = proxy.as_mut() {
        p.summarise_to(&live.dir);
        crate::record::helper("proxy", "started");
    }
    let mut extra_env = proxy.as_ref().map(|p| p.env.clone()).unwrap_or_default();
    if let Some(o) = &res.codex {
        let more = super::codex::finish(o, plan.network.proxy.as_ref(), &extra_env)?;
        extra_env.extend(more);
    }
    let mut relay = terminal(front, res, live)?;
    // Subscribed before the agent exists, so its first denial is seen.
    let landlock = plan
        .diagnostics
        .then(|| super::landlock_records::Reader::start(broker.id()))
        .flatten();
    let ports = proxy
        .as_ref()
        .map(|p| p.agent_ports.clone())
        .unwrap_or_default();
    let (sealed, size) = plan::seal_launch(&plan.launch_spec(&extra_env, &ports))?;
    // No command runs before its session's opening record is on disk.
    crate::record::opened()?;
    front
        .send(&BrokerRequest::Launch { size }, &[sealed.as_fd()])
        .context("the broker (nono-broker) ended unexpectedly")?;
    drop(sealed);
    deliver_credentials(plan, creds)?;
    let mut watchdog = watchdog(plan, res, relay.is_some());
    let decider = res.decider.clone();
    let mut denials = super::denials::Denials::default();
    let ready = res.ready.take().map(|fd| (fd, live));
    let code = supervise(
        front,
        broker,
        mask,
        Helpers {
            proxy: proxy.as_mut(),
            relay: relay.as_mut(),
            watchdog: watchdog.as_mut(),
            ready,
        },
        decider.as_ref(),
        &mut denials,
    );
    if let Some(mut r) = relay {
        r.drain();
        r.end(*code.as_ref().unwrap_or(&1));
    } // the user's terminal is restored here
    if let Some(p) = proxy {
        p.finish(&mut denials);
        crate::record::helper("proxy", "ended");
    }
    // Only the footer of a failed run shows Landlock's records: waiting
    // for the last of them is paid only then.
    match (landlock, &code) {
        (Some(l), Ok(c)) if *c != 0 => denials.landlock(l.finish()),
        (Some(l), _) => l.stop(),
        (None, _) => {}
    }
    denials.summarise(&code, plan);
    code
}

/// The version handshake with the broker just started.
fn greet(front: &Front, broker: &mut Child) -> Result<()> {
    match front.greet() {
        Ok(()) => Ok(()),
        Err(e @ (IpcError::Version { .. } | IpcError::Unexpected(_))) => Err(broker_died(
            broker,
            &format!("it answered out of order: {e}"),
        )),
        Err(e) => Err(broker_died(broker, &e.to_string())),
    }
}

/// The agent's pseudo-terminal: its slave side to the broker, the master
/// relayed here (None without a terminal).
fn terminal(
    front: &Front,
    res: &mut Session,
    live: &crate::sessions::Live,
) -> Result<Option<super::pty::Relay>> {
    let Some(mut pty) = res.pty.take() else {
        return Ok(None);
    };
    let slave = pty
        .take_slave()
        .context("the pseudo-terminal's slave side")?;
    let replace = if res.headless {
        [true; 3]
    } else {
        [0, 1, 2].map(|fd| nix::unistd::isatty(sys::std_fd(fd)).unwrap_or(false))
    };
    front
        .send(&BrokerRequest::Terminal { replace }, &[slave.as_fd()])
        .context("the broker (nono-broker) ended unexpectedly")?;
    Ok(Some(super::pty::Relay::start(
        pty,
        res.headless,
        Some(&live.dir),
    )?))
}

/// Environment credentials, fetched by the keyholder straight to the
/// broker (the channel is closed unused when there are none).
fn deliver_credentials(plan: &Plan, creds: OwnedFd) -> Result<()> {
    if plan.credentials.is_empty() {
        drop(creds);
        return Ok(());
    }
    let fetched = credentials::fetch(&plan.credentials, creds, "into the environment");
    crate::record::helper_failed("keyholder", fetched)?;
    crate::record::helper("keyholder", "ended; credentials delivered to the broker");
    Ok(())
}

/// `--startup-timeout`'s watchdog; it watches the terminal, so none without one.
fn watchdog(plan: &Plan, res: &Session, terminal: bool) -> Option<super::startup::Watchdog> {
    match (res.startup_timeout, terminal) {
        (Some(limit), true) => Some(super::startup::Watchdog::new(
            limit,
            &String::from_utf8_lossy(plan.program.as_bytes()),
        )),
        (Some(_), false) => {
            ui::warn("--startup-timeout needs a terminal (it watches for the full-screen interface); ignored");
            None
        }
        (None, _) => None,
    }
}

/// What the supervisor serves besides the broker.
struct Helpers<'a> {
    proxy: Option<&'a mut proxy::Running>,
    relay: Option<&'a mut super::pty::Relay>,
    watchdog: Option<&'a mut super::startup::Watchdog>,
    /// A detached start's readiness pipe, told once the agent runs.
    ready: Option<(OwnedFd, &'a crate::sessions::Live)>,
}

fn supervise(
    front: &Front,
    broker: &mut Child,
    mask: &SigSet,
    helpers: Helpers<'_>,
    decider: Option<&super::elevation::Decider>,
    denials: &mut super::denials::Denials,
) -> Result<i32> {
    let Helpers {
        mut proxy,
        mut relay,
        mut watchdog,
        ready,
    } = helpers;
    let agent = match started(front, broker, relay.is_some())? {
        Ok(agent) => agent,
        Err(code) => return Ok(code),
    };
    if let Some((pipe, live)) = ready {
        super::detach::ready(pipe, live);
    }
    let sfd =
        SignalFd::with_flags(mask, SfdFlags::SFD_CLOEXEC).context("cannot create signalfd")?;
    // A Ctrl-Z nono forwarded (`job_stops`) and has yet to follow.
    let mut stop_forwarded = false;
    loop {
        let proxy_fd = proxy.as_ref().map(|p| p.chan.as_fd());
        let mut fds = vec![
            PollFd::new(front.as_fd(), PollFlags::POLLIN),
            PollFd::new(sfd.as_fd(), PollFlags::POLLIN),
        ];
        fds.push(PollFd::new(
            proxy_fd.unwrap_or(front.as_fd()),
            if proxy_fd.is_some() {
                PollFlags::POLLIN
            } else {
                PollFlags::empty()
            },
        ));
        if let Some(r) = relay.as_deref() {
            fds.extend(r.poll_fds());
        }
        let timeout = watchdog
            .as_deref()
            .map_or(PollTimeout::NONE, |w| w.poll_timeout());
        match poll(&mut fds, timeout) {
            Err(nix::errno::Errno::EINTR) => continue,
            r => r.context("poll")?,
        };
        let (broker_ready, signal_ready) =
            (fds[0].any().unwrap_or(false), fds[1].any().unwrap_or(false));
        let proxy_ready = proxy_fd.is_some() && fds[2].any().unwrap_or(false);
        let tty_events = (fds.len() == 7).then(|| {
            let ev = |f: &PollFd| f.revents().unwrap_or(PollFlags::empty());
            [ev(&fds[3]), ev(&fds[4]), ev(&fds[5]), ev(&fds[6])]
        });
        drop(fds);
        if let (Some(r), Some(events)) = (relay.as_deref_mut(), tty_events) {
            r.on_ready(events);
        }
        let alt = relay.as_deref().is_some_and(|r| r.in_alt_screen());
        if let Some(sig) = watchdog.as_deref_mut().and_then(|w| w.check(alt)) {
            front
                .send(&BrokerRequest::Signal { signal: sig as i32 }, &[])
                .context("the broker (nono-broker) ended unexpectedly")?;
        }
        if proxy_ready {
            if let Some(p) = proxy.as_deref_mut() {
                if let Err(e) = p.on_readable() {
                    let _ = broker.kill();
                    let _ = broker.wait();
                    return Err(e);
                }
            }
        }
        if broker_ready {
            if let Some(code) = finish(
                front,
                broker,
                decider,
                denials,
                relay.as_deref_mut(),
                &mut stop_forwarded,
            )? {
                return Ok(code);
            }
        }
        if !signal_ready {
            continue;
        }
        forward_signal(front, &sfd, agent, relay.as_deref(), &mut stop_forwarded)?;
    }
}

/// The broker's answer to the launch: the agent's pid as nono may signal
/// it (None inside its own PID namespace), or the exit code of a failed
/// start (already reported).
fn started(front: &Front, broker: &mut Child, relay: bool) -> Result<Result<Option<Pid>, i32>> {
    Ok(match front.recv_plain() {
        Ok(BrokerResponse::Started {
            pid,
            sync_wakeups,
            pid_namespace,
            opens_notified,
        }) => {
            if opens_notified {
                ui::info("the broker is notified of the command's opens and mkdirs (expanded directories or capability elevation)");
            }
            if !sync_wakeups {
                ui::warn(
                    "the kernel refused synchronous wake-ups for the broker (Linux 6.6 has them): \
                     every brokered call (chmod, connect, ...) pays a cross-CPU wake-up",
                );
            }
            ui::info(if pid_namespace {
                format!("broker confined; command started (pid {pid} in the session's own PID namespace)")
            } else {
                format!("broker confined; command started (pid {pid}); no PID namespace for the session (the kernel refused one): the subreaper ends what the command leaves behind")
            });
            // Inside its own PID namespace the agent's pid means nothing
            // here, and it never shares nono's process group.
            job_stops(pid_namespace, relay)?;
            Ok((!pid_namespace).then_some(Pid::from_raw(pid)))
        }
        Ok(BrokerResponse::Failed { message, exit_code }) => {
            ui::error(message);
            let _ = broker.wait();
            Err(exit_code)
        }
        Ok(_) => bail!("the broker answered out of order"),
        Err(e) => return Err(broker_died(broker, &e.to_string())),
    })
}

/// A signal nono received, forwarded to the command through the broker
/// (terminal signals of the agent's own group and SIGCHLD are not).
fn forward_signal(
    front: &Front,
    sfd: &SignalFd,
    agent: Option<Pid>,
    relay: Option<&super::pty::Relay>,
    stop_forwarded: &mut bool,
) -> Result<()> {
    let Some(info) = sfd.read_signal().context("cannot read signalfd")? else {
        return Ok(());
    };
    let Ok(sig) = Signal::try_from(info.ssi_signo as i32) else {
        return Ok(());
    };
    if sig == Signal::SIGCHLD || (info.ssi_code == SI_KERNEL && agent.is_some_and(same_group)) {
        return Ok(()); // broker exit shows on the channel; tty signals reach the agent directly
    }
    if let (Signal::SIGWINCH, Some(r)) = (sig, relay) {
        r.resize(); // the agent's terminal signals its foreground group
        return Ok(());
    }
    // The agent's group is orphaned (a session of its own), so the
    // kernel would discard SIGTSTP there: stop it with SIGSTOP.
    let sig = if sig == Signal::SIGTSTP {
        *stop_forwarded = true;
        Signal::SIGSTOP
    } else {
        sig
    };
    ui::info(format!("forwarding {sig} to the command"));
    front
        .send(&BrokerRequest::Signal { signal: sig as i32 }, &[])
        .context("the broker (nono-broker) ended unexpectedly")?;
    Ok(())
}

/// The broker spoke (or hung up): the agent's end, or the broker's death.
/// `None`: a brokered-decision event, keep going.
fn finish(
    front: &Front,
    broker: &mut Child,
    decider: Option<&super::elevation::Decider>,
    denials: &mut super::denials::Denials,
    relay: Option<&mut super::pty::Relay>,
    stop_forwarded: &mut bool,
) -> Result<Option<i32>> {
    let msg = next_message(front);
    let code = match msg {
        Ok(BrokerResponse::Elevation { path, access }) => {
            let access = access.to_string();
            let session = Some(front.as_fd());
            let decide = || decider.is_some_and(|d| d.decide(&path, &access, session));
            // nono's prompt is drawn on the user's terminal, in its own mode.
            let approve = match relay {
                Some(r) => r.cooked(decide),
                None => decide(),
            };
            crate::record::elevation(&path, &access, approve);
            // Not an error yet: the session may have ended meanwhile, and
            // the broker's last message (how it ended) is waiting; the next
            // receive reports a broker that is truly gone.
            let _ = front.send(&BrokerRequest::ElevationAnswer { approve }, &[]);
            return Ok(None);
        }
        Ok(BrokerResponse::Brokered(ev)) => {
            denials.record(&ev);
            return Ok(None);
        }
        Ok(BrokerResponse::Stopped { signal }) => {
            let forwarded = std::mem::take(stop_forwarded);
            if super::suspend::follow(relay, signal, forwarded) {
                front
                    .send(&BrokerRequest::Resume, &[])
                    .context("the broker (nono-broker) ended unexpectedly")?;
            }
            return Ok(None);
        }
        Ok(BrokerResponse::Exited { code }) => code,
        Ok(BrokerResponse::Signaled { signal }) => 128 + signal,
        Ok(_) => return Err(broker_died(broker, "it answered out of order")),
        Err(e) => return Err(broker_died(broker, &e.to_string())),
    };
    let _ = broker.wait();
    Ok(Some(code))
}

/// The broker's next message. A broker that exits with a message of ours
/// unread (an elevation answer that crossed its last message) makes the
/// kernel report ECONNRESET once, ahead of what it had sent: read again;
/// a broker that is truly gone fails again (or is `Closed`).
fn next_message(front: &Front) -> ipc::Result<BrokerResponse> {
    match front.recv_plain() {
        Err(ipc::IpcError::Io(e)) if e.raw_os_error() == Some(libc::ECONNRESET) => {
            front.recv_plain()
        }
        r => r,
    }
}

fn broker_died(broker: &mut Child, why: &str) -> anyhow::Error {
    let _ = broker.kill();
    let status = broker
        .wait()
        .map(|s| s.to_string())
        .unwrap_or_else(|_| "unknown status".into());
    anyhow::anyhow!("the broker (nono-broker) ended unexpectedly ({status}; {why}); the session is over and the command was stopped")
}

fn same_group(agent: Pid) -> bool {
    matches!((getpgid(Some(agent)), getpgid(None)), (Ok(a), Ok(b)) if a == b)
}
