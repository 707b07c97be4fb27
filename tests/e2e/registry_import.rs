//! `lanyard import REGISTRY` against the world's MCP registry (the official OpenAPI's
//! `GET /v0.1/servers`, pages of two): the listing reads every page and names what it skips,
//! nothing is sent to an entry's URL before it is chosen, `--select` adds exactly the chosen
//! entries (through `add`: signed in, first tool call, saved), a failed entry fails the command
//! without undoing the others, a registry behind the world's IdP is signed in to first, and
//! `--connect cursor` writes Cursor's config in the sandbox. Before any sign-in the chosen
//! entries are checked and where each signs in is shown; entries whose issuer also signs in
//! servers of other origins (saved, or chosen with them) are signed in to only when that issuer
//! was confirmed, and entries sharing an issuer sign in once when the IdP session allows.

use lanyard_e2e::{Sandbox, Value, World, json};

/// Two MCP servers, one that fails after sign-in, an open registry listing them all (plus the
/// stdio-only and the broken entry) and one protected by `idp`.
fn world() -> World {
    World::start(json!({
        "mcpServers": [
            {"name": "demo"},
            {"name": "other"},
            {"name": "down", "faults": ["broken-after-auth"]}
        ],
        "registries": [
            {"name": "open", "pageSize": 2},
            {"name": "locked", "issuer": "idp", "servers": ["demo", "other"]}
        ]
    }))
    .expect("world starts")
}

fn registry(world: &World, name: &str) -> String {
    world.info["registries"][name]["url"]
        .as_str()
        .unwrap_or_else(|| panic!("no registry {name}"))
        .to_owned()
}

fn log_of(world: &World, kind: &str, name: &str) -> Vec<Value> {
    world.log().expect("log")[kind][name]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Requests that reached MCP server `name` (PRM reads included).
fn mcp_seen(world: &World, name: &str) -> usize {
    log_of(world, "mcpServers", name).len()
}

fn saved_names(sandbox: &Sandbox) -> Vec<String> {
    let list = sandbox.lanyard(&["list", "--json"]);
    list.assert_ok();
    let v = list.json().expect("list json");
    let servers = v.get("servers").cloned().unwrap_or(v);
    let mut names: Vec<String> = servers
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["name"].as_str().map(str::to_owned))
        .collect();
    names.sort();
    names
}

