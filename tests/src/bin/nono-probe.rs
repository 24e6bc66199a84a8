//! `nono-probe ACTION [ARGS]`: attempts one operation and reports the result.
//!
//! Prints `OK <detail>` and exits 0 on success, or `ERR <errno> <name>` and
//! exits 10 when the kernel refused. Exits 2 on bad usage. The tests run it
//! inside a sandbox and check the effect (or its absence) from outside.

use std::process::exit;

fn ok(detail: impl std::fmt::Display) -> ! {
    println!("OK {detail}");
    exit(0)
}

fn fail(e: std::io::Error) -> ! {
    let code = e.raw_os_error().unwrap_or(0);
    println!("ERR {code} {e}");
    exit(10)
}

fn arg(args: &[String], i: usize) -> &str {
    args.get(i).map(String::as_str).unwrap_or_else(|| {
        eprintln!("nono-probe: missing argument {i}");
        exit(2)
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let action = arg(&args, 1);
    match action {
        "read" => match std::fs::read(arg(&args, 2)) {
            Ok(b) => ok(String::from_utf8_lossy(&b).replace('\0', " ")),
            Err(e) => fail(e),
        },
        "write" => match std::fs::write(arg(&args, 2), arg(&args, 3)) {
            Ok(()) => ok("written"),
            Err(e) => fail(e),
        },
        "write-tmp" => {
            let dir = std::env::var_os("TMPDIR").unwrap_or_else(|| exit(2));
            let path = std::path::Path::new(&dir).join("probe");
            match std::fs::write(&path, "tmp").and_then(|_| std::fs::read_to_string(&path)) {
                Ok(s) => ok(format!("{} {s}", path.display())),
                Err(e) => fail(e),
            }
        }
        "truncate" => match std::fs::OpenOptions::new()
            .write(true)
            .open(arg(&args, 2))
            .and_then(|f| f.set_len(0))
        {
            Ok(()) => ok("truncated"),
            Err(e) => fail(e),
        },
        "mkdir" => match std::fs::create_dir(arg(&args, 2)) {
            Ok(()) => ok("created"),
            Err(e) => fail(e),
        },
        "remove" => match std::fs::remove_file(arg(&args, 2)) {
            Ok(()) => ok("removed"),
            Err(e) => fail(e),
        },
        "rename" => match std::fs::rename(arg(&args, 2), arg(&args, 3)) {
            Ok(()) => ok("renamed"),
            Err(e) => fail(e),
        },
        "link" => match std::fs::hard_link(arg(&args, 2), arg(&args, 3)) {
            Ok(()) => ok("linked"),
            Err(e) => fail(e),
        },
        "symlink-read" => {
            // Plant a symlink (in a writable place) to a target, then read through it.
            let (target, link) = (arg(&args, 2), arg(&args, 3));
            if let Err(e) = std::os::unix::fs::symlink(target, link) {
                fail(e)
            }
            match std::fs::read(link) {
                Ok(b) => ok(String::from_utf8_lossy(&b)),
                Err(e) => fail(e),
            }
        }
        "exec" => {
            let err = std::process::Command::new(arg(&args, 2)).status();
            match err {
                Ok(s) => ok(format!("status {s}")),
                Err(e) => fail(e),
            }
        }
        "status" => {
            let s = std::fs::read_to_string("/proc/self/status").unwrap_or_else(|e| fail(e));
            let keep = [
                "NoNewPrivs",
                "Seccomp:",
                "CapInh",
                "CapPrm",
                "CapEff",
                "CapBnd",
                "CapAmb",
            ];
            for l in s.lines().filter(|l| keep.iter().any(|k| l.starts_with(k))) {
                println!("{l}");
            }
            exit(0)
        }
        "env" => {
            for (k, v) in std::env::vars_os() {
                println!("{}={}", k.to_string_lossy(), v.to_string_lossy());
            }
            exit(0)
        }
        "fds" => {
            let mut fds: Vec<String> = std::fs::read_dir("/proc/self/fd")
                .unwrap_or_else(|e| fail(e))
                .filter_map(|e| e.ok())
                .map(|e| {
                    let target = std::fs::read_link(e.path()).map(|t| t.display().to_string());
                    format!(
                        "{}->{}",
                        e.file_name().to_string_lossy(),
                        target.unwrap_or_default()
                    )
                })
                .collect();
            fds.sort();
            ok(fds.join(","))
        }
        "pids" => ok(format!(
            "pid={} ppid={}",
            std::process::id(),
            std::os::unix::process::parent_id()
        )),
        "exit" => exit(arg(&args, 2).parse().unwrap_or(2)),
        "sleep" => {
            std::thread::sleep(std::time::Duration::from_secs(
                arg(&args, 2).parse().unwrap_or(1),
            ));
            ok("slept")
        }
        a if a.starts_with("bench-") => match nono_e2e::bench_ops::run(action, &args) {
            Some(Ok(detail)) => ok(detail),
            Some(Err(e)) => fail(e),
            None => {
                eprintln!("nono-probe: unknown action {action}");
                exit(2)
            }
        },
        _ => nono_e2e::probe_ops::run(action, &args),
    }
}
