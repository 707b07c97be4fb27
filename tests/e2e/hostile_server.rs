//! A hostile (or merely odd) gateway + authorization server on loopback, answering canned HTTP
//! from a raw `TcpListener`: exactly the bytes a test wants, which no well-behaved framework
//! would send. The default routes make a complete, valid MCP server with its own AS (PRM,
//! RFC 8414 metadata, DCR, an `/authorize` that approves at once, `/token`, MCP over JSON);
//! a test replaces one route with a [`Fault`] and checks Lanyard's refusal.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lanyard_e2e::{Value, json};

/// One deviation from the well-behaved server.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Fault {
    /// The well-behaved server (kept for ad-hoc runs and future tests).
    #[allow(dead_code)]
    None,
    /// PRM body larger than the 1 MiB cap.
    OversizedPrm,
    /// PRM served as `text/html`.
    PrmAsHtml,
    /// PRM whose `authorization_servers` is a string, not an array.
    PrmWrongTypes,
    /// PRM for another resource.
    PrmOtherResource,
    /// Every PRM URL redirects to another origin (`localhost` instead of `127.0.0.1`).
    PrmCrossOriginRedirect,
    /// AS metadata naming another issuer.
    IssuerMismatch,
    /// AS metadata with a plain-http token endpoint on a non-loopback host.
    HttpTokenEndpoint,
    /// AS metadata without `code_challenge_methods_supported`.
    NoPkce,
    /// A legal but odd challenge: two header lines, another scheme with a quoted comma, a
    /// lower-case scheme, spaces around `=`, a custom PRM location; only that location works.
    OddChallenge,
    /// PRM names an issuer that publishes no metadata at any well-known URL.
    NoAuthServerMetadata,
    /// The server answers the unauthenticated request with 200 and publishes no PRM.
    Unprotected,
    /// The server answers the unauthenticated request with 404 and publishes no PRM.
    NotAnMcpEndpoint,
    /// Token response without `expires_in`.
    TokenNoExpiry,
    /// Token response with an absurd `expires_in`.
    TokenHugeExpiry,
    /// `/authorize` redirects back with `error=access_denied`.
    CallbackError,
    /// `/authorize` redirects back with a state Lanyard never sent.
    CallbackForeignState,
}

pub(crate) struct Hostile {
    pub base: String,
    requests: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    port: u16,
    thread: Option<std::thread::JoinHandle<()>>,
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn reply(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Reply {
    Reply {
        status,
        headers: vec![("Content-Type".into(), content_type.into())],
        body: body.into(),
    }
}

fn json_reply(status: u16, v: &Value) -> Reply {
    reply(status, "application/json", v.to_string())
}

impl Hostile {
    pub(crate) fn start(fault: Fault) -> Hostile {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().expect("addr").port();
        let base = format!("http://127.0.0.1:{port}");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (b, r, s) = (base.clone(), requests.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(stream) = conn {
                    let (b, r, f) = (b.clone(), r.clone(), fault.clone());
                    std::thread::spawn(move || serve(stream, &b, &f, &r));
                }
            }
        });
        Hostile {
            base,
            requests,
            stop,
            port,
            thread: Some(thread),
        }
    }

    pub(crate) fn mcp_url(&self) -> String {
        format!("{}/mcp", self.base)
    }

