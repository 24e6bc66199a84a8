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
    let code = match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => 0,
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => EXIT_NONO_ERROR,
        _ => EXIT_NONO_ERROR,
    };
    if code == 0 {
        out::record(e.print());
    } else {
        let _ = e.print();
    }
    code
}
