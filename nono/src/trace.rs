//! What `-v`, `-vv` and `-vvv` show, through `tracing`: one line per event
//! on stderr (through [`crate::stderr`], which never stalls on a slow or
//! closed stderr). `-v` (info): the policy summary, each helper started and
//! confined, the command's start and end, teardown. `-vv` (debug): every
//! Landlock rule and protection, the proxy's rules, each phase's time.
//! `-vvv` (trace): every brokered call and proxied request as it happens.
//! Without `-v` no subscriber is installed and the events cost nothing.
//! Secrets never reach an event: credentials are named, never shown.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

use crate::theme::Role;

/// Install the subscriber for `verbose` (the number of `-v`), if any.
pub fn init(verbose: u8) {
    let max = match verbose {
        0 => return,
        1 => Level::INFO,
        2 => Level::DEBUG,
        _ => Level::TRACE,
    };
    let lines = Lines {
        max,
        start: Instant::now(),
        next_span: AtomicU64::new(1),
    };
    // Only fails when a subscriber is already set (then keep that one).
    let _ = tracing::subscriber::set_global_default(lines);
}

/// Events as lines: `nono: message key=value` at `-v`, with the time since
/// start (`nono: +12.3ms ...`) and the level from `-vv` on.
struct Lines {
    max: Level,
    start: Instant,
    next_span: AtomicU64,
}

impl std::fmt::Debug for Lines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lines").field("max", &self.max).finish()
    }
}

/// The message first, then the other fields as `key=value`.
#[derive(Default)]
struct Text {
    message: String,
    fields: String,
}

impl Visit for Text {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }
}

impl Subscriber for Lines {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        // More verbose levels compare greater.
        *metadata.level() <= self.max
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::from_level(self.max))
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(self.next_span.fetch_add(1, Ordering::Relaxed))
    }

    fn record(&self, _: &Id, _: &Record<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut text = Text::default();
        event.record(&mut text);
        let level = *event.metadata().level();
        let head = if self.max == Level::INFO {
            String::new()
        } else {
            let ms = self.start.elapsed().as_secs_f64() * 1000.0;
            let tag = match level {
                Level::TRACE => "trace ",
                Level::DEBUG => "debug ",
                _ => "",
            };
            format!("+{ms:.1}ms {tag}")
        };
        crate::stderr::line(&format!(
            "{} {head}{}{}",
            crate::ui::paint(Role::Subtle, "nono:"),
            crate::ui::terminal_safe(&text.message),
            crate::ui::terminal_safe(&text.fields)
        ));
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_the_count_of_v() {
        let at = |max| Lines {
            max,
            start: Instant::now(),
            next_span: AtomicU64::new(1),
        };
        let info = at(Level::INFO);
        assert!(info.max_level_hint() == Some(tracing::level_filters::LevelFilter::INFO));
        let trace = at(Level::TRACE);
        assert!(trace.max_level_hint() == Some(tracing::level_filters::LevelFilter::TRACE));
    }
}
