//! `nono profile`: init, list, show, diff, validate, groups, schema, guide.

use std::collections::BTreeSet;

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::cli::ProfileCommand;
use crate::out::{out, outln};
use crate::policy::load::{self, Origin, BUILTIN};
use crate::policy::{groups, resolve};

const SCHEMA: &str = include_str!("../../profiles/schema.json");
const GUIDE: &str = include_str!("../../profiles/GUIDE.md");

pub fn run(cmd: ProfileCommand) -> Result<i32> {
    match cmd {
        ProfileCommand::Init {
            name,
            extends,
            output,
        } => init(&name, &extends, output.as_deref()),
        ProfileCommand::List => list(),
        ProfileCommand::Show { profile, json } => show(&profile, json),
        ProfileCommand::Diff { a, b } => diff(&a, &b),
        ProfileCommand::Validate { file } => validate(&file),
        ProfileCommand::Groups { name } => show_groups(name.as_deref()),
        ProfileCommand::Schema => {
            out!("{SCHEMA}");
            Ok(0)
        }
        ProfileCommand::Guide => {
            out!("{GUIDE}");
            Ok(0)
        }
    }
}

fn init(name: &str, extends: &str, output: Option<&std::path::Path>) -> Result<i32> {
    load::load(extends).with_context(|| format!("--extends {extends}"))?;
    let skeleton = serde_json::json!({
        "extends": extends,
        "meta": { "name": name, "version": "1.0.0", "description": "" },
        "workdir": { "access": "readwrite" },
        "security": { "groups": [] },
        "filesystem": { "allow": [], "read": [], "write": [], "read_file": [] },
        "policy": { "add_deny_access": [] },
        "network": { "block": false }
    });
    let text = serde_json::to_string_pretty(&skeleton)? + "\n";
    match output {
        None => out!("{text}"),
        Some(path) => {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
                .with_context(|| {
                    format!("cannot create {} (it must not exist yet)", path.display())
                })?;
            std::io::Write::write_all(&mut f, text.as_bytes())?;
            crate::ui::note(format!("wrote {}", path.display()));
        }
    }
    Ok(0)
}

/// Built-ins with their own descriptions (and which a user profile
/// overrides), then user profiles with theirs.
fn list() -> Result<i32> {
    let user = load::user_profiles();
    let overrider = |name: &str| user.iter().find(|(u, _)| u == name).map(|(_, p)| p);
    outln!("Built-in profiles:");
    for (name, _) in BUILTIN {
        let d = load::builtin_description(name).unwrap_or_default();
        let note = overrider(name)
            .map(|p| format!("  (overridden by {})", p.display()))
            .unwrap_or_default();
        outln!("  {name:<20} {d}{note}");
    }
    if let Some(dir) = load::user_dir() {
        outln!("User profiles ({}):", dir.display());
    }
    if user.is_empty() {
        outln!("  (none)");
    }
    for (name, path) in &user {
        outln!("  {name:<20} {}", user_line(name, path));
    }
    Ok(0)
}

/// A user profile's description (or why it cannot be read), its file, and
/// whether it overrides a built-in.
fn user_line(name: &str, path: &std::path::Path) -> String {
    let what = match load::read_file(path) {
        Ok(p) => p
            .meta
            .description
            .unwrap_or_else(|| "(no description)".into()),
        Err(e) => format!("(invalid: {e:#})"),
    };
    let over = if BUILTIN.iter().any(|(b, _)| *b == name) {
        format!("; overrides the built-in {name}")
    } else {
        String::new()
    };
    format!("{what}  ({}{over})", path.display())
}

