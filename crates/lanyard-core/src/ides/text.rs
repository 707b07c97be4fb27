//! One interface over the two config formats: JSON(C) for Cursor and Claude Code, TOML for Codex.
//! Every function takes the file's text and returns new text; nothing here touches the disk.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use super::edited::{Created, Edited};
pub use super::jsonc::{EditError, SyntaxError};
use super::{jsonc, toml_cfg};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Json,
    Toml,
}

/// What an empty (missing) file is taken to contain.
pub fn empty_document(format: Format) -> &'static str {
    match format {
        Format::Json => "{\n}\n",
        Format::Toml => "",
    }
}

pub fn check(format: Format, src: &str) -> Result<(), SyntaxError> {
    match format {
        Format::Json => jsonc::parse(src).map(|_| ()),
        Format::Toml => toml_cfg::check(src),
    }
}

fn full_path<'a>(container: &'a [String], name: &'a str) -> Vec<&'a str> {
    container
        .iter()
        .map(String::as_str)
        .chain(std::iter::once(name))
        .collect()
}

/// The entry `name` in `container`, as JSON (TOML converted).
pub fn get(
    format: Format,
    src: &str,
    container: &[String],
    name: &str,
) -> Result<Option<Value>, SyntaxError> {
    match format {
        Format::Json => {
            let path = full_path(container, name);
            Ok(jsonc::Doc::parse_along(src, &path)?.value_at(&path))
        }
        Format::Toml => toml_cfg::get(src, container, name),
    }
}

/// Sets the `managed` keys of entry `name` to `desired` (missing ones removed), keeping any other
/// key the entry has; creates the entry (and its containers) when missing.
pub fn upsert(
    format: Format,
    src: &str,
    container: &[String],
    name: &str,
    desired: &Map<String, Value>,
    managed: &[&str],
) -> Result<Edited, EditError> {
    match format {
        Format::Toml => toml_cfg::upsert(src, container, name, desired, managed),
        Format::Json => {
            let path = full_path(container, name);
            let doc = jsonc::Doc::parse_along(src, &path)?;
            let current = match doc.value_at(&path) {
                Some(Value::Object(m)) => m,
                _ => {
                    let (text, existed) = doc.set(&path, &Value::Object(desired.clone()))?;
                    return Ok(Edited {
                        text,
                        created: Created::from_existed(existed, container.len()),
                    });
                }
            };
            let mut text = src.to_owned();
            for key in managed {
                let mut kpath = path.clone();
                kpath.push(key);
                match desired.get(*key) {
                    Some(v) if current.get(*key) != Some(v) => {
                        text = jsonc::Doc::parse_along(&text, &kpath)?.set(&kpath, v)?.0;
                    }
                    None if current.contains_key(*key) => {
                        if let Some(t) =
                            jsonc::Doc::parse_along(&text, &kpath)?.remove(&kpath, usize::MAX)
                        {
                            text = t;
                        }
                    }
                    _ => {}
                }
            }
            Ok(Edited {
                text,
                created: Created::Nothing,
            })
        }
    }
}

