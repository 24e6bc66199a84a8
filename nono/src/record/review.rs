//! The review after a `--rollback` session: the changed, created and
//! deleted paths as a tree per tracked directory, with a diff of each
//! changed text file, then the choice to restore all, some (by number) or
//! none of them. Everything goes through the controlling terminal.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};

use rollback::manifest::diff;
use rollback::{Change, Entry, Manifest, Store};

/// Largest blob shown as a diff.
const MAX_DIFF_BYTES: usize = 256 * 1024;
/// Diff lines shown per file.
const MAX_DIFF_LINES: usize = 20;
/// Changes listed before "... and N more".
const MAX_LISTED: usize = 300;

struct Item {
    root: String,
    path: String,
    change: Change,
    before: Option<Entry>,
    after: Option<Entry>,
}

/// Every change between two manifests, in tree order.
pub struct Changes {
    items: Vec<Item>,
}

/// What to restore: per root, the chosen relative paths (empty: none
/// chosen in that root is never returned; `[""]`-like "all" is every path).
pub type Chosen = BTreeMap<String, Vec<String>>;

impl Changes {
    pub fn between(before: &Manifest, after: &Manifest) -> Changes {
        let mut items = Vec::new();
        for b in &before.roots {
            let a: &[Entry] = after
                .root(&b.root)
                .map(|r| r.entries.as_slice())
                .unwrap_or_default();
            let find = |es: &[Entry], p: &str| es.iter().find(|e| e.path == p).cloned();
            for (path, change) in diff(&b.entries, a) {
                items.push(Item {
                    root: b.root.clone(),
                    before: find(&b.entries, &path),
                    after: find(a, &path),
                    path,
                    change,
                });
            }
        }
        Changes { items }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Show the tree and ask; `None`: restore nothing.
    pub fn ask(&self, store: &Store) -> Option<Chosen> {
        let tty = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
            .ok()?;
        let mut out = &tty;
        let _ = out.write_all(self.render(store).as_bytes());
        let _ = write!(
            out,
            "nono: restore [a]ll, [n]one, or some (their numbers, e.g. 1 3-5)? [n] "
        );
        let mut reader = BufReader::new(&tty);
        let mut answer = String::new();
        reader.read_line(&mut answer).ok()?;
        let answer = answer.trim();
        match answer {
            "a" | "all" | "A" | "y" | "yes" => Some(self.select(|_| true)),
            "" | "n" | "none" | "N" | "no" => None,
            _ => match numbers(answer, self.items.len()) {
                Ok(picked) => Some(self.select(|i| picked.contains(&i))),
                Err(why) => {
                    let _ = writeln!(out, "nono: {why}; nothing restored");
                    None
                }
            },
        }
    }

    fn select(&self, pick: impl Fn(usize) -> bool) -> Chosen {
        let mut out = Chosen::new();
        for (i, it) in self.items.iter().enumerate() {
            if pick(i + 1) {
                out.entry(it.root.clone())
                    .or_default()
                    .push(it.path.clone());
            }
        }
        out
    }

    /// The numbered tree, directories that only hold changes shown once.
    fn render(&self, store: &Store) -> String {
        let mut s = format!("nono: the command changed {} path(s):\n", self.items.len());
        let mut root = "";
        let mut shown: Vec<String> = Vec::new();
        for (i, it) in self.items.iter().enumerate().take(MAX_LISTED) {
            if it.root != root {
                root = &it.root;
                shown.clear();
                s.push_str(&format!("{root}/\n"));
            }
            let parts: Vec<&str> = it.path.split('/').collect();
            for depth in 0..parts.len() - 1 {
                let dir = parts[..=depth].join("/");
                if !shown.contains(&dir) && !self.has(&it.root, &dir) {
                    s.push_str(&format!(
                        "       {}{}/\n",
                        "  ".repeat(depth + 1),
                        parts[depth]
                    ));
                    shown.push(dir);
                }
            }
            let slash = if is_dir(it) { "/" } else { "" };
            s.push_str(&format!(
                "  [{:>3}] {}{}{slash}  ({})\n",
                i + 1,
                "  ".repeat(parts.len()),
                parts[parts.len() - 1],
                it.change.label()
            ));
            s.push_str(&text_diff(store, it, 9 + 2 * parts.len()));
        }
        if self.items.len() > MAX_LISTED {
            s.push_str(&format!(
                "  ... and {} more (all of them with [a]ll)\n",
                self.items.len() - MAX_LISTED
            ));
        }
        s
    }

    fn has(&self, root: &str, path: &str) -> bool {
        self.items.iter().any(|i| i.root == root && i.path == path)
    }
}

fn is_dir(it: &Item) -> bool {
    it.after
        .as_ref()
        .or(it.before.as_ref())
        .is_some_and(|e| e.kind == rollback::Kind::Dir)
}

/// "1 3-5,7" → the numbers, each within 1..=max.
fn numbers(answer: &str, max: usize) -> Result<Vec<usize>, String> {
    let mut out = Vec::new();
    for part in answer.split([' ', ',']).filter(|p| !p.is_empty()) {
        let bad = || format!("'{part}' is not a change number (1-{max}) or a range of them");
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a, b),
            None => (part, part),
        };
        let (a, b): (usize, usize) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
        if a == 0 || b < a || b > max {
            return Err(bad());
        }
        out.extend(a..=b);
    }
    Ok(out)
}

