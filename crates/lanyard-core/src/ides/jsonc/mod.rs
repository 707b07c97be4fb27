//! A span-keeping JSON / JSON-with-comments reader and a byte-preserving editor.
//!
//! The parser builds a tree of byte spans over the original text (keys decoded, scalars left as
//! spans); the editor turns one change into one splice of the original text, so every byte outside
//! the changed member — key order, comments, indentation, trailing newline — stays as it was.
//! Inserting a member then removing it gives back the original bytes exactly.
//!
//! Accepted beyond strict JSON (Cursor's files are JSONC): `//` and `/* */` comments and trailing
//! commas. A byte-order mark is skipped.
//!
//! [`parse`] reads, [`style`] learns and renders a document's layout, [`edit`] splices.

mod edit;
mod parse;
mod style;
#[cfg(test)]
mod tests;

pub use edit::{Doc, EditError};
pub use parse::{Array, Member, Node, Object, Span, SyntaxError, line_col, parse, parse_along};
