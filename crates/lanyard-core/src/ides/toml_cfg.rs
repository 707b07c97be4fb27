//! Codex's `config.toml`: read and edit one `[mcp_servers.NAME]` table with `toml_edit`, which
//! keeps every other byte (comments, order, spacing) as it was.

use serde_json::{Map, Value};
use toml_edit::{Array, DocumentMut, InlineTable, Item, Table};

use super::edited::{Created, Edited};
use super::jsonc::{EditError, SyntaxError, line_col};

fn parse(src: &str) -> Result<DocumentMut, SyntaxError> {
    src.parse::<DocumentMut>().map_err(|e| {
        let offset = e.span().map_or(0, |r| r.start);
        let (line, column) = line_col(src, offset);
        SyntaxError {
            line,
            column,
            message: e.message().trim().to_owned(),
        }
    })
}

/// Checks that `src` is valid TOML.
pub fn check(src: &str) -> Result<(), SyntaxError> {
    parse(src).map(|_| ())
}

fn to_json_value(v: &toml_edit::Value) -> Value {
    match v {
        toml_edit::Value::String(s) => Value::String(s.value().clone()),
        toml_edit::Value::Integer(i) => Value::from(*i.value()),
        toml_edit::Value::Float(f) => serde_json::Number::from_f64(*f.value())
            .map(Value::Number)
            .unwrap_or(Value::Null),
        toml_edit::Value::Boolean(b) => Value::Bool(*b.value()),
        toml_edit::Value::Datetime(d) => Value::String(d.value().to_string()),
        toml_edit::Value::Array(a) => Value::Array(a.iter().map(to_json_value).collect()),
        toml_edit::Value::InlineTable(t) => Value::Object(
            t.iter()
                .map(|(k, v)| (k.to_owned(), to_json_value(v)))
                .collect(),
        ),
    }
}

fn item_to_json(item: &Item) -> Value {
    match item {
        Item::None => Value::Null,
        Item::Value(v) => to_json_value(v),
        Item::Table(t) => Value::Object(
            t.iter()
                .map(|(k, v)| (k.to_owned(), item_to_json(v)))
                .collect(),
        ),
        Item::ArrayOfTables(a) => Value::Array(
            a.iter()
                .map(|t| item_to_json(&Item::Table(t.clone())))
                .collect(),
        ),
    }
}

fn to_toml_value(v: &Value) -> toml_edit::Value {
    match v {
        Value::String(s) => s.as_str().into(),
        Value::Bool(b) => (*b).into(),
        Value::Number(n) => match n.as_i64() {
            Some(i) => i.into(),
            None => n.as_f64().unwrap_or(0.0).into(),
        },
        Value::Array(items) => {
            let mut a = Array::new();
            for i in items {
                a.push(to_toml_value(i));
            }
            toml_edit::Value::Array(a)
        }
        Value::Object(map) => {
            let mut t = InlineTable::new();
            for (k, v) in map {
                t.insert(k, to_toml_value(v));
            }
            toml_edit::Value::InlineTable(t)
        }
        // TOML has no null; callers never write one.
        Value::Null => "".into(),
    }
}

/// Our entry at `container.name` (e.g. `mcp_servers.lanyard`), as JSON.
pub fn get(src: &str, container: &[String], name: &str) -> Result<Option<Value>, SyntaxError> {
    let doc = parse(src)?;
    let mut item = doc.as_item();
    for seg in container {
        match item.get(seg.as_str()) {
            Some(i) => item = i,
            None => return Ok(None),
        }
    }
    Ok(item.get(name).map(item_to_json))
}

/// Writes the managed keys of our entry (others stay), creating the container when missing.
pub fn upsert(
    src: &str,
    container: &[String],
    name: &str,
    desired: &Map<String, Value>,
    managed: &[&str],
) -> Result<Edited, EditError> {
    let mut doc = parse(src)?;
    let mut existed = container.len();
    let mut table: &mut Table = doc.as_table_mut();
    for (depth, seg) in container.iter().enumerate() {
        if !table.contains_key(seg) {
            existed = existed.min(depth);
            let mut t = Table::new();
            t.set_implicit(true);
            table.insert(seg, Item::Table(t));
        }
        table = table
            .get_mut(seg)
            .and_then(Item::as_table_mut)
            .ok_or_else(|| EditError::NotAnObject(container[..=depth].join(".")))?;
    }
    match table.get_mut(name) {
        None => {
            let mut t = Table::new();
            for (k, v) in desired {
                t.insert(k, Item::Value(to_toml_value(v)));
            }
            table.insert(name, Item::Table(t));
        }
        Some(item) => {
            let path = format!("{}.{name}", container.join("."));
            let entry = item
                .as_table_like_mut()
                .ok_or(EditError::NotAnObject(path))?;
            for key in managed {
                match desired.get(*key) {
                    Some(v) => {
                        let same = entry.get(key).is_some_and(|cur| item_to_json(cur) == *v);
                        if !same {
                            entry.insert(key, Item::Value(to_toml_value(v)));
                        }
                    }
                    None => {
                        entry.remove(key);
                    }
                }
            }
        }
    }
    Ok(Edited {
        text: doc.to_string(),
        created: Created::from_existed(existed, container.len()),
    })
}

/// Removes our entry; then the containers this tool created, if they are left empty.
pub fn remove(
    src: &str,
    container: &[String],
    name: &str,
    created: Created,
) -> Result<Option<String>, SyntaxError> {
    let mut doc = parse(src)?;
    let mut tables: Vec<&str> = Vec::new();
    {
        let mut table: &mut Table = doc.as_table_mut();
        for seg in container {
            match table.get_mut(seg).and_then(Item::as_table_mut) {
                Some(t) => table = t,
                None => return Ok(None),
            }
            tables.push(seg);
        }
        if table.remove(name).is_none() {
            return Ok(None);
        }
    }
    let Created::From(from) = created else {
        return Ok(Some(doc.to_string()));
    };
    // Prune innermost first while empty and created by us.
    let mut depth = container.len();
    while depth > from {
        let Some((last, parents)) = container[..depth].split_last() else {
            break;
        };
        let mut table: &mut Table = doc.as_table_mut();
        for seg in parents {
            match table.get_mut(seg).and_then(Item::as_table_mut) {
                Some(t) => table = t,
                None => return Ok(Some(doc.to_string())),
            }
        }
        let empty = table
            .get(last)
            .and_then(Item::as_table)
            .is_some_and(|t| t.is_empty() && t.is_implicit());
        if !empty {
            break;
        }
        table.remove(last);
        depth -= 1;
    }
    Ok(Some(doc.to_string()))
}
