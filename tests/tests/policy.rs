//! Policy on the real kernel: protected paths inside granted directories,
//! bypasses, profiles, environment configuration, and `why`.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};

use nono_e2e::{canary, nono_bin, probe_bin, Ran, Scratch, EACCES};

/// A fake home with credentials, a project and ordinary files.
struct Home {
    dir: Scratch,
    ssh_key: String,
    aws: String,
}

impl Home {
    fn new() -> Home {
        let dir = Scratch::new();
        let (ssh_key, aws) = (canary("ssh"), canary("aws"));
        for d in [
            ".ssh",
            ".aws",
            "projects/app/.git/hooks",
            ".config/tool",
            ".local/share/keyrings",
        ] {
            fs::create_dir_all(dir.join(d)).unwrap();
        }
        fs::write(dir.join(".ssh/id_rsa"), &ssh_key).unwrap();
        fs::write(dir.join(".aws/credentials"), &aws).unwrap();
        fs::write(dir.join(".bash_history"), canary("history")).unwrap();
        fs::write(
            dir.join(".local/share/keyrings/login.keyring"),
            canary("keyring"),
        )
        .unwrap();
        fs::write(dir.join("notes.txt"), "notes").unwrap();
        fs::write(dir.join(".config/tool/config"), "cfg").unwrap();
        fs::write(dir.join("projects/app/main.rs"), "fn main() {}").unwrap();
        fs::write(dir.join("projects/app/.git/config"), "[core]").unwrap();
        Home { dir, ssh_key, aws }
    }

    fn p(&self, rel: &str) -> String {
        self.dir.join(rel).display().to_string()
    }

    /// `nono <args>` with HOME pointing here and no profile from the caller's env.
    fn nono(&self, args: &[&str]) -> Command {
        let mut c = Command::new(nono_bin());
        c.args(args)
            .env("HOME", &self.dir.path)
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("NONO_PROFILE")
            .env_remove("NONO_ALLOW")
            .env_remove("NONO_BLOCK_NET")
            .env_remove("NONO_ALLOW_NET")
            .stdin(Stdio::null());
        c
    }

    fn run_probe(&self, flags: &[&str], probe: &[&str]) -> Ran {
        let pb = probe_bin();
        let mut args = vec!["run"];
        args.extend_from_slice(flags);
        let pb_s = pb.display().to_string();
        args.extend_from_slice(&["--read-file", &pb_s, "--", &pb_s]);
        args.extend_from_slice(probe);
        ran(self.nono(&args))
    }
}

