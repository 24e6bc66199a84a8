//! The profile file format (JSON or TOML, same fields) and its parser.
//!
//! Unknown fields are rejected with the nearest valid name; every error
//! names the file, line, column and field.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

pub use super::plain::ParseError;

use serde::{Deserialize, Serialize};

/// Where `needle` (a value from the file) first appears, as `line:column`.
pub fn locate(text: &str, needle: &str) -> Option<(usize, usize)> {
    let at = text.find(needle)?;
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = at - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    Some((line, col))
}

/// Workdir sharing level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum WorkdirAccess {
    #[default]
    None,
    Read,
    Write,
    Readwrite,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Workdir {
    #[serde(default)]
    pub access: WorkdirAccess,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Filesystem {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub read: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub write: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_file: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub read_file: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub write_file: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suppress_save_prompt: Vec<String>,
    /// Pathname unix sockets (as the `--allow-unix-socket*` flags).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_unix_socket: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_unix_socket_bind: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_unix_socket_dir: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_unix_socket_dir_bind: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_unix_socket_subtree: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_unix_socket_subtree_bind: Vec<String>,
}

/// Network settings. Only `block` is enforced in this release; the proxy
/// fields are parsed and kept for the proxy.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Network {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_profile: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_hosts: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_domain: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proxy_credentials: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub credentials: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom_credentials: BTreeMap<String, serde_json::Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub open_port: Vec<u16>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub listen_port: Vec<u16>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Security {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipc_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capability_elevation: Option<bool>,
    /// Leave SysV IPC (and POSIX message queues) shared with the user's
    /// other processes instead of isolating or refusing it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_sysv_ipc: Option<bool>,
    /// Let the agent change git hooks and git configuration in granted
    /// directories (as `--allow-git-config-writes`); read-only by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_git_config_writes: Option<bool>,
    /// Permit `--allow-gpu` with this profile (GPU devices, Vulkan
    /// manifests, GPU sysfs). Without it, `--allow-gpu --profile` is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_gpu: Option<bool>,
    /// Older spelling of `commands.allow` (deprecated; a warning says so).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_commands: Vec<String>,
}

/// The upstream JSON spelling of group selection.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GroupSelection {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PolicySection {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add_deny_access: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add_deny_write: Vec<String>,
    /// Existing files or directories inside writable grants kept read-only
    /// (bind-mounted read-only, so the grant around them stays whole), e.g.
    /// an agent's hook-bearing settings. A missing one is skipped.
    /// `--bypass-protection PATH` lifts one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keep_read_only: Vec<String>,
    /// The shared format's spelling, folded in at load (`policy::modes`):
    /// `access` adds to `add_deny_access`, `commands` to `commands.block`;
    /// `unlink = true` is refused (see `modes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deny: Option<PolicyDeny>,
}

/// `policy.deny`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PolicyDeny {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unlink: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Undo {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_patterns: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_globs: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Commands {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub block: Vec<String>,
}

/// `[codex]`: Codex reads its model provider only from its configuration
/// (it ignores `OPENAI_BASE_URL`), and its own nested sandbox cannot start
/// inside nono. nono gives Codex a per-session `CODEX_HOME` whose
/// `config.toml` is the user's, plus `sandbox_mode = "danger-full-access"`
/// (nono is the external sandbox) and, with `--credential openai`, a model
/// provider pointing at the proxy route with the phantom key. Every other
/// entry links to `home`, the user's Codex directory.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CodexSection {
    pub home: String,
}

/// `extends = "a"` or `extends = ["a", "b"]`.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(untagged)]
pub enum Extends {
    One(String),
    Many(Vec<String>),
}

/// Hand-written so a wrong value says what is expected in the profile's
/// own terms (serde's untagged enums name the Rust type).
impl<'de> Deserialize<'de> for Extends {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Extends;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a profile name or path, or a list of them")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Extends, E> {
                Ok(Extends::One(v.to_string()))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Extends, A::Error> {
                let mut out = Vec::new();
                while let Some(n) = a.next_element::<String>()? {
                    out.push(n);
                }
                Ok(Extends::Many(out))
            }
        }
        d.deserialize_any(V)
    }
}

impl Extends {
    pub fn names(&self) -> Vec<String> {
        match self {
            Extends::One(n) => vec![n.clone()],
            Extends::Many(v) => v.clone(),
        }
    }
}

/// A profile as written in a file.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extends: Option<Extends>,
    #[serde(default)]
    pub meta: Meta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workdir: Option<Workdir>,
    #[serde(default)]
    pub filesystem: Filesystem,
    #[serde(default)]
    pub network: Network,
    #[serde(default)]
    pub security: Security,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<GroupSelection>,
    #[serde(default)]
    pub policy: PolicySection,
    /// Keystore account -> environment variable (`[secrets]`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secrets: BTreeMap<String, String>,
    /// Keystore account -> environment variable.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env_credentials: BTreeMap<String, String>,
    /// Environment variables set to a path (profile variables such as
    /// `$HOME` expanded), e.g. where an agent keeps its state. Skipped when
    /// a variable has no value here.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env_paths: BTreeMap<String, String>,
    /// A copy in a granted directory -> the user's file it mirrors (copied
    /// in before the session, a changed copy back after; see
    /// `launch/mirror.rs`), for state an agent replaces atomically.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub mirror_files: BTreeMap<String, String>,
    /// A `mirror_files` copy (JSON) -> key paths (dot-separated, `*` for
    /// any key) that are never copied back: the user's values stay, e.g.
    /// commands an agent would start next time (`mcpServers`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub mirror_user_keys: BTreeMap<String, Vec<String>>,
    /// Codex: run it with a nono-provided `CODEX_HOME` (see `CodexSection`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codex: Option<CodexSection>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undo: Option<Undo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interactive: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commands: Option<Commands>,
}

