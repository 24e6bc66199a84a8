//! Command-line surface (clap). Field docs are the `--help` text.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand};

/// Kernel-enforced sandbox for AI agents.
#[derive(Debug, Parser)]
#[command(name = "nono", version, about, max_term_width = 100)]
pub struct Cli {
    /// Suppress all nono output (banner, summary, status messages).
    #[arg(short, long, global = true)]
    pub silent: bool,

    /// Colour theme: mocha (default), latte, frappe, macchiato, tokyo-night,
    /// minimal. Also NONO_THEME, or [ui] theme in ~/.config/nono/config.toml.
    /// Colour only on a terminal; NO_COLOR turns it off.
    #[arg(long, global = true, value_name = "NAME")]
    pub theme: Option<String>,

    /// Increase verbosity (-v info, -vv debug, -vvv trace).
    #[arg(short, long, action = ArgAction::Count, global = true)]
    pub verbose: u8,

    #[command(subcommand)]
    pub command: Command,
}

/// The commands. Each command's flags are added only when clap parses or
/// shows that command (`defer`; see `help`): building every command's flags
/// on each start cost more than the rest of `nono --version`.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum Command {
    /// Run a command inside the sandbox, supervised by a parent process.
    Run(RunArgs),
    /// Apply the sandbox and exec into the command; no nono process remains.
    Wrap(RunArgs),
    /// Start an interactive shell inside the sandbox (supervised, as run).
    Shell(ShellArgs),
    /// List live supervised sessions.
    Ps(PsArgs),
    /// End a session and every process in it.
    Stop(StopArgs),
    /// Show a session's command, state, helpers and policy.
    Inspect(InspectArgs),
    /// Show a session's terminal output.
    Logs(LogsArgs),
    /// Attach this terminal to a session's terminal (detach: Ctrl-] then d).
    Attach(AttachArgs),
    /// Verify installation and report what this kernel can enforce.
    Setup(SetupArgs),
    /// Explain why a path, host or scope is allowed or denied.
    Why(WhyArgs),
    /// Discover what a command needs: runs it WITHOUT a sandbox (--sandboxed: inside one), traced by strace.
    #[command(
        long_about = "Discover what a command needs: the files it reads and writes, the network \
destinations it reaches and the unix sockets it uses.\n\n\
On Linux, plain nono learn runs the command WITHOUT sandbox restrictions, traced by strace \
(install with: apt install strace), following every process and thread: the command and strace \
run unconfined. Only run commands you trust, or use a throwaway environment.\n\n\
--sandboxed runs nothing unconfined: the command and strace both run inside a nono run sandbox \
in record mode: read access everywhere except the protected paths, write access only to the \
working directory (--workdir) and a scratch directory for the trace, no signals or ptrace \
outside, network only through nono's proxy, which lets every host through on ports 80 and 443 \
and records each request (loopback and private addresses and other ports only with \
--allow-domain; refused requests are reported too). The one thing this mode adds to a normal \
run is the ptrace syscall, so that strace can trace the command: Landlock limits it to the \
sandbox's own processes. Calls the sandbox refused (EACCES, EPERM) are reported as needed; \
the command may then behave differently than it would with the grants.\n\n\
By default the report lists only what the profile (--profile, else default) would deny; --all \
lists everything. Paths are collapsed into grants (the working directory as $WORKDIR, home as ~, \
three or more files of one directory as the directory). Protected paths are reported as needing \
--bypass-protection and never put in the fragment. Network destinations are named from the DNS \
answers seen, else shown as address:port; they are listed unless the profile's proxy already \
allows them (a profile's network.allow_domain limits the command to them).\n\n\
--json prints a profile fragment (filesystem.*, network.allow_domain, \
filesystem.allow_unix_socket*; with --profile P it extends P) that nono run --profile takes as \
it is; the command's own stdout then goes to stderr. Exit status: the command's, or 0 when \
--timeout ended it."
    )]
    Learn(LearnArgs),
    /// Create, inspect, and compare profiles.
    #[command(subcommand_required = true, arg_required_else_help = true)]
    Profile(ProfileArgs),
    /// Sign, verify, and manage trust for instruction files consumed by agents.
    #[command(subcommand_required = true, arg_required_else_help = true)]
    Trust(TrustArgs),
    /// Recorded sessions: list, show, verify the audit trail.
    #[command(subcommand_required = true, arg_required_else_help = true)]
    Audit(AuditArgs),
    /// Snapshots of supervised sessions: list, show, verify, restore.
    #[command(subcommand_required = true, arg_required_else_help = true)]
    Rollback(RollbackArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(after_help = "Examples:\n  \
nono completions bash > ~/.local/share/bash-completion/completions/nono\n  \
nono completions zsh > ~/.zfunc/_nono      # with fpath+=(~/.zfunc) before compinit\n  \
nono completions fish > ~/.config/fish/completions/nono.fish")]
    Completions(CompletionsArgs),
    /// Print the man page nono(1), or write one page per command to a directory.
    #[command(after_help = "Examples:\n  \
