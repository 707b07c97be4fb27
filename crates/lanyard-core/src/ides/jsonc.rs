//! A span-keeping JSON / JSON-with-comments reader and a byte-preserving editor.
//!
//! The parser builds a tree of byte spans over the original text (keys decoded, scalars left as
//! spans); the editor turns one change into one splice of the original text, so every byte outside
//! the changed member — key order, comments, indentation, trailing newline — stays as it was.
//! Inserting a member then removing it gives back the original bytes exactly.
//!
//! Accepted beyond strict JSON (Cursor's files are JSONC): `//` and `/* */` comments and trailing
//! commas. A byte-order mark is skipped.

use serde_json::Value;

/// Where and why a file is not valid JSON(C).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    pub message: String,
}

impl SyntaxError {
    fn at(src: &str, offset: usize, message: impl Into<String>) -> Self {
        let (line, column) = line_col(src, offset);
        SyntaxError {
            line,
            column,
            message: message.into(),
        }
    }
}

/// 1-based line and character column of a byte offset.
pub fn line_col(src: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(src.len());
    let mut cut = offset;
    while !src.is_char_boundary(cut) {
        cut -= 1;
    }
    let before = &src[..cut];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// A parsed value: byte spans into the source text.
#[derive(Debug, Clone)]
pub enum Node {
    Object(Object),
    Array(Array),
    Scalar(Span),
    /// A value off the edit path: checked for syntax, not materialised (see [`parse_along`]).
    Lazy(Span),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Clone)]
pub struct Object {
    /// `start` is the offset of `{`, `end` the offset just after `}`.
    pub span: Span,
    pub members: Vec<Member>,
}

#[derive(Debug, Clone)]
pub struct Member {
    pub key: String,
    /// The key including its quotes.
    pub key_span: Span,
    pub value: Node,
}

#[derive(Debug, Clone)]
pub struct Array {
    pub span: Span,
    pub items: Vec<Node>,
}

impl Node {
    pub fn span(&self) -> Span {
        match self {
            Node::Object(o) => o.span,
            Node::Array(a) => a.span,
            Node::Scalar(s) | Node::Lazy(s) => *s,
        }
    }
    pub fn as_object(&self) -> Option<&Object> {
        match self {
            Node::Object(o) => Some(o),
            _ => None,
        }
    }
    /// The value as `serde_json`, decoded from the source text.
    pub fn to_value(&self, src: &str) -> Value {
        match self {
            Node::Object(o) => Value::Object(
                o.members
                    .iter()
                    .map(|m| (m.key.clone(), m.value.to_value(src)))
                    .collect(),
            ),
            Node::Array(a) => Value::Array(a.items.iter().map(|n| n.to_value(src)).collect()),
            Node::Scalar(s) => serde_json::from_str(&src[s.start..s.end]).unwrap_or(Value::Null),
            Node::Lazy(s) => {
                let sub = &src[s.start..s.end];
                parse(sub).map_or(Value::Null, |n| n.to_value(sub))
            }
        }
    }
}

impl Object {
    pub fn get(&self, key: &str) -> Option<&Member> {
        // The last duplicate wins, as in JSON.parse.
        self.members.iter().rev().find(|m| m.key == key)
    }
    fn index_of(&self, key: &str) -> Option<usize> {
        self.members.iter().rposition(|m| m.key == key)
    }
}

const MAX_DEPTH: usize = 256;

/// Parses a whole document; the root must be a value (any kind).
pub fn parse(src: &str) -> Result<Node, SyntaxError> {
    parse_along(src, &[])
}

/// Checks the whole document but materialises only the objects along `path` (and the whole
/// value at its end): the rest become [`Node::Lazy`]. A multi-megabyte `~/.claude.json` is then
/// edited without building a tree of its thousands of projects. An empty path builds everything.
pub fn parse_along(src: &str, path: &[&str]) -> Result<Node, SyntaxError> {
    let mut p = Parser {
        src,
        b: src.as_bytes(),
        i: 0,
        path,
    };
    if src.starts_with('\u{feff}') {
        p.i = 3;
    }
    p.skip_trivia()?;
    let track = if path.is_empty() {
        Track::Full
    } else {
        Track::At(0)
    };
    let root = p.value(0, track)?;
    p.skip_trivia()?;
    if p.i != p.b.len() {
        return Err(p.err("unexpected text after the end of the document"));
    }
    Ok(root)
}

