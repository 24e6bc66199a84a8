//! The redaction policy: what is replaced by [`REDACTED`] before anything
//! reaches disk. The default covers token-bearing flags (`--token S`,
//! `--api-key=S`), `Authorization`-like headers (`-H "Authorization: …"`),
//! secret-looking URL query keys, URL passwords, `Bearer` tokens and
//! secret-looking `NAME=value` assignments. `[redaction]` in the user's
//! configuration extends it; lifting a default needs an explicit unsafe
//! opt-in, and any non-default policy is reported as a diff.

use std::collections::BTreeSet;

use serde::Deserialize;

use crate::error::{AuditError, Result};

/// What a redacted value is replaced with.
pub const REDACTED: &str = "[REDACTED]";

const FLAGS: &[&str] = &[
    "--token",
    "--api-key",
    "--apikey",
    "--access-token",
    "--auth-token",
    "--refresh-token",
    "--id-token",
    "--bearer",
    "--password",
    "--passwd",
    "--secret",
    "--client-secret",
    "--private-key",
    "--auth",
    "--key",
    "--credentials",
];

const HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "api-key",
    "x-auth-token",
    "x-goog-api-key",
    "private-token",
    "x-amz-security-token",
];

const QUERY_KEYS: &[&str] = &[
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "api_key",
    "apikey",
    "key",
    "secret",
    "client_secret",
    "password",
    "passwd",
    "auth",
    "code",
    "state",
    "session",
    "x-amz-signature",
    "x-amz-security-token",
];

/// Parts of a variable name that make `NAME=value` secret-looking.
const SECRET_NAME_PARTS: &[&str] = &["TOKEN", "SECRET", "PASSWORD", "PASSWD", "API_KEY", "APIKEY"];

/// `[redaction]` in `~/.config/nono/config.toml`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RedactionConfig {
    #[serde(default)]
    pub extra_flags: Vec<String>,
    #[serde(default)]
    pub extra_headers: Vec<String>,
    #[serde(default)]
    pub extra_query_keys: Vec<String>,
    #[serde(default)]
    pub unsafe_redaction_overrides: bool,
    #[serde(default)]
    pub allow_unredacted_defaults: Vec<String>,
}

/// The policy in force for one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    flags: BTreeSet<String>,
    headers: BTreeSet<String>,
    query_keys: BTreeSet<String>,
    diff: Vec<String>,
}

impl Default for Policy {
    fn default() -> Policy {
        let set = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
        Policy {
            flags: set(FLAGS),
            headers: set(HEADERS),
            query_keys: set(QUERY_KEYS),
            diff: Vec::new(),
        }
    }
}

fn norm_flag(f: &str) -> String {
    let f = f.trim().to_ascii_lowercase();
    if f.starts_with('-') {
        f
    } else {
        format!("--{f}")
    }
}

impl Policy {
    /// The default extended (or, with the unsafe opt-in, reduced) by the
    /// user's configuration.
    pub fn from_config(c: &RedactionConfig) -> Result<Policy> {
        let mut p = Policy::default();
        for f in &c.extra_flags {
            if p.flags.insert(norm_flag(f)) {
                p.diff.push(format!("+flag {}", norm_flag(f)));
            }
        }
        for h in &c.extra_headers {
            let h = h.trim().to_ascii_lowercase();
            if p.headers.insert(h.clone()) {
                p.diff.push(format!("+header {h}"));
            }
        }
        for q in &c.extra_query_keys {
            let q = q.trim().to_ascii_lowercase();
            if p.query_keys.insert(q.clone()) {
                p.diff.push(format!("+query_key {q}"));
            }
        }
        if !c.allow_unredacted_defaults.is_empty() && !c.unsafe_redaction_overrides {
            return Err(AuditError::Redaction(
                "allow_unredacted_defaults needs unsafe_redaction_overrides = true".into(),
            ));
        }
        for name in &c.allow_unredacted_defaults {
            p.lift(name)?;
        }
        Ok(p)
    }

    fn lift(&mut self, name: &str) -> Result<()> {
        let low = name.trim().to_ascii_lowercase();
        let mut lifted = false;
        if self.flags.remove(&norm_flag(&low)) {
            self.diff.push(format!("-flag {}", norm_flag(&low)));
            lifted = true;
        }
        if self.headers.remove(&low) {
            self.diff.push(format!("-header {low}"));
            lifted = true;
        }
        if self.query_keys.remove(&low) {
            self.diff.push(format!("-query_key {low}"));
            lifted = true;
        }
        if lifted {
            Ok(())
        } else {
            Err(AuditError::Redaction(format!(
                "allow_unredacted_defaults: '{name}' is not a default flag, header or query key"
            )))
        }
    }

    /// How this policy differs from the default (empty: the default).
    pub fn diff(&self) -> &[String] {
        &self.diff
    }

    /// An argument list: a token-bearing flag hides the next argument.
    pub fn args(&self, args: &[String]) -> Vec<String> {
        let mut out = Vec::with_capacity(args.len());
        let mut hide_next = false;
        for a in args {
            if hide_next {
                out.push(REDACTED.to_string());
                hide_next = false;
                continue;
            }
            hide_next = self.flags.contains(&a.to_ascii_lowercase());
            out.push(self.text(a));
        }
        out
    }