/// A text blob's lines (`None`: binary, too large, or unreadable).
fn text(store: &Store, e: Option<&Entry>) -> Option<Vec<String>> {
    let Some(e) = e else {
        return Some(Vec::new());
    };
    let h = e.hash.as_deref()?;
    if e.size as usize > MAX_DIFF_BYTES {
        return None;
    }
    let bytes = store.read(h).ok()?;
    if bytes.contains(&0) {
        return None;
    }
    let t = String::from_utf8(bytes).ok()?;
    Some(t.lines().map(str::to_string).collect())
}

/// The diff of a changed, created or deleted regular file, indented.
fn text_diff(store: &Store, it: &Item, indent: usize) -> String {
    let file = |e: &Option<Entry>| e.as_ref().is_none_or(|e| e.kind == rollback::Kind::File);
    if !matches!(
        it.change,
        Change::Modified | Change::Created | Change::Deleted
    ) || !file(&it.before)
        || !file(&it.after)
    {
        return String::new();
    }
    let pad = " ".repeat(indent);
    let (Some(old), Some(new)) = (
        text(store, it.before.as_ref()),
        text(store, it.after.as_ref()),
    ) else {
        return format!("{pad}(binary or large file: no diff)\n");
    };
    let lines = line_diff(&old, &new);
    let mut s = String::new();
    for l in lines.iter().take(MAX_DIFF_LINES) {
        s.push_str(&format!("{pad}{l}\n"));
    }
    if lines.len() > MAX_DIFF_LINES {
        s.push_str(&format!(
            "{pad}... {} more diff line(s)\n",
            lines.len() - MAX_DIFF_LINES
        ));
    }
    s
}

/// Removed (`-`) and added (`+`) lines, in order (longest common
/// subsequence; files too long for it are shown as all removed, all added).
fn line_diff(old: &[String], new: &[String]) -> Vec<String> {
    let (n, m) = (old.len(), new.len());
    if n.saturating_mul(m) > 4_000_000 {
        let mut out: Vec<String> = old.iter().map(|l| format!("-{l}")).collect();
        out.extend(new.iter().map(|l| format!("+{l}")));
        return out;
    }
    // lcs[i][j]: the longest common subsequence of old[i..] and new[j..].
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if old[i] == new[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < n || j < m {
        if i < n && j < m && old[i] == new[j] {
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push(format!("-{}", old[i]));
            i += 1;
        } else {
            out.push(format!("+{}", new[j]));
            j += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_numbers_and_ranges() {
        assert_eq!(numbers("1 3-4,6", 6).unwrap(), vec![1, 3, 4, 6]);
        assert!(numbers("0", 3).is_err());
        assert!(numbers("4", 3).is_err());
        assert!(numbers("x", 3).is_err());
        assert!(numbers("3-1", 3).is_err());
    }

    #[test]
    fn diffs_lines() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            line_diff(&v(&["a", "b", "c"]), &v(&["a", "x", "c", "d"])),
            vec!["-b", "+x", "+d"]
        );
        assert_eq!(line_diff(&v(&[]), &v(&["n"])), vec!["+n"]);
    }
}
