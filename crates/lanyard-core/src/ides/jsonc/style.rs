//! How a document lays out its members (indentation, colon spacing, line endings), learnt
//! from the document itself, and rendering new values in that style.

use serde_json::Value;

use super::parse::Node;

/// How a document lays out its members, learnt from the document itself.
#[derive(Debug, Clone)]
pub(super) struct Style {
    /// One level of indentation ("  ", "    ", "\t"); `None` for a one-line (minified) document.
    pub(super) unit: Option<String>,
    /// Between a key and its value: ": " or ":".
    pub(super) colon: String,
    pub(super) eol: &'static str,
}

pub(super) fn detect_style(src: &str, root: &Node) -> Style {
    let eol = if src.contains("\r\n") { "\r\n" } else { "\n" };
    let mut colon = ": ".to_owned();
    if let Node::Object(o) = root
        && let Some(m) = o.members.first()
    {
        let between = &src[m.key_span.end..m.value.span().start];
        if between.trim().len() == 1 && !between.contains('\n') {
            colon = between.to_owned();
        }
    }
    let span = root.span();
    if !src[span.start..span.end].contains('\n') {
        return Style {
            unit: None,
            colon,
            eol,
        };
    }
    // The indentation of the first indented line that starts a key or a value, looked for in
    // the first 64 KiB, cut on a character boundary (a multi-byte character may straddle it).
    let mut cut = src.len().min(1 << 16);
    while !src.is_char_boundary(cut) {
        cut -= 1;
    }
    let head = &src[..cut];
    let mut unit = "  ".to_owned();
    for line in head.lines().skip(1) {
        let trimmed = line.trim_start_matches([' ', '\t']);
        let ws = &line[..line.len() - trimmed.len()];
        if !ws.is_empty() && !trimmed.is_empty() && !trimmed.starts_with('/') {
            unit = if ws.starts_with('\t') {
                "\t".to_owned()
            } else {
                ws.to_owned()
            };
            break;
        }
    }
    Style {
        unit: Some(unit),
        colon,
        eol,
    }
}

/// Leading whitespace of the line containing `offset`.
pub(super) fn line_indent(src: &str, offset: usize) -> &str {
    let line_start = src[..offset].rfind('\n').map_or(0, |i| i + 1);
    let rest = &src[line_start..];
    let n = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    &rest[..n]
}

/// Serialises `value` in the document's style, its first line starting after `indent`.
pub(super) fn render(value: &Value, style: &Style, indent: &str) -> String {
    let mut out = String::new();
    render_into(&mut out, value, style, indent);
    out
}

pub(super) fn render_into(out: &mut String, value: &Value, style: &Style, indent: &str) {
    let Some(unit) = &style.unit else {
        out.push_str(&compact(value, &style.colon));
        return;
    };
    match value {
        Value::Object(map) if !map.is_empty() => {
            let inner = format!("{indent}{unit}");
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(style.eol);
                out.push_str(&inner);
                out.push_str(&quote(k));
                out.push_str(&style.colon);
                render_into(out, v, style, &inner);
            }
            out.push_str(style.eol);
            out.push_str(indent);
            out.push('}');
        }
        Value::Array(items) if !items.is_empty() => {
            let inner = format!("{indent}{unit}");
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(style.eol);
                out.push_str(&inner);
                render_into(out, v, style, &inner);
            }
            out.push_str(style.eol);
            out.push_str(indent);
            out.push(']');
        }
        other => out.push_str(&compact(other, &style.colon)),
    }
}

pub(super) fn compact(value: &Value, colon: &str) -> String {
    match value {
        Value::Object(map) => {
            let parts: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}{colon}{}", quote(k), compact(v, colon)))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(|v| compact(v, colon)).collect();
            format!("[{}]", parts.join(","))
        }
        other => other.to_string(),
    }
}

pub(super) fn quote(s: &str) -> String {
    Value::String(s.to_owned()).to_string()
}