    /// One free-form string (an argument, a path, a message).
    pub fn text(&self, s: &str) -> String {
        if let Some(h) = self.header(s) {
            return h;
        }
        if let Some(f) = self.flag_assignment(s) {
            return f;
        }
        let mut out = String::with_capacity(s.len());
        let mut word = String::new();
        let mut after_bearer = false;
        for c in s.chars().chain(std::iter::once(' ')) {
            if !c.is_whitespace() {
                word.push(c);
                continue;
            }
            if !word.is_empty() {
                let hidden = if after_bearer {
                    REDACTED.to_string()
                } else {
                    self.word(&word)
                };
                after_bearer =
                    word.eq_ignore_ascii_case("bearer") || word.eq_ignore_ascii_case("basic");
                out.push_str(&hidden);
                word.clear();
            }
            out.push(c);
        }
        out.pop();
        out
    }

    /// `Name: value` with a listed header name.
    fn header(&self, s: &str) -> Option<String> {
        let (name, _) = s.split_once(':')?;
        let low = name.trim().to_ascii_lowercase();
        (!low.is_empty() && !low.contains(char::is_whitespace) && self.headers.contains(&low))
            .then(|| format!("{name}: {REDACTED}"))
    }

    /// `--flag=value` with a listed flag.
    fn flag_assignment(&self, s: &str) -> Option<String> {
        let (flag, _) = s.split_once('=')?;
        self.flags
            .contains(&flag.to_ascii_lowercase())
            .then(|| format!("{flag}={REDACTED}"))
    }

    fn word(&self, w: &str) -> String {
        if let Some((name, _)) = w.split_once('=') {
            let up = name.to_ascii_uppercase();
            let plain =
                !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if plain && SECRET_NAME_PARTS.iter().any(|p| up.contains(p)) {
                return format!("{name}={REDACTED}");
            }
        }
        let w = redact_userinfo(w);
        self.query(&w)
    }

    /// Values of listed keys in the query part of a URL or path.
    fn query(&self, w: &str) -> String {
        let Some((head, rest)) = w.split_once('?') else {
            return w.to_string();
        };
        let (q, frag) = match rest.split_once('#') {
            Some((q, f)) => (q, Some(f)),
            None => (rest, None),
        };
        let parts: Vec<String> = q
            .split('&')
            .map(|kv| match kv.split_once('=') {
                Some((k, _)) if self.query_keys.contains(&k.to_ascii_lowercase()) => {
                    format!("{k}={REDACTED}")
                }
                _ => kv.to_string(),
            })
            .collect();
        let mut out = format!("{head}?{}", parts.join("&"));
        if let Some(f) = frag {
            out.push('#');
            out.push_str(f);
        }
        out
    }

    /// Every string in a JSON value; arrays of strings are argument lists.
    pub fn value(&self, v: &mut serde_json::Value) {
        use serde_json::Value;
        match v {
            Value::String(s) => *s = self.text(s),
            Value::Array(items) if items.iter().all(Value::is_string) => {
                let args: Vec<String> = items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_string))
                    .collect();
                *items = self.args(&args).into_iter().map(Value::String).collect();
            }
            Value::Array(items) => items.iter_mut().for_each(|i| self.value(i)),
            Value::Object(map) => map.values_mut().for_each(|i| self.value(i)),
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
}

/// `scheme://user:password@host` → `scheme://user:[REDACTED]@host`.
fn redact_userinfo(w: &str) -> String {
    let Some(i) = w.find("://") else {
        return w.to_string();
    };
    let (scheme, rest) = w.split_at(i + 3);
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let Some(at) = authority.rfind('@') else {
        return w.to_string();
    };
    match authority[..at].split_once(':') {
        Some((user, _)) => format!("{scheme}{user}:{REDACTED}{}", &rest[at..]),
        None => w.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn flags_headers_queries_and_assignments_are_hidden() {
        let p = Policy::default();
        let got = p.args(&s(&[
            "curl",
            "--token",
            "S1",
            "--api-key=S2",
            "-H",
            "Authorization: Bearer S3",
            "https://h/p?x=1&access_token=S4#f",
            "https://u:S5@h/",
            "GITHUB_TOKEN=S6",
            "Bearer S7",
        ]));
        let joined = got.join(" ");
        for secret in ["S1", "S2", "S3", "S4", "S5", "S6", "S7"] {
            assert!(!joined.contains(secret), "{secret} in {joined}");
        }
        assert!(joined.contains("https://h/p?x=1&access_token=[REDACTED]#f"));
        assert_eq!(got[0], "curl");
    }

    #[test]
    fn config_extends_and_unsafe_lifts() {
        let c = RedactionConfig {
            extra_flags: s(&["--pat"]),
            extra_query_keys: s(&["sig"]),
            ..Default::default()
        };
        let p = Policy::from_config(&c).unwrap();
        assert_eq!(p.args(&s(&["--pat", "X"]))[1], REDACTED);
        assert!(!p.text("/a?sig=X").contains('X'));
        assert_eq!(p.diff(), ["+flag --pat", "+query_key sig"]);
        let lift = RedactionConfig {
            allow_unredacted_defaults: s(&["state"]),
            ..Default::default()
        };
        assert!(Policy::from_config(&lift).is_err());
        let lift = RedactionConfig {
            unsafe_redaction_overrides: true,
            ..lift
        };
        let p = Policy::from_config(&lift).unwrap();
        assert_eq!(p.text("/cb?state=abc"), "/cb?state=abc");
        assert_eq!(p.diff(), ["-query_key state"]);
    }

    #[test]
    fn json_values_are_walked() {
        let mut v = serde_json::json!({"cmd": ["x", "--token", "S"], "u": "http://h/?token=S"});
        Policy::default().value(&mut v);
        assert!(!v.to_string().contains("\"S\""));
        assert!(!v.to_string().contains("=S"));
    }
}