    /// "METHOD /path?query" of every request so far.
    pub(crate) fn requests(&self) -> Vec<String> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }

    pub(crate) fn saw(&self, prefix: &str) -> bool {
        self.requests().iter().any(|r| r.starts_with(prefix))
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(mut stream: TcpStream, base: &str, fault: &Fault, log: &Mutex<Vec<String>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 64 * 1024 {
            return;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.lines();
    let mut first = lines.next().unwrap_or("").split_whitespace();
    let method = first.next().unwrap_or("").to_owned();
    let target = first.next().unwrap_or("").to_owned();
    let mut content_length = 0usize;
    let mut authorization = None;
    for l in lines {
        if let Some((k, v)) = l.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                content_length = v.trim().parse().unwrap_or(0);
            }
            if k.eq_ignore_ascii_case("authorization") {
                authorization = Some(v.trim().to_owned());
            }
        }
    }
    while buf.len() < head_end + content_length {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let body = String::from_utf8_lossy(&buf[head_end.min(buf.len())..]).into_owned();
    if let Ok(mut l) = log.lock() {
        l.push(format!("{method} {target}"));
    }
    let r = route(
        &method,
        &target,
        &body,
        authorization.as_deref(),
        base,
        fault,
    );
    let reason = match r.status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        302 => "Found",
        401 => "Unauthorized",
        404 => "Not Found",
        _ => "Whatever",
    };
    let mut out = format!("HTTP/1.1 {} {reason}\r\n", r.status);
    for (k, v) in &r.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        r.body.len()
    ));
    let _ = stream.write_all(out.as_bytes());
    let _ = stream.write_all(&r.body);
    let _ = stream.flush();
}

