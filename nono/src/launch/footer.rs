//! The diagnostic footer: when the command exits non-zero under `run`,
//! the denials nono saw (broker decisions, proxy refusals), grouped and
//! capped, each with the flag and profile field that grants it (or why
//! nothing does), and a pointer to `nono learn` and `nono why` for what
//! nono cannot see: the files Landlock refused inside the kernel (with the
//! reason, `landlock_log.rs`: audit off, or root needed to read it).
//! Suppressed by `--no-diagnostics` and `--silent`.

use ipc::broker::BrokeredEvent;
use ipc::proxy::ProxyEvent;

use super::landlock_records::Denied;
use super::reasons;
use crate::policy::decide::{self, Op, View};
use crate::policy::plan::Plan;
use crate::ui;

/// Rows shown before "... and N more".
const CAP: usize = 12;

/// The profile field a flag corresponds to.
pub fn field_of(flag: &str) -> String {
    let name = flag.trim_start_matches('-').replace('-', "_");
    if name == "allow_domain" {
        "network.allow_domain".into()
    } else {
        format!("filesystem.{name}")
    }
}

/// `--read /x` as "grant: --read /x (profile filesystem.read)".
fn grant(suggestion: &str) -> String {
    let flag = suggestion.split_whitespace().next().unwrap_or("");
    if flag.starts_with("--") && !flag.starts_with("--bypass") {
        format!("grant: {suggestion} (profile {})", field_of(flag))
    } else {
        suggestion.to_string()
    }
}

/// The single flag that grants `text`'s suggestion (`--read /x`), if it
/// is one.
fn flag_in(text: &str) -> Option<String> {
    let s = text.strip_prefix("grant: ")?;
    let end = s.rfind(" (profile ")?;
    Some(s[..end].to_string())
}

/// What grants one broker denial.
fn broker_fix(view: &View, ev: &BrokeredEvent) -> String {
    let flag = match ev.op.as_str() {
        "connect" | "sendto" | "sendmsg" | "sendmmsg" => Some("--allow-unix-socket"),
        "bind" | "listen" => Some("--allow-unix-socket-bind"),
        _ => None,
    };
    if let Some(f) = flag {
        return grant(&format!("{f} {}", ev.path));
    }
    let op = match ev.op.as_str() {
        "open" | "watch" => Op::Read,
        _ => Op::Write,
    };
    path_fix(view, std::path::Path::new(&ev.path), op)
}

/// What grants `op` on `path`, from `why`'s own answer.
pub fn path_fix(view: &View, path: &std::path::Path, op: Op) -> String {
    let a = decide::path(view, path, op);
    let allowed = a.allowed();
    match (a.reason, a.suggestion) {
        ("sensitive_path", _) => format!(
            "protected: {} (only --bypass-protection lifts it)",
            a.category.unwrap_or_default()
        ),
        (_, Some(s)) => grant(&s),
        (_, None) if allowed => "granted already (the command may have asked differently)".into(),
        (_, None) => format!("nothing grants it: {}", a.details),
    }
}

/// What grants one proxy refusal, from `why --host`'s own answer.
fn proxy_fix(view: &View, e: &ProxyEvent) -> String {
    let path = (!e.path.is_empty()).then_some(e.path.as_str());
    let a = crate::policy::decide_host::host(view, &e.host, e.port, path);
    match a.suggestion {
        _ if a.allowed() => format!("the host is allowed; the proxy said: {}", e.reason),
        Some(s) => grant(s.trim_start_matches("start the session with ")),
        None => format!("nothing grants it: {}", a.details),
    }
}

/// What grants one denial Landlock logged. Filesystem blockers that only
/// read (`fs.read_file`, `fs.read_dir`, `fs.execute`) need a read grant;
/// the others a write grant. Network blockers name the port.
fn landlock_fix(view: &View, d: &Denied) -> String {
    if d.blockers.starts_with("net.") {
        return format!(
            "TCP {}: {}",
            d.object,
            if d.blockers == "net.bind_tcp" {
                "--listen-port PORT (proxy mode) or --open-port PORT grants listening on it"
            } else {
                "--allow-domain HOST:PORT (proxy mode) or --open-port PORT (localhost) grants it"
            }
        );
    }
    if d.blockers.starts_with("scope.") {
        return "nothing grants it: the sandbox is isolated from processes and abstract sockets outside".into();
    }
    let reads = d
        .blockers
        .split(',')
        .all(|b| matches!(b, "fs.read_file" | "fs.read_dir" | "fs.execute"));
    let op = if reads { Op::Read } else { Op::Write };
    path_fix(view, std::path::Path::new(&d.object), op)
}

