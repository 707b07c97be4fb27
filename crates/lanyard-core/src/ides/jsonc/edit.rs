//! Editing a parsed document: one change becomes one splice of the original text, so every
//! byte outside the changed member stays as it was.

use serde_json::Value;

use super::parse::{Node, Object, SyntaxError, parse, parse_along};
use super::style::{Style, compact, detect_style, line_indent, quote, render};

/// One change to the text: replace `start..end` with `text`.
struct Splice {
    start: usize,
    end: usize,
    text: String,
}

impl Splice {
    fn apply(self, src: &str) -> String {
        let mut out = String::with_capacity(src.len() + self.text.len());
        out.push_str(&src[..self.start]);
        out.push_str(&self.text);
        out.push_str(&src[self.end..]);
        out
    }
}

/// Errors of an edit on a well-formed document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditError {
    Syntax(SyntaxError),
    /// `path` names something that exists but is not an object.
    NotAnObject(String),
}

impl From<SyntaxError> for EditError {
    fn from(e: SyntaxError) -> Self {
        EditError::Syntax(e)
    }
}

/// A parsed document ready for edits.
pub struct Doc<'a> {
    pub src: &'a str,
    pub root: Node,
}

impl<'a> Doc<'a> {
    pub fn parse(src: &'a str) -> Result<Self, SyntaxError> {
        Ok(Doc {
            src,
            root: parse(src)?,
        })
    }

    /// A document for edits along `path` only (see [`parse_along`]).
    pub fn parse_along(src: &'a str, path: &[&str]) -> Result<Self, SyntaxError> {
        Ok(Doc {
            src,
            root: parse_along(src, path)?,
        })
    }

    /// The object at `path` (each segment a member key), if every step exists and is an object.
    pub fn object_at(&self, path: &[&str]) -> Option<&Object> {
        let mut node = &self.root;
        for seg in path {
            node = &node.as_object()?.get(seg)?.value;
        }
        node.as_object()
    }

    /// The value at `path`.
    pub fn value_at(&self, path: &[&str]) -> Option<Value> {
        let (last, parent) = path.split_last()?;
        let m = self.object_at(parent)?.get(last)?;
        Some(m.value.to_value(self.src))
    }

    /// Sets `path` (the last segment is the member's key) to `value`, creating missing objects on
    /// the way. Returns the new text and how many leading path segments existed before (the
    /// objects after them were created by this edit).
    pub fn set(&self, path: &[&str], value: &Value) -> Result<(String, usize), EditError> {
        let Some((last, parents)) = path.split_last() else {
            return Err(EditError::NotAnObject(String::new()));
        };
        let style = detect_style(self.src, &self.root);
        let mut obj = self
            .root
            .as_object()
            .ok_or_else(|| EditError::NotAnObject("the top level".into()))?;
        for (depth, seg) in parents.iter().enumerate() {
            match obj.get(seg) {
                Some(m) => {
                    obj = m
                        .value
                        .as_object()
                        .ok_or_else(|| EditError::NotAnObject(path[..=depth].join(" → ")))?;
                }
                None => {
                    // Build the missing chain as one nested value and insert it here.
                    let mut nested = value.clone();
                    for s in path[depth + 1..].iter().rev() {
                        let mut map = serde_json::Map::new();
                        map.insert((*s).to_owned(), nested);
                        nested = Value::Object(map);
                    }
                    let splice = insert_member(self.src, obj, seg, &nested, &style);
                    return Ok((splice.apply(self.src), depth));
                }
            }
        }
        let splice = match obj.get(last) {
            Some(m) => {
                let indent = line_indent(self.src, m.key_span.start);
                Splice {
                    start: m.value.span().start,
                    end: m.value.span().end,
                    text: render(value, &style, indent),
                }
            }
            None => insert_member(self.src, obj, last, value, &style),
        };
        Ok((splice.apply(self.src), parents.len()))
    }

    /// Removes the member at `path`; then removes each now-empty object of the path at depth
    /// `>= prune_from` (objects this tool created). `None` when the member did not exist.
    pub fn remove(&self, path: &[&str], prune_from: usize) -> Option<String> {
        let (last, parents) = path.split_last()?;
        let obj = self.object_at(parents)?;
        let idx = obj.index_of(last)?;
        let out = remove_member(self.src, obj, idx).apply(self.src);
        // Prune containers we created, innermost first, while they are empty.
        let mut out = out;
        let mut depth = parents.len();
        while depth > prune_from {
            let Ok(doc) = Doc::parse_along(&out, parents) else {
                break;
            };
            let container = &parents[..depth];
            let empty = doc.object_at(container).is_some_and(|o| {
                o.members.is_empty() && out[o.span.start + 1..o.span.end - 1].trim().is_empty()
            });
            if !empty {
                break;
            }
            let (ckey, cparents) = container.split_last()?;
            let Some(parent) = doc.object_at(cparents) else {
                break;
            };
            let Some(i) = parent.index_of(ckey) else {
                break;
            };
            out = remove_member(&out, parent, i).apply(&out);
            depth -= 1;
        }
        Some(out)
    }
}

