//! `nono`: the front end. Parses the command line, resolves policy into a
//! capability set, and launches the command confined (see `launch`).

mod canon;
mod cli;
mod commands;
mod docgen;
mod dry_run;
mod env_policy;
mod envconfig;
mod grants;
mod help;
mod helpers;
mod launch;
mod learn;
mod network;
mod out;
mod policy;
mod profile_cmd;
mod prompt;
mod record;
mod sessions;
mod setup;
mod stderr;
mod sys;
mod theme;
mod trace;
mod trust_cmd;
mod ui;
mod why;

use std::process::ExitCode;

fn main() -> ExitCode {
    let code = commands::main();
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
