//! The end of a session against the broker's two threads (one answers the
//! agent's notifications, one reports how the agent ended): what a call
//! made just before the end reported must reach the front end before the
//! end does, and an elevation answer crossing the end is no broker failure.
//! Each race is run many times; both failed often before they were fixed.

use std::process::{Child, Command, Stdio};

use nono_e2e::{nono_bin, probe_bin, Ran, Scratch};

/// A busy loop on CPU 0, where the sessions run too: the threads of the
/// broker then take turns, as on a loaded machine.
struct Hog(Child);

impl Hog {
    fn start() -> Hog {
        Hog(Command::new("taskset")
            .args(["-c", "0", "/bin/sh", "-c", "while :; do :; done"])
            .spawn()
            .expect("taskset (util-linux)"))
    }
}

impl Drop for Hog {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn on_cpu0(nono_args: &[&str]) -> Ran {
    let nono = nono_bin();
    let o = Command::new("taskset")
        .args(["-c", "0"])
        .arg(&nono)
        .args(nono_args)
        .stdin(Stdio::null())
        .output()
        .expect("taskset (util-linux)");
    Ran::from(o)
}

#[test]
fn a_denial_made_just_before_the_end_is_reported() {
    let dir = Scratch::new();
    let f = dir.join("f");
    std::fs::write(&f, "x").unwrap();
    let (d, f, probe) = (dir.s(), f.to_str().unwrap(), probe_bin());
    let probe = probe.to_str().unwrap();
    let _hog = Hog::start();
    for round in 0..30 {
        let r = on_cpu0(&[
            "run",
            "--read",
            &d,
            "--read-file",
            probe,
            "--",
            probe,
            "chmod-exit",
            f,
        ]);
        assert_eq!(r.code, Some(0), "round {round}: {r:?}");
        assert!(
            r.stderr.contains(&format!("denied chmod on {f}")),
            "round {round}: the denial is missing: {r:?}"
        );
    }
}

#[test]
fn an_elevation_answer_crossing_the_end_is_no_broker_failure() {
    let dir = Scratch::new();
    let (g, outside) = (dir.join("g"), dir.join("outside.txt"));
    std::fs::create_dir(&g).unwrap();
    std::fs::write(&outside, "x").unwrap();
    let decisions = dir.join("decisions");
    std::fs::write(&decisions, format!("approve {}\n", outside.display())).unwrap();
    let probe = probe_bin();
    let (g, outside, decisions, probe) = (
        g.to_str().unwrap(),
        outside.to_str().unwrap(),
        decisions.to_str().unwrap(),
        probe.to_str().unwrap(),
    );
    for round in 0..30 {
        let r = on_cpu0(&[
            "run",
            "--silent",
            "--read",
            g,
            "--read-file",
            probe,
            "--capability-elevation",
            "--elevation-decisions",
            decisions,
            "--",
            probe,
            "open-loop-exit",
            outside,
            "100",
            "2",
        ]);
        assert_eq!(r.code, Some(3), "round {round}: {r:?}");
        assert!(
            !r.stderr.contains("ended unexpectedly"),
            "round {round}: {r:?}"
        );
    }
}