fn ran(mut c: Command) -> Ran {
    let o = c.output().unwrap();
    Ran {
        code: o.status.code(),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

#[test]
fn allow_home_keeps_credentials_unreadable_and_unwritable() {
    let h = Home::new();
    let home = h.dir.s();
    for (file, secret) in [(".ssh/id_rsa", &h.ssh_key), (".aws/credentials", &h.aws)] {
        let r = h.run_probe(&["--allow", &home], &["read", &h.p(file)]);
        assert!(
            r.is_err(Some(EACCES)) && !r.stdout.contains(secret.as_str()),
            "{file}: {r:?}"
        );
        let r = h.run_probe(&["--allow", &home], &["write", &h.p(file), "pwned"]);
        assert!(r.is_err(Some(EACCES)), "{file}: {r:?}");
        assert_eq!(&fs::read_to_string(h.dir.join(file)).unwrap(), secret);
    }
    for file in [".bash_history", ".local/share/keyrings/login.keyring"] {
        let r = h.run_probe(&["--allow", &home], &["read", &h.p(file)]);
        assert!(r.is_err(Some(EACCES)), "{file}: {r:?}");
    }
    // Planting a new key or creating a missing credential directory fails too.
    let r = h.run_probe(
        &["--allow", &home],
        &["write", &h.p(".ssh/authorized_keys"), "ssh-ed25519 AAAA"],
    );
    assert!(
        r.is_err(Some(EACCES)) && !h.dir.join(".ssh/authorized_keys").exists(),
        "{r:?}"
    );
    let r = h.run_probe(&["--allow", &home], &["mkdir", &h.p(".kube")]);
    assert!(
        r.is_err(Some(EACCES)) && !h.dir.join(".kube").exists(),
        "{r:?}"
    );
    let r = h.run_probe(
        &["--allow", &home],
        &["rename", &h.p(".ssh"), &h.p("stolen")],
    );
    assert!(
        r.is_err(None) && h.dir.join(".ssh/id_rsa").exists(),
        "{r:?}"
    );

    // The rest of the home works.
    let r = h.run_probe(&["--allow", &home], &["read", &h.p("notes.txt")]);
    assert!(r.is_ok(), "{r:?}");
    let r = h.run_probe(
        &["--allow", &home],
        &["write", &h.p("projects/app/new.rs"), "x"],
    );
    assert!(r.is_ok(), "{r:?}");
    let r = h.run_probe(
        &["--allow", &home],
        &["write", &h.p(".config/tool/config"), "changed"],
    );
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(
        fs::read_to_string(h.dir.join(".config/tool/config")).unwrap(),
        "changed"
    );
}

#[test]
fn granting_a_protected_path_needs_a_bypass() {
    let h = Home::new();
    let r = ran(h.nono(&["run", "--read", &h.p(".aws"), "--", "true"]));
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(r.stderr.contains("--bypass-protection"), "{r:?}");

    let r = ran(h.nono(&["run", "--bypass-protection", &h.p(".aws"), "--", "true"]));
    assert_eq!(r.code, Some(1), "bypass without a grant is an error: {r:?}");
    assert!(r.stderr.contains("needs a matching grant"), "{r:?}");

    let r = h.run_probe(
        &["--bypass-protection", &h.p(".aws"), "--read", &h.p(".aws")],
        &["read", &h.p(".aws/credentials")],
    );
    assert!(r.is_ok() && r.stdout.contains(&h.aws), "{r:?}");
    assert!(r.stderr.contains("warning: bypassing protection"), "{r:?}");
    // The bypass lifts only that path.
    let r = h.run_probe(
        &["--bypass-protection", &h.p(".aws"), "--allow", &h.dir.s()],
        &["read", &h.p(".ssh/id_rsa")],
    );
    assert!(r.is_err(Some(EACCES)), "{r:?}");
}

#[test]
fn why_reports_sensitive_paths_and_agrees_inside() {
    let h = Home::new();
    let r = ran(h.nono(&[
        "why",
        "--json",
        "--path",
        &h.p(".ssh/id_rsa"),
        "--op",
        "read",
    ]));
    assert_eq!(r.code, Some(1));
    assert!(
        r.stdout.contains("\"status\":\"denied\"")
            && r.stdout.contains("\"reason\":\"sensitive_path\""),
        "{r:?}"
    );
    let r = ran(h.nono(&[
        "why",
        "--json",
        "--path",
        &h.p("notes.txt"),
        "--op",
        "write",
        "--read",
        &h.dir.s(),
    ]));
    assert!(
        r.stdout.contains("\"reason\":\"insufficient_access\""),
        "{r:?}"
    );
    let r = ran(h.nono(&["why", "--json", "--host", "api.example.com", "--block-net"]));
    assert!(r.stdout.contains("\"reason\":\"network_blocked\""), "{r:?}");

    // --self from inside a sandbox answers for that sandbox.
    let nono = nono_bin().display().to_string();
    let ask = |path: &str, op: &str| {
        ran(h.nono(&[
            "run",
            "--allow",
            &h.p("projects"),
            "--read-file",
            &nono,
            "--",
            &nono,
            "why",
            "--self",
            "--json",
            "--path",
            path,
            "--op",
            op,
        ]))
    };
    assert!(ask(&h.p("projects/app/main.rs"), "write")
        .stdout
        .contains("\"status\":\"allowed\""));
    assert!(ask(&h.p(".ssh/id_rsa"), "read")
        .stdout
        .contains("\"reason\":\"sensitive_path\""));
    assert!(ask(&h.p("notes.txt"), "read")
        .stdout
        .contains("\"reason\":\"path_not_granted\""));
}

fn write_profile(h: &Home, name: &str, text: &str) -> String {
    let dir = h.dir.join(".config/nono-test-profiles");
    fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[test]
fn user_profile_grants_denies_and_extends() {
    let h = Home::new();
    let profile = write_profile(
        &h,
        "agent.json",
        r#"{"extends": "default", "meta": {"name": "agent"},
            "filesystem": {"allow": ["$HOME/projects"], "read_file": ["$HOME/notes.txt"]},
            "policy": {"add_deny_access": ["$HOME/projects/app/.git"]},
            "network": {"block": true}}"#,
    );
    let r = h.run_probe(
        &["--profile", &profile],
        &["write", &h.p("projects/app/main.rs"), "1"],
    );
    assert!(r.is_ok(), "{r:?}");
    // projects/app holds a protected path, so it has no rule of its own:
    // in `run` the broker creates new entries directly in it (and why
    // says so); in `wrap`, without a broker, they cannot be created.
    let r = h.run_probe(
        &["--profile", &profile],
        &["write", &h.p("projects/app/new"), "1"],
    );
    assert!(r.is_ok(), "{r:?}");
    assert!(h.dir.join("projects/app/new").exists());
    let w = ran(h.nono(&[
        "why",
        "--profile",
        &profile,
        "--path",
        &h.p("projects/app/new2"),
        "--op",
        "write",
    ]));
    assert!(
        w.stdout.contains("contains protected paths") && w.stdout.contains("broker"),
        "{w:?}"
    );
    let pb = probe_bin().display().to_string();
    let new2 = h.p("projects/app/new2");
    let r = ran(h.nono(&[
        "wrap",
        "--profile",
        &profile,
        "--read-file",
        &pb,
        "--",
        &pb,
        "write",
        &new2,
        "1",
    ]));
    assert!(r.is_err(Some(EACCES)), "{r:?}");
    assert!(!h.dir.join("projects/app/new2").exists());
    // The protected path itself stays denied in `run`.
    let r = h.run_probe(
        &["--profile", &profile],
        &["write", &h.p("projects/app/.git/new"), "1"],
    );
    assert!(r.is_err(Some(EACCES)), "{r:?}");
    assert!(!h.dir.join("projects/app/.git/new").exists());
    let r = h.run_probe(&["--profile", &profile], &["read", &h.p("notes.txt")]);
    assert!(r.is_ok(), "{r:?}");
    let r = h.run_probe(
        &["--profile", &profile],
        &["read", &h.p("projects/app/.git/config")],
    );
    assert!(
        r.is_err(Some(EACCES)),
        "add_deny_access inside a grant: {r:?}"
    );
    let r = h.run_probe(&["--profile", &profile], &["socket", "tcp"]);
    assert!(r.is_err(Some(libc::EPERM)), "network.block: {r:?}");
    // --allow-net overrides the profile's block; --block-net with it conflicts.
    let r = h.run_probe(&["--profile", &profile, "--allow-net"], &["socket", "tcp"]);
    assert!(r.is_ok(), "{r:?}");
    let r = ran(h.nono(&["run", "--allow-net", "--block-net", "--", "true"]));
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("conflicts"), "{r:?}");
}

#[test]
fn user_profiles_are_found_by_name_in_the_config_dir() {
    let h = Home::new();
    let cfg = h.dir.join("xdg");
    fs::create_dir_all(cfg.join("nono/profiles")).unwrap();
    fs::write(
        cfg.join("nono/profiles/mine.toml"),
        "extends = \"default\"\n[meta]\nname = \"mine\"\n[filesystem]\nread = [\"$HOME/projects\"]\n",
    )
    .unwrap();
    let pb = probe_bin().display().to_string();
    let mut c = h.nono(&[
        "run",
        "--profile",
        "mine",
        "--read-file",
        &pb,
        "--",
        &pb,
        "read",
        &h.p("projects/app/main.rs"),
    ]);
    c.env("XDG_CONFIG_HOME", &cfg);
    let r = ran(c);
    assert!(r.is_ok(), "{r:?}");
    let mut c = h.nono(&["profile", "list"]);
    c.env("XDG_CONFIG_HOME", &cfg);
    assert!(ran(c).stdout.contains("mine"));
    // The agent cannot read nono's own configuration.
    let mut c = h.nono(&[
        "run",
        "--allow",
        &h.dir.s(),
        "--read-file",
        &pb,
        "--",
        &pb,
        "read",
        &cfg.join("nono/profiles/mine.toml").display().to_string(),
    ]);
    c.env("XDG_CONFIG_HOME", &cfg);
    assert!(ran(c).is_err(Some(EACCES)));
}

#[test]
fn persistence_protection_blocks_hooks_and_git_config_writes() {
    let h = Home::new();
    let project = h.p("projects/app");
    fs::write(h.dir.join("projects/app/.envrc"), "export A=1").unwrap();
    let profile = write_profile(
        &h,
        "careful.json",
        r#"{"extends": "default", "workdir": {"access": "readwrite"},
            "security": {"groups": ["protect_persistence"]}}"#,
    );
    let flags = [
        "--profile",
        profile.as_str(),
        "--allow-cwd",
        "--workdir",
        project.as_str(),
    ];
    // Git hooks and config: read-only by a mount (by default, group or not).
    let r = h.run_probe(
        &flags,
        &[
            "write",
            &h.p("projects/app/.git/hooks/pre-commit"),
            "#!/bin/sh\nevil",
        ],
    );
    assert!(r.is_err(Some(libc::EROFS)), "{r:?}");
    assert!(!h.dir.join("projects/app/.git/hooks/pre-commit").exists());
    let r = h.run_probe(
        &flags,
        &[
            "write",
            &h.p("projects/app/.git/config"),
            "[core]\nhooksPath=/tmp",
        ],
    );
    assert!(r.is_err(Some(libc::EROFS)), "{r:?}");
    assert_eq!(
        fs::read_to_string(h.dir.join("projects/app/.git/config")).unwrap(),
        "[core]"
    );
    let r = h.run_probe(&flags, &["read", &h.p("projects/app/.git/config")]);
    assert!(r.is_ok(), "reading stays allowed: {r:?}");
    // The group's own entries.
    let r = h.run_probe(&flags, &["write", &h.p("projects/app/.envrc"), "evil"]);
    assert!(r.is_err(Some(EACCES)), "{r:?}");
    let r = h.run_probe(
        &flags,
        &["write", &h.p("projects/app/main.rs"), "fn main() { }"],
    );
    assert!(r.is_ok(), "{r:?}");
}

