//! `nono-broker`: see the library's header (`lib.rs`) for what it trusts,
//! holds and never does.

#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    nono_broker::run()
}
