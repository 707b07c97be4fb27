//! The bridge's shared state: the negotiated session, the token in use, the tools' header
//! designations and the bridge's own requests to the client; writing a message to stdout.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use url::Url;

use super::credentials::Credentials;
use super::message::request_id;
use crate::mcp::tool_headers::ToolHeaders;

/// The negotiated state shared by the forwarding tasks.
#[derive(Debug, Default)]
pub(super) struct Session {
    pub(super) id: Option<String>,
    pub(super) version: Option<String>,
    /// The client's `initialize` request, replayed when the server forgets the session.
    pub(super) init: Option<Value>,
    /// A 2025 client talking to a 2026-07-28 server: the `_meta` envelope the bridge adds to
    /// each of the client's messages.
    pub(super) envelope: Option<Value>,
    pub(super) get_stream_started: bool,
}

pub(super) struct Bridge {
    pub(super) http: reqwest::Client,
    pub(super) url: Url,
    pub(super) creds: Box<dyn Credentials>,
    pub(super) session: RefCell<Session>,
    pub(super) out: mpsc::UnboundedSender<String>,
    /// The header value in use (so a 401 can name what was refused).
    pub(super) current: RefCell<Option<(String, String)>>,
    /// The `x-mcp-header` designations of the tools listed so far.
    pub(super) tools: RefCell<ToolHeaders>,
    /// The bridge's own requests to the client awaiting its answer, by id.
    pub(super) pending: RefCell<HashMap<String, oneshot::Sender<Value>>>,
    pub(super) next_id: Cell<u64>,
    /// The client closed its input: it answers nothing any more.
    pub(super) input_closed: Cell<bool>,
    pub(super) get_stream: RefCell<Option<tokio::task::JoinHandle<()>>>,
    /// The key DPoP-bound tokens are proved with (from the credentials).
    pub(super) dpop: Option<crate::tokens::dpop::Dpop>,
}

impl Bridge {
    pub(super) fn new(
        http: reqwest::Client,
        url: Url,
        creds: Box<dyn Credentials>,
        out: mpsc::UnboundedSender<String>,
    ) -> Self {
        Bridge {
            http,
            url,
            dpop: creds.dpop(),
            creds,
            session: RefCell::new(Session::default()),
            out,
            current: RefCell::new(None),
            tools: RefCell::new(ToolHeaders::default()),
            pending: RefCell::new(HashMap::new()),
            next_id: Cell::new(1),
            input_closed: Cell::new(false),
            get_stream: RefCell::new(None),
        }
    }

    pub(super) fn emit(&self, msg: Value) {
        let _ = self.out.send(msg.to_string());
    }

    pub(super) fn error_reply(&self, msg: &Value, code: i64, message: String) {
        if let Some(id) = request_id(msg) {
            self.emit(
                json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}),
            );
        } else {
            tracing::warn!("bridge: {message}");
        }
    }

    pub(super) fn fresh_id(&self, what: &str) -> String {
        let n = self.next_id.get();
        self.next_id.set(n + 1);
        format!("lanyard-{what}-{n}")
    }

    /// A line from the client that answers one of the bridge's own requests: handed to the
    /// task waiting for it (`true`), not forwarded.
    pub(super) fn take_own_answer(&self, msg: &Value) -> bool {
        if msg.get("method").is_some() {
            return false;
        }
        let Some(id) = msg.get("id").and_then(Value::as_str) else {
            return false;
        };
        match self.pending.borrow_mut().remove(id) {
            Some(tx) => {
                let _ = tx.send(msg.clone());
                true
            }
            None => false,
        }
    }

    pub(super) fn learn_version(&self, m: &Value) {
        if let Some(v) = m.pointer("/result/protocolVersion").and_then(Value::as_str) {
            self.session.borrow_mut().version = Some(v.to_owned());
        }
    }
}
