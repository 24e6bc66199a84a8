//! The human report of `nono learn` (stdout), and with `--json` the part
//! that is not in the fragment (stderr).

use super::analyse::{Cand, Refused};
use super::fragment::Places;
use super::Findings;
use crate::cli::LearnArgs;
use crate::out::outln;
use crate::ui;

fn field(c: &Cand) -> (&'static str, &'static str) {
    match (c.tree, c.read, c.write) {
        (true, true, true) => ("allow", "--allow"),
        (true, true, false) => ("read", "--read"),
        (true, false, _) => ("write", "--write"),
        (false, true, true) => ("allow_file", "--allow-file"),
        (false, true, false) => ("read_file", "--read-file"),
        (false, false, _) => ("write_file", "--write-file"),
    }
}

pub fn print(f: &Findings, places: &Places, profile: &str, args: &LearnArgs) {
    let what = if args.all {
        "everything it used".to_string()
    } else {
        format!("what it used that profile '{profile}' does not grant")
    };
    outln!(
        "nono learn: {} ({})",
        what,
        args.command
            .iter()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    );
    let mut empty = true;
    if !f.grants.is_empty() {
        empty = false;
        outln!("Filesystem:");
        for c in &f.grants {
            let (name, flag) = field(c);
            outln!(
                "  [{}{}] {}  (filesystem.{name}; {flag} {})",
                if c.read { 'r' } else { '-' },
                if c.write { 'w' } else { '-' },
                places.show(&c.path),
                c.path.display()
            );
        }
    }
    empty &= refused(
        &f.fs.protected,
        places,
        "Protected — needs --bypass-protection (not in the fragment):",
    );
    empty &= refused(&f.fs.ungrantable, places, "Cannot be granted by a profile:");
    if !f.still_denied.is_empty() {
        empty = false;
        outln!("Still denied with these grants:");
        for (n, why) in &f.still_denied {
            outln!("  {} ({}): {why}", places.show(&n.path), n.op().name());
        }
    }
    empty &= network(f);
    if !f.unix.is_empty() {
        empty = false;
        outln!("Unix sockets:");
        for (p, bind) in &f.unix {
            let (what, flag) = if *bind {
                ("bind", "allow_unix_socket_bind")
            } else {
                ("connect", "allow_unix_socket")
            };
            outln!("  {} ({what}; filesystem.{flag})", places.show(p));
        }
    }
    if empty {
        outln!("  nothing: the profile grants everything the command used");
    } else {
        outln!("A profile fragment with these grants: nono learn --json ... > fragment.json, then nono run --profile fragment.json");
    }
}

/// Network destinations, resolvers, listening ports. True when empty.
fn network(f: &Findings) -> bool {
    if f.dests.is_empty() && f.net.listen.is_empty() {
        return true;
    }
    if !f.dests.is_empty() {
        outln!(
            "Network{}:",
            if f.filtered {
                ""
            } else {
                " (reachable under the profile; network.allow_domain limits the command to these, through nono's proxy)"
            }
        );
        for d in &f.dests {
            let addr = std::net::SocketAddr::new(d.addr, d.port);
            let named = d.host != d.addr.to_string();
            let known = !d.addr.is_unspecified();
            outln!(
                "  {}{}  (network.allow_domain; --allow-domain {})",
                if named {
                    format!("{}:{}", d.host, d.port)
                } else {
                    addr.to_string()
                },
                if named && known {
                    format!(" [{addr}]")
                } else {
                    String::new()
                },
                d.rule()
            );
        }
    }
    proxy_refused(f, false);
    for s in &f.net.dns_servers {
        outln!("  DNS via {s} (in proxy mode nono's proxy resolves names; no grant needed)");
    }
    for p in &f.net.listen {
        outln!("  listens on TCP port {p} (network.listen_port; --listen-port {p} in proxy mode)");
    }
    false
}

/// `--sandboxed`: what the proxy refused while recording (stderr with `--json`).
fn proxy_refused(f: &Findings, to_stderr: bool) {
    for d in &f.proxy_refused {
        let line = format!(
            "the proxy refused {}:{} while recording (the command may have behaved \
             differently); to let it through: nono learn --sandboxed --allow-domain {}",
            d.host,
            d.port,
            d.rule()
        );
        if to_stderr {
            ui::warn(line);
        } else {
            outln!("  {line}");
        }
    }
}

/// A list of refused paths. True when empty.
fn refused(list: &[Refused], places: &Places, title: &str) -> bool {
    if list.is_empty() {
        return true;
    }
    outln!("{title}");
    for r in list {
        outln!("  {} ({}): {}", places.show(&r.path), r.op, r.why);
    }
    false
}

/// With `--json`: what the fragment leaves out, on stderr.
pub fn refused_to_stderr(f: &Findings, places: &Places) {
    proxy_refused(f, true);
    for r in &f.fs.protected {
        ui::warn(format!(
            "not in the fragment: {} ({}) is protected ({}) — needs --bypass-protection",
            places.show(&r.path),
            r.op,
            r.why
        ));
    }
    for r in &f.fs.ungrantable {
        ui::warn(format!(
            "not in the fragment: {} ({}): {}",
            places.show(&r.path),
            r.op,
            r.why
        ));
    }
    for (n, why) in &f.still_denied {
        ui::warn(format!(
            "still denied with the fragment: {} ({}): {why}",
            places.show(&n.path),
            n.op().name()
        ));
    }
}
