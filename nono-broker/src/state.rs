//! The broker's lifecycle as types: each step consumes the previous state,
//! so messages are accepted in order and `Launch` only once, and only a
//! confined broker can start the agent.

use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;

use ipc::broker::{BrokerRequest, BrokerResponse, LaunchSpec};
use ipc::Endpoint;
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::unistd::Pid;
use sandbox::seccomp::notify::Listener;
use sandbox::{CapabilitySet, Sandbox};

use crate::error::{BrokerError, Result};
use crate::sys::{self, Forked};
use crate::workers::Workers;
use crate::{agent, brokered, calls, credentials, handoff, ipcns, netns, signals, syscalls, wire};

pub type Channel = Endpoint<BrokerResponse, BrokerRequest>;

pub struct Unconfined {
    chan: Channel,
    creds: Option<OwnedFd>,
    /// The broker is the init of the session's own PID namespace.
    pid_namespace: bool,
}

pub struct Launching {
    chan: Channel,
    pid_namespace: bool,
    spec: LaunchSpec,
    caps: CapabilitySet,
    terminal: Option<(OwnedFd, [bool; 3])>,
}

pub struct Confined {
    chan: Channel,
    pid_namespace: bool,
    spec: LaunchSpec,
    caps: CapabilitySet,
    /// The pseudo-terminal's slave side for the agent, if any, and which
    /// of fds 0-2 it replaces.
    terminal: Option<(OwnedFd, [bool; 3])>,
}

pub struct Running {
    /// Shared with the notification thread (`crate::notifier`), which
    /// sends events and elevation questions; only the serving thread
    /// receives.
    pub chan: std::sync::Arc<Channel>,
    pub agent: Pid,
    /// The agent leads a process group of its own (on its terminal, or
    /// its own session).
    pub own_group: bool,
    /// Forwarded signals go to the agent's whole group: it leads a session
    /// without a terminal, so nono's forwarding stands in for the
    /// terminal's signals to the job.
    pub signal_group: bool,
    pub signals: SignalFd,
    pub broker: brokered::Broker,
}

impl Unconfined {
    pub fn new(fd: OwnedFd, creds: Option<OwnedFd>, pid_namespace: bool) -> Unconfined {
        Unconfined {
            chan: Endpoint::from_fd(fd),
            creds,
            pid_namespace,
        }
    }

    /// `Hello` (version check) then exactly one `Launch`.
    pub fn receive_launch(self) -> Result<Launching> {
        let Unconfined {
            chan,
            creds,
            pid_namespace,
        } = self;
        chan.answer_greeting()?;
        let (mut next, mut passed) = chan.recv()?;
        if let BrokerRequest::Network { port, forwards } = next {
            if !passed.is_empty() {
                return Err(refuse(
                    &chan,
                    BrokerError::Protocol("descriptors with Network"),
                ));
            }
            if forwards.len() > ipc::MAX_FORWARDS {
                return Err(refuse(
                    &chan,
                    BrokerError::Protocol("too many forwarded destinations"),
                ));
            }
            let (listener, bound) =
                netns::contain(port, &forwards).map_err(|e| refuse(&chan, e))?;
            let port = listener
                .local_addr()
                .map_err(BrokerError::io("the proxy's listener"))?
                .port();
            let mut out = vec![listener.as_fd()];
            out.extend(bound.iter().map(|(_, l)| l.as_fd()));
            let forwards = bound.iter().map(|(a, _)| *a).collect();
            chan.send(&BrokerResponse::Network { port, forwards }, &out)?;
            drop(out);
            drop((listener, bound)); // the proxy holds them now
            (next, passed) = chan.recv()?;
        }
        let mut terminal = None;
        if let BrokerRequest::Terminal { replace } = next {
            let [fd]: [OwnedFd; 1] = std::mem::take(&mut passed).try_into().map_err(|_| {
                refuse(
                    &chan,
                    BrokerError::Protocol("Terminal must carry one descriptor"),
                )
            })?;
            if !nix::unistd::isatty(&fd).unwrap_or(false) {
                return Err(refuse(
                    &chan,
                    BrokerError::Protocol("the Terminal descriptor is not a terminal"),
                ));
            }
            terminal = Some((fd, replace));
            (next, passed) = chan.recv()?;
        }
        let mut spec = match next {
            BrokerRequest::Launch { size } => open_plan(&chan, passed, size)?,
            _ => return Err(BrokerError::Protocol("expected Launch")),
        };
        if let Err(e) = credentials::receive(creds, &mut spec) {
            // A keyholder failure is reported by the front end; stay quiet.
            refuse(&chan, e);
            return Err(BrokerError::AlreadyReported);
        }
        match wire::caps(&spec.caps) {
            Ok(caps) => Ok(Launching {
                chan,
                pid_namespace,
                spec,
                caps,
                terminal,
            }),
            Err(e) => Err(refuse(&chan, BrokerError::Caps(e))),
        }
    }
}

