//! What `--help` shows, as data applied to the clap definitions of `cli`:
//! the headings flags are grouped under (as the spec groups them), the
//! flags `nono wrap` refuses (left out of its help; still parsed, so using
//! one gets the refusal that names `nono run`), and examples per command.

use clap::{Args, Command, CommandFactory};

/// Flags (clap ids) under each heading, in the order shown.
const HEADINGS: &[(&str, &[&str])] = &[
    ("Directory Permissions", &["allow", "read", "write"]),
    (
        "File Permissions",
        &["allow_file", "read_file", "write_file"],
    ),
    ("Denial Prompt Control", &["suppress_save_prompt"]),
    (
        "Profile Options",
        &[
            "profile",
            "workdir",
            "allow_cwd",
            "allow_gpu",
            "allow_launch_services",
        ],
    ),
    (
        "Deny Group Overrides",
        &["bypass_protection", "allow_git_config_writes"],
    ),
    (
        "Network Control",
        &[
            "block_net",
            "allow_net",
            "network_profile",
            "allow_domain",
            "credential",
            "allow_endpoint",
            "upstream_proxy",
            "upstream_bypass",
            "proxy_port",
            "listen_port",
            "open_port",
        ],
    ),
    (
        "AF_UNIX Socket Permissions",
        &[
            "allow_unix_socket",
            "allow_unix_socket_bind",
            "allow_unix_socket_dir",
            "allow_unix_socket_dir_bind",
            "allow_unix_socket_subtree",
            "allow_unix_socket_subtree_bind",
        ],
    ),
    (
        "Credential Options",
        &["env_credential", "env_credential_map", "secrets"],
    ),
    (
        "Command Blocking (deprecated, startup-only)",
        &["allow_command", "block_command"],
    ),
    (
        "Execution Mode Flags",
        &[
            "name",
            "detached",
            "detach_timeout",
            "startup_timeout",
            "capability_elevation",
            "elevation_decisions",
            "no_diagnostics",
        ],
    ),
    (
        "Audit and Rollback",
        &[
            "rollback",
            "no_rollback_prompt",
            "no_rollback",
            "rollback_exclude",
            "rollback_include",
            "rollback_all",
            "rollback_dest",
            "no_audit",
            "audit_integrity",
            "no_audit_integrity",
            "audit_sign_key",
        ],
    ),
    (
        "Operational Flags",
        &["dry_run", "trust_override", "skip_dir", "config"],
    ),
    ("Global Options", &["silent", "theme", "verbose"]),
];

/// Flags `nono wrap` refuses: everything that needs a process after the
/// exec (proxy, broker, supervisor, record).
const WRAP_REFUSES: &[&str] = &[
    "network_profile",
    "allow_domain",
    "credential",
    "allow_endpoint",
    "upstream_proxy",
    "upstream_bypass",
    "proxy_port",
    "listen_port",
    "allow_unix_socket",
    "allow_unix_socket_bind",
    "allow_unix_socket_dir",
    "allow_unix_socket_dir_bind",
    "allow_unix_socket_subtree",
    "allow_unix_socket_subtree_bind",
    "capability_elevation",
    "elevation_decisions",
    "name",
    "detached",
    "detach_timeout",
    "startup_timeout",
    "no_diagnostics",
    "rollback",
    "no_rollback_prompt",
    "no_rollback",
    "rollback_exclude",
    "rollback_include",
    "rollback_all",
    "rollback_dest",
    "no_audit",
    "audit_integrity",
    "no_audit_integrity",
    "audit_sign_key",
];

const WRAP_ABOUT: &str = "Apply the sandbox and exec into the command: nono disappears from the \
process tree and no parent process remains. For scripts, piping and embedding.\n\n\
What nono wrap does not do (use nono run): no helpers run beside the command, so there is no \
network proxy (no --network-profile, --allow-domain, --credential), no broker (no unix-socket \
grants, no capability elevation, no brokered metadata changes), no supervisor (no --detached, \
no diagnostic footer), no rollback and no audit record. Those flags are refused.";