struct Parser<'a> {
    src: &'a str,
    b: &'a [u8],
    i: usize,
    path: &'a [&'a str],
}

/// How much of a value to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Track {
    /// Everything (the value at the end of the path, or a plain `parse`).
    Full,
    /// An object reached by `path[..i]`: build its members, follow `path[i]`.
    At(usize),
    /// Off the path: check the syntax only.
    Skip,
}

impl Parser<'_> {
    fn err(&self, msg: &str) -> SyntaxError {
        SyntaxError::at(self.src, self.i, msg)
    }

    fn skip_trivia(&mut self) -> Result<(), SyntaxError> {
        loop {
            match self.b.get(self.i) {
                Some(b' ' | b'\t' | b'\n' | b'\r') => self.i += 1,
                Some(b'/') => match self.b.get(self.i + 1) {
                    Some(b'/') => {
                        while let Some(&c) = self.b.get(self.i) {
                            if c == b'\n' {
                                break;
                            }
                            self.i += 1;
                        }
                    }
                    Some(b'*') => {
                        let start = self.i;
                        match self.src[self.i + 2..].find("*/") {
                            Some(k) => self.i += 2 + k + 2,
                            None => {
                                self.i = start;
                                return Err(self.err("unterminated /* comment"));
                            }
                        }
                    }
                    _ => return Err(self.err("unexpected '/'")),
                },
                _ => return Ok(()),
            }
        }
    }

    fn value(&mut self, depth: usize, track: Track) -> Result<Node, SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nesting is too deep"));
        }
        match self.b.get(self.i) {
            None => Err(self.err("unexpected end of file, expected a value")),
            Some(b'{') => self.object(depth, track),
            Some(b'[') => self.array(depth, track),
            Some(b'"') => {
                let start = self.i;
                self.skip_string()?;
                Ok(Node::Scalar(Span { start, end: self.i }))
            }
            Some(b't') => self.literal("true"),
            Some(b'f') => self.literal("false"),
            Some(b'n') => self.literal("null"),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.err("expected a value")),
        }
    }

    fn literal(&mut self, word: &str) -> Result<Node, SyntaxError> {
        if self.b[self.i..].starts_with(word.as_bytes()) {
            let start = self.i;
            self.i += word.len();
            Ok(Node::Scalar(Span { start, end: self.i }))
        } else {
            Err(self.err("expected a value"))
        }
    }

    fn number(&mut self) -> Result<Node, SyntaxError> {
        let start = self.i;
        if self.b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        let digits = |p: &mut Self| {
            let s = p.i;
            while matches!(p.b.get(p.i), Some(b'0'..=b'9')) {
                p.i += 1;
            }
            p.i > s
        };
        if !digits(self) {
            return Err(self.err("invalid number"));
        }
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            if !digits(self) {
                return Err(self.err("invalid number"));
            }
        }
        if matches!(self.b.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.b.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !digits(self) {
                return Err(self.err("invalid number"));
            }
        }
        Ok(Node::Scalar(Span { start, end: self.i }))
    }

    /// Skips a string (cursor on the opening quote), checking its escapes, allocating nothing.
    fn skip_string(&mut self) -> Result<(), SyntaxError> {
        let start = self.i;
        self.i += 1;
        loop {
            match self.b.get(self.i) {
                None => {
                    self.i = start;
                    return Err(self.err("unterminated string"));
                }
                Some(b'"') => {
                    self.i += 1;
                    return Ok(());
                }
                Some(b'\\') => match self.b.get(self.i + 1) {
                    Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.i += 2,
                    Some(b'u')
                        if self
                            .b
                            .get(self.i + 2..self.i + 6)
                            .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) =>
                    {
                        self.i += 6
                    }
                    _ => return Err(self.err("invalid escape in string")),
                },
                Some(b'\n') => return Err(self.err("line break inside a string")),
                Some(_) => self.i += 1,
            }
        }
    }

    /// Skips a string (cursor on the opening quote) and returns its decoded text.
    fn string(&mut self) -> Result<String, SyntaxError> {
        let start = self.i;
        self.i += 1;
        let mut has_escape = false;
        loop {
            match self.b.get(self.i) {
                None => {
                    self.i = start;
                    return Err(self.err("unterminated string"));
                }
                Some(b'"') => {
                    self.i += 1;
                    break;
                }
                Some(b'\\') => {
                    has_escape = true;
                    self.i += 2;
                }
                Some(b'\n') => return Err(self.err("line break inside a string")),
                Some(_) => self.i += 1,
            }
        }
        let raw = &self.src[start..self.i];
        if !has_escape {
            return Ok(raw[1..raw.len() - 1].to_owned());
        }
        // A lone surrogate (`\\ud800`, which JSON.stringify may write) does not decode; the
        // escaped text still serves to compare keys.
        Ok(
            serde_json::from_str::<String>(raw)
                .unwrap_or_else(|_| raw[1..raw.len() - 1].to_owned()),
        )
    }

    fn object(&mut self, depth: usize, track: Track) -> Result<Node, SyntaxError> {
        let start = self.i;
        self.i += 1;
        let mut members = Vec::new();
        loop {
            self.skip_trivia()?;
            match self.b.get(self.i) {
                Some(b'}') => {
                    self.i += 1;
                    break;
                }
                Some(b'"') => {}
                None => return Err(self.err("unexpected end of file inside an object")),
                Some(_) => return Err(self.err("expected a quoted key or '}'")),
            }
            let key_start = self.i;
            let key = if track == Track::Skip {
                self.skip_string()?;
                String::new()
            } else {
                self.string()?
            };
            let key_span = Span {
                start: key_start,
                end: self.i,
            };
            self.skip_trivia()?;
            if self.b.get(self.i) != Some(&b':') {
                return Err(self.err("expected ':' after the key"));
            }
            self.i += 1;
            self.skip_trivia()?;
            let child = match track {
                Track::Full => Track::Full,
                Track::Skip => Track::Skip,
                Track::At(i) if self.path.get(i) == Some(&key.as_str()) => {
                    if i + 1 == self.path.len() {
                        Track::Full
                    } else {
                        Track::At(i + 1)
                    }
                }
                Track::At(_) => Track::Skip,
            };
            let value = self.value(depth + 1, child)?;
            if track != Track::Skip {
                members.push(Member {
                    key,
                    key_span,
                    value,
                });
            }
            self.skip_trivia()?;
            match self.b.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    break;
                }
                None => return Err(self.err("unexpected end of file inside an object")),
                Some(_) => return Err(self.err("expected ',' or '}'")),
            }
        }
        let span = Span { start, end: self.i };
        if track == Track::Skip {
            return Ok(Node::Lazy(span));
        }
        Ok(Node::Object(Object { span, members }))
    }

    fn array(&mut self, depth: usize, track: Track) -> Result<Node, SyntaxError> {
        let full = track == Track::Full;
        let child = if full { Track::Full } else { Track::Skip };
        let start = self.i;
        self.i += 1;
        let mut items = Vec::new();
        loop {
            self.skip_trivia()?;
            if self.b.get(self.i) == Some(&b']') {
                self.i += 1;
                break;
            }
            let item = self.value(depth + 1, child)?;
            if full {
                items.push(item);
            }
            self.skip_trivia()?;
            match self.b.get(self.i) {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    break;
                }
                None => return Err(self.err("unexpected end of file inside an array")),
                Some(_) => return Err(self.err("expected ',' or ']'")),
            }
        }
        let span = Span { start, end: self.i };
        if !full {
            return Ok(Node::Lazy(span));
        }
        Ok(Node::Array(Array { span, items }))
    }
}