nono man | man -l -\n  \
nono man --dir ~/.local/share/man/man1   # nono.1, nono-run.1, nono-profile-list.1, ...")]
    Man(ManArgs),
}

// The flags of the commands above, one `Args` type per command, so that
// `help` can add each command's flags only when that command is used (see
// `help::matches`).

/// `nono profile`.
#[derive(Debug, Args)]
pub struct ProfileArgs {
    #[command(subcommand)]
    pub command: ProfileCommand,
}

/// `nono trust`.
#[derive(Debug, Args)]
pub struct TrustArgs {
    #[command(subcommand)]
    pub command: TrustCommand,
}

/// `nono audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: crate::record::args::AuditCommand,
}

/// `nono rollback`.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    #[command(subcommand)]
    pub command: crate::record::args::RollbackCommand,
}

/// `nono ps`.
#[derive(Debug, Args)]
pub struct PsArgs {
    /// Output JSON.
    #[arg(long)]
    pub json: bool,
}

/// `nono stop`.
#[derive(Debug, Args)]
pub struct StopArgs {
    /// Session id (or a unique prefix) or name.
    pub session: String,
    /// SIGKILL at once instead of SIGTERM first.
    #[arg(long)]
    pub force: bool,
}

/// `nono inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Session id (or a unique prefix) or name.
    pub session: String,
    /// Output JSON.
    #[arg(long)]
    pub json: bool,
}

/// `nono logs`.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Session id (or a unique prefix) or name.
    pub session: String,
    /// Keep printing new output until the session ends.
    #[arg(short, long)]
    pub follow: bool,
}

/// `nono attach`.
#[derive(Debug, Args)]
pub struct AttachArgs {
    /// Session id (or a unique prefix) or name.
    pub session: String,
}

/// `nono completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

/// `nono man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write nono.1 and a page per subcommand into this existing directory.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// What the sandbox grants: shared by `run`, `wrap` and `why`.
#[derive(Debug, Args, Default, Clone)]
pub struct PolicyArgs {
    #[command(flatten)]
    pub fs: FsArgs,

    /// Use a named profile (built-in or ~/.config/nono/profiles/NAME.json|toml) or a profile file.
    #[arg(short = 'p', long, value_name = "NAME|PATH")]
    pub profile: Option<String>,

    /// Block all network access (TCP, UDP and every other socket family).
    #[arg(long)]
    pub block_net: bool,

    /// Force unrestricted network access for this run, overriding the profile.
    #[arg(long)]
    pub allow_net: bool,

    /// Lift a protected path (e.g. ~/.aws) or a path a profile keeps
    /// read-only; it must also be granted. Repeatable.
    #[arg(long = "bypass-protection", value_name = "PATH")]
    pub bypass_protection: Vec<PathBuf>,

