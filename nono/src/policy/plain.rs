//! serde's messages in plain words, for profile, group and configuration
//! files: `invalid type: string "yes", expected a boolean` becomes
//! `expected true or false, found the text "yes"`. One function
//! ([`message`]) does the rewriting; [`toml`] and [`json`] locate an error
//! (file:line:column and the field) and use it.

use std::fmt;

use super::nearest;

/// One serde or parser message in plain words; a message it does not know
/// is returned as it is (on one line).
pub fn message(raw: &str) -> String {
    let raw = raw.trim_end().replace('\n', "; ");
    if let Some(rest) = raw.strip_prefix("invalid type: ") {
        return mismatch(rest).unwrap_or(raw);
    }
    if let Some(rest) = raw.strip_prefix("invalid value: ") {
        return out_of_range(rest).or_else(|| mismatch(rest)).unwrap_or(raw);
    }
    if let Some(rest) = raw.strip_prefix("unknown variant `") {
        return variant(rest).unwrap_or(raw);
    }
    if let Some(rest) = raw.strip_prefix("unknown field `") {
        return field(rest).unwrap_or(raw);
    }
    if let Some(name) = quoted(&raw, "missing field `") {
        return format!("the field '{name}' is required here");
    }
    if let Some(name) = quoted(&raw, "duplicate field `") {
        return format!("'{name}' is given twice; keep one");
    }
    raw
}

/// `PREFIX NAME`` ` -> NAME.
fn quoted<'a>(raw: &'a str, prefix: &str) -> Option<&'a str> {
    raw.strip_prefix(prefix)?.strip_suffix('`')
}

/// "`<found>`, expected <what>" -> "expected …, found …".
fn mismatch(rest: &str) -> Option<String> {
    let (found, expected) = rest.rsplit_once(", expected ")?;
    Some(format!(
        "expected {}, found {}",
        expectation(expected),
        found_value(found)
    ))
}

/// "integer `70000`, expected u16" -> "70000 is out of range (0–65535)".
fn out_of_range(rest: &str) -> Option<String> {
    let (found, expected) = rest.rsplit_once(", expected ")?;
    let n = found.strip_prefix("integer `")?.strip_suffix('`')?;
    let (lo, hi) = int_range(expected)?;
    Some(format!("{n} is out of range ({lo}–{hi})"))
}

fn int_range(ty: &str) -> Option<(i128, i128)> {
    Some(match ty {
        "u8" => (0, u8::MAX.into()),
        "u16" => (0, u16::MAX.into()),
        "u32" => (0, u32::MAX.into()),
        "u64" | "usize" => (0, u64::MAX.into()),
        "i8" => (i8::MIN.into(), i8::MAX.into()),
        "i16" => (i16::MIN.into(), i16::MAX.into()),
        "i32" => (i32::MIN.into(), i32::MAX.into()),
        "i64" | "isize" => (i64::MIN.into(), i64::MAX.into()),
        _ => return None,
    })
}

/// What serde says was expected, in the words of the file's author.
fn expectation(what: &str) -> String {
    if let Some((lo, hi)) = int_range(what) {
        return format!("a whole number from {lo} to {hi}");
    }
    let plain = match what {
        "a boolean" => "true or false",
        "a string" | "a borrowed string" | "a string or bytes" => "text in quotes (e.g. \"…\")",
        "a sequence" => "a list (e.g. [\"…\"])",
        "a map" => "a table",
        "f32" | "f64" => "a number",
        "a character" => "a single character",
        "unit" => "nothing",
        _ if what.starts_with("struct ") => "a table",
        _ if what.starts_with("enum ") || what.starts_with("variant ") => {
            "one of the allowed values"
        }
        _ if what.starts_with("tuple") => "a list",
        _ => what,
    };
    plain.to_string()
}

/// What serde says it found, as the file's author wrote it.
fn found_value(found: &str) -> String {
    let inner = |p: &str| found.strip_prefix(p).and_then(|r| r.strip_suffix('`'));
    if let Some(s) = found.strip_prefix("string ") {
        return format!("the text {s}");
    }
    if let Some(n) = inner("integer `").or_else(|| inner("floating point `")) {
        return format!("the number {n}");
    }
    if let Some(b) = inner("boolean `") {
        return b.to_string();
    }
    if let Some(c) = inner("character `") {
        return format!("the character '{c}'");
    }
    let plain = match found {
        "map" => "a table",
        "sequence" => "a list",
        "unit value" => "null",
        "Option value" => "a value",
        _ => found,
    };
    plain.to_string()
}

