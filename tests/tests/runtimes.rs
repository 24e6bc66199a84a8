//! Real toolchains work under the default seal with only their project
//! directory granted. Results are checked from outside.

use std::fs;
use std::path::Path;

use nono_e2e::{nono, Ran, Scratch};

/// System installs only: a per-user install (pyenv, nvm) lives in a home
/// directory the default seal does not grant.
fn tool(name: &str) -> String {
    let p = Path::new("/usr/bin").join(name);
    assert!(
        p.exists(),
        "{} is required for this test (the CI script installs it)",
        p.display()
    );
    p.display().to_string()
}

fn in_project(mode: &str, d: &Scratch, cmd: &[&str]) -> Ran {
    let mut args = vec![
        mode,
        "--allow",
        d.path.to_str().unwrap(),
        "--workdir",
        d.path.to_str().unwrap(),
        "--",
    ];
    args.extend_from_slice(cmd);
    nono(&args)
}

#[test]
fn python_runs_and_writes_in_the_project() {
    let d = Scratch::new();
    let out = d.join("py.txt");
    let script = format!(
        "import json, ssl, sqlite3, tempfile, subprocess\n\
         with tempfile.NamedTemporaryFile() as t: t.write(b'x')\n\
         db = sqlite3.connect('{0}/db.sqlite'); db.execute('create table t(x)'); db.commit()\n\
         open('{0}/py.txt', 'w').write(json.dumps({{'ok': True}}))\n",
        d.s()
    );
    let r = in_project("run", &d, &[&tool("python3"), "-c", &script]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(fs::read_to_string(out).unwrap(), "{\"ok\": true}");
}

#[test]
fn gcc_and_make_build_and_run_a_program() {
    let d = Scratch::new();
    fs::write(
        d.join("hello.c"),
        "#include <stdio.h>\nint main(void){puts(\"built in nono\");return 3;}\n",
    )
    .unwrap();
    fs::write(
        d.join("Makefile"),
        "hello: hello.c\n\tgcc -O1 -o hello hello.c\n",
    )
    .unwrap();
    tool("gcc");
    let r = in_project("run", &d, &[&tool("make"), "-C", &d.s(), "-s"]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(d.join("hello").exists());
    let r = in_project("wrap", &d, &[d.join("hello").to_str().unwrap()]);
    assert_eq!(r.code, Some(3));
    assert_eq!(r.stdout, "built in nono\n");
}

#[test]
fn git_commits_in_the_project() {
    let d = Scratch::new();
    let repo = d.s();
    let script = format!(
        "cd {repo} && git init -q . && echo hi > f && git add f && \
         git -c user.email=e2e@nono.test -c user.name=e2e commit -q -m first && git log --format=%s"
    );
    tool("git");
    let r = in_project("run", &d, &["/bin/sh", "-c", &script]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert_eq!(r.stdout.trim(), "first");
    assert!(d.join(".git/HEAD").exists());
}

#[test]
fn node_runs_and_writes_in_the_project() {
    let d = Scratch::new();
    let script = format!(
        "const fs=require('fs'),os=require('os'),path=require('path');\
         fs.writeFileSync(path.join(os.tmpdir(),'t'),'x');\
         fs.writeFileSync('{}/node.txt', process.version)",
        d.s()
    );
    let r = in_project("run", &d, &[&tool("node"), "-e", &script]);
    assert_eq!(r.code, Some(0), "{r:?}");
    assert!(fs::read_to_string(d.join("node.txt"))
        .unwrap()
        .starts_with('v'));
}