/// `git` outside the sandbox, in `dir`; its stdout.
fn git(dir: &Path, args: &[&str]) -> String {
    let o = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "git {args:?}: {o:?}");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A repository with one commit and a local bare remote.
fn repo_with_remote(h: &Home) -> (std::path::PathBuf, std::path::PathBuf) {
    let (repo, remote) = (h.dir.join("repo"), h.dir.join("remote.git"));
    fs::create_dir_all(&repo).unwrap();
    git(&h.dir.path, &["init", "-q", "--bare", "remote.git"]);
    git(&repo, &["init", "-q"]);
    git(&repo, &["config", "user.email", "e2e@example.com"]);
    git(&repo, &["config", "user.name", "e2e"]);
    fs::write(repo.join("f"), "1\n").unwrap();
    git(&repo, &["add", "f"]);
    git(&repo, &["commit", "-qm", "first"]);
    git(
        &repo,
        &["remote", "add", "origin", &remote.display().to_string()],
    );
    git(&repo, &["push", "-q", "origin", "HEAD:main"]);
    (repo, remote)
}

const GIT_SCRIPT: &str = "export GIT_CONFIG_NOSYSTEM=1; \
    echo more >> f && git add f && git commit -qm \"$MSG\" && git checkout -q -b \"$MSG-branch\" \
      && git fetch -q origin && echo GIT-OK; \
    git config core.hooksPath /tmp && echo CONFIG-WRITTEN; \
    printf '#!/bin/sh\\ntouch planted\\n' > .git/hooks/pre-commit && echo HOOK-WRITTEN; \
    mv .git .git-moved && echo GIT-MOVED; \
    true";

