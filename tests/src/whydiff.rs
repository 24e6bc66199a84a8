//! The differential between `nono why` and real attempts: ask `why` for a
//! batch of (op, path) queries, attempt the same batch inside a real
//! `nono run` sandbox with the same flags (the probe's `attempt-batch`),
//! and compare; then apply every flag `why` suggested for a denial and
//! check the attempt succeeds with it.

use std::collections::BTreeMap;
use std::fs;
use std::process::{Command, Stdio};

use crate::{nono_bin, probe_bin, Scratch};

/// `why --json` for one query, with `home` as `$HOME`.
pub fn why_json(home: &Scratch, flags: &[String], path: &str, op: &str) -> serde_json::Value {
    let out = Command::new(nono_bin())
        .arg("why")
        .arg("--json")
        .args(["--path", path, "--op", op])
        .args(flags)
        .env("HOME", &home.path)
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("NONO_PROFILE")
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "why gave no answer for {op} {path} ({e}): {} {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// The kernel's (and broker's) answer per query: `allowed`, `denied` or
/// `other <errno>`. Sockets a `bind` query created are removed afterwards.
pub fn kernel(home: &Scratch, flags: &[String], batch: &[(String, String)]) -> Vec<String> {
    let list_dir = Scratch::new();
    let list = list_dir.join("queries.tsv");
    let text: String = batch.iter().map(|(op, p)| format!("{op}\t{p}\n")).collect();
    fs::write(&list, text).unwrap();
    let fresh: Vec<&String> = batch
        .iter()
        .filter(|(op, p)| op == "bind" && fs::symlink_metadata(p).is_err())
        .map(|(_, p)| p)
        .collect();
    let probe = probe_bin();
    let out = Command::new(nono_bin())
        .arg("run")
        .args(flags)
        .arg("--read-file")
        .arg(&probe)
        .arg("--read-file")
        .arg(&list)
        .arg("--")
        .arg(&probe)
        .arg("attempt-batch")
        .arg(&list)
        .env("HOME", &home.path)
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("NONO_PROFILE")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    for p in fresh {
        let _ = fs::remove_file(p);
    }
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect()
}

/// A query both sides denied, with what `why` suggested for it.
pub struct Denial {
    pub op: String,
    pub path: String,
    pub answer: serde_json::Value,
}

pub struct Outcome {
    pub compared: usize,
    pub disagreements: Vec<String>,
    pub denials: Vec<Denial>,
}

/// Ask `why` first (it must answer for files a grant creates at launch
/// before the launch creates them), then the kernel. Queries the kernel
/// answers with something other than allowed/denied are not comparable.
pub fn compare(home: &Scratch, flags: &[String], batch: &[(String, String)]) -> Outcome {
    let answers: Vec<serde_json::Value> = batch
        .iter()
        .map(|(op, path)| why_json(home, flags, path, op))
        .collect();
    let results = kernel(home, flags, batch);
    assert_eq!(results.len(), batch.len());
    let mut out = Outcome {
        compared: 0,
        disagreements: Vec::new(),
        denials: Vec::new(),
    };
    for (((op, path), k), answer) in batch.iter().zip(&results).zip(answers) {
        if k.starts_with("other") {
            continue;
        }
        out.compared += 1;
        let w = answer["status"].as_str().unwrap_or("none");
        if w != k {
            out.disagreements
                .push(format!("{op} {path}: why={w} kernel={k} (flags {flags:?})"));
        } else if w == "denied" {
            out.denials.push(Denial {
                op: op.clone(),
                path: path.clone(),
                answer,
            });
        }
    }
    out
}

/// Every denial with a suggested flag is fixed by it (the same attempt
/// succeeds with the flag added); one without says why nothing grants it.
/// Returns how many suggestions were applied; failures are appended.
pub fn check_suggestions(
    home: &Scratch,
    flags: &[String],
    o: &Outcome,
    failures: &mut Vec<String>,
) -> usize {
    let mut applied = 0;
    let mut by_flag: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for d in &o.denials {
        match d.answer["suggested_flag"].as_str() {
            Some(flag) => by_flag
                .entry(flag.to_string())
                .or_default()
                .push((d.op.clone(), d.path.clone())),
            None => {
                let reason = d.answer["reason"].as_str().unwrap_or("");
                let hint = d.answer["suggestion"].as_str().unwrap_or("");
                let explained = reason == "other_process"
                    || (reason == "sensitive_path" && hint.contains("--bypass-protection"))
                    || d.answer["details"].as_str().is_some_and(|t| {
                        t.contains("No grant") || t.contains("No flag") || t.contains("no flag is")
                    });
                if !explained {
                    failures.push(format!(
                        "{} {}: denied without a flag or a reason: {}",
                        d.op, d.path, d.answer
                    ));
                }
            }
        }
    }
    for (flag, batch) in by_flag {
        let mut more = flags.to_vec();
        more.extend(flag.split(' ').map(String::from));
        for ((op, path), k) in batch.iter().zip(kernel(home, &more, &batch)) {
            applied += 1;
            if k != "allowed" {
                failures.push(format!(
                    "{op} {path}: still {k} after the suggested {flag} (context {flags:?})"
                ));
            }
        }
    }
    applied
}
