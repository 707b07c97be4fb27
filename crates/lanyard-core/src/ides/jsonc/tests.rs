//! Round trips and edits over real-world shapes of assistant configs.

use super::*;
use serde_json::json;

fn roundtrip(src: &str, path: &[&str]) -> String {
    let doc = Doc::parse(src).unwrap();
    let (added, existed) = doc
        .set(
            path,
            &json!({"type": "http", "url": "http://x/mcp", "args": ["a", "b"]}),
        )
        .unwrap();
    let doc2 = Doc::parse(&added).unwrap();
    assert_eq!(
        doc2.value_at(path).unwrap()["url"],
        json!("http://x/mcp"),
        "{added}"
    );
    let removed = doc2.remove(path, existed).unwrap();
    assert_eq!(removed, src, "after add:\n{added}");
    added
}

#[test]
fn add_remove_is_identity() {
    let cases = [
        "{}",
        "{}\n",
        "{\n  \"a\": 1\n}\n",
        "{\n    \"mcpServers\": {\n        \"x\": {\"url\": \"u\"}\n    }\n}",
        "{\n\t\"mcpServers\": {}\n}\n",
        "// c\n{\n  // comment\n  \"mcpServers\": {\n    \"x\": {}, // trailing\n  },\n}\n",
        "{\"a\":1,\"b\":[1,2]}",
        "{\r\n  \"a\": 1\r\n}\r\n",
        "{\n  \"mcpServers\": {\n    /* only a comment */\n  }\n}\n",
    ];
    for c in cases {
        roundtrip(c, &["mcpServers", "lanyard"]);
        roundtrip(c, &["projects", "/home/u/p", "mcpServers", "lanyard"]);
    }
}

#[test]
fn style_follows_file() {
    let added = roundtrip("{\n    \"a\": 1\n}\n", &["mcpServers", "n"]);
    assert!(
        added.contains("\n    \"mcpServers\": {\n        \"n\": {\n            \"type\""),
        "{added}"
    );
    let added = roundtrip("{\"a\":1}", &["mcpServers", "n"]);
    assert!(!added.contains('\n'), "{added}");
}

#[test]
fn replace_and_middle_removal() {
    let src = "{\n  \"mcpServers\": {\n    \"a\": 1,\n    \"n\": 2,\n    \"z\": 3\n  }\n}\n";
    let doc = Doc::parse(src).unwrap();
    let (out, _) = doc.set(&["mcpServers", "n"], &json!(5)).unwrap();
    assert_eq!(out, src.replace("\"n\": 2", "\"n\": 5"));
    let out = Doc::parse(src)
        .unwrap()
        .remove(&["mcpServers", "n"], 9)
        .unwrap();
    assert_eq!(
        out,
        "{\n  \"mcpServers\": {\n    \"a\": 1,\n    \"z\": 3\n  }\n}\n"
    );
}

#[test]
fn parse_along_builds_only_the_path_and_still_checks_everything() {
    let src =
        r#"{"a": {"x": [1, {"y": "\ud800 lone"}]}, "mcpServers": {"n": {"args": ["a"]}}, "z": 2}"#;
    let doc = Doc::parse_along(src, &["mcpServers", "n"]).unwrap();
    assert!(matches!(
        doc.root.as_object().unwrap().get("a").unwrap().value,
        Node::Lazy(_)
    ));
    assert_eq!(
        doc.value_at(&["mcpServers", "n"]).unwrap(),
        json!({"args": ["a"]})
    );
    assert!(Doc::parse_along(r#"{"a": {"x": [1, {"y" 2}]}, "b": 1}"#, &["b"]).is_err());
    assert!(Doc::parse_along(r#"{"a": "bad \q escape", "b": 1}"#, &["b"]).is_err());
    let e = Doc::parse_along("{\"a\": [1,\n 2 3]}", &["b"])
        .err()
        .unwrap();
    assert_eq!((e.line, e.column), (2, 4));
    // A lone surrogate anywhere (JSON.stringify writes them) does not stop an edit.
    roundtrip(src, &["mcpServers", "lanyard"]);
}

#[test]
fn errors_have_positions() {
    let e = parse("{\n  \"a\": 1,\n  \"b\" 2\n}").unwrap_err();
    assert_eq!((e.line, e.column), (3, 7), "{e:?}");
    let e = parse("{\"a\": \"x").unwrap_err();
    assert_eq!(e.line, 1);
    assert!(parse("[1, 2,]").is_ok());
    assert!(parse("").is_err());
}

/// A document over 64 KiB with a multi-byte character across byte 65,536 (a large
/// `~/.claude.json`): the style detection sliced there and panicked.
#[test]
fn a_multibyte_character_across_64_kib_is_no_panic() {
    for shift in 0..4 {
        // `{\n  "a": "` is 10 bytes; the padding puts a 4-byte '𝄞' across byte 65,536.
        let pad = "x".repeat((1 << 16) - 10 - 2 + shift);
        let src = format!("{{\n  \"a\": \"{pad}𝄞\",\n  \"mcpServers\": {{}}\n}}\n");
        roundtrip(&src, &["mcpServers", "lanyard"]);
    }
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 96, ..Default::default() })]

    /// Random UTF-8 documents of every size up to twice the 64 KiB style window: an add
    /// and a remove give back the document byte for byte, and nothing panics.
    #[test]
    fn random_utf8_documents_of_every_size_round_trip(
        size in 0usize..(1 << 17),
        fill in proptest::char::any(),
        text in "\\PC{0,64}",
        indent in proptest::sample::select(vec!["  ", "    ", "\t"]),
    ) {
        let filler: String = std::iter::repeat_n(fill, size / fill.len_utf8().max(1)).collect();
        let src = format!(
            "{{\n{indent}\"a\": {},\n{indent}\"b\": {},\n{indent}\"mcpServers\": {{}}\n}}\n",
            json_string(&filler),
            json_string(&text),
        );
        roundtrip(&src, &["mcpServers", "lanyard"]);
    }

    /// Any text at all: parsing and editing return errors, never panic.
    #[test]
    fn any_text_is_no_panic(src in "\\PC{0,300}") {
        if let Ok(doc) = Doc::parse(&src) {
            let _ = doc.set(&["mcpServers", "lanyard"], &serde_json::json!({"url": "u"}));
        }
        let _ = Doc::parse_along(&src, &["mcpServers", "lanyard"]);
    }
}
