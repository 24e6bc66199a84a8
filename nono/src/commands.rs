//! Dispatch from the parsed command line to each command, and the mapping of
//! errors to exit codes (1 for nono's own errors; see `launch` for 126/127).

use clap::FromArgMatches;

use crate::cli::{Cli, Command};
use crate::launch::{self, Mode};
use crate::out::EXIT_NONO_ERROR;
use crate::{learn, out, profile_cmd, sessions, setup, stderr, trust_cmd, ui, why};

/// Run the command line; the exit status accounts for a stdout that could
/// not be written (see `out`) and waits a bounded time for nono's queued
/// messages (see `stderr`).
pub fn main() -> i32 {
    let code = dispatch();
    let code = out::exit_status(code);
    stderr::finish();
    code
}

fn dispatch() -> i32 {
    let parsed = crate::help::definition()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => return clap_exit(e),
    };
    ui::init(cli.silent, cli.verbose);
    if !cli.silent {
        crate::trace::init(cli.verbose);
    }
    if let Err(e) = ui::init_theme(cli.theme.as_deref()) {
        ui::error(format!("{e:#}"));
        return EXIT_NONO_ERROR;
    }
    let result = match cli.command {
        Command::Run(args) => launch::launch(args, Mode::Run),
        Command::Wrap(args) => launch::launch(args, Mode::Wrap),
        Command::Shell(args) => launch::shell(args),
        Command::Ps { json } => sessions::commands::ps(json),
        Command::Stop { session, force } => sessions::commands::stop(&session, force),
        Command::Inspect { session, json } => sessions::commands::inspect(&session, json),
        Command::Logs { session, follow } => sessions::commands::logs(&session, follow),
        Command::Attach { session } => sessions::attach::run(&session),
        Command::Setup(args) => setup::run(&args),
        Command::Why(args) => why::run(args),
        Command::Learn(args) => learn::run(args),
        Command::Profile(cmd) => profile_cmd::run(cmd),
        Command::Trust(cmd) => trust_cmd::run(cmd),
        Command::Audit(cmd) => crate::record::audit_cmd::run(cmd),
        Command::Rollback(cmd) => crate::record::rollback_cmd::run(cmd),
        Command::Completions { shell } => crate::docgen::completions(shell),
        Command::Man { dir } => crate::docgen::man(dir.as_deref()),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            ui::error(format!("{e:#}"));
            EXIT_NONO_ERROR
        }
    }
}

/// Help and version go to stdout with 0; usage errors to stderr with 1.
fn clap_exit(e: clap::Error) -> i32 {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            out::record(e.print());
            0
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            EXIT_NONO_ERROR
        }
        _ => {
            ui::error(one_line(&e.render().to_string()));
            EXIT_NONO_ERROR
        }
    }
}

/// clap's several-line error as one line, as nono's own errors are:
/// `a value is required for '--allow <DIR>' but none was supplied; see
/// 'nono run --help'`. Indented lines (the missing arguments, a tip) are
/// kept, joined; the usage line names the command for the help pointer.
fn one_line(text: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut command = command_in_argv();
    for line in text.lines() {
        let l = line.trim();
        if let Some(usage) = l.strip_prefix("Usage: ") {
            command = usage
                .split_whitespace()
                .take_while(|w| !w.starts_with(['[', '<', '-']))
                .collect::<Vec<_>>()
                .join(" ");
        } else if l.is_empty() || l.starts_with("For more information") {
            continue;
        } else {
            parts.push(l.trim_start_matches("error: ").to_string());
        }
    }
    format!("{}; see '{command} --help'", parts.join(" "))
}

/// `nono trust verify` for `nono -v trust verify --bogus`: the
/// subcommands named on the command line, as far as they are known.
fn command_in_argv() -> String {
    let mut cmd = crate::help::definition();
    let mut words = vec!["nono".to_string()];
    for arg in std::env::args().skip(1) {
        if arg == "--" {
            break;
        }
        if arg.starts_with('-') {
            continue;
        }
        match cmd.find_subcommand(&arg) {
            Some(sub) => {
                words.push(arg.clone());
                let next = sub.clone();
                cmd = next;
            }
            None => break,
        }
    }
    words.join(" ")
}