/// Examples shown after each command's help, by subcommand name.
const EXAMPLES: &[(&str, &str)] = &[
    (
        "run",
        "nono run --allow-cwd -- my-agent
  nono run --profile claude-code --allow-cwd -- claude
  nono run --allow ./project --read ~/.config/myapp --block-net -- cargo build
  nono run --allow-cwd --network-profile minimal --credential openai -- my-agent
  nono run --allow-cwd --read /etc --dry-run -- my-agent      # show the grants only",
    ),
    (
        "wrap",
        "nono wrap --allow-cwd -- make test
  nono wrap --read . --block-net -- ./script.sh | tee out.log",
    ),
    (
        "shell",
        "nono shell --allow-cwd
  nono shell --profile claude-code --allow-cwd --shell /bin/zsh",
    ),
    (
        "why",
        "nono why --path ~/.ssh/id_rsa --op read
  nono why --path ./src --op write --allow .
  nono why --host api.openai.com --network-profile minimal
  nono why --path /run/app.sock --op connect --allow-unix-socket-dir /run
  nono why --self --path /tmp --op write --json       # inside a sandbox",
    ),
    (
        "learn",
        "nono learn -- my-app
  nono learn --profile opencode -- opencode
  nono learn --json --timeout 30 -- my-app > fragment.json",
    ),
    (
        "setup",
        "nono setup --check-only
  nono setup --profiles
  nono setup --shell-integration",
    ),
    (
        "profile",
        "nono profile list
  nono profile show claude-code
  nono profile init my-agent --extends default -o my-agent.json
  nono profile validate my-agent.json
  nono profile diff default claude-code",
    ),
    (
        "trust",
        "nono trust keygen
  nono trust init -r
  nono trust sign --all
  nono trust verify --all",
    ),
    (
        "ps",
        "nono ps
  nono ps --json",
    ),
    ("stop", "nono stop my-session\n  nono stop 3f2a --force"),
    ("inspect", "nono inspect my-session --json"),
    ("logs", "nono logs my-session --follow"),
    (
        "attach",
        "nono attach my-session      # detach: Ctrl-] then d",
    ),
    (
        "audit",
        "nono audit list --last 5
  nono audit show <id>
  nono audit verify <id> --public-key-file ./audit-signing-key.pub",
    ),
    (
        "rollback",
        "nono rollback list
  nono rollback show <id>
  nono rollback restore <id> --dry-run",
    ),
];

/// Headings and examples on every command, and `wrap`'s own help.
pub fn apply(cmd: Command) -> Command {
    let cmd = cmd.mut_subcommands(|sub| {
        let name = sub.get_name().to_string();
        let sub = with_headings(sub);
        let sub = match EXAMPLES.iter().find(|(n, _)| *n == name) {
            Some((_, ex)) => sub.after_help(format!("Examples:\n  {ex}")),
            None => sub,
        };
        if name == "wrap" {
            wrap_only(sub)
        } else {
            sub
        }
    });
    with_headings(cmd).after_help(format!("Examples:\n  {ROOT_EXAMPLES}"))
}

const ROOT_EXAMPLES: &str = "nono run --profile claude-code --allow-cwd -- claude
  nono run --allow . --block-net -- cargo build
  nono why --path ~/.ssh/id_rsa --op read
  nono setup --check-only
  nono COMMAND --help      # each command's flags and examples";

fn has(cmd: &Command, id: &str) -> bool {
    cmd.get_arguments().any(|a| a.get_id() == id)
}

/// `mut_arg` moves each flag to the end, so the headings come out in the
/// order of `HEADINGS` (clap shows a heading where its first flag stands).
fn with_headings(mut cmd: Command) -> Command {
    for (heading, ids) in HEADINGS {
        for id in *ids {
            if has(&cmd, id) {
                cmd = cmd.mut_arg(*id, |a| a.help_heading(*heading));
            }
        }
    }
    cmd
}