#[test]
fn git_works_inside_but_hooks_and_config_stay_read_only() {
    let h = Home::new();
    let (repo, remote) = repo_with_remote(&h);
    let config_before = fs::read_to_string(repo.join(".git/config")).unwrap();
    let (repo_s, remote_s) = (repo.display().to_string(), remote.display().to_string());
    for mode in ["run", "wrap"] {
        let mut c = h.nono(&[
            mode, "--allow", &repo_s, "--read", &remote_s, "--", "/bin/sh", "-c", GIT_SCRIPT,
        ]);
        c.current_dir(&repo).env("MSG", format!("inside-{mode}"));
        let r = ran(c);
        assert_eq!(r.code, Some(0), "{mode}: {r:?}");
        assert!(r.stdout.contains("GIT-OK"), "{mode}: git must work: {r:?}");
        for planted in ["CONFIG-WRITTEN", "HOOK-WRITTEN", "GIT-MOVED"] {
            assert!(!r.stdout.contains(planted), "{mode}: {planted}: {r:?}");
        }
        let log = git(&repo, &["log", "--format=%s"]);
        assert!(log.contains(&format!("inside-{mode}")), "{mode}: {log}");
        assert!(git(&repo, &["branch"]).contains(&format!("inside-{mode}-branch")));
    }
    assert_eq!(
        fs::read_to_string(repo.join(".git/config")).unwrap(),
        config_before
    );
    assert!(!repo.join(".git/hooks/pre-commit").exists());
    assert!(repo.join(".git/HEAD").exists() && !repo.join(".git-moved").exists());
    // why explains it and names the opt-out.
    let w = ran(h.nono(&[
        "why",
        "--allow",
        &repo_s,
        "--path",
        &format!("{repo_s}/.git/config"),
        "--op",
        "write",
    ]));
    assert_eq!(w.code, Some(1), "{w:?}");
    assert!(w.stdout.contains("--allow-git-config-writes"), "{w:?}");
    // The opt-out: the same script may now plant the hook.
    let mut c = h.nono(&[
        "run",
        "--allow",
        &repo_s,
        "--read",
        &remote_s,
        "--allow-git-config-writes",
        "--",
        "/bin/sh",
        "-c",
        GIT_SCRIPT,
    ]);
    c.current_dir(&repo).env("MSG", "opted-out");
    let r = ran(c);
    assert!(r.stdout.contains("HOOK-WRITTEN"), "{r:?}");
    assert!(
        repo.join(".git/hooks/pre-commit").exists()
            || repo.join(".git-moved/hooks/pre-commit").exists()
    );
}

