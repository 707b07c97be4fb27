//! Typed reads of metadata fields, each failure naming the field and what was expected, so a
//! wrong type reads as "`authorization_servers` must be an array of strings", not a serde
//! line/column.

use serde_json::{Map, Value};
use url::Url;

/// A metadata document that is a JSON object.
pub(crate) struct Fields<'a> {
    obj: &'a Map<String, Value>,
}

/// What is wrong with one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldProblem {
    pub field: String,
    pub problem: String,
}

fn problem(field: &str, problem: impl Into<String>) -> FieldProblem {
    FieldProblem {
        field: field.to_owned(),
        problem: problem.into(),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl<'a> Fields<'a> {
    pub fn new(v: &'a Value) -> Result<Self, FieldProblem> {
        match v {
            Value::Object(obj) => Ok(Fields { obj }),
            other => Err(problem(
                "(document)",
                format!("must be a JSON object, found {}", kind(other)),
            )),
        }
    }

    pub fn opt_str(&self, f: &str) -> Result<Option<&'a str>, FieldProblem> {
        match self.obj.get(f) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(problem(
                f,
                format!("must be a string, found {}", kind(other)),
            )),
        }
    }

    pub fn req_str(&self, f: &str) -> Result<&'a str, FieldProblem> {
        match self.opt_str(f)? {
            Some(s) if !s.is_empty() => Ok(s),
            Some(_) => Err(problem(f, "must not be empty")),
            None => Err(problem(f, "is missing")),
        }
    }

    pub fn opt_bool(&self, f: &str) -> Result<Option<bool>, FieldProblem> {
        match self.obj.get(f) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(problem(
                f,
                format!("must be true or false, found {}", kind(other)),
            )),
        }
    }

    pub fn opt_str_array(&self, f: &str) -> Result<Option<Vec<String>>, FieldProblem> {
        match self.obj.get(f) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| match i {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(problem(
                        f,
                        format!("must be an array of strings, found {} in it", kind(other)),
                    )),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(other) => Err(problem(
                f,
                format!("must be an array of strings, found {}", kind(other)),
            )),
        }
    }

    /// An absolute URL (not yet checked against the URL policy).
    pub fn opt_url(&self, f: &str) -> Result<Option<Url>, FieldProblem> {
        match self.opt_str(f)? {
            None => Ok(None),
            Some(s) => parse_url(f, s).map(Some),
        }
    }

    pub fn req_url(&self, f: &str) -> Result<Url, FieldProblem> {
        let s = self.req_str(f)?;
        parse_url(f, s)
    }
}

pub(crate) fn parse_url(f: &str, s: &str) -> Result<Url, FieldProblem> {
    let u =
        Url::parse(s).map_err(|e| problem(f, format!("is not an absolute URL ({s:?}: {e})")))?;
    if u.cannot_be_a_base() || u.host().is_none() {
        return Err(problem(
            f,
            format!("is not an http(s) URL with a host ({s:?})"),
        ));
    }
    Ok(u)
}
