//! `nono why`: explain a decision, for people and for agents (`--json`).
//!
//! Answers come from the same effective rules the kernel gets. Outside a
//! sandbox the capability context is built from the flags (or a profile);
//! with `--self` it is the snapshot of the sandbox this command runs in.

use anyhow::{bail, Context, Result};

use crate::cli::WhyArgs;
use crate::out::outln;
use crate::policy::decide::{self, Answer, Op, View};
use crate::policy::plan::POLICY_ENV;
use crate::policy::resolve::{self, Materialize, WorkdirConsent};
use crate::policy::{decide_host, decide_unix};

/// Exit status: 0 allowed, 1 denied (so scripts can branch on it).
pub fn run(mut args: WhyArgs) -> Result<i32> {
    crate::envconfig::apply(&mut args.policy)?;
    let view = if args.self_ {
        self_view()?
    } else {
        context_view(&args)?
    };
    let answer = if let Some(path) = &args.path {
        match args.op.as_str() {
            "connect" => decide_unix::answer(&view, path, false),
            "bind" => decide_unix::answer(&view, path, true),
            op => decide::path(&view, path, Op::parse(op)?),
        }
    } else if let Some(host) = &args.host {
        let (host, port, path) =
            decide_host::target(host, args.port).map_err(anyhow::Error::msg)?;
        decide_host::host(&view, &host, port, path.as_deref())
    } else if let Some(scope) = &args.scope {
        scope_answer(scope)?
    } else {
        bail!("nothing to check: give --path, --host or --scope");
    };
    print(&answer, args.json)?;
    Ok(if answer.allowed() { 0 } else { 1 })
}

fn context_view(args: &WhyArgs) -> Result<View> {
    let profile = resolve::load_profile(&args.policy)?;
    let policy = resolve::resolve(
        &args.policy,
        profile,
        WorkdirConsent::Given,
        Materialize::Nothing,
    )?;
    let net = crate::network::plan(&args.proxy, &args.policy, &policy.profile.profile)?;
    let vars = crate::policy::vars::Vars::from_env(crate::grants::workdir(&args.policy.fs)?);
    let unix = crate::policy::unix::view(&args.unix, &policy.profile.profile, &vars)?;
    // Answered as for `nono run`, whose broker serves expanded directories.
    let brokered = crate::policy::parents::dirs(&policy);
    Ok(crate::policy::plan::view_of(&policy, &net, unix, brokered))
}

fn self_view() -> Result<View> {
    let Some(file) = std::env::var_os(POLICY_ENV) else {
        bail!("--self: not inside a nono sandbox ({POLICY_ENV} is not set)");
    };
    let text = std::fs::read(&file)
        .with_context(|| format!("--self: cannot read {}", file.to_string_lossy()))?;
    serde_json::from_slice(&text).context("--self: the sandbox's policy snapshot is malformed")
}

fn scope_answer(scope: &str) -> Result<Answer> {
    let feature = match scope {
        "signal" => sandbox::Feature::SignalScope,
        "abstract-unix-socket" => sandbox::Feature::AbstractUnixScope,
        other => bail!("--scope {other}: expected signal or abstract-unix-socket"),
    };
    let supported = sandbox::SupportInfo::detect().landlock.supports(feature);
    Ok(Answer {
        status: if supported {
            "denied"
        } else {
            "not_enforceable"
        },
        reason: if supported {
            "scope_isolated"
        } else {
            "scope_unsupported"
        },
        path: None,
        op: None,
        category: None,
        granted_by: None,
        details: format!(
            "{}: requested by nono for every sandbox; {} (needs Landlock ABI {}). \
             Crossing it from inside the sandbox is denied.",
            feature.describe(),
            if supported {
                "this kernel enforces it"
            } else {
                "this kernel cannot enforce it, so nono refuses to run"
            },
            feature.min_abi()
        ),
        suggestion: None,
        suggested_flag: None,
        source: Some("default".into()),
    })
}

fn print(a: &Answer, json: bool) -> Result<()> {
    if json {
        outln!("{}", serde_json::to_string(a)?);
        return Ok(());
    }
    outln!("{}", a.status.to_uppercase());
    if let Some(p) = &a.path {
        outln!("  Path: {} ({})", p.display(), a.op.unwrap_or("read"));
    }
    outln!("  Reason: {}", a.reason);
    if let Some(c) = &a.category {
        outln!("  Category: {c}");
    }
    if let Some(g) = &a.granted_by {
        outln!("  Granted by: {g}");
    }
    outln!("  Details: {}", a.details);
    if let Some(s) = &a.suggestion {
        outln!("  To allow: {s}");
    }
    Ok(())
}
