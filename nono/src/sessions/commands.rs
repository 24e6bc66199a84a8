//! `nono ps`, `nono stop`, `nono inspect`, `nono logs`.

use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::output;
use super::registry::{self, Record};
use crate::out::{out, outln};

/// How long `stop` waits after SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(5);

fn age(r: &Record) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let s = now.saturating_sub(r.started);
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m", s / 60),
        3600..=86399 => format!("{}h{}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d", s / 86400),
    }
}

fn state(r: &Record) -> &'static str {
    if r.detached {
        "detached"
    } else {
        "running"
    }
}

pub fn ps(json: bool) -> Result<i32> {
    let all = registry::list()?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&all)?);
        return Ok(0);
    }
    if all.is_empty() {
        outln!("no live sessions");
        return Ok(0);
    }
    outln!(
        "{:<24} {:<16} {:<9} {:>6}  COMMAND",
        "ID",
        "NAME",
        "STATE",
        "AGE"
    );
    for r in &all {
        outln!(
            "{:<24} {:<16} {:<9} {:>6}  {}",
            r.id,
            r.name,
            state(r),
            age(r),
            r.command.join(" ")
        );
    }
    Ok(0)
}

/// End a session and every process in it: SIGTERM to its supervisor
/// (which stops the command and kills what it left), SIGKILL after a grace
/// period (the broker then kills everything when its supervisor is gone).
pub fn stop(key: &str, force: bool) -> Result<i32> {
    let r = registry::find(key)?;
    let pid = Pid::from_raw(r.pid);
    let first = if force {
        Signal::SIGKILL
    } else {
        Signal::SIGTERM
    };
    kill(pid, first).with_context(|| format!("cannot signal session {} (pid {})", r.id, r.pid))?;
    let start = Instant::now();
    while r.live() {
        if start.elapsed() > STOP_GRACE {
            let _ = kill(pid, Signal::SIGKILL);
        }
        if start.elapsed() > STOP_GRACE * 2 {
            bail!("session {} did not end", r.id);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = std::fs::remove_dir_all(r.dir()?);
    crate::ui::info(format!(
        "stopped session {} ({}) in {} ms",
        r.id,
        r.name,
        start.elapsed().as_millis()
    ));
    Ok(0)
}

/// The supervisor's helpers, from its children in /proc.
fn helpers(r: &Record) -> Vec<(i32, String)> {
    let children =
        std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", r.pid)).unwrap_or_default();
    children
        .split_whitespace()
        .filter_map(|p| p.parse::<i32>().ok())
        .map(|p| {
            let comm = std::fs::read_to_string(format!("/proc/{p}/comm")).unwrap_or_default();
            (p, comm.trim().to_string())
        })
        .collect()
}

pub fn inspect(key: &str, json: bool) -> Result<i32> {
    let r = registry::find(key)?;
    let policy = r
        .policy_file
        .as_ref()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok());
    let helpers = helpers(&r);
    let proxy = r.dir().ok().and_then(|d| super::proxy_summary::load(&d));
    if json {
        let v = serde_json::json!({
            "session": r,
            "state": state(&r),
            "helpers": helpers.iter().map(|(p, c)| serde_json::json!({"pid": p, "name": c})).collect::<Vec<_>>(),
            "proxy": proxy,
            "policy": policy,
        });
        outln!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(0);
    }
    outln!("Session:  {} ({})", r.id, r.name);
    outln!(
        "State:    {}, {} old, supervisor pid {}",
        state(&r),
        age(&r),
        r.pid
    );
    outln!("Command:  {}", r.command.join(" "));
    outln!("Workdir:  {}", r.workdir);
    outln!("Profile:  {}", r.profile.as_deref().unwrap_or("(none)"));
    outln!(
        "Terminal: {}",
        if r.terminal {
            "own pseudo-terminal (nono logs, nono attach)"
        } else {
            "none (output goes where the caller sent it)"
        }
    );
    for (pid, name) in &helpers {
        outln!("Helper:   {name} (pid {pid})");
    }
    match &proxy {
        Some(c) => {
            outln!("Proxy:    {} allowed, {} denied", c.allowed, c.denied);
            for (dest, (ok, no)) in &c.destinations {
                outln!("          {dest}: {ok} allowed, {no} denied");
            }
        }
        None => outln!("Proxy:    none (network not filtered by nono's proxy)"),
    }
    match policy {
        Some(p) => outln!("Policy:\n{}", serde_json::to_string_pretty(&p)?),
        None => outln!("Policy:   not available"),
    }
    Ok(0)
}

pub fn logs(key: &str, follow: bool) -> Result<i32> {
    let r = registry::find(key)?;
    if !r.terminal {
        bail!(
            "session {} has no terminal of its own: its output went to the caller's pipe or file, nono kept none",
            r.id
        );
    }
    let dir = r.dir()?;
    let first = output::read_all(&dir);
    out!("{}", String::from_utf8_lossy(&first));
    if !follow {
        return Ok(0);
    }
    let path = dir.join("output.log");
    let mut offset = std::fs::metadata(&path).map_or(0, |m| m.len());
    while r.live() {
        std::thread::sleep(Duration::from_millis(100));
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        if (bytes.len() as u64) < offset {
            offset = 0; // rotated
        }
        let new = &bytes[offset as usize..];
        if !new.is_empty() {
            out!("{}", String::from_utf8_lossy(new));
            let _ = std::io::stdout().flush();
            offset = bytes.len() as u64;
        }
    }
    Ok(0)
}