#[test]
fn listing_reads_every_page_names_the_skipped_entries_and_contacts_no_entry() {
    let world = world();
    let sandbox = Sandbox::new().expect("sandbox");
    let run = sandbox.lanyard(&["import", &registry(&world, "open"), "--json"]);
    run.assert_ok();
    let out = run.json().expect("json");
    let listing = &out["listing"];
    let entries: Vec<&str> = listing["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["short"].as_str().unwrap())
        .collect();
    assert_eq!(entries, ["demo", "other", "down"], "{}", run.describe());
    assert_eq!(
        listing["entries"][0]["url"],
        json!(world.mcp_url("demo")),
        "{}",
        run.describe()
    );
    let skipped: Vec<(String, String)> = listing["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_owned(),
                s["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(skipped.len(), 2, "{}", run.describe());
    assert!(
        skipped[0].0.ends_with("/local-files") && skipped[0].1.contains("stdio"),
        "{skipped:?}"
    );
    assert!(
        skipped[1].0.ends_with("/broken") && skipped[1].1.contains("not a valid URL"),
        "{skipped:?}"
    );
    assert_eq!(out["results"], json!([]));
    assert!(run.stderr.contains("--select"), "{}", run.describe());

    // Every page was read (five latest entries, two per page), with the registry's cursors.
    let pages = log_of(&world, "registries", "open");
    assert_eq!(pages.len(), 3, "{pages:?}");
    assert_eq!(listing["pages"], json!(3));
    assert!(
        pages[0]["cursor"].is_null() && pages[1]["cursor"].is_string(),
        "{pages:?}"
    );
    // Listing is not a request on an entry's behalf: no MCP server, no IdP, no browser.
    for m in ["demo", "other", "down"] {
        assert_eq!(
            mcp_seen(&world, m),
            0,
            "{m} was contacted before it was chosen"
        );
    }
    assert_eq!(world.counts().unwrap().issuer_total("idp"), 0);
    assert!(!sandbox.browser_was_opened());
    assert!(saved_names(&sandbox).is_empty());

    // The human listing says the same.
    let text = sandbox.lanyard(&["import", &registry(&world, "open")]);
    text.assert_ok();
    for line in [
        "lists 3 remote server(s) over 3 pages",
        "demo  (dev.lanyard.world/demo)",
        "skipped dev.lanyard.world/local-files: only local packages (stdio)",
        "skipped dev.lanyard.world/broken:",
    ] {
        assert!(
            text.stdout.contains(line),
            "missing {line:?}:\n{}",
            text.describe()
        );
    }
}

#[test]
fn select_adds_exactly_the_chosen_entry_and_its_tools_work() {
    let world = world();
    let sandbox = Sandbox::new().expect("sandbox");
    let reg = registry(&world, "open");
    let unknown = sandbox.lanyard(&["import", &reg, "--select", "nope"]);
    unknown.assert_failed();
    assert!(
        unknown.stderr.contains("no remote server \"nope\""),
        "{}",
        unknown.describe()
    );
    let stdio = sandbox.lanyard(&["import", &reg, "--select", "dev.lanyard.world/local-files"]);
    stdio.assert_failed();
    assert!(stdio.stderr.contains("stdio"), "{}", stdio.describe());

    let run = sandbox.lanyard(&["import", &reg, "--select", "demo"]);
    run.assert_ok();
    assert!(
        run.stdout
            .contains("added dev.lanyard.world/demo as \"demo\""),
        "{}",
        run.describe()
    );
    assert_eq!(saved_names(&sandbox), ["demo"]);
    assert_eq!(mcp_seen(&world, "other"), 0);
    // The registry is remembered for the tray's watch, as an import in the tray would be.
    let remembered = sandbox
        .files()
        .into_iter()
        .find(|p| p.ends_with("registries.json"))
        .expect("registries.json written by the import");
    let text =
        std::fs::read_to_string(sandbox.home().join(&remembered)).expect("read registries.json");
    assert!(text.contains(&reg), "{text}");
    let call = sandbox.lanyard(&["call", "demo", "echo", "--args", r#"{"text":"imported"}"#]);
    call.assert_ok();
    assert!(call.stdout.contains("imported"), "{}", call.describe());

    // Importing it again is a skip, not a failure or a second server.
    let again = sandbox.lanyard(&["import", &reg, "--select", "dev.lanyard.world/demo"]);
    again.assert_ok();
    assert!(
        again.stdout.contains("already added as \"demo\""),
        "{}",
        again.describe()
    );
    assert_eq!(saved_names(&sandbox), ["demo"]);
}

#[test]
fn a_failed_entry_fails_the_command_and_leaves_the_others_added() {
    let world = world();
    let sandbox = Sandbox::new().expect("sandbox");
    let idp = world.issuer_url("idp");
    let run = sandbox.lanyard(&[
        "import",
        &registry(&world, "open"),
        "--all",
        "--expect-issuer",
        &idp,
        "--json",
    ]);
    run.assert_failed();
    let out = run.json().expect("json");
    let status: Vec<(&str, &str)> = out["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["entry"].as_str().unwrap(), r["status"].as_str().unwrap()))
        .collect();
    assert_eq!(
        status,
        [
            ("dev.lanyard.world/demo", "added"),
            ("dev.lanyard.world/other", "added"),
            ("dev.lanyard.world/down", "failed")
        ],
        "{}",
        run.describe()
    );
    let failed = &out["results"][2];
    assert!(failed["code"].as_str().unwrap().contains('.'), "{failed}");
    assert!(
        !failed["next_step"].as_str().unwrap().is_empty(),
        "{failed}"
    );
    // Nothing half-written for the failed one.
    assert_eq!(saved_names(&sandbox), ["demo", "other"]);
}

#[test]
fn a_protected_registry_is_signed_in_to_then_listed_and_its_token_is_kept() {
    let world = world();
    let sandbox = Sandbox::new().expect("sandbox");
    let reg = registry(&world, "locked");
    // The registry's own sign-in is at idp too, from another origin: the entry's sign-in there
    // is confirmed by naming the issuer.
    let idp = world.issuer_url("idp");
    let run = sandbox.lanyard(&[
        "import",
        &reg,
        "--select",
        "other",
        "--expect-issuer",
        &idp,
        "--json",
    ]);
    run.assert_ok();
    let out = run.json().expect("json");
    assert_eq!(out["listing"]["registry_server"], json!("registry-local"));
    assert_eq!(
        out["results"][0]["status"],
        json!("added"),
        "{}",
        run.describe()
    );
    let log = log_of(&world, "registries", "locked");
    assert_eq!(log[0]["status"], json!(401), "{log:?}");
    assert!(
        log.iter().any(|e| e["prm"] == json!(true)),
        "the registry's PRM was read: {log:?}"
    );
    assert!(
        log.iter()
            .any(|e| e["status"] == json!(200) && e["sub"].is_string()),
        "listed with a token: {log:?}"
    );
    assert_eq!(saved_names(&sandbox), ["other", "registry-local"]);
    assert_eq!(mcp_seen(&world, "demo"), 0);

    // Listed again: the saved token, no second sign-in.
    let before = world.counts().unwrap().authorizations("idp");
    let again = sandbox.lanyard(&["import", &reg]);
    again.assert_ok();
    assert!(
        again.stdout.contains("lists 2 remote server(s)"),
        "{}",
        again.describe()
    );
    assert_eq!(world.counts().unwrap().authorizations("idp"), before);
}

#[test]
fn connect_cursor_writes_the_imported_server_into_cursors_config() {
    let world = world();
    let sandbox = Sandbox::new().expect("sandbox");
    let run = sandbox.lanyard(&[
        "import",
        &registry(&world, "open"),
        "--select",
        "demo",
        "--connect",
        "cursor",
    ]);
    run.assert_ok();
    assert!(
        run.stdout.contains("connected to Cursor"),
        "{}",
        run.describe()
    );
    let cursor: Value = serde_json::from_str(
        &std::fs::read_to_string(sandbox.home().join(".cursor/mcp.json")).expect("cursor config"),
    )
    .expect("cursor json");
    assert!(cursor["mcpServers"]["demo"].is_object(), "{cursor}");
}

/// Lines of a running command's stdout, read on a thread.
fn lines_of(child: &mut std::process::Child) -> std::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let (tx, rx) = std::sync::mpsc::channel();
    let out = child.stdout.take().expect("piped stdout");
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits for a line containing `needle`, returning every line seen so far.
fn wait_for(rx: &std::sync::mpsc::Receiver<String>, seen: &mut Vec<String>, needle: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !seen.iter().any(|l| l.contains(needle)) {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => seen.push(line),
            Err(_) => panic!("no line with {needle:?}; saw:\n{}", seen.join("\n")),
        }
    }
}

#[test]
fn watch_offers_servers_that_appear_and_names_those_that_leave_without_adding_or_contacting_them() {
    let world = World::start(json!({
        "mcpServers": [{"name": "demo"}, {"name": "other"}],
        "registries": [{"name": "open", "servers": ["demo"]}]
    }))
    .expect("world starts");
    let sandbox = Sandbox::new().expect("sandbox");
    let reg = registry(&world, "open");
    sandbox
        .lanyard(&["import", &reg, "--select", "demo"])
        .assert_ok();
    let mut child = sandbox
        .spawn_lanyard(&["import", &reg, "--watch", "--interval", "1"])
        .expect("watch starts");
    let rx = lines_of(&mut child);
    let mut seen = Vec::new();
    wait_for(&rx, &mut seen, "Watching");
    let changed = lanyard_e2e::http::request(
        "POST",
        &format!("{}/registries/open/servers", world.admin()),
        &[("Content-Type", "application/json")],
        Some(r#"{"servers": ["other"]}"#),
    )
    .expect("admin");
    assert_eq!(changed.status, 200, "{}", changed.body);
    wait_for(&rx, &mut seen, "new in the registry: other");
    wait_for(
        &rx,
        &mut seen,
        "gone from the registry: dev.lanyard.world/demo",
    );
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        seen.iter()
            .any(|l| l.contains("still saved as \"demo\"") && l.contains("lanyard remove demo")),
        "{}",
        seen.join("\n")
    );
    // Offered, not added, and not contacted.
    assert_eq!(mcp_seen(&world, "other"), 0);
    assert_eq!(saved_names(&sandbox), ["demo"]);
}

/// Runs `lanyard import ARGS` on a pseudo-terminal (`script`) with `typed` as the user's
/// answers; returns whether it succeeded and what the terminal showed.
fn on_a_terminal(sandbox: &Sandbox, args: &str, typed: &str) -> (bool, String) {
    use std::io::{Read, Write};
    let line = format!("{} import {args}", lanyard_e2e::lanyard_bin().display());
    let mut child = sandbox
        .command("script")
        .args(["-qec", &line, "/dev/null"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("script starts");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(typed.as_bytes()).expect("answer");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "import did not finish"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    drop(stdin);
    let mut out = String::new();
    let _ = child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut out);
    (status.success(), out)
}

#[test]
fn on_a_terminal_the_prompt_adds_only_the_entry_answered() {
    let world = world();
    let sandbox = Sandbox::new().expect("sandbox");
    let (ok, out) = on_a_terminal(&sandbox, &registry(&world, "open"), "2\n");
    assert!(ok, "{out}");
    assert!(out.contains("Add which?"), "{out}");
    assert!(
        out.contains("added dev.lanyard.world/other as \"other\""),
        "{out}"
    );
    assert_eq!(saved_names(&sandbox), ["other"]);
    assert_eq!(mcp_seen(&world, "demo"), 0);
}

#[test]
fn on_a_terminal_a_warned_entry_is_signed_in_only_after_yes() {
    let world = world();
    let sandbox = Sandbox::new().expect("sandbox");
    let reg = registry(&world, "locked");
    // "other" signs in at idp, which also signs in the registry (another origin).
    let (ok, out) = on_a_terminal(&sandbox, &reg, "2\nn\n");
    assert!(ok, "declining is a choice, not a failure: {out}");
    assert!(
        out.contains("warning: ") && out.contains("anyway? [y/N]"),
        "{out}"
    );
    assert!(out.contains("you declined signing in at"), "{out}");
    assert_eq!(authorized_at(&world, "other"), 0);
    assert_eq!(saved_names(&sandbox), ["registry-local"]);
    let (ok, out) = on_a_terminal(&sandbox, &reg, "2\ny\n");
    assert!(ok, "{out}");
    assert!(
        out.contains("added dev.lanyard.world/other as \"other\""),
        "{out}"
    );
    assert_eq!(saved_names(&sandbox), ["other", "registry-local"]);
}

#[test]
fn an_entrys_token_header_hint_is_shown_and_used_for_its_sign_in_and_calls() {
    let world = World::start(json!({
        "mcpServers": [{"name": "gated", "tokenHeader": "X-Authorization"}],
        "registries": [{
            "name": "open",
            "stdioOnly": false,
            "broken": false,
            "meta": {"gated": {"dev.lanyard/oauth": {"token_header": "X-Authorization"}}}
        }]
    }))
    .expect("world starts");
    let sandbox = Sandbox::new().expect("sandbox");
    let reg = registry(&world, "open");
    let list = sandbox.lanyard(&["import", &reg]);
    list.assert_ok();
    assert!(
        list.stdout.contains("(token in X-Authorization)"),
        "{}",
        list.describe()
    );
    sandbox
        .lanyard(&["import", &reg, "--select", "gated"])
        .assert_ok();
    let call = sandbox.lanyard(&["call", "gated", "echo", "--args", r#"{"text":"via hint"}"#]);
    call.assert_ok();
    assert!(call.stdout.contains("via hint"), "{}", call.describe());
    assert!(world.counts().unwrap().mcp_authorized("gated") >= 2);
}

/// Requests a world MCP server saw other than discovery's (PRM reads and the unauthenticated
/// probe): with a token, i.e. after a sign-in.
fn authorized_at(world: &World, name: &str) -> u64 {
    world.counts().unwrap().mcp_authorized(name)
}

#[test]
fn the_listing_says_what_each_entry_costs_and_a_chosen_one_shows_its_issuer_before_signing_in() {
    let world = world();
    let sandbox = Sandbox::new().expect("sandbox");
    let reg = registry(&world, "open");
    let list = sandbox.lanyard(&["import", &reg]);
    list.assert_ok();
    assert!(
        list.stdout
            .contains("sign-in needed: where it signs in is checked"),
        "{}",
        list.describe()
    );
    let run = sandbox.lanyard(&["import", &reg, "--select", "demo", "--json"]);
    run.assert_ok();
    let out = run.json().expect("json");
    assert_eq!(out["checks"][0]["issuer"], json!(world.issuer_url("idp")));
    assert!(out["checks"][0]["warning"].is_null(), "{out}");
    assert_eq!(out["results"][0]["status"], json!("added"), "{out}");
    // Listed again: the added entry costs nothing, and the text run prints where it signs in.
    let again = sandbox.lanyard(&["import", &reg, "--json"]);
    let costs = again.json().expect("json")["costs"].clone();
    assert_eq!(costs[0], json!({"kind": "already-added", "name": "demo"}));
    // other is served from demo's origin (the world's gateway): a sign-in where the user is
    // signed in already.
    assert_eq!(
        costs[1],
        json!({"kind": "known-issuer", "issuer": world.issuer_url("idp"), "via": "demo"})
    );
    assert!(
        sandbox
            .lanyard(&["import", &reg])
            .stdout
            .contains("where you are signed in already for demo at the same address"),
        "the text listing says it too"
    );
    let text = sandbox.lanyard(&[
        "import",
        &reg,
        "--select",
        "other",
        "--expect-issuer",
        &world.issuer_url("idp"),
    ]);
    text.assert_ok();
    let signs_in = text
        .stdout
        .find("other signs in at ")
        .expect("the issuer line");
    let added = text
        .stdout
        .find("added dev.lanyard.world/other")
        .expect("added");
    assert!(signs_in < added, "{}", text.describe());
}

#[test]
fn an_entry_whose_issuer_also_signs_in_another_origin_is_not_signed_in_until_that_issuer_is_confirmed()
 {
    let world = world();
    let sandbox = Sandbox::new().expect("sandbox");
    // The protected registry is signed in to at idp (its own origin, the URL the user typed);
    // its entries are on the gateway's origin and sign in at idp too.
    let reg = registry(&world, "locked");
    let idp = world.issuer_url("idp");
    let run = sandbox.lanyard(&["import", &reg, "--select", "other", "--json"]);
    run.assert_failed();
    let out = run.json().expect("json");
    let warning = out["checks"][0]["warning"].as_str().unwrap_or_default();
    assert!(
        warning.starts_with("127.0.0.1:")
            && warning.contains("will receive tokens from your sign-in at")
            && warning.contains("(which also signs you in to registry-local: http://127.0.0.1:"),
        "{out}"
    );
    assert_eq!(
        out["results"][0]["code"],
        json!("import.issuer-not-confirmed"),
        "{out}"
    );
    assert!(
        out["results"][0]["next_step"]
            .as_str()
            .unwrap()
            .contains(&format!("--expect-issuer {idp}")),
        "{out}"
    );
    // Checked (discovery), never signed in: the one authorization is the registry's.
    assert_eq!(world.counts().unwrap().authorizations("idp"), 1);
    assert_eq!(authorized_at(&world, "other"), 0);
    assert_eq!(saved_names(&sandbox), ["registry-local"]);

    // An issuer named that is not its own: still nothing.
    let wrong = sandbox.lanyard(&[
        "import",
        &reg,
        "--select",
        "other",
        "--expect-issuer",
        "https://idp.corp.example",
        "--json",
    ]);
    wrong.assert_failed();
    assert_eq!(
        wrong.json().expect("json")["results"][0]["code"],
        json!("import.unexpected-issuer")
    );
    assert_eq!(world.counts().unwrap().authorizations("idp"), 1);

    // The text run shows the warning; naming the issuer signs in.
    let text = sandbox.lanyard(&["import", &reg, "--select", "other"]);
    text.assert_failed();
    assert!(
        text.stdout.contains("  warning: 127.0.0.1:"),
        "{}",
        text.describe()
    );
    sandbox
        .lanyard(&["import", &reg, "--select", "other", "--expect-issuer", &idp])
        .assert_ok();
    assert_eq!(saved_names(&sandbox), ["other", "registry-local"]);
    assert!(authorized_at(&world, "other") > 0);
}

#[test]
fn servers_sharing_an_issuer_sign_in_once_when_the_idp_session_allows() {
    let world = World::start(json!({
        "mcpServers": [{"name": "demo"}, {"name": "other"}],
        "registries": [{"name": "open", "stdioOnly": false, "broken": false}]
    }))
    .expect("world starts");
    let mut sandbox = Sandbox::new().expect("sandbox");
    // The scripted browser keeps its cookies between sign-ins, as the user's browser (and the
    // tray's sign-in window) keeps the IdP's session.
    let jar = sandbox.home().join("browser-jar.json");
    sandbox.set_env("WORLD_BROWSER_JAR", &jar);
    let run = sandbox.lanyard(&[
        "import",
        &registry(&world, "open"),
        "--all",
        "--expect-issuer",
        &world.issuer_url("idp"),
    ]);
    run.assert_ok();
    assert_eq!(saved_names(&sandbox), ["demo", "other"]);
    let log = sandbox.browser_log();
    let steps = |s: &str| log.iter().filter(|l| l["step"] == json!(s)).count();
    assert_eq!(steps("open"), 2, "{log:?}");
    assert_eq!(steps("login"), 1, "one login for both: {log:?}");
    assert_eq!(world.counts().unwrap().authorizations("idp"), 2);
    // One client at the IdP for both servers.
    assert_eq!(world.counts().unwrap().registrations("idp"), 1);
}