fn query(target: &str) -> Vec<(String, String)> {
    let q = target.split_once('?').map(|(_, q)| q).unwrap_or("");
    url::form_urlencoded::parse(q.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn route(
    method: &str,
    target: &str,
    body: &str,
    authorization: Option<&str>,
    base: &str,
    fault: &Fault,
) -> Reply {
    let path = target.split('?').next().unwrap_or("");
    let prm_path = "/.well-known/oauth-protected-resource/mcp";
    let prm = || {
        json!({
            "resource": format!("{base}/mcp"),
            "authorization_servers": [base],
            "scopes_supported": ["mcp:tools"],
        })
    };
    let no_prm = matches!(fault, Fault::Unprotected | Fault::NotAnMcpEndpoint);
    match (method, path) {
        ("POST", "/mcp") if *fault == Fault::Unprotected => mcp(body),
        ("POST", "/mcp") if *fault == Fault::NotAnMcpEndpoint => {
            reply(404, "text/html", "<h1>Not Found</h1>")
        }
        ("GET", p) if no_prm && p.starts_with("/.well-known/") => {
            json_reply(404, &json!({"error": "not_found"}))
        }
        ("GET", p)
            if *fault == Fault::NoAuthServerMetadata && !p.contains("protected-resource") =>
        {
            json_reply(404, &json!({"error": "not_found"}))
        }
        ("POST", "/mcp") if authorization.is_none() => {
            let mut r = json_reply(401, &json!({"error": "invalid_token"}));
            if *fault == Fault::OddChallenge {
                r.headers
                    .push(("WWW-Authenticate".into(), "Basic realm=\"a, b\"".into()));
                r.headers.push((
                    "WWW-Authenticate".into(),
                    format!("Negotiate abc+/==, bearer realm=\"Zürich\",  Scope = \"mcp:tools  extra\" ,resource_metadata = \"{base}/custom/where\\\"ver\" , error=\"invalid_token\""),
                ));
            } else {
                r.headers.push((
                    "WWW-Authenticate".into(),
                    format!("Bearer realm=\"mcp\", resource_metadata=\"{base}{prm_path}\""),
                ));
            }
            r
        }
        ("POST", "/mcp") => mcp(body),
        ("GET", "/custom/where\"ver") | ("GET", "/custom/where%22ver")
            if *fault == Fault::OddChallenge =>
        {
            json_reply(200, &prm())
        }
        ("GET", p) if p.starts_with("/.well-known/oauth-protected-resource") => match fault {
            Fault::OddChallenge => json_reply(404, &json!({"error": "not_found"})),
            Fault::OversizedPrm => {
                let mut v = prm();
                v["resource_name"] = json!("x".repeat(2 * 1024 * 1024));
                json_reply(200, &v)
            }
            Fault::PrmAsHtml => reply(
                200,
                "text/html",
                format!("<html><body>{}</body></html>", prm()),
            ),
            Fault::PrmWrongTypes => {
                let mut v = prm();
                v["authorization_servers"] = json!(base);
                json_reply(200, &v)
            }
            Fault::PrmOtherResource => {
                let mut v = prm();
                v["resource"] = json!("https://evil.example.com/mcp");
                json_reply(200, &v)
            }
            Fault::PrmCrossOriginRedirect => {
                let mut r = reply(302, "text/plain", "moved");
                let other = base.replace("127.0.0.1", "localhost");
                r.headers
                    .push(("Location".into(), format!("{other}/elsewhere/prm.json")));
                r
            }
            _ if p == prm_path => json_reply(200, &prm()),
            _ => json_reply(404, &json!({"error": "not_found"})),
        },
        ("GET", "/.well-known/oauth-authorization-server") => {
            let mut m = json!({
                "issuer": base,
                "authorization_endpoint": format!("{base}/authorize"),
                "token_endpoint": format!("{base}/token"),
                "registration_endpoint": format!("{base}/register"),
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code", "refresh_token"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["none"],
                "scopes_supported": ["mcp:tools", "extra"],
            });
            match fault {
                Fault::IssuerMismatch => m["issuer"] = json!("https://attacker.example.com"),
                Fault::HttpTokenEndpoint => {
                    m["token_endpoint"] = json!("http://idp.example.com/token")
                }
                Fault::NoPkce => {
                    m.as_object_mut()
                        .map(|o| o.remove("code_challenge_methods_supported"));
                }
                _ => {}
            }
            json_reply(200, &m)
        }
        ("POST", "/register") => {
            let req: Value = serde_json::from_str(body).unwrap_or(Value::Null);
            json_reply(
                201,
                &json!({"client_id": "hostile-client", "redirect_uris": req["redirect_uris"],
                        "token_endpoint_auth_method": "none"}),
            )
        }
        ("GET", "/authorize") => {
            let q = query(target);
            let get = |k: &str| {
                q.iter()
                    .find(|(n, _)| n == k)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            };
            let redirect = get("redirect_uri");
            let state = get("state");
            let params = match fault {
                Fault::CallbackError => format!(
                    "error=access_denied&error_description=The+user+said+no&state={}",
                    enc(&state)
                ),
                Fault::CallbackForeignState => "code=stolen&state=forged-by-someone-else".into(),
                _ => format!("code=good-code&state={}", enc(&state)),
            };
            let sep = if redirect.contains('?') { '&' } else { '?' };
            let mut r = reply(302, "text/plain", "redirecting");
            r.headers
                .push(("Location".into(), format!("{redirect}{sep}{params}")));
            r
        }
        ("POST", "/token") => {
            let mut t = json!({"access_token": "hostile-access-token", "token_type": "Bearer",
                               "refresh_token": "hostile-refresh", "expires_in": 300});
            match fault {
                Fault::TokenNoExpiry => {
                    t.as_object_mut().map(|o| o.remove("expires_in"));
                }
                Fault::TokenHugeExpiry => t["expires_in"] = json!(1e300),
                _ => {}
            }
            json_reply(200, &t)
        }
        _ => json_reply(404, &json!({"error": "not_found"})),
    }
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Just enough MCP (JSON responses) for initialize, tools/list and tools/call.
fn mcp(body: &str) -> Reply {
    let req: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let id = req["id"].clone();
    let method = req["method"].as_str().unwrap_or("");
    if id.is_null() {
        return reply(202, "application/json", "");
    }
    let result = match method {
        "initialize" => {
            json!({"protocolVersion": req["params"]["protocolVersion"].as_str().unwrap_or("2025-06-18"),
            "capabilities": {"tools": {}}, "serverInfo": {"name": "hostile", "version": "0"}})
        }
        "tools/list" => json!({"tools": [{"name": "echo", "inputSchema": {"type": "object"}}]}),
        "tools/call" => json!({"content": [{"type": "text", "text": "echoed"}]}),
        _ => json!({}),
    };
    json_reply(200, &json!({"jsonrpc": "2.0", "id": id, "result": result}))
}