/// The footer rows: (what was denied, how often, what grants it).
fn rows(
    view: &View,
    broker: &[(BrokeredEvent, u64)],
    proxy: &[(ProxyEvent, u64)],
) -> Vec<(String, u64, String)> {
    let mut out: Vec<(String, u64, String)> = broker
        .iter()
        .map(|(e, n)| {
            (
                format!("{} {} ({})", e.op, e.path, reasons::broker(&e.reason)),
                *n,
                broker_fix(view, e),
            )
        })
        .collect();
    out.extend(proxy.iter().map(|(e, n)| {
        let target = if e.port == 0 {
            e.host.clone()
        } else {
            format!("{}:{}", e.host, e.port)
        };
        (
            format!(
                "proxy {} {target}{} ({})",
                e.kind,
                e.path,
                reasons::proxy(&e.reason)
            ),
            *n,
            proxy_fix(view, e),
        )
    }));
    out
}

/// Print the footer for a command that exited with `code`.
/// Deaths by a signal someone sent to stop the command (Ctrl-C, kill,
/// hang-up, a closed pipe): with no denial seen there is nothing to
/// diagnose.
const STOPPED_BY: [i32; 5] = [
    libc::SIGHUP,
    libc::SIGINT,
    libc::SIGKILL,
    libc::SIGPIPE,
    libc::SIGTERM,
];

/// Returns the single flags the footer suggested (`--read /x`), in order.
/// `landlock`: Landlock's own records of the session, where nono could
/// read them.
pub fn print(
    plan: &Plan,
    code: i32,
    broker: &[(BrokeredEvent, u64)],
    proxy: &[(ProxyEvent, u64)],
    landlock: Option<&[(Denied, u64)]>,
) -> Vec<String> {
    let view = plan.view();
    let mut rows = rows(&view, broker, proxy);
    rows.extend(landlock.unwrap_or_default().iter().map(|(d, n)| {
        (
            format!("landlock {} {}", d.blockers, d.object),
            *n,
            landlock_fix(&view, d),
        )
    }));
    if rows.is_empty() && STOPPED_BY.iter().any(|s| code == 128 + s) {
        return Vec::new();
    }
    let cmd = plan
        .argv
        .first()
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_default();
    if rows.is_empty() {
        ui::warn(format!(
            "the command exited with status {code}; nono saw no denial of its own"
        ));
    } else {
        ui::warn(format!(
            "the command exited with status {code}; what the sandbox denied that nono saw:"
        ));
    }
    for (what, n, fix) in rows.iter().take(CAP) {
        let times = if *n > 1 {
            format!(" ({n} times)")
        } else {
            String::new()
        };
        // Both carry names the command chose: shown on their own lines.
        ui::warn(format!("  {}{times}", ui::shown(what)));
        ui::warn(format!("    -> {}", ui::shown(fix)));
    }
    if rows.len() > CAP {
        ui::warn(format!(
            "  ... and {} more (nono run -v shows each as it happens)",
            rows.len() - CAP
        ));
    }
    if landlock.is_some() {
        ui::warn(format!(
            "Landlock's own denial records (kernel audit log) are included above; 'nono learn \
             --sandboxed -- {cmd}' lists everything the command uses (confined) \
             (--no-diagnostics hides this footer)"
        ));
    } else {
        ui::warn(format!(
            "files the kernel (Landlock) refused are not visible to nono ({}): 'nono learn \
             --sandboxed -- {cmd}' lists what the command uses (confined), and 'nono why --path \
             PATH --op read|write' with this run's flags says what grants a path \
             (--no-diagnostics hides this footer)",
            super::landlock_log::status().explain()
        ));
    }
    let mut flags: Vec<String> = Vec::new();
    for f in rows.iter().filter_map(|(_, _, fix)| flag_in(fix)) {
        if !flags.contains(&f) {
            flags.push(f);
        }
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_map_to_profile_fields() {
        assert_eq!(field_of("--read-file"), "filesystem.read_file");
        assert_eq!(
            field_of("--allow-unix-socket"),
            "filesystem.allow_unix_socket"
        );
        assert_eq!(field_of("--allow-domain"), "network.allow_domain");
        assert_eq!(
            grant("--allow /x"),
            "grant: --allow /x (profile filesystem.allow)"
        );
        assert_eq!(
            flag_in(&grant("--read /a b")).as_deref(),
            Some("--read /a b")
        );
        assert_eq!(flag_in("protected: SSH keys"), None);
        assert_eq!(flag_in(&grant("--bypass-protection /x")), None);
    }
}