    /// Let the command change git hooks and git configuration
    /// (.git/hooks, .git/config, ~/.gitconfig) in granted directories. By
    /// default they are read-only: code planted there would run at the
    /// next git command outside the sandbox.
    #[arg(long)]
    pub allow_git_config_writes: bool,

    /// Allow GPU compute: DRM render nodes (/dev/dri/renderD*), NVIDIA
    /// (nvidia[0-N], nvidiactl, nvidia-uvm, MIG caps), AMD /dev/kfd, WSL2
    /// /dev/dxg; Vulkan ICD manifests and GPU sysfs read-only. With
    /// --profile, the profile must set security.allow_gpu = true.
    #[arg(long)]
    pub allow_gpu: bool,
}

/// Flags of `run` and `wrap`.
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub policy: PolicyArgs,

    /// Show what would be granted without applying the sandbox or executing.
    #[arg(long)]
    pub dry_run: bool,

    /// Suppress the diagnostic footer printed when the command exits non-zero.
    #[arg(long)]
    pub no_diagnostics: bool,

    /// Do not offer denials under PATH for saving into a profile after the
    /// run (grants nothing; the footer stays). Repeatable. Profile:
    /// filesystem.suppress_save_prompt; NONO_NO_SAVE_PROMPT=1 turns the
    /// prompt off.
    #[arg(long, alias = "ignore-denied", value_name = "PATH")]
    pub suppress_save_prompt: Vec<PathBuf>,

    /// Inject keystore credentials as environment variables: NAME (the
    /// variable is NAME uppercased: openai_api_key -> OPENAI_API_KEY),
    /// NAME=VAR, or REF=VAR with REF a reference (op://, env://, ...). Comma-separated.
    #[arg(long, value_name = "NAMES", value_delimiter = ',')]
    pub env_credential: Vec<String>,

    /// Map a credential reference (op://, env://, file://, keyring://, kernel://, NAME) to a variable.
    #[arg(long, num_args = 2, value_names = ["REF", "VAR"], action = clap::ArgAction::Append)]
    pub env_credential_map: Vec<String>,

    /// Older spelling: load these accounts, or with no value the profile's [secrets].
    #[arg(long, value_name = "NAMES", num_args = 0..=1, default_missing_value = "")]
    pub secrets: Option<String>,

    #[command(flatten)]
    pub proxy: ProxyArgs,

    #[command(flatten)]
    pub commands: CommandArgs,

    #[command(flatten)]
    pub compat: CompatArgs,

    #[command(flatten)]
    pub later: LaterArgs,

    /// A name for the session (unique among live sessions; shown by nono ps).
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// Start the session in the background, without this terminal; prints
    /// its id and the attach command once it is ready.
    #[arg(long)]
    pub detached: bool,

    /// How long a detached start may take to become attachable (seconds).
    #[arg(
        long,
        env = "NONO_DETACH_STARTUP_TIMEOUT",
        value_name = "SECS",
        default_value_t = 30
    )]
    pub detach_timeout: u64,

    /// Stop the command if it has not entered its full-screen interface
    /// (the terminal's alternate screen) within SECS seconds; 0 turns the
    /// check off (the default). Needs a terminal; not for nono wrap.
    #[arg(long, env = "NONO_STARTUP_TIMEOUT", value_name = "SECS")]
    pub startup_timeout: Option<u64>,

    #[command(flatten)]
    pub record: crate::record::args::RecordArgs,

    /// Set by `nono learn --sandboxed` only (no flag): record mode.
    #[arg(skip)]
    pub learn: bool,

    /// Skip the pre-exec trust scan of instruction files (development and
    /// testing only: unsigned or tampered files reach the command).
    #[arg(long)]
    pub trust_override: bool,

    /// Skip a directory name during the pre-exec trust scan (exact path
    /// component). Does not change sandbox permissions. Repeatable.
    #[arg(long, value_name = "NAME")]
    pub skip_dir: Vec<String>,

    /// The command to run, after `--`.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    pub command: Vec<OsString>,
}