/// Removes entry `name`, and the containers `created` says this tool made, when left empty.
/// `None` when there was no such entry.
pub fn remove(
    format: Format,
    src: &str,
    container: &[String],
    name: &str,
    created: Created,
) -> Result<Option<String>, SyntaxError> {
    match format {
        Format::Toml => toml_cfg::remove(src, container, name, created),
        Format::Json => {
            let prune_from = match created {
                Created::Nothing => usize::MAX,
                Created::From(d) => d,
            };
            let path = full_path(container, name);
            Ok(jsonc::Doc::parse_along(src, &path)?.remove(&path, prune_from))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CODEX: &str = r#"# Codex settings
model = "gpt-5" # inline comment

[mcp_servers.docs]
command = "npx"
args = ["-y", "docs-mcp"]   # aligned
startup_timeout_sec = 20
env = { A = "1" }

# trailing comment block
[profiles.fast]
model = "x"
"#;

    fn entry() -> Map<String, Value> {
        json!({"command": "/usr/bin/lanyard", "args": ["bridge", "gw"]})
            .as_object()
            .cloned()
            .unwrap()
    }

    const MANAGED: &[&str] = &["url", "command", "args", "http_headers"];

    #[test]
    fn toml_roundtrip() {
        let c = vec!["mcp_servers".to_owned()];
        for src in [CODEX, "", "model = \"x\"\n", "[profiles.a]\nx = 1\n"] {
            let e = upsert(Format::Toml, src, &c, "gw", &entry(), MANAGED).unwrap();
            assert_eq!(
                get(Format::Toml, &e.text, &c, "gw").unwrap().unwrap()["args"],
                json!(["bridge", "gw"])
            );
            assert!(e.text.starts_with(src.lines().next().unwrap_or("")));
            let back = remove(Format::Toml, &e.text, &c, "gw", e.created)
                .unwrap()
                .unwrap();
            assert_eq!(back, src, "with entry:\n{}", e.text);
        }
    }

    #[test]
    fn toml_keeps_user_keys_of_our_entry() {
        let c = vec!["mcp_servers".to_owned()];
        let src = "[mcp_servers.gw]\nurl = \"http://old\"\nstartup_timeout_sec = 9 # mine\n";
        let e = upsert(Format::Toml, src, &c, "gw", &entry(), MANAGED).unwrap();
        assert!(
            e.text.contains("startup_timeout_sec = 9 # mine"),
            "{}",
            e.text
        );
        assert!(!e.text.contains("url"), "{}", e.text);
    }

    #[test]
    fn json_merge_keeps_user_keys() {
        let c = vec!["mcpServers".to_owned()];
        let src = "{\n  \"mcpServers\": {\n    \"gw\": {\n      \"url\": \"http://old\",\n      \"env\": {\"A\": \"1\"}\n    }\n  }\n}\n";
        let e = upsert(Format::Json, src, &c, "gw", &entry(), MANAGED).unwrap();
        let v = get(Format::Json, &e.text, &c, "gw").unwrap().unwrap();
        assert_eq!(
            v,
            json!({"env": {"A": "1"}, "command": "/usr/bin/lanyard", "args": ["bridge", "gw"]})
        );
        // Unchanged when already as desired.
        let again = upsert(Format::Json, &e.text, &c, "gw", &entry(), MANAGED).unwrap();
        assert_eq!(again.text, e.text);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 128, ..Default::default() })]

        /// Any text as a Codex config: checking, reading and editing return errors, never panic.
        #[test]
        fn any_toml_text_is_no_panic(src in "\\PC{0,300}") {
            let c = vec!["mcp_servers".to_owned()];
            let _ = check(Format::Toml, &src);
            let _ = get(Format::Toml, &src, &c, "gw");
            if let Ok(e) = upsert(Format::Toml, &src, &c, "gw", &entry(), MANAGED) {
                let _ = remove(Format::Toml, &e.text, &c, "gw", e.created);
            }
        }

        /// A valid Codex config with random UTF-8 values: add then remove gives it back.
        #[test]
        fn toml_with_random_values_round_trips(
            model in "\\PC{0,80}",
            comment in "\\PC{0,40}",
            n in 0u32..4,
        ) {
            let c = vec!["mcp_servers".to_owned()];
            let mut src = format!("model = {} # {comment}\n", toml_string(&model));
            for i in 0..n {
                src.push_str(&format!("\n[profiles.p{i}]\nx = {}\n", toml_string(&model)));
            }
            let e = upsert(Format::Toml, &src, &c, "gw", &entry(), MANAGED).unwrap();
            let back = remove(Format::Toml, &e.text, &c, "gw", e.created).unwrap().unwrap();
            proptest::prop_assert_eq!(back, src);
        }
    }

    /// A TOML basic string holding `s`.
    fn toml_string(s: &str) -> String {
        let mut out = String::from("\"");
        for ch in s.chars() {
            match ch {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if (c as u32) < 0x20 || c == '\u{7f}' => {
                    out.push_str(&format!("\\u{:04X}", c as u32))
                }
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }
}
