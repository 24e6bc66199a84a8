//! `--startup-timeout` / `NONO_STARTUP_TIMEOUT`: a full-screen agent that
//! has not entered its interface (the terminal's alternate screen) within
//! the limit is stopped — SIGTERM, then SIGKILL two seconds later — with a
//! message saying what to try. Output before the interface (banners, log
//! lines) does not count. Only with the agent's own terminal, where nono
//! sees what it draws.

use std::time::{Duration, Instant};

use nix::poll::PollTimeout;
use nix::sys::signal::Signal;

use crate::ui;

/// How long a terminated command gets before SIGKILL.
const GRACE: Duration = Duration::from_secs(2);

/// Built-in profiles for well-known agents, by command name.
const PROFILES: &[(&str, &str)] = &[
    ("claude", "claude-code"),
    ("codex", "codex"),
    ("opencode", "opencode"),
];

#[derive(Debug)]
pub struct Watchdog {
    limit: Duration,
    started: Instant,
    program: String,
    /// When SIGTERM was sent.
    terminated: Option<Instant>,
    done: bool,
}

impl Watchdog {
    pub fn new(limit: Duration, program: &str) -> Watchdog {
        Watchdog {
            limit,
            started: Instant::now(),
            program: program.to_string(),
            terminated: None,
            done: false,
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        if self.done {
            return None;
        }
        Some(match self.terminated {
            Some(t) => t + GRACE,
            None => self.started + self.limit,
        })
    }

    /// How long `poll` may wait before the next check.
    pub fn poll_timeout(&self) -> PollTimeout {
        match self.next_deadline() {
            None => PollTimeout::NONE,
            Some(d) => {
                let ms = d.saturating_duration_since(Instant::now()).as_millis();
                PollTimeout::try_from(ms.min(60_000) as i32).unwrap_or(PollTimeout::ZERO)
            }
        }
    }

    /// The signal to send now, if any.
    pub fn check(&mut self, in_alt_screen: bool) -> Option<Signal> {
        if self.done || (in_alt_screen && self.terminated.is_none()) {
            self.done = true;
            return None;
        }
        let now = Instant::now();
        match self.terminated {
            None if now >= self.started + self.limit => {
                ui::warn(self.message());
                self.terminated = Some(now);
                Some(Signal::SIGTERM)
            }
            Some(t) if now >= t + GRACE => {
                self.done = true;
                Some(Signal::SIGKILL)
            }
            _ => None,
        }
    }

    fn message(&self) -> String {
        let name = std::path::Path::new(&self.program)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let hint = match PROFILES.iter().find(|(cmd, _)| *cmd == name) {
            Some((_, profile)) => format!(
                "if it lacks permissions, run it with its profile: nono run --profile {profile} --allow-cwd -- {name}"
            ),
            None => "see what it was denied with -v, nono why, or nono learn".to_string(),
        };
        format!(
            "{name} did not enter its full-screen interface within {} s (--startup-timeout); stopping it; {hint}",
            self.limit.as_secs()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alt_screen_disarms_and_silence_terminates_then_kills() {
        let mut w = Watchdog::new(Duration::ZERO, "/usr/bin/claude");
        assert!(w.message().contains("--profile claude-code"));
        assert_eq!(w.check(false), Some(Signal::SIGTERM));
        assert_eq!(w.check(false), None);
        w.terminated = Some(Instant::now() - GRACE);
        assert_eq!(w.check(false), Some(Signal::SIGKILL));
        assert_eq!(w.poll_timeout(), PollTimeout::NONE);
        let mut ok = Watchdog::new(Duration::from_secs(60), "tui");
        assert_eq!(ok.check(true), None);
        assert_eq!(ok.poll_timeout(), PollTimeout::NONE);
    }
}