/// The startup-only command blocklist (deprecated; not a boundary).
#[derive(Debug, Args, Default)]
pub struct CommandArgs {
    /// Deprecated: start this normally-blocked command (rm, dd, chmod,
    /// sudo, scp, ...). Checks only the directly invoked executable, never
    /// its children: not a sandbox boundary. Repeatable.
    #[arg(long, value_name = "NAME")]
    pub allow_command: Vec<String>,
    /// Deprecated: refuse to start this command too (startup-only, as
    /// --allow-command). Repeatable.
    #[arg(long, value_name = "NAME")]
    pub block_command: Vec<String>,
}

/// Spec flags with nothing to do on Linux or in this release: parsed so a
/// documented command line gets a clear refusal (see `launch::later`).
#[derive(Debug, Args, Default)]
pub struct CompatArgs {
    /// macOS only (LaunchServices opens): refused on Linux.
    #[arg(long)]
    pub allow_launch_services: bool,
    /// A configuration file (planned in the spec; refused: nono reads
    /// ~/.config/nono/config.toml).
    #[arg(short = 'c', long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// `nono shell`: the flags of `run`, plus the shell to start.
#[derive(Debug, Args)]
pub struct ShellArgs {
    /// Override the shell binary (default: $SHELL, else /bin/sh).
    #[arg(long, value_name = "PATH")]
    pub shell: Option<PathBuf>,

    #[command(flatten)]
    pub run: RunArgs,
}

/// Filesystem grants.
#[derive(Debug, Args, Default, Clone)]
pub struct FsArgs {
    /// Grant read and write access to a directory (recursive). Repeatable.
    #[arg(short = 'a', long = "allow", value_name = "DIR")]
    pub allow: Vec<PathBuf>,

    /// Grant read-only access to a directory (recursive). Repeatable.
    #[arg(short = 'r', long = "read", value_name = "DIR")]
    pub read: Vec<PathBuf>,

    /// Grant write-only access to a directory (recursive). Repeatable.
    #[arg(short = 'w', long = "write", value_name = "DIR")]
    pub write: Vec<PathBuf>,

    /// Grant read and write access to a single file. Repeatable.
    #[arg(long = "allow-file", value_name = "FILE")]
    pub allow_file: Vec<PathBuf>,

    /// Grant read-only access to a single file. Repeatable.
    #[arg(long = "read-file", value_name = "FILE")]
    pub read_file: Vec<PathBuf>,

    /// Grant write-only access to a single file. Repeatable.
    #[arg(long = "write-file", value_name = "FILE")]
    pub write_file: Vec<PathBuf>,

    /// Share the working directory (read-only unless a profile says otherwise) without prompting.
    #[arg(long)]
    pub allow_cwd: bool,

    /// Working directory for $WORKDIR expansion and --allow-cwd (default: current directory).
    #[arg(long, value_name = "DIR")]
    pub workdir: Option<PathBuf>,
}

/// `nono learn`.
#[derive(Debug, Args)]
pub struct LearnArgs {
    /// Compare against this profile: show only what it lacks (the fragment extends it).
    #[arg(short = 'p', long, value_name = "NAME|PATH")]
    pub profile: Option<String>,

    /// Print a profile fragment (JSON) instead of the report.
    #[arg(long)]
    pub json: bool,

    /// Stop the command (SIGTERM, then SIGKILL after 3 s) after this many seconds.
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u64>,

    /// Show everything the command used, not only what the sandbox would deny.
    #[arg(long)]
    pub all: bool,

    /// Run the command inside the sandbox (record mode) instead of unconfined.
    #[arg(long)]
    pub sandboxed: bool,

    /// With --sandboxed: also let this destination through the proxy
    /// (loopback and private addresses, ports other than 80 and 443). Repeatable.
    #[arg(long, value_name = "HOST|HOST:PORT", requires = "sandboxed")]
    pub allow_domain: Vec<String>,

    /// macOS legacy tracer; on Linux strace is always used.
    #[arg(long, hide = true)]
    pub trace: bool,