/// The launch plan from the one sealed memory file sent with `Launch`.
fn open_plan(chan: &Channel, mut fds: Vec<OwnedFd>, size: u64) -> Result<LaunchSpec> {
    let (Some(fd), true) = (fds.pop(), fds.is_empty()) else {
        return Err(BrokerError::Protocol(
            "Launch must come with exactly one descriptor",
        ));
    };
    ipc::broker::open_plan(fd, size).map_err(|e| refuse(chan, BrokerError::Plan(e)))
}

/// Tell the front end nothing was started, and return the error.
fn refuse(chan: &Channel, error: BrokerError) -> BrokerError {
    let _ = chan.send(
        &BrokerResponse::Failed {
            message: error.to_string(),
            exit_code: 1,
        },
        &[],
    );
    error
}

impl Launching {
    /// Confine the broker with the agent's own capability set, so the
    /// agent's domain will nest inside this one.
    pub fn confine(mut self) -> Result<Confined> {
        // Last step with capabilities: the agent's IPC namespace.
        ipcns::settle(&mut self.caps, self.spec.caps.sysv_ipc);
        // The broker also reads the agent's syscall arguments in /proc.
        let mut own = self.caps.clone();
        own.set_supervisor(true);
        if let Some(el) = &self.spec.elevation {
            // Wider than the agent: what the user may approve (never the
            // protected paths, which the front end left out). Entries that
            // vanished since the front end listed them are skipped.
            if let Err(e) = wire::add_grants(&mut own, &el.broker_grants, true) {
                return Err(refuse(&self.chan, BrokerError::ElevationGrants(e)));
            }
        }
        if let Some(p) = &self.spec.parents {
            // The broker lists the expanded directories and creates in
            // them for the agent (brokered/parent.rs): its own domain
            // holds a rule on each, with the grant's access. The agent's
            // domain, nested inside, still has none.
            let dirs: Vec<_> = p
                .dirs
                .iter()
                .map(|(path, access)| ipc::broker::WireGrant {
                    path: path.clone(),
                    access: *access,
                    tree: true,
                })
                .collect();
            if let Err(e) = wire::add_grants(&mut own, &dirs, true) {
                return Err(refuse(&self.chan, BrokerError::ExpandedDirs(e)));
            }
        }
        match Sandbox::apply(&own) {
            Ok(_) => Ok(Confined {
                chan: self.chan,
                pid_namespace: self.pid_namespace,
                spec: self.spec,
                caps: self.caps,
                terminal: self.terminal,
            }),
            Err(e) => Err(refuse(&self.chan, BrokerError::Confine(e))),
        }
    }
}

impl Confined {
    /// Set up the process groups before the fork: with a terminal of its
    /// own the broker leads it (the agent takes a group of its own there);
    /// without, the broker leaves nono's group, and the agent joins that
    /// group — or, in the session's PID namespace, where nono's group is
    /// out of reach, leads a session of its own (no terminal: nono forwards
    /// the user's Ctrl-C).
    fn place(&self) -> Result<Placement> {
        match &self.terminal {
            Some((tty, _)) => {
                sys::lead_terminal(tty.as_fd()).map_err(|e| {
                    refuse(
                        &self.chan,
                        BrokerError::os("cannot lead the command's terminal")(e),
                    )
                })?;
                Ok(Placement::Terminal)
            }
            None => match sys::leave_group() {
                Ok(_) if self.pid_namespace => Ok(Placement::Session),
                Ok(front) => Ok(Placement::Join(front)),
                Err(e) => Err(refuse(
                    &self.chan,
                    BrokerError::os("cannot take a process group")(e),
                )),
            },
        }
    }