#[test]
fn environment_variables_configure_like_flags() {
    let h = Home::new();
    let pb = probe_bin().display().to_string();
    let mut c = h.nono(&[
        "run",
        "--read-file",
        &pb,
        "--",
        &pb,
        "write",
        &h.p("projects/x"),
        "1",
    ]);
    c.env(
        "NONO_ALLOW",
        format!("{},{}", h.p("projects"), h.p(".config")),
    );
    assert!(ran(c).is_ok());
    let mut c = h.nono(&["run", "--read-file", &pb, "--", &pb, "socket", "udp"]);
    c.env("NONO_BLOCK_NET", "yes");
    assert!(ran(c).is_err(Some(libc::EPERM)));
    let mut c = h.nono(&["run", "--", "true"]);
    c.env("NONO_BLOCK_NET", "true").env("NONO_ALLOW_NET", "1");
    let r = ran(c);
    assert_eq!(r.code, Some(1));
    assert!(
        r.stderr
            .contains("NONO_ALLOW_NET=true conflicts with NONO_BLOCK_NET=true"),
        "{r:?}"
    );
    let mut c = h.nono(&["run", "--", "true"]);
    c.env("NONO_BLOCK_NET", "maybe");
    let r = ran(c);
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("NONO_BLOCK_NET=maybe"), "{r:?}");
    let mut c = h.nono(&["run", "--dry-run", "--", "true"]);
    c.env("NONO_PROFILE", "codex").env("NONO_BLOCK_NET", "0");
    let r = ran(c);
    assert!(
        r.stdout.contains("profile: codex") && r.stdout.contains("[net] allowed"),
        "{r:?}"
    );
}

