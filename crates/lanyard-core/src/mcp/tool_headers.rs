//! Custom headers from tool parameters (SEP-2243, 2026-07-28): a tool's `inputSchema` may mark
//! a top-level parameter with `"x-mcp-header": "Region"`; every `tools/call` of that tool then
//! mirrors the argument into an `Mcp-Param-Region` header, so gateways can route without
//! reading the body. A tool whose annotations are malformed is dropped from `tools/list`, as
//! the revision requires (its calls could not be routed), the others kept.

use std::collections::{HashMap, HashSet};

use base64::Engine;
use serde_json::Value;

/// The `x-mcp-header` designations of the tools a server listed: tool → (parameter, header).
#[derive(Debug, Default, Clone)]
pub struct ToolHeaders {
    by_tool: HashMap<String, Vec<(String, String)>>,
    /// Every tool listed and kept, annotated or not.
    known: HashSet<String>,
}

/// Why a tool's annotations were refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub tool: String,
    pub why: String,
}

impl ToolHeaders {
    /// Learns the designations of a `tools/list` result and removes from it the tools whose
    /// annotations are malformed (returned, for a warning). The schemas of the tools kept are
    /// not touched: no `$ref` is resolved, no keyword dropped.
    pub fn learn(&mut self, result: &mut Value) -> Vec<Refused> {
        let Some(tools) = result.get_mut("tools").and_then(Value::as_array_mut) else {
            return Vec::new();
        };
        let mut refused = Vec::new();
        tools.retain(|tool| {
            let Some(name) = tool.get("name").and_then(Value::as_str) else {
                return true;
            };
            let schema = tool.get("inputSchema").unwrap_or(&Value::Null);
            match designated(schema) {
                Ok(d) => {
                    self.known.insert(name.to_owned());
                    if d.is_empty() {
                        self.by_tool.remove(name);
                    } else {
                        self.by_tool.insert(name.to_owned(), d);
                    }
                    true
                }
                Err(why) => {
                    self.by_tool.remove(name);
                    self.known.remove(name);
                    refused.push(Refused {
                        tool: name.to_owned(),
                        why,
                    });
                    false
                }
            }
        });
        refused
    }

    /// Whether a listing showed this tool (so a call of it gets its headers).
    pub fn knows(&self, tool: &str) -> bool {
        self.known.contains(tool)
    }

    /// The tool a `tools/call` message calls, when no listing showed it yet: its headers
    /// are only known after a `tools/list`.
    pub fn unknown_callee<'a>(&self, message: &'a Value) -> Option<&'a str> {
        if message.get("method").and_then(Value::as_str) != Some("tools/call") {
            return None;
        }
        message
            .pointer("/params/name")
            .and_then(Value::as_str)
            .filter(|n| !self.knows(n))
    }

    /// The `Mcp-Param-*` headers of a `tools/call` message (none for other methods, for a
    /// tool not listed, and for arguments that are null or absent).
    pub fn for_call(&self, message: &Value) -> Vec<(String, String)> {
        if message.get("method").and_then(Value::as_str) != Some("tools/call") {
            return Vec::new();
        }
        let Some(params) = message.get("params") else {
            return Vec::new();
        };
        let Some(d) = params
            .get("name")
            .and_then(Value::as_str)
            .and_then(|n| self.by_tool.get(n))
        else {
            return Vec::new();
        };
        let args = params.get("arguments");
        d.iter()
            .filter_map(|(param, header)| {
                let v = encode(args?.get(param)?)?;
                Some((format!("Mcp-Param-{header}"), v))
            })
            .collect()
    }
}

/// The (parameter, header name) pairs of a schema, or why its annotations are malformed: a
/// header name must be a non-empty HTTP token, unique regardless of case, on a string,
/// integer or boolean parameter.
pub fn designated(schema: &Value) -> Result<Vec<(String, String)>, String> {
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return Ok(Vec::new());
    };
    let mut out: Vec<(String, String)> = Vec::new();
    for (param, prop) in props {
        let Some(h) = prop.get("x-mcp-header") else {
            continue;
        };
        let Some(h) = h.as_str() else {
            return Err(format!("x-mcp-header of \"{param}\" is not a string"));
        };
        if h.is_empty() {
            return Err(format!("x-mcp-header of \"{param}\" is empty"));
        }
        if !h.bytes().all(is_tchar) {
            return Err(format!(
                "x-mcp-header \"{}\" of \"{param}\" is not an HTTP header name",
                h.escape_default()
            ));
        }
        match prop.get("type").and_then(Value::as_str) {
            Some("string" | "integer" | "boolean") => {}
            other => {
                return Err(format!(
                    "x-mcp-header on \"{param}\" of type {}: only string, integer and boolean parameters can be headers",
                    other.unwrap_or("unknown")
                ));
            }
        }
        if out.iter().any(|(_, seen)| seen.eq_ignore_ascii_case(h)) {
            return Err(format!("x-mcp-header \"{h}\" is used twice"));
        }
        out.push((param.clone(), h.to_owned()));
    }
    Ok(out)
}