fn wrap_only(mut cmd: Command) -> Command {
    for id in WRAP_REFUSES {
        if has(&cmd, id) {
            cmd = cmd.mut_arg(*id, |a| a.hide(true));
        }
    }
    let examples = cmd.get_after_help().map(ToString::to_string);
    let note = "nono wrap runs no helper: no proxy, no broker, no rollback, no audit \
                (those flags are refused; use nono run).";
    let after = match examples {
        Some(ex) => format!("{note}\n\n{ex}"),
        None => note.to_string(),
    };
    cmd.long_about(WRAP_ABOUT).after_help(after)
}

/// The command line as shown: the clap definitions with every command's
/// flags, help headings, examples and wrap's own help (`apply`), and
/// repeatable switches.
pub fn definition() -> clap::Command {
    repeatable_switches(apply(expanded(crate::cli::Cli::command())))
}

/// The command line parsed. Only the command used gets its flags (see
/// `Deferred`); headings and examples change only what help shows and cost
/// most of a start-up to apply, so they are applied only when clap is about
/// to show help.
pub fn matches() -> Result<clap::ArgMatches, clap::Error> {
    match parsing_definition().try_get_matches() {
        Err(e) if shows_help(&e) => definition().try_get_matches(),
        parsed => parsed,
    }
}

/// The command line as parsed: each command's flags (with repeatable
/// switches) are added when clap reaches that command.
fn parsing_definition() -> Command {
    let cmd = crate::cli::Cli::command().mut_subcommands(|sub| match deferred(sub.get_name()) {
        Some(d) => sub.defer(d.parsing),
        None => sub,
    });
    repeatable_switches(cmd)
}

/// How clap adds a command's flags to it.
type Augment = fn(Command) -> Command;

/// A command whose flags `cli::Command` defers (clap adds them when it
/// parses or shows that command): its flags as they are (`plain`), and as
/// parsed, with repeatable switches (`parsing`).
struct Deferred {
    plain: Augment,
    parsing: Augment,
}

fn of<T: Args>() -> Deferred {
    Deferred {
        plain: plain::<T>,
        parsing: parsing::<T>,
    }
}