impl Profile {
    /// Group names from both spellings (`security.groups`, `groups.include`).
    pub fn group_names(&self) -> Vec<String> {
        let mut g = self.security.groups.clone();
        if let Some(sel) = &self.groups {
            g.extend(sel.include.iter().cloned());
        }
        g
    }
}

/// Which syntax a file uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Toml,
}

impl Format {
    pub fn of(path: &Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some("toml") => Format::Toml,
            _ => Format::Json,
        }
    }
}

/// Parse a profile from `text`; `file` is used in error messages (see
/// `plain` for their wording).
pub fn parse(text: &str, format: Format, file: &str) -> Result<Profile, ParseError> {
    match format {
        Format::Json => {
            let mut de = serde_json::Deserializer::from_str(text);
            serde_path_to_error::deserialize(&mut de)
                .map_err(|e| super::plain::json(text, file, &e))
        }
        Format::Toml => {
            let de = toml::Deserializer::new(text);
            serde_path_to_error::deserialize(de).map_err(|e| super::plain::toml(text, file, &e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_toml_parse_to_the_same_profile() {
        let j = r#"{"meta":{"name":"x"},"extends":"default","workdir":{"access":"readwrite"},
            "filesystem":{"allow":["$HOME/a"]},"network":{"block":true},"secrets":{"k":"K"}}"#;
        let t = "extends = \"default\"\n[meta]\nname = \"x\"\n[workdir]\naccess = \"readwrite\"\n\
                 [filesystem]\nallow = [\"$HOME/a\"]\n[network]\nblock = true\n[secrets]\nk = \"K\"\n";
        assert_eq!(
            parse(j, Format::Json, "a.json").unwrap(),
            parse(t, Format::Toml, "a.toml").unwrap()
        );
    }

    #[test]
    fn malformed_json_reports_line_and_column() {
        let e = parse(
            "{\n  \"meta\": {\n    \"name\": \"x\",\n  }\n}",
            Format::Json,
            "p.json",
        )
        .unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("p.json", 4));
        assert!(e.column > 0);
        assert!(e.to_string().starts_with("p.json:4:"), "{e}");
    }

    #[test]
    fn malformed_toml_reports_line_and_column() {
        let e = parse(
            "[meta]\nname = \"x\"\n[filesystem]\nallow = [\"a\",\n",
            Format::Toml,
            "p.toml",
        )
        .unwrap_err();
        assert!(e.line >= 4, "{e}");
        let e = parse("[meta\n", Format::Toml, "p.toml").unwrap_err();
        assert!(!e.to_string().contains('\n'), "one line: {e}");
        assert!(
            e.to_string()
                .starts_with("p.toml:1:6: invalid table header; expected"),
            "{e}"
        );
    }

    #[test]
    fn unknown_field_names_the_field_and_nearest() {
        let e = parse("{\"filesystem\": {\"alow\": []}}", Format::Json, "p.json").unwrap_err();
        assert!(e.message.contains("did you mean `allow`"), "{e}");
        assert_eq!(e.line, 1);
        let e = parse("[netwrok]\nblock = true\n", Format::Toml, "p.toml").unwrap_err();
        assert!(e.message.contains("did you mean `network`"), "{e}");
        assert_eq!(e.line, 1, "{e}");
    }

    #[test]
    fn a_bad_extends_speaks_of_profiles_not_rust_types() {
        let e = parse("{\"extends\": 3}", Format::Json, "p.json").unwrap_err();
        assert!(e.message.contains("a profile name"), "{e}");
        assert!(!e.to_string().contains("enum"), "{e}");
        let e = parse("extends = { a = 1 }\n", Format::Toml, "p.toml").unwrap_err();
        assert!(
            e.message.contains("a profile name") && !e.message.contains("enum"),
            "{e}"
        );
        let ok = parse("extends = [\"a\", \"b\"]\n", Format::Toml, "p.toml").unwrap();
        assert_eq!(
            ok.extends,
            Some(Extends::Many(vec!["a".into(), "b".into()]))
        );
    }

    #[test]
    fn wrong_type_names_the_field_path() {
        let e = parse(
            "{\"network\": {\"block\": \"yes\"}}",
            Format::Json,
            "p.json",
        )
        .unwrap_err();
        assert_eq!(e.field, "network.block", "{e}");
        let e = parse("[workdir]\naccess = \"all\"\n", Format::Toml, "p.toml").unwrap_err();
        assert_eq!(e.field, "workdir.access", "{e}");
        assert_eq!(e.line, 2, "{e}");
    }
}
