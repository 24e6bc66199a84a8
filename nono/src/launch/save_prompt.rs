//! The save prompt after the diagnostic footer: on a terminal, the grants
//! the footer suggested (single flags such as `--read-file /x`) can be
//! added to a user profile, or — "suppress" — their paths listed in that
//! profile's `filesystem.suppress_save_prompt` so they are not offered
//! again. Never a grant by itself: the user runs with the profile next
//! time.
//!
//! Off with `NONO_NO_SAVE_PROMPT=1`, `--no-diagnostics`, `--silent`, without
//! a terminal, and for suggestions under a `--suppress-save-prompt` path or
//! the profile's `filesystem.suppress_save_prompt`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

use crate::policy::plan::Plan;

use crate::policy::load::Origin;

use super::save_profile::Suggestion;
use crate::ui;

/// The suggestions left once suppressed paths are taken out.
pub fn offered(flags: &[String], suppressed: &[PathBuf]) -> Vec<Suggestion> {
    flags
        .iter()
        .filter_map(|f| Suggestion::parse(f))
        .filter(|s| {
            s.path()
                .is_none_or(|p| !suppressed.iter().any(|q| p.starts_with(q)))
        })
        .collect()
}

/// After the footer: offer to save `flags` (the footer's suggestions).
pub fn offer(plan: &Plan, flags: &[String]) {
    let Some(suppressed) = &plan.save_prompt else {
        return;
    };
    let list = offered(flags, suppressed);
    if list.is_empty() || ui::verbosity_silent() || !std::io::stdin().is_terminal() {
        return;
    }
    crate::stderr::finish(); // the footer first, then the question
    if let Err(e) = ask(plan, &list) {
        ui::warn(format!("nothing saved: {e}"));
    }
}

fn ask(plan: &Plan, list: &[Suggestion]) -> Result<()> {
    let (target, extends) = target(plan)?;
    let mut q = String::from("nono: save the suggested grants to a user profile?\n");
    for s in list {
        q.push_str(&format!("  {}\n", crate::ui::shown(&s.show())));
    }
    q.push_str(&format!(
        "  [y] add them to {}\n  [s] suppress: never offer these paths again \
         (filesystem.suppress_save_prompt there)\n  [N] no\nnono: choice [y/s/N] ",
        target.display()
    ));
    let answer = match crate::prompt::ask(&q, None)? {
        crate::prompt::Reply::Answer(a) => a,
        crate::prompt::Reply::NoTerminal => bail!("no terminal"),
        crate::prompt::Reply::TimedOut => return Ok(()),
    };
    let suppress = match answer.as_str() {
        "y" | "Y" | "yes" => false,
        "s" | "S" | "suppress" => true,
        _ => return Ok(()),
    };
    super::save_profile::save(&target, extends.as_deref(), list, suppress)?;
    let name = target
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    ui::note(if suppress {
        format!(
            "nono: saved to {}: these paths are not offered again with --profile {name}",
            target.display()
        )
    } else {
        format!(
            "nono: saved to {}: run with --profile {name} to grant them",
            target.display()
        )
    });
    Ok(())
}

/// The user profile to write, and what a new one extends: the profile in
/// use when it is a user profile; else `<command>.json` in the user
/// profile directory, extending the profile in use.
fn target(plan: &Plan) -> Result<(PathBuf, Option<String>)> {
    let loaded = &plan.policy.profile;
    if let Origin::User(p) = &loaded.origin {
        return Ok((p.clone(), None));
    }
    let Some(dir) = crate::policy::load::user_dir() else {
        bail!("no user profile directory ($HOME is not set)");
    };
    let cmd = plan
        .argv
        .first()
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_default();
    let base = Path::new(&cmd)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty() && !n.starts_with('.'))
        .unwrap_or_else(|| "saved".into());
    let extends = match &loaded.origin {
        Origin::File(p) => Some(p.display().to_string()),
        _ => Some(loaded.name.clone()),
    };
    Ok((dir.join(format!("{base}.json")), extends))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_map_to_fields_and_suppressed_paths_drop_out() {
        let flags = [
            "--read-file /c/app.ini".to_string(),
            "--allow-unix-socket /run/a.sock".to_string(),
            "--allow-domain 127.0.0.1:8080".to_string(),
            "--bypass-protection /h/.ssh".to_string(),
            "--open-port 80".to_string(),
        ];
        let all = offered(&flags, &[]);
        let shown: Vec<String> = all.iter().map(Suggestion::show).collect();
        assert_eq!(
            shown,
            [
                "filesystem.read_file /c/app.ini",
                "filesystem.allow_unix_socket /run/a.sock",
                "network.allow_domain 127.0.0.1:8080"
            ]
        );
        let left = offered(&flags, &[PathBuf::from("/run")]);
        assert_eq!(left.len(), 2);
        assert!(left.iter().all(|s| s.value != "/run/a.sock"));
        // A host is never suppressed by a path.
        assert_eq!(offered(&flags, &[PathBuf::from("/")]).len(), 1);
    }
}