/// `T`'s flags added to `cmd`. The derive also sets the about text of
/// every `Args` type it adds (their doc comments, flattened ones
/// included); the command keeps its own.
fn plain<T: Args>(cmd: Command) -> Command {
    let about = cmd.get_about().cloned();
    let long_about = cmd.get_long_about().cloned();
    let cmd = T::augment_args(cmd);
    let cmd = match about {
        Some(a) => cmd.about(a),
        None => cmd.about(None::<&'static str>),
    };
    match long_about {
        Some(a) => cmd.long_about(a),
        None => cmd.long_about(None::<&'static str>),
    }
}

fn parsing<T: Args>(cmd: Command) -> Command {
    repeatable_switches(plain::<T>(cmd))
}

/// Each deferred command's `Args` type, by name. A command missing here
/// would still parse (the derive's own deferral stays), without
/// repeatable switches or headings; a test keeps the table complete.
fn deferred(name: &str) -> Option<Deferred> {
    use crate::cli::*;
    Some(match name {
        "run" | "wrap" => of::<RunArgs>(),
        "shell" => of::<ShellArgs>(),
        "ps" => of::<PsArgs>(),
        "stop" => of::<StopArgs>(),
        "inspect" => of::<InspectArgs>(),
        "logs" => of::<LogsArgs>(),
        "attach" => of::<AttachArgs>(),
        "setup" => of::<SetupArgs>(),
        "why" => of::<WhyArgs>(),
        "learn" => of::<LearnArgs>(),
        "completions" => of::<CompletionsArgs>(),
        "man" => of::<ManArgs>(),
        "profile" => of::<ProfileArgs>(),
        "trust" => of::<TrustArgs>(),
        "audit" => of::<AuditArgs>(),
        "rollback" => of::<RollbackArgs>(),
        _ => return None,
    })
}

/// Every command with its flags added now, as the derive would without
/// `defer` (help, man pages and completions read them all).
fn expanded(cmd: Command) -> Command {
    cmd.mut_subcommands(|sub| match deferred(sub.get_name()) {
        Some(d) => (d.plain)(sub.defer(unchanged)),
        None => sub,
    })
}

fn unchanged(cmd: Command) -> Command {
    cmd
}

fn shows_help(e: &clap::Error) -> bool {
    use clap::error::ErrorKind;
    matches!(
        e.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    )
}

/// On/off switches (`--block-net`) may be repeated: saying the same thing
/// twice is not an error. Options with values keep clap's refusal.
fn repeatable_switches(cmd: clap::Command) -> clap::Command {
    cmd.mut_subcommands(repeatable_switches).mut_args(|a| {
        if matches!(a.get_action(), clap::ArgAction::SetTrue) {
            let id = a.get_id().clone();
            a.overrides_with(id)
        } else {
            a
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(name: &str) -> Command {
        let mut cmd = definition();
        cmd.build();
        cmd.find_subcommand(name).unwrap().clone()
    }

    #[test]
    fn every_run_flag_has_a_heading() {
        let run = sub("run");
        let loose: Vec<_> = run
            .get_arguments()
            .filter(|a| !a.is_positional() && a.get_id() != "help")
            .filter(|a| a.get_help_heading().is_none())
            .map(|a| a.get_id().to_string())
            .collect();
        assert!(loose.is_empty(), "flags without a heading: {loose:?}");
    }

    #[test]
    fn wrap_help_hides_what_wrap_refuses_and_keeps_the_rest() {
        let wrap = sub("wrap");
        let shown = |id: &str| {
            wrap.get_arguments()
                .any(|a| a.get_id() == id && !a.is_hide_set())
        };
        assert!(!shown("allow_domain") && !shown("rollback") && !shown("detached"));
        assert!(shown("allow") && shown("block_net") && shown("open_port") && shown("profile"));
        assert!(shown("env_credential") && shown("dry_run"));
        for id in WRAP_REFUSES {
            assert!(has(&wrap, id), "{id} is not a flag of wrap");
        }
    }

    #[test]
    fn every_command_is_in_the_deferred_table() {
        let cmd = crate::cli::Cli::command();
        for sub in cmd.get_subcommands() {
            let name = sub.get_name();
            assert!(
                deferred(name).is_some(),
                "{name}: not in help::deferred, so its switches are not repeatable"
            );
        }
    }

    #[test]
    fn a_command_keeps_its_own_about_when_its_flags_are_added() {
        let lazy = crate::cli::Cli::command();
        let mut full = expanded(crate::cli::Cli::command());
        full.build();
        for sub in lazy.get_subcommands() {
            let built = full.find_subcommand(sub.get_name()).unwrap();
            let text = |a: Option<&clap::builder::StyledStr>| a.map(ToString::to_string);
            assert_eq!(text(sub.get_about()), text(built.get_about()));
            assert_eq!(text(sub.get_long_about()), text(built.get_long_about()));
        }
    }

    #[test]
    fn a_parsed_command_has_its_flags_and_repeatable_switches() {
        let m = parsing_definition().try_get_matches_from([
            "nono",
            "run",
            "--block-net",
            "--block-net",
            "--",
            "true",
        ]);
        let m = m.unwrap();
        let (name, run) = m.subcommand().unwrap();
        assert_eq!(name, "run");
        assert!(run.get_flag("block_net"));
        let twice = parsing_definition()
            .try_get_matches_from(["nono", "run", "-p", "a", "-p", "b", "--", "true"]);
        assert!(twice.is_err(), "an option with a value stays single");
    }

    #[test]
    fn every_named_flag_exists_somewhere() {
        let cmd = definition();
        let run = cmd.find_subcommand("run").unwrap();
        for (_, ids) in HEADINGS {
            for id in *ids {
                let known = has(run, id) || has(&cmd, id);
                assert!(known, "{id} is named in HEADINGS but is no flag");
            }
        }
    }
}
