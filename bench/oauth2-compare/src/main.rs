//! oauth2-compare (issue 13): does the `oauth2` crate (5.x) do what Lanyard's hand-written token
//! endpoint does, against the IdPs of the test world and the field's answers?
//!
//! `bench/oauth2-compare/run` builds this and runs it under a private keychain; it prints
//! Markdown tables. Arguments: `--repo DIR` (default: the checkout holding this bench),
//! `--lanyard BIN` (default DIR/target/debug/lanyard), `--stacks a,b` (default: all),
//! `--no-quirks`, `--no-stacks`.
//!
//! It calls lanyard-core's public API so that only the token endpoint differs: `http` (the
//! guard), `discovery::discover`, `registration::dcr`, `authorization::{Listener, browser,
//! choose_scopes, resource_param}`, `tokens::{endpoint, revoke::revocation_methods}`. When core
//! moves those, only the `use` lines here should need to follow.

mod adapter;
mod flow;
mod guard;
mod lanyard_cli;
mod quirks;
mod stacks;

use std::path::PathBuf;

use flow::{Outcome, Registration, Variant};

struct Args {
    repo: PathBuf,
    lanyard: PathBuf,
    stacks: Vec<String>,
    quirks: bool,
    live: bool,
}

fn args() -> Args {
    let mut a = Args {
        repo: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."),
        lanyard: PathBuf::new(),
        stacks: stacks::ALL.iter().map(|s| s.to_string()).collect(),
        quirks: true,
        live: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--repo" => a.repo = it.next().map(PathBuf::from).unwrap_or(a.repo),
            "--lanyard" => a.lanyard = it.next().map(PathBuf::from).unwrap_or_default(),
            "--stacks" => {
                a.stacks = it
                    .next()
                    .unwrap_or_default()
                    .split(',')
                    .map(str::to_owned)
                    .collect()
            }
            "--no-quirks" => a.quirks = false,
            "--no-stacks" => a.live = false,
            other => eprintln!("ignored argument {other}"),
        }
    }
    if a.lanyard.as_os_str().is_empty() {
        a.lanyard = a.repo.join("target").join("debug").join("lanyard");
    }
    a
}

fn cell(r: &Option<Result<String, String>>) -> String {
    match r {
        None => "—".into(),
        Some(Ok(n)) => format!("pass ({n})"),
        Some(Err(e)) => format!("**FAIL**: {}", e.replace('|', "/").replace('\n', " ")),
    }
}

fn oauth2_cells(o: &Outcome) -> (String, String, String) {
    if let Some(e) = &o.setup_error {
        let e = format!("not run: {}", e.replace('|', "/"));
        return (String::new(), e.clone(), e);
    }
    let mcp = match o.mcp_accepts {
        Some(true) => "accepted",
        Some(false) => "**refused**",
        None => "—",
    };
    (
        o.method.clone(),
        format!(
            "{} / {} / {}",
            cell(&o.exchange),
            cell(&o.refresh),
            cell(&o.revoke)
        ),
        mcp.to_owned(),
    )
}

#[tokio::main]
async fn main() {
    let a = args();
    if std::env::var_os("BROWSER").is_none() {
        eprintln!("set BROWSER to tests/world/browser.mjs (bench/oauth2-compare/run does)");
        std::process::exit(2);
    }
    if a.quirks {
        println!("## Field answers replayed on loopback (one refresh request each)\n");
        println!(
            "| answer | Lanyard (`tokens::endpoint`) | oauth2 5.0.0 as documented | oauth2 5.0.0 + adapter |"
        );
        println!("|---|---|---|---|");
        for row in quirks::run().await {
            println!("| {} | {} | {} | {} |", row[0], row[1], row[2], row[3]);
        }
        println!();
    }
    if !a.live {
        return;
    }
    let scratch = std::env::temp_dir().join(format!("oauth2-compare-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&scratch);
    let browser = PathBuf::from(std::env::var_os("BROWSER").unwrap_or_default());
    let runs = [
        (
            "oauth2 as documented, registered as Lanyard does",
            Variant::Plain,
            Registration::AsLanyard,
        ),
        (
            "oauth2 as documented, client_secret_basic",
            Variant::Plain,
            Registration::Basic,
        ),
        (
            "oauth2 + adapter, client_secret_basic",
            Variant::Adapted,
            Registration::Basic,
        ),
    ];
    println!("## Live stacks of the test world: code exchange, refresh, revocation\n");
    println!(
        "| stack | client | auth method | exchange / refresh / revocation | MCP server takes the token |"
    );
    println!("|---|---|---|---|---|");
    for kind in &a.stacks {
        let stack = match stacks::start(kind, &a.repo, &scratch.join(format!("{kind}.log"))) {
            Ok(s) => s,
            Err(e) => {
                println!("| {kind} | — | — | not started: {e} | — |");
                continue;
            }
        };
        let url = match url::Url::parse(&stack.mcp_url) {
            Ok(u) => u,
            Err(e) => {
                println!(
                    "| {kind} | — | — | bad MCP URL {}: {e} | — |",
                    stack.mcp_url
                );
                continue;
            }
        };
        let label = format!("{kind} ({})", stack.implementation);
        let bin = a.lanyard.clone();
        let (b2, s2, k2, u2) = (
            browser.clone(),
            scratch.clone(),
            kind.clone(),
            stack.mcp_url.clone(),
        );
        let ours = tokio::task::spawn_blocking(move || {
            lanyard_cli::run(&bin, &b2, &s2, &k2.replace('-', ""), &u2)
        })
        .await;
        match ours {
            Ok(o) => println!(
                "| {label} | Lanyard (`lanyard add`, `token` after half the life, `logout`) | {} | {} / {} / {} | {} |",
                o.method,
                match &o.add {
                    Ok(_) => "pass".to_owned(),
                    Err(e) => format!("**FAIL**: {}", e.replace('|', "/")),
                },
                cell(&o.refresh),
                cell(&o.revoke),
                match o.mcp_accepts {
                    Some(true) => "accepted (`lanyard tools`)",
                    Some(false) => "**refused** (`lanyard tools`)",
                    None => "—",
                }
            ),
            Err(e) => println!("| {label} | Lanyard | — | crashed: {e} | — |"),
        }
        for (name, variant, reg) in runs {
            let o = flow::run(&url, variant, reg).await;
            let (method, result, mcp) = oauth2_cells(&o);
            println!("| {label} | {name} | {method} | {result} | {mcp} |");
        }
        drop(stack);
    }
    let _ = std::fs::remove_dir_all(&scratch);
}