fn resolved_json(spec: &str) -> Result<Value> {
    let l = load::load(spec)?;
    let mut v = serde_json::to_value(&l.profile)?;
    let mut g: Vec<String> = groups::required()?.into_iter().map(String::from).collect();
    for n in l.profile.group_names() {
        groups::get(&n)?;
        if !g.contains(&n) {
            g.push(n);
        }
    }
    if let Some(obj) = v.as_object_mut() {
        obj.insert("resolved_groups".into(), serde_json::json!(g));
        obj.insert(
            "source".into(),
            Value::String(match l.origin {
                Origin::Builtin(n) => format!("built-in:{n}"),
                Origin::User(p) | Origin::File(p) => p.display().to_string(),
            }),
        );
    }
    Ok(v)
}

fn show(spec: &str, json: bool) -> Result<i32> {
    let v = resolved_json(spec)?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        out!(
            "{}",
            toml::to_string_pretty(&v).context("cannot render as TOML")?
        );
    }
    Ok(0)
}

fn flatten(prefix: &str, v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => m.iter().for_each(|(k, v)| {
            flatten(
                &if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                },
                v,
                out,
            )
        }),
        Value::Array(a) if !a.is_empty() => a
            .iter()
            .for_each(|v| flatten(&format!("{prefix}[]"), v, out)),
        other => {
            out.insert(format!("{prefix} = {other}"));
        }
    }
}

fn diff(a: &str, b: &str) -> Result<i32> {
    let (mut fa, mut fb) = (BTreeSet::new(), BTreeSet::new());
    flatten("", &resolved_json(a)?, &mut fa);
    flatten("", &resolved_json(b)?, &mut fb);
    outln!("--- {a}\n+++ {b}");
    for line in fa.difference(&fb) {
        outln!("- {line}");
    }
    for line in fb.difference(&fa) {
        outln!("+ {line}");
    }
    Ok(if fa == fb { 0 } else { 1 })
}

/// Every check `run` makes on a profile, without running anything: load
/// (each file's own fields), resolve (groups, paths, protections),
/// credentials and the network plan.
fn validate(file: &std::path::Path) -> Result<i32> {
    match std::fs::metadata(file) {
        Ok(m) if m.is_dir() => bail!(
            "{} is a directory; give a profile file (.json or .toml)",
            file.display()
        ),
        Ok(m) => {
            if let Some(kind) = crate::policy::load::not_regular(&m) {
                bail!(
                    "{} is {kind}, not a regular file; give a profile file (.json or .toml)",
                    file.display()
                );
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!("{}: no such file", file.display())
        }
        Err(e) => bail!("cannot read {}: {e}", file.display()),
    }
    let spec = file.to_str().context("the path is not UTF-8")?;
    let spec = if spec.contains('/') {
        spec.to_string()
    } else {
        format!("./{spec}")
    };
    let args = crate::cli::PolicyArgs {
        profile: Some(spec.clone()),
        ..Default::default()
    };
    let l = resolve::load_profile(&args)?;
    let name = l.name.clone();
    let policy = resolve::resolve(
        &args,
        l,
        resolve::WorkdirConsent::Given,
        resolve::Materialize::Nothing,
    )?;
    crate::network::plan(
        &crate::cli::ProxyArgs::default(),
        &args,
        &policy.profile.profile,
    )?;
    let vars = crate::policy::vars::Vars::from_env(crate::grants::workdir(&args.fs)?);
    crate::policy::unix::plan(
        &crate::cli::UnixSocketArgs::default(),
        &policy.profile.profile,
        &vars,
    )?;
    outln!("{}: valid (profile '{name}')", file.display());
    Ok(0)
}

fn show_groups(name: Option<&str>) -> Result<i32> {
    match name {
        Some(n) => {
            let g = groups::get(n)?;
            outln!("[groups.{n}]");
            out!("{}", toml::to_string_pretty(g)?);
        }
        None => {
            for (n, g) in groups::all()? {
                let tag = match (g.required, groups::is_user(n)) {
                    (true, true) => " (user, always on)",
                    (true, false) => " (always on)",
                    (false, true) => " (user)",
                    (false, false) => "",
                };
                outln!("{n:<26} {}{tag}", g.description);
            }
        }
    }
    Ok(0)
}
