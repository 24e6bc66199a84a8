//! The trust variables pointed at the session's bundle when the proxy
//! intercepts TLS (URL-path rules), as data: each client family and the
//! variable it reads. The bundle holds the system roots (or the user's
//! `SSL_CERT_FILE`) plus the session CA, so hosts that are not intercepted
//! still verify; variables that *add* to a built-in store get the session
//! CA alone.
//!
//! `SSL_CERT_DIR` is removed from the agent's environment in such
//! sessions (see `policy::plan`): a hashed directory cannot hold the
//! session CA, and clients that prefer the directory to the file would
//! miss it. Nothing is lost: the bundle carries the system roots.

/// Variables that replace a client's roots: they get the full bundle.
const BUNDLE_VARS: &[(&str, &str)] = &[
    (
        "SSL_CERT_FILE",
        "OpenSSL, Go, rustls-native-certs, Python ssl",
    ),
    ("CURL_CA_BUNDLE", "curl, and Python requests as a fallback"),
    ("REQUESTS_CA_BUNDLE", "Python requests"),
    ("GIT_SSL_CAINFO", "git over https"),
    ("PIP_CERT", "pip"),
    ("AWS_CA_BUNDLE", "AWS CLI and SDKs"),
    ("CARGO_HTTP_CAINFO", "cargo"),
    ("DENO_CERT", "Deno"),
    (
        "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH",
        "gRPC core (C++, Python, Ruby)",
    ),
    ("BUNDLE_SSL_CA_CERT", "Ruby Bundler"),
    ("HEX_CACERTS_PATH", "Elixir Hex"),
    ("NIX_SSL_CERT_FILE", "Nix"),
    ("NPM_CONFIG_CAFILE", "npm"),
];

/// Variables that add to a built-in store: the session CA alone.
const ADDING_VARS: &[(&str, &str)] = &[("NODE_EXTRA_CA_CERTS", "Node.js")];

/// Variables removed from the agent's environment when interception is on.
pub const REMOVED_WITH_INTERCEPTION: &[&str] = &["SSL_CERT_DIR"];

/// `(variable, path)` for every trust variable.
pub fn vars(bundle: &str, ca_only: &str) -> Vec<(String, String)> {
    BUNDLE_VARS
        .iter()
        .map(|(k, _)| (k.to_string(), bundle.to_string()))
        .chain(
            ADDING_VARS
                .iter()
                .map(|(k, _)| (k.to_string(), ca_only.to_string())),
        )
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_common_variable_is_set() {
        let v = super::vars("/b", "/c");
        for k in [
            "SSL_CERT_FILE",
            "CURL_CA_BUNDLE",
            "REQUESTS_CA_BUNDLE",
            "GIT_SSL_CAINFO",
            "PIP_CERT",
            "AWS_CA_BUNDLE",
            "CARGO_HTTP_CAINFO",
            "DENO_CERT",
            "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH",
            "BUNDLE_SSL_CA_CERT",
            "HEX_CACERTS_PATH",
            "NIX_SSL_CERT_FILE",
        ] {
            assert!(v.contains(&(k.into(), "/b".into())), "{k}");
        }
        assert!(v.contains(&("NODE_EXTRA_CA_CERTS".into(), "/c".into())));
    }
}