    /// Working directory for $WORKDIR (default: the current directory).
    #[arg(long, value_name = "DIR")]
    pub workdir: Option<PathBuf>,

    /// The command to trace, after `--`.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    pub command: Vec<OsString>,
}

#[derive(Debug, Args)]
pub struct SetupArgs {
    /// Only verify installation and sandbox support; create no files.
    #[arg(long, conflicts_with = "profiles")]
    pub check_only: bool,
    /// Write example user profiles to ~/.config/nono/profiles/ (never over
    /// an existing file).
    #[arg(long)]
    pub profiles: bool,
    /// Show shell integration instructions (aliases); edits nothing.
    #[arg(long)]
    pub shell_integration: bool,
}

/// `why` takes every flag `run` takes, so a run's command line can be
/// asked about as it is; the proxy flags that decide no host are accepted
/// but left out of its help.
#[derive(Debug, Args)]
#[command(
    mut_arg("credential", |a| a.hide(true)),
    mut_arg("allow_endpoint", |a| a.hide(true)),
    mut_arg("proxy_port", |a| a.hide(true)),
    mut_arg("listen_port", |a| a.hide(true)),
    mut_arg("open_port", |a| a.hide(true))
)]
pub struct WhyArgs {
    /// The filesystem path to check.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["host", "scope"])]
    pub path: Option<PathBuf>,

    /// The operation: read, write or readwrite; connect or bind for a
    /// unix socket (brokered in `nono run`).
    #[arg(long, default_value = "read", value_name = "OP")]
    pub op: String,

    /// Network host (or URL) to check.
    #[arg(long, value_name = "HOST", conflicts_with = "scope")]
    pub host: Option<String>,

    /// Network port, with --host (default: the URL's port, else 80 for
    /// http:// URLs, else 443).
    #[arg(long)]
    pub port: Option<u16>,

    /// Landlock scope to check: signal or abstract-unix-socket.
    #[arg(long, value_name = "SCOPE")]
    pub scope: Option<String>,

    /// Output JSON: one object with `status` (allowed, denied,
    /// not_enforceable), `reason` (granted_path, path_not_granted,
    /// insufficient_access, sensitive_path, network_*, scope_*,
    /// granted_unix_socket, unix_socket_not_granted), `path`,
    /// `op`, `category` (protected paths), `granted_by`, `details`,
    /// `suggestion` (text), `suggested_flag` (the single flag to add, e.g.
    /// "--read /x"; null when allowed, protected or when no flag grants it)
    /// and `source` (who decided: user, profile, group:<name>, default).
    #[arg(long)]
    pub json: bool,

    /// Answer for the sandbox this command runs in.
    #[arg(long = "self")]
    pub self_: bool,

    #[command(flatten)]
    pub policy: PolicyArgs,

    /// Unix-socket grants, as `run` takes them (for --op connect/bind).
    #[command(flatten)]
    pub unix: UnixSocketArgs,

    /// Proxy-mode flags, as `run` takes them (for --host).
    #[command(flatten)]
    pub proxy: ProxyArgs,
}

#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// Generate a skeleton profile.
    Init {
        /// Profile name.
        name: String,
        /// Profile to extend.
        #[arg(long, default_value = "default")]
        extends: String,
        /// Write to this file instead of stdout (refuses to overwrite).
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// List all available profiles.
    List,
    /// Show a fully resolved profile.
    Show {
        /// Profile name or path.
        profile: String,
        /// Output JSON.
        #[arg(long)]
        json: bool,
    },
    /// Diff two profiles (resolved).
    Diff { a: String, b: String },
    /// Validate a profile file.
    Validate { file: PathBuf },
    /// List policy groups, or show one.
    Groups { name: Option<String> },
    /// Print the profile JSON Schema.
    Schema,
    /// Print the profile authoring guide.
    Guide,
}