#[test]
fn bad_profiles_fail_with_location_and_run_nothing() {
    let h = Home::new();
    let marker = h.dir.join("ran");
    let bad = write_profile(
        &h,
        "bad.json",
        "{\n  \"filesystem\": {\n    \"alow\": [\"/tmp\"]\n  }\n}\n",
    );
    let r = ran(h.nono(&["profile", "validate", &bad]));
    assert_eq!(r.code, Some(1));
    assert!(
        r.stderr.contains(&format!("{bad}:3:")) && r.stderr.contains("did you mean `allow`"),
        "{r:?}"
    );
    let r = ran(h.nono(&[
        "run",
        "--profile",
        &bad,
        "--",
        "touch",
        &marker.display().to_string(),
    ]));
    assert_eq!(r.code, Some(1));
    assert!(!marker.exists());
    let broken = write_profile(&h, "broken.toml", "[meta]\nname = \"x\"\n[filesystem\n");
    let r = ran(h.nono(&["profile", "validate", &broken]));
    assert!(
        r.code == Some(1) && r.stderr.contains(&format!("{broken}:3:")),
        "{r:?}"
    );
    let vars = write_profile(&h, "vars.json", r#"{"filesystem": {"read": ["$NOPE/x"]}}"#);
    let r = ran(h.nono(&["run", "--profile", &vars, "--", "true"]));
    assert!(
        r.code == Some(1) && r.stderr.contains("unknown variable $NOPE"),
        "{r:?}"
    );
    let grp = write_profile(
        &h,
        "grp.json",
        r#"{"security": {"groups": ["deny_credential"]}}"#,
    );
    let r = ran(h.nono(&["run", "--profile", &grp, "--", "true"]));
    assert!(
        r.code == Some(1) && r.stderr.contains("did you mean 'deny_credentials'"),
        "{r:?}"
    );
    let good = write_profile(
        &h,
        "good.json",
        r#"{"meta": {"name": "good"}, "extends": "default"}"#,
    );
    assert_eq!(ran(h.nono(&["profile", "validate", &good])).code, Some(0));
}

#[test]
fn profile_sharing_the_workdir_needs_consent_when_not_interactive() {
    let h = Home::new();
    let marker = h.dir.join("ran");
    let r = ran(h.nono(&[
        "run",
        "--profile",
        "claude-code",
        "--",
        "touch",
        &marker.display().to_string(),
    ]));
    assert_eq!(r.code, Some(1), "{r:?}");
    assert!(r.stderr.contains("--allow-cwd"), "{r:?}");
    assert!(!marker.exists());
}

#[test]
fn profile_commands_work() {
    let h = Home::new();
    let r = ran(h.nono(&["profile", "list"]));
    for name in ["default", "claude-code", "codex", "opencode", "openclaw"] {
        assert!(r.stdout.contains(name), "{name}: {r:?}");
    }
    let r = ran(h.nono(&["profile", "show", "claude-code", "--json"]));
    assert!(
        r.stdout.contains("\"node_runtime\"") && r.stdout.contains("deny_credentials"),
        "{r:?}"
    );
    let r = ran(h.nono(&["profile", "diff", "default", "codex"]));
    assert!(
        r.stdout.contains("+ filesystem.allow[] = \"$HOME/.codex\""),
        "{r:?}"
    );
    let r = ran(h.nono(&["profile", "groups"]));
    assert!(
        r.stdout.contains("deny_credentials") && r.stdout.contains("always on"),
        "{r:?}"
    );
    let r = ran(h.nono(&["profile", "groups", "deny_credentials"]));
    assert!(r.stdout.contains("$HOME/.ssh"), "{r:?}");
    let r = ran(h.nono(&["profile", "schema"]));
    let schema: serde_json::Value = serde_json::from_str(&r.stdout).expect("schema is JSON");
    assert!(
        schema["properties"]["filesystem"]["properties"]["allow"].is_object(),
        "{schema}"
    );
    assert!(ran(h.nono(&["profile", "guide"]))
        .stdout
        .contains("extends"));
    let out = h.dir.join("new.json");
    let r = ran(h.nono(&[
        "profile",
        "init",
        "new",
        "--output",
        &out.display().to_string(),
    ]));
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(
        ran(h.nono(&["profile", "validate", &out.display().to_string()])).code,
        Some(0)
    );
    let r = ran(h.nono(&[
        "profile",
        "init",
        "new",
        "--output",
        &out.display().to_string(),
    ]));
    assert_eq!(r.code, Some(1), "init refuses to overwrite: {r:?}");
}

#[test]
fn missing_profile_paths_do_not_break_launch() {
    let h = Home::new();
    assert!(!Path::new(&h.p(".claude")).exists());
    let r = ran(h.nono(&[
        "run",
        "--profile",
        "claude-code",
        "--allow-cwd",
        "--",
        "true",
    ]));
    assert_eq!(r.code, Some(0), "{r:?}");
}

#[test]
fn the_agent_cannot_rewrite_its_policy_snapshot() {
    let h = Home::new();
    let nono = nono_bin().display().to_string();
    let probe = probe_bin().display().to_string();
    let script = format!(
        "{probe} write \"$NONO_SANDBOX_POLICY\" '{{}}'; {probe} truncate \"$NONO_SANDBOX_POLICY\"; \
         {nono} why --self --json --path {} --op write",
        h.p("projects/app/main.rs")
    );
    let r = ran(h.nono(&[
        "run",
        "--allow",
        &h.p("projects"),
        "--read-file",
        &nono,
        "--read-file",
        &probe,
        "--",
        "/bin/sh",
        "-c",
        &script,
    ]));
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert!(
        lines.len() == 3 && lines[0].starts_with("ERR 13") && lines[1].starts_with("ERR 13"),
        "{r:?}"
    );
    assert!(
        lines[2].contains("\"status\":\"allowed\""),
        "snapshot intact: {r:?}"
    );
}

/// A worktree's `.git` is a file naming its git directory: it stays as it
/// is, and the hooks and config of the repository it belongs to are
/// read-only, while git works in the worktree.
#[test]
fn worktree_link_and_its_repository_hooks_stay_read_only() {
    let h = Home::new();
    let (repo, _) = repo_with_remote(&h);
    let side = h.dir.join("side");
    git(
        &repo,
        &[
            "worktree",
            "add",
            "-q",
            &side.display().to_string(),
            "-b",
            "side",
        ],
    );
    let link = fs::read_to_string(side.join(".git")).unwrap();
    let script = format!(
        "export GIT_CONFIG_NOSYSTEM=1; echo more >> f && git add f && git commit -qm in-worktree && echo GIT-OK; \
         echo 'gitdir: /tmp/planted' > .git && echo LINK-WRITTEN; \
         touch {hooks}/post-checkout && echo HOOK-WRITTEN; true",
        hooks = repo.join(".git/hooks").display()
    );
    let mut c = h.nono(&[
        "run",
        "--allow",
        &repo.display().to_string(),
        "--allow",
        &side.display().to_string(),
        "--",
        "/bin/sh",
        "-c",
        &script,
    ]);
    c.current_dir(&side);
    let r = ran(c);
    assert!(r.stdout.contains("GIT-OK"), "{r:?}");
    assert!(
        !r.stdout.contains("LINK-WRITTEN") && !r.stdout.contains("HOOK-WRITTEN"),
        "{r:?}"
    );
    assert_eq!(fs::read_to_string(side.join(".git")).unwrap(), link);
    assert!(!repo.join(".git/hooks/post-checkout").exists());
    assert!(git(&side, &["log", "--format=%s"]).contains("in-worktree"));
}