/// Offset just after the trivia (whitespace and comments) following `from`, and whether a comma
/// was found there (the offset is then just after the comma).
fn comma_after(src: &str, from: usize) -> Option<usize> {
    let b = src.as_bytes();
    let mut i = from;
    loop {
        match b.get(i) {
            Some(b' ' | b'\t' | b'\n' | b'\r') => i += 1,
            Some(b'/') if b.get(i + 1) == Some(&b'/') => {
                while b.get(i).is_some_and(|c| *c != b'\n') {
                    i += 1;
                }
            }
            Some(b'/') if b.get(i + 1) == Some(&b'*') => {
                i += 2 + src[i + 2..].find("*/")? + 2;
            }
            Some(b',') => return Some(i),
            _ => return None,
        }
    }
}

fn insert_member(src: &str, obj: &Object, key: &str, value: &Value, style: &Style) -> Splice {
    let colon = &style.colon;
    match obj.members.last() {
        Some(last) => {
            // Same separation as the last member has from what precedes it.
            let key_start = last.key_span.start;
            let before = &src[obj.span.start + 1..key_start];
            let on_own_line = before
                .rfind('\n')
                .is_some_and(|nl| before[nl + 1..].chars().all(|c| c == ' ' || c == '\t'));
            let indent = line_indent(src, key_start);
            let sep = if style.unit.is_some() && on_own_line {
                format!("{}{indent}", style.eol)
            } else if before.ends_with(' ') {
                " ".to_owned()
            } else {
                String::new()
            };
            let member = format!("{}{colon}{}", quote(key), render(value, style, indent));
            let value_end = last.value.span().end;
            match comma_after(src, value_end) {
                // A trailing comma (JSONC): insert after it and keep one after ours.
                Some(comma) => Splice {
                    start: comma + 1,
                    end: comma + 1,
                    text: format!("{sep}{member},"),
                },
                None => Splice {
                    start: value_end,
                    end: value_end,
                    text: format!(",{sep}{member}"),
                },
            }
        }
        None => {
            let open = obj.span.start + 1;
            let close = obj.span.end - 1;
            let inner_blank = src[open..close].trim().is_empty();
            match &style.unit {
                Some(unit) => {
                    let outer = line_indent(src, obj.span.start);
                    let indent = format!("{outer}{unit}");
                    let member = format!("{}{colon}{}", quote(key), render(value, style, &indent));
                    if inner_blank {
                        Splice {
                            start: open,
                            end: close,
                            text: format!("{eol}{indent}{member}{eol}{outer}", eol = style.eol),
                        }
                    } else {
                        // Only comments inside: keep them, add after the brace.
                        Splice {
                            start: open,
                            end: open,
                            text: format!("{eol}{indent}{member}", eol = style.eol),
                        }
                    }
                }
                None => Splice {
                    start: open,
                    end: open,
                    text: format!("{}{colon}{}", quote(key), compact(value, colon)),
                },
            }
        }
    }
}

fn remove_member(src: &str, obj: &Object, idx: usize) -> Splice {
    let m = &obj.members[idx];
    let value_end = m.value.span().end;
    if obj.members.len() == 1 {
        let open = obj.span.start + 1;
        let close = obj.span.end - 1;
        let end = comma_after(src, value_end).map_or(value_end, |c| c + 1);
        let outside_blank =
            src[open..m.key_span.start].trim().is_empty() && src[end..close].trim().is_empty();
        return if outside_blank {
            Splice {
                start: open,
                end: close,
                text: String::new(),
            }
        } else {
            // Take the whitespace before the key too (what an insertion after `{` added).
            let lead = src[open..m.key_span.start].trim_end_matches([' ', '\t', '\n', '\r']);
            Splice {
                start: open + lead.len(),
                end,
                text: String::new(),
            }
        };
    }
    if idx + 1 < obj.members.len() {
        // Not the last: take everything up to the next key (it inherits our indentation).
        return Splice {
            start: m.key_span.start,
            end: obj.members[idx + 1].key_span.start,
            text: String::new(),
        };
    }
    // The last of several: from the comma after the previous value to the end of ours.
    let prev_end = obj.members[idx - 1].value.span().end;
    let start = comma_after(src, prev_end).unwrap_or(prev_end);
    Splice {
        start,
        end: value_end,
        text: String::new(),
    }
}