/// How a document lays out its members, learnt from the document itself.
#[derive(Debug, Clone)]
struct Style {
    /// One level of indentation ("  ", "    ", "\t"); `None` for a one-line (minified) document.
    unit: Option<String>,
    /// Between a key and its value: ": " or ":".
    colon: String,
    eol: &'static str,
}

fn detect_style(src: &str, root: &Node) -> Style {
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
fn line_indent(src: &str, offset: usize) -> &str {
    let line_start = src[..offset].rfind('\n').map_or(0, |i| i + 1);
    let rest = &src[line_start..];
    let n = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    &rest[..n]
}

/// Serialises `value` in the document's style, its first line starting after `indent`.
fn render(value: &Value, style: &Style, indent: &str) -> String {
    let mut out = String::new();
    render_into(&mut out, value, style, indent);
    out
}

fn render_into(out: &mut String, value: &Value, style: &Style, indent: &str) {
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

fn compact(value: &Value, colon: &str) -> String {
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

fn quote(s: &str) -> String {
    Value::String(s.to_owned()).to_string()
}

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

#[cfg(test)]
mod tests {
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
        let src = r#"{"a": {"x": [1, {"y": "\ud800 lone"}]}, "mcpServers": {"n": {"args": ["a"]}}, "z": 2}"#;
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
}
