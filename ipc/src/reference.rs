//! Where a secret lives: a credential reference, parsed once by the front
//! end (its flags and profiles, the trusted edge) and sent as this type.
//! The keyholder matches on it; nothing re-reads a reference string by
//! prefix.
//!
//! | text | variant |
//! | --- | --- |
//! | `name`, `keystore://name` | [`CredentialRef::Keystore`] (Secret Service, service `nono`) |
//! | `keyring://service/account` | [`CredentialRef::Keyring`] |
//! | `kernel://name` | [`CredentialRef::Kernel`] (the session kernel keyring) |
//! | `env://VAR` | [`CredentialRef::Env`] (nono's environment) |
//! | `file:///path` | [`CredentialRef::File`] (absolute paths only) |
//! | `op://vault/item/field` | [`CredentialRef::OnePassword`] |
//!
//! `apple-password://` (macOS only) and any other scheme are refused here.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::IpcError;

/// A parsed credential reference. Matches on it are exhaustive on
/// purpose: a new backend must be handled everywhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CredentialRef {
    /// Secret Service, service `nono`, account `name`.
    Keystore(String),
    /// Secret Service with an explicit service.
    Keyring { service: String, account: String },
    /// The Linux session kernel keyring (`keyring-rs:name@nono`).
    Kernel(String),
    /// A variable of nono's environment (passed to the keyholder alone).
    Env(String),
    /// A regular file's contents (absolute path).
    File(String),
    /// The whole `op://` reference, read by the 1Password CLI.
    OnePassword(String),
}

const MAC_ONLY: &str = "apple-password://";

impl CredentialRef {
    /// Parse `text`; the error says what is wrong with it in one line.
    pub fn parse(text: &str) -> Result<CredentialRef, IpcError> {
        let bad = |why| IpcError::Reference {
            reference: text.to_string(),
            why,
        };
        let nonempty = |s: &str| match s.is_empty() {
            true => Err(bad("names nothing")),
            false => Ok(s.to_string()),
        };
        if text.starts_with(MAC_ONLY) {
            return Err(IpcError::MacOnlyReference);
        }
        let Some((scheme, rest)) = text.split_once("://") else {
            return Ok(CredentialRef::Keystore(nonempty(text)?));
        };
        match scheme {
            "keystore" => Ok(CredentialRef::Keystore(nonempty(rest)?)),
            "kernel" => Ok(CredentialRef::Kernel(nonempty(rest)?)),
            "env" => Ok(CredentialRef::Env(nonempty(rest)?)),
            "op" => Ok(CredentialRef::OnePassword(text.to_string())),
            "file" if rest.starts_with('/') => Ok(CredentialRef::File(rest.to_string())),
            "file" => Err(bad(
                "a file reference needs an absolute path (file:///PATH)",
            )),
            "keyring" => match rest.split_once('/') {
                Some((service, account)) if !service.is_empty() && !account.is_empty() => {
                    Ok(CredentialRef::Keyring {
                        service: service.to_string(),
                        account: account.to_string(),
                    })
                }
                _ => Err(bad("expected keyring://service/account")),
            },
            _ => Err(IpcError::UnknownScheme(text.to_string())),
        }
    }

    /// The host environment variable this reference reads, if any (it is
    /// kept from the agent).
    pub fn env_var(&self) -> Option<&str> {
        match self {
            CredentialRef::Env(var) => Some(var),
            _ => None,
        }
    }

    /// Whether reading it runs the 1Password CLI.
    pub fn needs_op(&self) -> bool {
        matches!(self, CredentialRef::OnePassword(_))
    }
}

/// The reference as the user wrote it (canonical form: a keystore name
/// without `keystore://`). Never a secret: it only says where one is.
impl fmt::Display for CredentialRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialRef::Keystore(name) => write!(f, "{name}"),
            CredentialRef::Keyring { service, account } => {
                write!(f, "keyring://{service}/{account}")
            }
            CredentialRef::Kernel(name) => write!(f, "kernel://{name}"),
            CredentialRef::Env(var) => write!(f, "env://{var}"),
            CredentialRef::File(path) => write!(f, "file://{path}"),
            CredentialRef::OnePassword(r) => write!(f, "{r}"),
        }
    }
}

impl std::str::FromStr for CredentialRef {
    type Err = IpcError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CredentialRef::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_parses_once_and_prints_back() {
        let cases = [
            (
                "github_token",
                CredentialRef::Keystore("github_token".into()),
            ),
            ("kernel://k", CredentialRef::Kernel("k".into())),
            ("env://MY_TOKEN", CredentialRef::Env("MY_TOKEN".into())),
            ("file:///run/k", CredentialRef::File("/run/k".into())),
            (
                "op://v/i/f",
                CredentialRef::OnePassword("op://v/i/f".into()),
            ),
            (
                "keyring://svc/acct",
                CredentialRef::Keyring {
                    service: "svc".into(),
                    account: "acct".into(),
                },
            ),
        ];
        for (text, want) in cases {
            let got = CredentialRef::parse(text).unwrap();
            assert_eq!(got, want, "{text}");
            assert_eq!(got.to_string(), text);
        }
        assert_eq!(
            CredentialRef::parse("keystore://ci").unwrap(),
            CredentialRef::Keystore("ci".into())
        );
    }

    #[test]
    fn malformed_references_say_why() {
        for (text, why) in [
            ("file://rel.pem", "absolute path"),
            ("keyring://nosplit", "expected keyring://service/account"),
            ("keyring:///acct", "expected keyring://service/account"),
            ("env://", "names nothing"),
            ("", "names nothing"),
            (
                "http://x",
                "unknown credential reference scheme in http://x; use NAME or keystore://NAME",
            ),
            ("apple-password://a/b", "not available on Linux"),
        ] {
            let e = CredentialRef::parse(text).unwrap_err().to_string();
            assert!(e.contains(why), "{text}: {e}");
        }
    }

    #[test]
    fn only_env_references_name_a_source_variable() {
        let env = CredentialRef::parse("env://T").unwrap();
        assert_eq!(env.env_var(), Some("T"));
        assert_eq!(CredentialRef::parse("t").unwrap().env_var(), None);
        assert!(CredentialRef::parse("op://a/b/c").unwrap().needs_op());
    }
}
