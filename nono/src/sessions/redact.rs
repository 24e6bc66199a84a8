//! Masking secret-looking values in a command line before it is stored
//! (session records, `ps`): values of flags and `NAME=value` words whose
//! name mentions a token, key, secret, password or credential, and such
//! query parameters in URLs.

const SECRET_WORDS: &[&str] = &[
    "token",
    "secret",
    "passw",
    "apikey",
    "api-key",
    "api_key",
    "credential",
    "auth",
    "key",
];
const MASK: &str = "[redacted]";

fn secretish(name: &str) -> bool {
    let n = name.trim_start_matches('-').to_ascii_lowercase();
    SECRET_WORDS.iter().any(|w| n.contains(w))
}

fn mask_query(word: &str) -> String {
    let Some((base, query)) = word.split_once('?') else {
        return word.to_string();
    };
    let parts: Vec<String> = query
        .split('&')
        .map(|kv| match kv.split_once('=') {
            Some((k, _)) if secretish(k) => format!("{k}={MASK}"),
            _ => kv.to_string(),
        })
        .collect();
    format!("{base}?{}", parts.join("&"))
}

/// The command line with secret-looking values masked.
pub fn command(words: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(words.len());
    let mut mask_next = false;
    for w in words {
        if mask_next {
            out.push(MASK.to_string());
            mask_next = false;
            continue;
        }
        if let Some((name, _)) = w.split_once('=').filter(|(n, _)| !n.contains('/')) {
            if secretish(name) {
                out.push(format!("{name}={MASK}"));
                continue;
            }
        }
        if w.starts_with('-') && !w.contains('=') && secretish(w) {
            mask_next = true;
        }
        out.push(if w.contains("://") {
            mask_query(w)
        } else {
            w.clone()
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_in_every_form() {
        let words: Vec<String> = [
            "agent",
            "--token",
            "S1",
            "--api-key=S2",
            "GITHUB_TOKEN=S3",
            "https://x.test/p?a=1&access_token=S4",
            "--verbose",
            "file.txt",
        ]
        .map(String::from)
        .to_vec();
        let got = command(&words).join(" ");
        for s in ["S1", "S2", "S3", "S4"] {
            assert!(!got.contains(s), "{got}");
        }
        assert!(
            got.contains("--verbose file.txt") && got.contains("a=1"),
            "{got}"
        );
    }
}