/// RFC 9110 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A header value for an argument: integers and booleans as JSON writes them, a string as it
/// is when it is printable ASCII without surrounding whitespace, else `=?base64?…?=` of its
/// UTF-8 (also when it already looks like that encoding, so it is never decoded by mistake).
/// `None` for null, objects and arrays.
pub fn encode(v: &Value) -> Option<String> {
    match v {
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => {
            let plain = s.bytes().all(|b| (0x20..0x7f).contains(&b))
                && s.trim() == s
                && !(s.starts_with("=?base64?") && s.ends_with("?="));
            if plain {
                Some(s.clone())
            } else {
                let b64 = base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
                Some(format!("=?base64?{b64}?="))
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn tool(name: &str, props: Value) -> Value {
        json!({"name": name, "inputSchema": {"type": "object", "properties": props}})
    }

    #[test]
    fn malformed_annotations_drop_the_tool_and_keep_the_others() {
        let mut result = json!({"tools": [
            tool("valid", json!({"region": {"type": "string", "x-mcp-header": "Region"}})),
            tool("empty", json!({"v": {"type": "string", "x-mcp-header": ""}})),
            tool("object", json!({"v": {"type": "object", "x-mcp-header": "Data"}})),
            tool("number", json!({"v": {"type": "number", "x-mcp-header": "Score"}})),
            tool("nullish", json!({"v": {"type": "null", "x-mcp-header": "Nil"}})),
            tool("dup", json!({"a": {"type": "string", "x-mcp-header": "MyField"},
                               "b": {"type": "string", "x-mcp-header": "myfield"}})),
            tool("space", json!({"v": {"type": "string", "x-mcp-header": "My Region"}})),
            tool("colon", json!({"v": {"type": "string", "x-mcp-header": "Region:Primary"}})),
            tool("accent", json!({"v": {"type": "string", "x-mcp-header": "R\u{e9}gion"}})),
            tool("tab", json!({"v": {"type": "string", "x-mcp-header": "Region\t1"}})),
            tool("plain", json!({"q": {"type": "string"}})),
        ]});
        let mut t = ToolHeaders::default();
        let refused = t.learn(&mut result);
        let kept: Vec<&str> = result["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(kept, ["valid", "plain"]);
        assert_eq!(refused.len(), 9, "{refused:?}");
    }

    /// The values the conformance suite sends, encoded as SEP-2243's table says.
    #[test]
    fn arguments_become_mcp_param_headers_encoded_when_unsafe() {
        let mut result = json!({"tools": [tool("t", json!({
            "region": {"type": "string", "x-mcp-header": "Region"},
            "priority": {"type": "integer", "x-mcp-header": "Priority"},
            "verbose": {"type": "boolean", "x-mcp-header": "Verbose"},
            "empty": {"type": "string", "x-mcp-header": "EmptyVal"},
            "method": {"type": "string", "x-mcp-header": "Method"},
            "accented": {"type": "string", "x-mcp-header": "NonAscii"},
            "padded": {"type": "string", "x-mcp-header": "Whitespace"},
            "inner": {"type": "string", "x-mcp-header": "InternalSpace"},
            "lines": {"type": "string", "x-mcp-header": "CrLf"},
            "query": {"type": "string"},
        }))]});
        let mut t = ToolHeaders::default();
        assert!(t.learn(&mut result).is_empty());
        let call = json!({"method": "tools/call", "params": {"name": "t", "arguments": {
            "region": "us-west1", "priority": 42, "verbose": null, "empty": "", "method": "m",
            "accented": "Hello, \u{4e16}\u{754c}", "padded": " padded ", "inner": "us west 1",
            "lines": "line1\r\nline2", "query": "SELECT 1"}}});
        let h: HashMap<String, String> = t.for_call(&call).into_iter().collect();
        assert_eq!(h["Mcp-Param-Region"], "us-west1");
        assert_eq!(h["Mcp-Param-Priority"], "42");
        assert!(!h.contains_key("Mcp-Param-Verbose"), "null is omitted");
        assert_eq!(h["Mcp-Param-EmptyVal"], "");
        assert_eq!(h["Mcp-Param-Method"], "m");
        assert_eq!(h["Mcp-Param-NonAscii"], "=?base64?SGVsbG8sIOS4lueVjA==?=");
        assert_eq!(h["Mcp-Param-Whitespace"], "=?base64?IHBhZGRlZCA=?=");
        assert_eq!(h["Mcp-Param-InternalSpace"], "us west 1");
        assert_eq!(h["Mcp-Param-CrLf"], "=?base64?bGluZTENCmxpbmUy?=");
        assert_eq!(h.len(), 8, "unannotated parameters are not mirrored: {h:?}");
        assert_eq!(encode(&json!(true)).as_deref(), Some("true"));
        assert_eq!(
            encode(&json!("=?base64?SGk=?=")).as_deref(),
            Some("=?base64?PT9iYXNlNjQ/U0drPT89?=")
        );
    }

    /// A 2020-12 schema with `$ref`, `$defs`, `$anchor`, composition and conditionals comes
    /// back from `learn` exactly as it went in.
    #[test]
    fn schemas_pass_through_untouched() {
        let schema = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "$defs": {"address": {"$anchor": "addr", "type": "object"}},
            "properties": {"home": {"$ref": "#/$defs/address"},
                           "profile": {"$ref": "http://127.0.0.1:1/canary.json"}},
            "allOf": [{"anyOf": [{"required": ["home"]}, {"required": ["profile"]}]}],
            "if": {"required": ["home"]}, "then": {}, "else": {},
            "additionalProperties": false
        });
        let mut result = json!({"tools": [{"name": "rich", "inputSchema": schema.clone()}]});
        let before = result.clone();
        ToolHeaders::default().learn(&mut result);
        assert_eq!(result, before);
    }
}