    /// Fork the agent, then lock the broker down to its serving syscalls.
    pub fn start_agent(self) -> Result<Running> {
        let mask = signals::watched();
        mask.thread_block()
            .map_err(BrokerError::os("cannot block signals"))?;
        let parent = nix::unistd::getpid();
        sandbox::reap::become_subreaper().map_err(|e| refuse(&self.chan, e.into()))?;
        let (ours, theirs) = UnixStream::pair().map_err(BrokerError::io("socketpair"))?;
        let placement = self.place()?;
        let own_group = !matches!(placement, Placement::Join(_));
        let signal_group = matches!(placement, Placement::Session);
        let parents = self.spec.parents.as_ref().filter(|p| !p.dirs.is_empty());
        let notified = calls::filter(self.spec.elevation.is_some(), parents.is_some());
        let opens_notified = notified.iter().any(|b| b.name == "openat");
        let pid = match sys::fork() {
            // The C strings (credentials included) exist only in the child.
            Ok(Forked::Child) => sys::exit_now(match wire::exec(&self.spec) {
                Ok(exec) => agent::seal_and_exec(
                    &self.caps,
                    &exec,
                    parent,
                    theirs,
                    &notified,
                    match placement {
                        Placement::Join(group) => agent::Group::Join(group),
                        Placement::Session => agent::Group::Session,
                        Placement::Terminal => agent::Group::Terminal(self.terminal),
                    },
                ),
                Err(e) => {
                    say!("nono-broker: {e}");
                    1
                }
            }),
            Ok(Forked::Parent(pid)) => pid,
            Err(e) => return Err(refuse(&self.chan, BrokerError::os("cannot fork")(e))),
        };
        drop(theirs);
        drop(self.terminal); // the agent holds it now
        let listener = match handoff::receive(&ours, pid.as_raw() as u32) {
            Ok(fd) => Listener::new(fd),
            Err(e) => {
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
                let _ = nix::sys::wait::waitpid(pid, None);
                return Err(refuse(&self.chan, e));
            }
        };
        drop(ours);
        let signals = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC)
            .map_err(BrokerError::os("signalfd"))?;
        let sync_wakeups = wakeups(&listener).map_err(|e| refuse(&self.chan, e))?;
        let numbers = calls::Numbers::resolve().map_err(BrokerError::Seccomp)?;
        syscalls::load().map_err(BrokerError::Seccomp)?;
        self.chan.send(
            &BrokerResponse::Started {
                pid: pid.as_raw(),
                sync_wakeups,
                pid_namespace: self.pid_namespace,
                opens_notified,
            },
            &[],
        )?;
        Ok(Running {
            chan: std::sync::Arc::new(self.chan),
            agent: pid,
            own_group,
            signal_group,
            signals,
            broker: brokered::Broker {
                listener: std::sync::Arc::new(listener),
                grants: brokered::Grants::of(
                    &self.caps,
                    &self.spec.unix_grants,
                    protected(&self.spec),
                ),
                numbers,
                workers: Workers::new(),
                parents: parents.map(brokered::Parents::of),
            },
        })
    }
}

/// Where the agent goes, decided before the fork.
enum Placement {
    /// nono's process group (the user's job).
    Join(Pid),
    /// A session of its own, without a terminal.
    Session,
    /// The foreground of its own terminal.
    Terminal,
}

/// Ask for synchronous wake-ups (a notification round trip then costs
/// ~5 µs instead of 25-60 µs). Ok(false): the kernel predates them
/// (EINVAL, Linux < 6.6), reported to the user by the front end; any
/// other error is unexpected and ends the launch.
fn wakeups(listener: &Listener) -> Result<bool> {
    match listener.sync_wakeups() {
        Ok(()) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Ok(false),
        Err(e) => Err(BrokerError::io(
            "cannot set synchronous wake-ups on the seccomp listener",
        )(e)),
    }
}

fn protected(spec: &LaunchSpec) -> Option<brokered::Protected> {
    use std::os::unix::ffi::OsStrExt;
    spec.elevation.as_ref().map(|el| {
        brokered::Protected(
            el.protected
                .iter()
                .map(|(p, w)| (std::path::PathBuf::from(std::ffi::OsStr::from_bytes(p)), *w))
                .collect(),
        )
    })
}
