//! One line of strace output (`-yy -xx`: every string hex-escaped, every
//! descriptor annotated with what it names) as a call: name, raw
//! arguments, return value and the return value's annotation.
//!
//! With `-xx` no quote, comma or bracket can appear inside a string, so
//! splitting the arguments at top-level commas is exact.

use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;

/// One completed system call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub name: String,
    pub args: Vec<String>,
    pub ret: i64,
    /// `3</path/of/the/file>` gives `/path/of/the/file` (still escaped).
    pub ret_note: Option<String>,
    /// `-1 ENOENT (...)` gives `ENOENT`.
    pub errno: Option<String>,
}

/// Parse one line; `None` for signals, exits, unfinished or malformed lines.
pub fn line(l: &str) -> Option<Call> {
    let l = l.trim_end();
    let open = l.find('(')?;
    let name = &l[..open];
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return None;
    }
    let eq = l.rfind(") = ")?;
    let args = split_args(&l[open + 1..eq]);
    let (ret, ret_note, errno) = ret_value(&l[eq + 4..])?;
    Some(Call {
        name: name.to_string(),
        args,
        ret,
        ret_note,
        errno,
    })
}

fn ret_value(s: &str) -> Option<(i64, Option<String>, Option<String>)> {
    let end = s
        .find(|c: char| !(c == '-' || c.is_ascii_digit()))
        .unwrap_or(s.len());
    let ret: i64 = s[..end].parse().ok()?;
    let rest = &s[end..];
    // `3</dev/null<char 1:3>>`: the path ends at the device's own note
    // (a hex-escaped path never contains `<`).
    let note = rest
        .strip_prefix('<')
        .and_then(|r| r.rfind('>').map(|i| &r[..i]))
        .map(|n| n.split('<').next().unwrap_or(n).to_string());
    let errno = (ret < 0)
        .then(|| rest.split_whitespace().next().map(String::from))
        .flatten();
    Some((ret, note, errno))
}

/// Split at commas outside strings and brackets.
pub fn split_args(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut depth, mut quoted, mut start) = (0i32, false, 0);
    let bytes = s.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b'{' | b'[' | b'(' | b'<' if !quoted => depth += 1,
            b'}' | b']' | b')' | b'>' if !quoted => depth -= 1,
            b',' if !quoted && depth == 0 => {
                out.push(s[start..i].trim().to_string());
                start = i + 1;
            }
            _ => {}
        }
    }
    let last = s[start..].trim();
    if !last.is_empty() {
        out.push(last.to_string());
    }
    out
}

/// Decode strace's escapes (`\xNN`, `\n`, `\t`, `\\`, `\"`, octal).
pub fn unescape(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len() / 4);
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' || i + 1 >= b.len() {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let (byte, used) = match b[i + 1] {
            b'x' => (hex_byte(b.get(i + 2..i + 4)), 4),
            b'n' => (Some(b'\n'), 2),
            b't' => (Some(b'\t'), 2),
            b'r' => (Some(b'\r'), 2),
            b'v' => (Some(0x0b), 2),
            b'f' => (Some(0x0c), 2),
            b'0'..=b'7' => octal(&b[i + 1..]),
            other => (Some(other), 2),
        };
        out.extend(byte);
        i += used;
    }
    out
}

fn hex_byte(h: Option<&[u8]>) -> Option<u8> {
    std::str::from_utf8(h?)
        .ok()
        .and_then(|s| u8::from_str_radix(s, 16).ok())
}

fn octal(b: &[u8]) -> (Option<u8>, usize) {
    let n = b
        .iter()
        .take(3)
        .take_while(|c| (b'0'..=b'7').contains(c))
        .count();
    let v = std::str::from_utf8(&b[..n])
        .ok()
        .and_then(|s| u32::from_str_radix(s, 8).ok())
        .and_then(|v| u8::try_from(v).ok());
    (v, n + 1)
}

