//! Writing the save prompt's answer into a user profile (JSON only, so no
//! comment is lost): the suggested values appended to their fields, or
//! with "suppress" the paths to `filesystem.suppress_save_prompt`; a new
//! file extends the profile the run used. Written atomically (a temporary
//! file renamed over it), then loaded back through the profile loader.

use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context, Result};
use serde_json::{json, Map, Value};

/// The profile fields a footer suggestion can go to.
const FIELDS: &[&str] = &[
    "read",
    "write",
    "allow",
    "read_file",
    "write_file",
    "allow_file",
    "allow_unix_socket",
    "allow_unix_socket_bind",
];

/// One suggested grant: the profile section and field, and the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    pub section: &'static str,
    pub field: String,
    pub value: String,
}

impl Suggestion {
    /// `--read-file /x` as filesystem.read_file "/x" (None: not a field).
    pub fn parse(flag: &str) -> Option<Suggestion> {
        let (f, value) = flag.split_once(' ')?;
        let field = f.strip_prefix("--")?.replace('-', "_");
        let section = match field.as_str() {
            "allow_domain" => "network",
            f if FIELDS.contains(&f) => "filesystem",
            _ => return None,
        };
        Some(Suggestion {
            section,
            field,
            value: value.to_string(),
        })
    }

    pub fn path(&self) -> Option<&Path> {
        (self.section == "filesystem").then_some(Path::new(&self.value))
    }

    pub fn show(&self) -> String {
        format!("{}.{} {}", self.section, self.field, self.value)
    }
}

pub fn save(
    target: &Path,
    extends: Option<&str>,
    list: &[Suggestion],
    suppress: bool,
) -> Result<()> {
    if target.extension().is_some_and(|e| e == "toml") {
        bail!(
            "{} is a TOML profile, which nono does not rewrite (its comments would be lost); \
             add the values above to it by hand",
            target.display()
        );
    }
    let mut v = if target.exists() {
        let text = std::fs::read_to_string(target)
            .with_context(|| format!("cannot read {}", target.display()))?;
        serde_json::from_str::<Value>(&text)
            .with_context(|| format!("{} is not valid JSON", target.display()))?
    } else {
        match extends {
            Some(e) => json!({ "extends": e }),
            None => json!({}),
        }
    };
    let obj = v
        .as_object_mut()
        .with_context(|| format!("{} is not a JSON object", target.display()))?;
    for s in list {
        let (section, field) = match (suppress, s.section) {
            (false, section) => (section, s.field.as_str()),
            (true, "filesystem") => ("filesystem", "suppress_save_prompt"),
            (true, _) => continue, // only paths can be suppressed
        };
        add(obj, section, field, &s.value)
            .with_context(|| format!("{}: {section}.{field}", target.display()))?;
    }
    write(target, &v)?;
    let spec = target.to_str().context("the profile path is not UTF-8")?;
    crate::policy::load::load(spec)
        .with_context(|| format!("{} was written but does not load", target.display()))?;
    Ok(())
}

fn add(obj: &mut Map<String, Value>, section: &str, field: &str, value: &str) -> Result<()> {
    let sec = obj
        .entry(section)
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .context("not an object")?;
    let arr = sec
        .entry(field)
        .or_insert_with(|| json!([]))
        .as_array_mut()
        .context("not a list")?;
    if !arr.iter().any(|x| x.as_str() == Some(value)) {
        arr.push(Value::String(value.to_string()));
    }
    Ok(())
}

fn write(target: &Path, v: &Value) -> Result<()> {
    let dir = target
        .parent()
        .context("the profile path has no directory")?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    let text = serde_json::to_string_pretty(v)?;
    tmp.write_all(text.as_bytes())
        .and_then(|()| tmp.write_all(b"\n"))
        .with_context(|| format!("cannot write {}", target.display()))?;
    tmp.persist(target)
        .with_context(|| format!("cannot write {}", target.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sug(flag: &str) -> Suggestion {
        Suggestion::parse(flag).unwrap()
    }

    #[test]
    fn new_profiles_extend_and_existing_ones_gain_values_once() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("app.json");
        let list = [
            sug("--read-file /c/app.ini"),
            sug("--allow-domain 127.0.0.1:8080"),
        ];
        save(&p, Some("default"), &list, false).unwrap();
        save(&p, Some("ignored"), &list, false).unwrap();
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        assert_eq!(v["extends"], "default");
        assert_eq!(v["filesystem"]["read_file"], json!(["/c/app.ini"]));
        assert_eq!(v["network"]["allow_domain"], json!(["127.0.0.1:8080"]));
        save(&p, None, &list, true).unwrap();
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        assert_eq!(
            v["filesystem"]["suppress_save_prompt"],
            json!(["/c/app.ini"])
        );
    }

    #[test]
    fn toml_profiles_are_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("app.toml");
        std::fs::write(&p, "# mine\n").unwrap();
        assert!(save(&p, None, &[sug("--read /x")], false).is_err());
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "# mine\n");
    }
}
