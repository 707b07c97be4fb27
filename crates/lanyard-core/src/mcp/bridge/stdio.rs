//! The bridge's two ends towards the assistant: JSON-RPC lines from stdin, one line per message
//! to stdout; the run loop that hands each message on and ends the session with the input.

use std::rc::Rc;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use url::Url;

use super::credentials::Credentials;
use super::error::BridgeError;
use super::message::method_of;
use super::state::Bridge;

/// Runs the bridge until stdin closes.
pub async fn run(
    http: reqwest::Client,
    url: Url,
    creds: Box<dyn Credentials>,
) -> Result<(), crate::Error> {
    let stdin = tokio::io::stdin();
    let stdout = tokio::io::stdout();
    run_with(http, url, creds, stdin, stdout).await
}

/// The bridge over any byte streams (tests drive it with pipes).
pub async fn run_with<R, W>(
    http: reqwest::Client,
    url: Url,
    creds: Box<dyn Credentials>,
    input: R,
    output: W,
) -> Result<(), crate::Error>
where
    R: tokio::io::AsyncRead + Unpin,
    W: AsyncWrite + Unpin + 'static,
{
    let local = tokio::task::LocalSet::new();
    local
        .run_until(async move {
            let (tx, mut rx) = mpsc::unbounded_channel::<String>();
            let writer = tokio::task::spawn_local(async move {
                let mut output = output;
                while let Some(line) = rx.recv().await {
                    if output.write_all(line.as_bytes()).await.is_err()
                        || output.write_all(b"\n").await.is_err()
                        || output.flush().await.is_err()
                    {
                        return Err(BridgeError::Stdout("broken pipe".into()));
                    }
                }
                Ok(())
            });
            let bridge = Rc::new(Bridge::new(http, url, creds, tx));
            let mut lines = BufReader::new(input).lines();
            let mut tasks = Vec::new();
            loop {
                let line = match lines.next_line().await {
                    Ok(Some(l)) => l,
                    Ok(None) => break,
                    Err(e) => return Err(BridgeError::Stdin(e.to_string()).into()),
                };
                if line.trim().is_empty() {
                    continue;
                }
                let msg: Value = match serde_json::from_str(&line) {
                    Ok(v) => v,
                    Err(e) => {
                        bridge.emit(json!({"jsonrpc": "2.0", "id": null,
                            "error": {"code": -32700, "message": format!("Parse error: {e}")}}));
                        continue;
                    }
                };
                if bridge.take_own_answer(&msg) {
                    continue;
                }
                if method_of(&msg) == Some("initialize") {
                    bridge.session.borrow_mut().init = Some(msg.clone());
                    bridge.initialize(msg).await;
                    continue;
                }
                let Some(msg) = bridge.translate(msg) else {
                    continue;
                };
                let is_initialized = method_of(&msg) == Some("notifications/initialized");
                let b = bridge.clone();
                tasks.push(tokio::task::spawn_local(async move {
                    b.forward(msg).await;
                }));
                if is_initialized {
                    bridge.clone().start_get_stream();
                }
                tasks.retain(|t| !t.is_finished());
            }
            // Input closed: let in-flight requests finish (none can be answered by the client
            // any more), then end the session politely.
            bridge.input_closed.set(true);
            bridge.pending.borrow_mut().clear();
            for t in tasks {
                let _ = t.await;
            }
            bridge.end_session().await;
            // The GET stream may stay open for hours: it ends with the bridge.
            if let Some(stream) = bridge.get_stream.borrow_mut().take() {
                stream.abort();
            }
            drop(bridge);
            match writer.await {
                Ok(Ok(())) | Err(_) => Ok(()),
                Ok(Err(e)) => Err(e.into()),
            }
        })
        .await
}