/// The `a`, `b` names after "expected" (or none for "there are no …").
fn names(expected: &str) -> Vec<&str> {
    expected.split('`').skip(1).step_by(2).collect()
}

/// "rw`, expected one of `none`, `read`" -> "'rw' is not one of: none, read".
fn variant(rest: &str) -> Option<String> {
    let (bad, expected) = rest.split_once('`')?;
    let valid = names(expected);
    if valid.is_empty() {
        return Some(format!("'{bad}' is not allowed here"));
    }
    Some(format!("'{bad}' is not one of: {}", valid.join(", ")))
}

/// "x`, expected one of `a`, `b`" -> the valid names and the nearest one.
fn field(rest: &str) -> Option<String> {
    let (bad, expected) = rest.split_once('`')?;
    let valid = names(expected);
    Some(match nearest(bad, valid.iter().copied()) {
        Some(n) => format!(
            "unknown field `{bad}` (did you mean `{n}`?); valid fields: {}",
            valid.join(", ")
        ),
        None if valid.is_empty() => format!("unknown field `{bad}`; this table takes no fields"),
        None => format!("unknown field `{bad}`; valid fields: {}", valid.join(", ")),
    })
}

/// A field path for a message: serde_path_to_error's `.` (the top) and `?`
/// (inside a value it never finished reading) are not shown.
fn field_path(path: &str, syntax: bool) -> String {
    if path == "." {
        return String::new();
    }
    if !syntax {
        return path.to_string();
    }
    // A syntax error: only the tables it was inside are meaningful.
    let named = path.split(['[', '?']).next().unwrap_or("");
    named.trim_end_matches('.').to_string()
}

/// A TOML error, located and in plain words.
pub fn toml(text: &str, file: &str, e: &serde_path_to_error::Error<toml::de::Error>) -> ParseError {
    let (line, column) = e
        .inner()
        .span()
        .map(|s| line_col(text, s.start))
        .unwrap_or((1, 1));
    ParseError {
        file: file.to_string(),
        line,
        column,
        field: field_path(&e.path().to_string(), false),
        message: message(e.inner().message()),
    }
}

/// A JSON error, located and in plain words; a syntax error says the file
/// is not valid JSON.
pub fn json(
    text: &str,
    file: &str,
    e: &serde_path_to_error::Error<serde_json::Error>,
) -> ParseError {
    let inner = e.inner();
    let syntax = inner.is_syntax() || inner.is_eof();
    let empty = text.trim().is_empty();
    let full = inner.to_string();
    let msg = full.split(" at line ").next().unwrap_or(&full);
    let message = if empty {
        "the file is empty; a JSON profile holds at least {}".to_string()
    } else if syntax && !text.trim_start().starts_with('{') {
        format!(
            "not valid JSON: {} (a JSON profile is one object, {{…}}; for TOML, name the file .toml)",
            json_syntax(msg)
        )
    } else if syntax {
        format!("not valid JSON: {}", json_syntax(msg))
    } else {
        message(msg)
    };
    ParseError {
        file: file.to_string(),
        line: if empty { 1 } else { inner.line().max(1) },
        column: if empty { 1 } else { inner.column().max(1) },
        field: field_path(&e.path().to_string(), syntax),
        message,
    }
}

/// serde_json's syntax messages, in plain words where they are not.
fn json_syntax(msg: &str) -> String {
    if let Some(what) = msg.strip_prefix("EOF while parsing ") {
        return format!("the file ends inside {what}");
    }
    match msg {
        "expected value" => "expected a value".to_string(),
        "key must be a string" => "keys must be in double quotes".to_string(),
        _ => msg.to_string(),
    }
}

/// A profile that failed to parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub field: String,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        if !self.field.is_empty() && self.field != "." {
            write!(f, "field '{}': ", self.field)?;
        }
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for ParseError {}

pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rfind('\n')
        .map_or(before.len(), |i| before.len() - i - 1)
        + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrong_types_are_said_in_plain_words() {
        assert_eq!(
            message("invalid type: string \"yes\", expected a boolean"),
            "expected true or false, found the text \"yes\""
        );
        assert_eq!(
            message("invalid type: string \"/tmp\", expected a sequence"),
            "expected a list (e.g. [\"…\"]), found the text \"/tmp\""
        );
        assert_eq!(
            message("invalid type: string \"x\", expected struct Filesystem"),
            "expected a table, found the text \"x\""
        );
        assert_eq!(
            message("invalid type: map, expected a profile name or path, or a list of them"),
            "expected a profile name or path, or a list of them, found a table"
        );
        assert_eq!(
            message("invalid type: integer `1`, expected a string"),
            "expected text in quotes (e.g. \"…\"), found the number 1"
        );
    }

    #[test]
    fn values_out_of_range_and_unknown_variants() {
        assert_eq!(
            message("invalid value: integer `70000`, expected u16"),
            "70000 is out of range (0–65535)"
        );
        assert_eq!(
            message("invalid value: integer `-1`, expected u16"),
            "-1 is out of range (0–65535)"
        );
        assert_eq!(
            message("unknown variant `rw`, expected one of `none`, `read`, `write`, `readwrite`"),
            "'rw' is not one of: none, read, write, readwrite"
        );
        assert_eq!(
            message("unknown variant `x`, expected `a` or `b`"),
            "'x' is not one of: a, b"
        );
    }

    #[test]
    fn fields_unknown_missing_or_twice() {
        let m = message("unknown field `alow`, expected one of `allow`, `read`");
        assert_eq!(
            m,
            "unknown field `alow` (did you mean `allow`?); valid fields: allow, read"
        );
        let m = message("unknown field `them`, expected `theme`");
        assert!(m.contains("did you mean `theme`"), "{m}");
        assert_eq!(
            message("missing field `upstream`"),
            "the field 'upstream' is required here"
        );
        assert_eq!(
            message("duplicate field `name`"),
            "'name' is given twice; keep one"
        );
        assert_eq!(message("trailing comma\n"), "trailing comma");
    }

    #[test]
    fn syntax_errors_name_only_the_enclosing_table() {
        assert_eq!(field_path("meta.?", true), "meta");
        assert_eq!(field_path("[0]", true), "");
        assert_eq!(
            field_path("filesystem.allow[0]", false),
            "filesystem.allow[0]"
        );
        assert_eq!(field_path(".", false), "");
    }

    #[test]
    fn json_errors_say_what_the_file_is() {
        let at = |text: &str| {
            let mut de = serde_json::Deserializer::from_str(text);
            let e = serde_path_to_error::deserialize::<_, super::super::profile::Profile>(&mut de)
                .unwrap_err();
            json(text, "p.json", &e)
        };
        let e = at("[meta]\nname = \"x\"\n");
        assert_eq!((e.field.as_str(), e.line), ("", 1), "{e}");
        assert!(
            e.message.starts_with("not valid JSON") && e.message.contains("name the file .toml"),
            "{e}"
        );
        let e = at("{\"meta\": {\"name\": \"x\",}}");
        assert_eq!(e.field, "meta", "{e}");
        assert_eq!(e.message, "not valid JSON: trailing comma", "{e}");
        let e = at("  \n");
        assert_eq!((e.line, e.column), (1, 1), "{e}");
        assert!(e.message.starts_with("the file is empty"), "{e}");
    }

    #[test]
    fn jargon_never_survives() {
        for raw in [
            "invalid type: string \"yes\", expected a boolean",
            "invalid type: sequence, expected a map",
            "invalid value: integer `300`, expected u8",
            "invalid type: floating point `1.5`, expected u32",
            "unknown variant `q`, expected one of `a`",
        ] {
            let m = message(raw);
            for word in [
                "invalid type",
                "sequence",
                "u16",
                "u8",
                "struct ",
                "variant",
                "a map",
            ] {
                assert!(!m.contains(word), "{raw} -> {m}");
            }
        }
    }
}
