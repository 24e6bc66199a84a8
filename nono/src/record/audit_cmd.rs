//! `nono audit list | show | verify`.

use anyhow::{Context, Result};

use super::args::AuditCommand;
use super::state;
use crate::out;

pub fn run(cmd: AuditCommand) -> Result<i32> {
    match cmd {
        AuditCommand::List {
            json,
            command,
            recent,
        } => list(json, command.as_deref(), recent),
        AuditCommand::Show { id, json } => show(&id, json),
        AuditCommand::Verify {
            id,
            public_key_file,
        } => verify(&id, public_key_file.as_deref()),
    }
}

fn sessions() -> Result<Vec<audit::Session>> {
    let mut all = Vec::new();
    for root in state::audit_roots()? {
        let (ok, bad) = audit::session::list(&root);
        for e in bad {
            crate::ui::warn(e);
        }
        all.extend(ok.into_iter().map(|(_, s)| s));
    }
    all.sort_by(|a, b| (&a.started, &a.id).cmp(&(&b.started, &b.id)));
    Ok(all)
}

fn list(json: bool, command: Option<&str>, recent: Option<usize>) -> Result<i32> {
    let mut all = sessions()?;
    if let Some(text) = command {
        all.retain(|s| s.command.join(" ").contains(text));
    }
    if let Some(n) = recent {
        let skip = all.len().saturating_sub(n);
        all.drain(..skip);
    }
    if json {
        out::write(format_args!("{}\n", serde_json::to_string_pretty(&all)?));
        return Ok(0);
    }
    if all.is_empty() {
        out::write(format_args!("no recorded sessions\n"));
    }
    for s in &all {
        let status = s.exit_status.map_or("-".to_string(), |c| c.to_string());
        out::write(format_args!(
            "{}  {}  exit {:<4} {}\n",
            s.id,
            s.started,
            status,
            s.command.join(" ")
        ));
    }
    Ok(0)
}

fn show(id: &str, json: bool) -> Result<i32> {
    let dir = audit::session::find(&state::audit_roots()?, id)?;
    let s = audit::Session::load(&dir)?;
    let events = audit::log::read(&dir)?;
    if json {
        let v = serde_json::json!({"session": s, "events": events});
        out::write(format_args!("{}\n", serde_json::to_string_pretty(&v)?));
        return Ok(0);
    }
    out::write(format_args!(
        "session  {}\nname     {}\ncommand  {}\nworkdir  {}\nprofile  {}\nstarted  {}\nended    {}\nexit     {}\n",
        s.id,
        s.name,
        s.command.join(" "),
        s.workdir,
        s.profile.as_deref().unwrap_or("-"),
        s.started,
        s.ended.as_deref().unwrap_or("(not ended)"),
        s.exit_status.map_or("-".into(), |c| c.to_string())
    ));
    if let Some(i) = &s.integrity {
        out::write(format_args!(
            "root     {} ({} events)\n",
            i.merkle_root, i.event_count
        ));
    }
    for e in &events {
        out::write(format_args!(
            "  {:>4} {} {:<18} {}\n",
            e.seq, e.time, e.kind, e.data
        ));
    }
    Ok(0)
}

fn verify(id: &str, key_file: Option<&std::path::Path>) -> Result<i32> {
    let dir = audit::session::find(&state::audit_roots()?, id)?;
    let pinned = match key_file {
        Some(f) => {
            let text = std::fs::read_to_string(f)
                .with_context(|| format!("--public-key-file {}: cannot read it", f.display()))?;
            Some(
                trust::keys::parse_public_key(&text)
                    .with_context(|| format!("--public-key-file {}", f.display()))?,
            )
        }
        None => None,
    };
    let mut report = audit::verify::verify(&dir)?;
    let bundle = dir.join(audit::session::ATTESTATION_FILE);
    let mut signer = None;
    if bundle.exists() {
        let bytes =
            std::fs::read(&bundle).with_context(|| format!("cannot read {}", bundle.display()))?;
        let (fp, mut found) = audit::attest::check(
            &bytes,
            &report.session,
            report.recomputed_root.as_deref(),
            pinned.as_deref(),
        );
        signer = fp;
        report.problems.append(&mut found);
    } else if pinned.is_some() || report.session.attestation.is_some() {
        report.problems.push(audit::verify::Problem {
            event: None,
            field: None,
            what: "no attestation (audit-attestation.bundle is missing)".into(),
        });
    }
    if report.incomplete {
        return Ok(incomplete(id, &report));
    }
    if !report.problems.is_empty() {
        for p in &report.problems {
            out::write(format_args!("TAMPERED: {p}\n"));
        }
        out::write(format_args!(
            "nono: session {id} failed verification ({} finding(s))\n",
            report.problems.len()
        ));
        return Ok(1);
    }
    let what = match &report.recomputed_root {
        Some(r) => format!("{} events, chain and Merkle root {r} intact", report.events),
        None => format!(
            "{} events; no integrity layer (recorded with --no-audit-integrity)",
            report.events
        ),
    };
    out::write(format_args!("OK: session {id}: {what}\n"));
    if let Some(fp) = signer {
        let pin = if pinned.is_some() {
            "the pinned key"
        } else {
            "a key not pinned (pass --public-key-file)"
        };
        out::write(format_args!(
            "OK: attestation signature valid, signed by {pin} {fp}\n"
        ));
    }
    Ok(0)
}

/// A record with no final root: what could still be checked. Always a
/// finding (exit 1): events cut off its end cannot be detected.
fn incomplete(id: &str, report: &audit::verify::Report) -> i32 {
    for p in &report.problems {
        out::write(format_args!("TAMPERED: {p}\n"));
    }
    out::write(format_args!(
        "INCOMPLETE: session {id}: incomplete: the supervisor ended before sealing the record \
         (no final Merkle root)\n"
    ));
    if report.problems.is_empty() {
        out::write(format_args!(
            "OK: the hash chain of its {} event(s) is intact up to the last event\n",
            report.events
        ));
    } else {
        out::write(format_args!(
            "nono: session {id}: the hash chain is broken ({} finding(s))\n",
            report.problems.len()
        ));
    }
    1
}