/// Pathname AF_UNIX sockets the broker lets the command connect to or bind
/// (`nono run`; also the capability context of `nono why`).
#[derive(Debug, Args, Default, Clone)]
pub struct UnixSocketArgs {
    /// Allow connect(2) to an AF_UNIX socket. Repeatable.
    #[arg(long, value_name = "PATH")]
    pub allow_unix_socket: Vec<std::path::PathBuf>,
    /// Allow connect(2) and bind(2) on an AF_UNIX socket. Repeatable.
    #[arg(long, value_name = "PATH")]
    pub allow_unix_socket_bind: Vec<std::path::PathBuf>,
    /// Allow connect(2) to sockets directly in a directory. Repeatable.
    #[arg(long, value_name = "DIR")]
    pub allow_unix_socket_dir: Vec<std::path::PathBuf>,
    /// Allow connect(2) and bind(2) on sockets directly in a directory. Repeatable.
    #[arg(long, value_name = "DIR")]
    pub allow_unix_socket_dir_bind: Vec<std::path::PathBuf>,
    /// Allow connect(2) to sockets in a directory tree. Repeatable.
    #[arg(long, value_name = "DIR")]
    pub allow_unix_socket_subtree: Vec<std::path::PathBuf>,
    /// Allow connect(2) and bind(2) on sockets in a directory tree. Repeatable.
    #[arg(long, value_name = "DIR")]
    pub allow_unix_socket_subtree_bind: Vec<std::path::PathBuf>,
}

/// Flags whose features need the broker (brokered unix sockets, capability
/// elevation): `nono run` only.
#[derive(Debug, Args, Default)]
pub struct LaterArgs {
    #[command(flatten)]
    pub unix: UnixSocketArgs,
    /// Approve accesses beyond the grants at runtime.
    #[arg(long)]
    pub capability_elevation: bool,
    /// Answer elevation requests from a file of `approve GLOB` / `deny GLOB`
    /// lines instead of prompting (first match wins; no match denies).
    #[arg(long, value_name = "FILE")]
    pub elevation_decisions: Option<std::path::PathBuf>,
}

/// Network filtering through `nono-proxy` and local TCP ports.
#[derive(Debug, Args, Default, Clone)]
pub struct ProxyArgs {
    /// Allow the hosts of a network profile through the proxy (minimal,
    /// developer, claude-code, codex, opencode, enterprise).
    #[arg(long, value_name = "NAME")]
    pub network_profile: Option<String>,
    /// Allow a host through the proxy: HOST, HOST:PORT, *.SUFFIX or
    /// https://HOST/PATH/** (paths need TLS interception). Repeatable.
    #[arg(long, alias = "proxy-allow", value_name = "HOST|URL")]
    pub allow_domain: Vec<String>,
    /// Inject the credential of a service through the proxy: openai,
    /// anthropic, gemini, google-ai (keystore accounts openai_api_key,
    /// anthropic_api_key, gemini, google_api_key), github, gitlab, or a
    /// profile's custom_credentials. Repeatable.
    #[arg(long, alias = "proxy-credential", value_name = "SERVICE")]
    pub credential: Vec<String>,
    /// Restrict a credential service to METHOD:PATH rules. Repeatable.
    #[arg(long, value_name = "SERVICE:METHOD:PATH")]
    pub allow_endpoint: Vec<String>,
    /// Chain the proxy's outbound connections through HOST:PORT.
    #[arg(long, value_name = "HOST:PORT")]
    pub upstream_proxy: Option<String>,
    /// Hosts (or *.SUFFIX) that bypass the upstream proxy. Comma-separated, repeatable.
    #[arg(long, value_name = "HOST", value_delimiter = ',')]
    pub upstream_bypass: Vec<String>,
    /// Fixed port for the proxy on 127.0.0.1 (default: any free port).
    #[arg(long, value_name = "PORT")]
    pub proxy_port: Option<u16>,
    /// Allow the command to listen on a TCP port (proxy mode). Repeatable.
    #[arg(long, value_name = "PORT")]
    pub listen_port: Vec<u16>,
    /// Allow localhost TCP connect and listen on a port. Repeatable.
    #[arg(long, value_name = "PORT")]
    pub open_port: Vec<u16>,
    /// `nono learn --sandboxed` only (no flag): let every host through on
    /// the web ports and record it.
    #[arg(skip)]
    pub record_all: bool,
}

