//! Policy: profiles, groups, protected paths, the decisions `why`
//! explains, and the one `Plan` of a session (`plan/`), from which the
//! capability set, the broker's wire form, `--dry-run` and `why`'s view are
//! derived. The launch code only reads the plan.

pub mod check;
pub mod commands;
pub mod credentials;
pub mod decide;
pub mod decide_host;
pub mod decide_unix;
pub mod elevation;
pub mod glob;
pub mod group;
pub mod groups;
pub mod load;
pub mod merge;
pub mod modes;
pub mod parents;
pub mod persist;
pub mod plain;
pub mod plan;
pub mod procfs;
pub mod profile;
pub mod program;
pub mod protect;
pub mod resolve;
pub mod sysv;
pub mod unix;
pub mod user_groups;
pub mod vars;

/// The candidate closest to `word` by edit distance, if reasonably close.
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, c)| *d <= (c.len().max(word.len()) / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_finds_typos_and_ignores_strangers() {
        assert_eq!(nearest("alow", ["allow", "read", "write"]), Some("allow"));
        assert_eq!(nearest("netwrok", ["network", "meta"]), Some("network"));
        assert_eq!(nearest("zzzzzz", ["allow", "read"]), None);
    }
}
