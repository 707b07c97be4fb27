//! Reading JSON / JSON-with-comments into a tree of byte spans over the original text (keys
//! decoded, scalars left as spans), with positions for errors.

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
    pub(super) fn index_of(&self, key: &str) -> Option<usize> {
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