/// Which signing key: a keystore name or a `file:///` / `keystore://` reference.
#[derive(Debug, Args, Default, Clone)]
pub struct KeyArgs {
    /// Key ID in the system keystore (default: "default").
    #[arg(long, value_name = "KEY_ID", conflicts_with = "keyref")]
    pub key: Option<String>,
    /// Key reference URI: keystore://NAME or file:///PATH (PEM).
    #[arg(long, value_name = "URI")]
    pub keyref: Option<String>,
}

/// `keygen` and `export-key` name the key with `--id`.
#[derive(Debug, Args, Default, Clone)]
pub struct KeyIdArgs {
    /// Key identifier in the system keystore (default: "default").
    #[arg(long, value_name = "NAME", conflicts_with = "keyref")]
    pub id: Option<String>,
    /// Key reference URI: keystore://NAME or file:///PATH (PEM).
    #[arg(long, value_name = "URI")]
    pub keyref: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum TrustCommand {
    /// Create a trust-policy.json in the current directory (or the user-level policy).
    Init {
        /// Scan subdirectories recursively.
        #[arg(short, long)]
        recursive: bool,
        /// Additional directories to exclude (on top of .gitignore and the built-in list).
        #[arg(long, value_name = "DIR", num_args = 1..)]
        exclude_dirs: Vec<String>,
        #[command(flatten)]
        key: KeyArgs,
        /// Overwrite an existing policy.
        #[arg(long)]
        force: bool,
        /// Write the user-level policy (~/.config/nono/trust-policy.json), the trust anchor.
        #[arg(long)]
        user: bool,
    },
    /// Sign files, producing bundles for verification.
    Sign {
        /// Files to sign (one: FILE.bundle; several: .nono-trust.bundle).
        #[arg(value_name = "FILES", required_unless_present = "all")]
        files: Vec<std::path::PathBuf>,
        /// Sign all instruction files matching the trust policy's patterns.
        #[arg(long, conflicts_with = "files")]
        all: bool,
        #[command(flatten)]
        key: KeyArgs,
        /// Sigstore keyless signing (CI with OIDC only).
        #[arg(long, conflicts_with_all = ["key", "keyref"])]
        keyless: bool,
        /// Trust policy file (default: ./trust-policy.json if present).
        #[arg(long, value_name = "FILE")]
        policy: Option<std::path::PathBuf>,
    },
    /// Sign a trust policy file (writes POLICY.bundle).
    SignPolicy {
        /// The policy (default: ./trust-policy.json).
        #[arg(value_name = "PATH", conflicts_with = "user")]
        path: Option<std::path::PathBuf>,
        /// Sign the user-level policy (~/.config/nono/trust-policy.json).
        #[arg(long)]
        user: bool,
        #[command(flatten)]
        key: KeyArgs,
    },
    /// Verify files against the trust policy (default: the user-level policy).
    Verify {
        #[arg(value_name = "FILES", required_unless_present = "all")]
        files: Vec<std::path::PathBuf>,
        /// Verify all instruction files under the current directory.
        #[arg(long, conflicts_with = "files")]
        all: bool,
        /// Trust policy file.
        #[arg(long, value_name = "FILE")]
        policy: Option<std::path::PathBuf>,
    },
    /// List instruction files under the current directory and their status.
    List {
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Generate an ECDSA P-256 signing key pair.
    Keygen {
        #[command(flatten)]
        key: KeyIdArgs,
        /// Overwrite an existing key.
        #[arg(long)]
        force: bool,
    },
    /// Print the public key for a trust policy's public_key field.
    ExportKey {
        #[command(flatten)]
        key: KeyIdArgs,
        /// PEM instead of base64 DER.
        #[arg(long)]
        pem: bool,
    },
}