/// The first quoted string in `arg`, decoded (`"..."` or `@"..."`).
pub fn string(arg: &str) -> Option<Vec<u8>> {
    let start = arg.find('"')? + 1;
    let len = arg[start..].find('"')?;
    Some(unescape(&arg[start..start + len]))
}

/// The path an annotated descriptor names: `3</a/b>` or `AT_FDCWD</cwd>`.
pub fn fd_path(arg: &str) -> Option<PathBuf> {
    let start = arg.find('<')? + 1;
    let end = arg.rfind('>')?;
    let inner = arg.get(start..end)?;
    let inner = inner.split('<').next().unwrap_or(inner);
    inner
        .starts_with("\\x2f")
        .then(|| PathBuf::from(std::ffi::OsString::from_vec(unescape(inner))))
}

/// A path from a quoted string argument.
pub fn path(arg: &str) -> Option<PathBuf> {
    string(arg).map(|b| PathBuf::from(std::ffi::OsString::from_vec(b)))
}

/// `name=VALUE` inside a structure argument, e.g. `sin_port=htons(443)`.
pub fn field<'a>(arg: &'a str, name: &str) -> Option<&'a str> {
    let key = format!("{name}=");
    let start = arg.find(&key)? + key.len();
    let rest = &arg[start..];
    let mut depth = 0i32;
    for (i, c) in rest.char_indices() {
        match c {
            '(' | '{' | '[' => depth += 1,
            ')' | '}' | ']' if depth > 0 => depth -= 1,
            ',' | '}' if depth == 0 => return Some(&rest[..i]),
            _ => {}
        }
    }
    Some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_an_annotated_openat() {
        let l = r#"openat(AT_FDCWD<\x2f\x74>, "\x2f\x65\x74\x63", O_RDONLY|O_CLOEXEC) = 3<\x2f\x65\x74\x63>"#;
        let c = line(l).unwrap();
        assert_eq!(c.name, "openat");
        assert_eq!(c.args.len(), 3);
        assert_eq!(fd_path(&c.args[0]), Some(PathBuf::from("/t")));
        assert_eq!(path(&c.args[1]), Some(PathBuf::from("/etc")));
        assert_eq!(c.ret, 3);
        assert_eq!(c.ret_note.as_deref(), Some(r"\x2f\x65\x74\x63"));
    }

    #[test]
    fn device_notes_are_not_part_of_the_path() {
        let c =
            line(r#"openat(AT_FDCWD<\x2f>, "\x2f\x6e", O_WRONLY|O_CREAT) = 3<\x2f\x6e<char 1:3>>"#)
                .unwrap();
        assert_eq!(c.ret_note.as_deref(), Some(r"\x2f\x6e"));
        assert_eq!(
            fd_path("3<\\x2f\\x6e<char 1:3>>"),
            Some(PathBuf::from("/n"))
        );
    }

    #[test]
    fn errors_signals_and_exits() {
        let c =
            line(r#"access("\x2f\x61", R_OK) = -1 ENOENT (No such file or directory)"#).unwrap();
        assert_eq!((c.ret, c.errno.as_deref()), (-1, Some("ENOENT")));
        assert!(line("--- SIGCHLD {si_signo=SIGCHLD} ---").is_none());
        assert!(line("+++ exited with 0 +++").is_none());
        assert!(line("exit_group(0) = ?").is_none());
    }

    #[test]
    fn structure_fields() {
        let a = r#"{sa_family=AF_INET, sin_port=htons(443), sin_addr=inet_addr("\x31\x2e\x32\x2e\x33\x2e\x34")}"#;
        assert_eq!(field(a, "sin_port"), Some("htons(443)"));
        assert_eq!(string(field(a, "sin_addr").unwrap()).unwrap(), b"1.2.3.4");
        assert_eq!(unescape(r#"a\n\\\"\101"#), b"a\n\\\"A");
    }
}
