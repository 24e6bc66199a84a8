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
    let parsed = crate::help::matches().and_then(|m| Cli::from_arg_matches(&m));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => return clap_exit(e),
    };
    ui::init(cli.silent, cli.verbose);
    if !cli.silent {
        crate::trace::init(cli.verbose);
    }
    if let Err(e) = ui::init_theme(cli.theme.as_deref()) {
        ui::error(shown(&e));
        return EXIT_NONO_ERROR;
    }
    let result = match cli.command {
        Command::Run(args) => launch::launch(args, Mode::Run),
        Command::Wrap(args) => launch::launch(args, Mode::Wrap),
        Command::Shell(args) => launch::shell(args),
        Command::Ps(a) => sessions::commands::ps(a.json),
        Command::Stop(a) => sessions::commands::stop(&a.session, a.force),
        Command::Inspect(a) => sessions::commands::inspect(&a.session, a.json),
        Command::Logs(a) => sessions::commands::logs(&a.session, a.follow),
        Command::Attach(a) => sessions::attach::run(&a.session),
        Command::Setup(args) => setup::run(&args),
        Command::Why(args) => why::run(args),
        Command::Learn(args) => learn::run(args),
        Command::Profile(a) => profile_cmd::run(a.command),
        Command::Trust(a) => trust_cmd::run(a.command),
        Command::Audit(a) => crate::record::audit_cmd::run(a.command),
        Command::Rollback(a) => crate::record::rollback_cmd::run(a.command),
        Command::Completions(a) => crate::docgen::completions(a.shell),
        Command::Man(a) => crate::docgen::man(a.dir.as_deref()),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            ui::error(shown(&e));
            EXIT_NONO_ERROR
        }
    }
}

/// An error as the user reads it: its chain on one line, without the
/// ` (os error N)` Rust adds to the system's own text.
fn shown(e: &anyhow::Error) -> String {
    without_os_error(&format!("{e:#}"))
}

fn without_os_error(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(" (os error ") {
        out.push_str(&rest[..at]);
        let tail = &rest[at + " (os error ".len()..];
        let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && tail[digits..].starts_with(')') {
            rest = &tail[digits + 1..];
        } else {
            out.push_str(" (os error ");
            rest = tail;
        }
    }
    out.push_str(rest);
    out
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
            let text = one_line(&e.render().to_string());
            ui::error(match from_env(&e) {
                Some((clap_words, ours)) => text.replacen(&clap_words, &ours, 1),
                None => text,
            });
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
        } else if let Some(tip) = l.strip_prefix("tip: ") {
            parts.push(tip_words(tip));
        } else {
            parts.push(plain_reason(l.trim_start_matches("error: ")));
        }
    }
    format!("{}; see '{command} --help'", parts.join(" "))
}

/// `a similar argument exists: '--path'` -> `(did you mean '--path'?)`.
fn tip_words(tip: &str) -> String {
    match tip
        .split_once(" exist: ")
        .or_else(|| tip.split_once(" exists: "))
    {
        Some((_, names)) if tip.contains("similar") => format!("(did you mean {names}?)"),
        _ => format!("({tip})"),
    }
}

/// The number parser's reasons in plain words.
fn plain_reason(line: &str) -> String {
    line.replace("invalid digit found in string", "expected a whole number")
        .replace(
            "number too large to fit in target type",
            "the number is too large",
        )
}

/// A value clap rejected that came from a `NONO_*` variable rather than the
/// command line: clap's words (`invalid value 'abc' for '--startup-timeout
/// <SECS>'`) and ours (`NONO_STARTUP_TIMEOUT=abc (for --startup-timeout)`).
fn from_env(e: &clap::Error) -> Option<(String, String)> {
    use clap::error::{ContextKind, ContextValue};
    let Some(ContextValue::String(arg)) = e.get(ContextKind::InvalidArg) else {
        return None;
    };
    let Some(ContextValue::String(value)) = e.get(ContextKind::InvalidValue) else {
        return None;
    };
    let long = arg.split_whitespace().next()?.strip_prefix("--")?;
    let on_line = std::env::args().any(|a| {
        a.strip_prefix("--")
            .is_some_and(|a| a == long || a.starts_with(&format!("{long}=")))
    });
    if on_line {
        return None;
    }
    let var = env_of(&crate::help::definition(), long)?;
    std::env::var_os(&var)?;
    Some((
        format!("invalid value '{value}' for '{arg}'"),
        format!("{var}={value} (for --{long})"),
    ))
}

/// The variable clap reads `--LONG` from, in any subcommand.
fn env_of(cmd: &clap::Command, long: &str) -> Option<String> {
    let here = cmd
        .get_arguments()
        .find(|a| a.get_long() == Some(long))
        .and_then(|a| a.get_env())
        .map(|v| v.to_string_lossy().into_owned());
    here.or_else(|| cmd.get_subcommands().find_map(|s| env_of(s, long)))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_error_numbers_are_dropped_and_the_text_kept() {
        assert_eq!(
            without_os_error("cannot read /x: No such file or directory (os error 2)"),
            "cannot read /x: No such file or directory"
        );
        assert_eq!(
            without_os_error("a: Too many levels (os error 40): b (os error x)"),
            "a: Too many levels: b (os error x)"
        );
    }

    #[test]
    fn clap_tips_read_as_a_question() {
        assert_eq!(
            tip_words("a similar argument exists: '--path'"),
            "(did you mean '--path'?)"
        );
        assert_eq!(
            tip_words("a similar value exists: 'zsh'"),
            "(did you mean 'zsh'?)"
        );
        assert_eq!(
            tip_words("to pass '--x' as a value, use '-- --x'"),
            "(to pass '--x' as a value, use '-- --x')"
        );
        assert!(!one_line("error: unexpected argument '--pth' found\n\n  tip: a similar argument exists: '--path'\n").contains("tip:"));
    }
}
