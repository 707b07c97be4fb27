//! `lanyard import REGISTRY_URL [--select a,b | --all] [--connect IDES] [--json]`: list a
//! registry's remote servers (name, description, URL, what each costs, skipped entries with the
//! reason), then add the ones the user chose — by flag, or by answering the prompt on a
//! terminal. Nothing is sent to an entry's URL before it is chosen. The chosen ones are checked
//! first (discovery only) and where each signs in is printed, with the shared-issuer warning;
//! a warned entry is signed in to only after a yes on the terminal or with `--expect-issuer`
//! naming its issuer. Each goes through `add` (all or nothing) held to the issuer it showed.

use std::io::{BufRead, IsTerminal, Write};

use lanyard_core::api::{AddOptions, Cost, EntryCheck, FlowError, ImportError, Lanyard, Listing};
use lanyard_core::registry::Entry;
use serde::Serialize;

use crate::output;

/// Import remote servers from an MCP registry (GET /v0.1/servers): list them, add the chosen ones.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The registry's URL (its base, or its /v0.1/servers URL).
    pub registry: String,
    /// Add these entries (their short or registry names, comma-separated).
    #[arg(long, value_name = "NAMES", conflicts_with = "all")]
    pub select: Option<String>,
    /// Add every remote entry listed.
    #[arg(long)]
    pub all: bool,
    /// Then connect each added server to AI coding assistants, comma-separated ids (cursor, claude, codex, vscode, windsurf, zed, claude-desktop, gemini, copilot, opencode, amp) or all.
    #[arg(long, value_name = "IDES")]
    pub connect: Option<String>,
    /// Print the sign-in URL instead of opening a browser.
    #[arg(long)]
    pub no_browser: bool,
    /// Sign in with a code entered on another device (RFC 8628).
    #[arg(long, conflicts_with = "no_browser")]
    pub device: bool,
    /// Sign in only at this authorization server (repeatable): chosen entries that sign in
    /// elsewhere are not signed in to, and its shared-issuer warning counts as answered.
    #[arg(long, value_name = "ISSUER")]
    pub expect_issuer: Vec<String>,
    /// Print the listing and the results as JSON.
    #[arg(long)]
    pub json: bool,
    /// Keep listing: report servers that appear in or leave the registry (never adds or
    /// removes anything by itself); stop with ^C.
    #[arg(long, conflicts_with_all = ["select", "all", "connect", "json", "expect_issuer"])]
    pub watch: bool,
    /// Seconds between two listings with --watch.
    #[arg(long, value_name = "SECS", default_value_t = 300, requires = "watch")]
    pub interval: u64,
}

/// What became of one chosen entry.
#[derive(Debug, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
enum Outcome {
    Added {
        entry: String,
        name: String,
        url: String,
        tools: usize,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        connected: Vec<String>,
    },
    Skipped {
        entry: String,
        reason: String,
    },
    Failed {
        entry: String,
        code: &'static str,
        error: String,
        next_step: String,
    },
}

pub async fn run(args: Args) -> lanyard_core::Result<()> {
    let lanyard = Lanyard::open()?.with_paste_back(output::paste_back());
    let opts = AddOptions {
        no_browser: args.no_browser,
        device: args.device,
        ..AddOptions::default()
    };
    let listing = lanyard
        .import_list(&args.registry, opts.clone(), &output::progress)
        .await?;
    if args.watch {
        return watch(&lanyard, &args, opts, listing).await;
    }
    let costs = lanyard.import_costs(&listing.catalogue.entries)?;
    if !args.json {
        print_listing(&listing, &costs);
    }
    let chosen = match choose(&args, &listing)? {
        Some(c) => c,
        None => {
            if args.json {
                output::json(
                    &serde_json::json!({ "listing": listing, "costs": costs, "results": [] }),
                );
            }
            eprintln!(
                "Nothing added: choose entries with --select NAMES (or --all){}.",
                if std::io::stdin().is_terminal() {
                    ""
                } else {
                    "; without a terminal Lanyard does not ask"
                }
            );
            return Ok(());
        }
    };
    // A registry imported from on the command line is watched by the tray too (it tells what
    // appears or leaves later, and never adds by itself).
    lanyard.remember_registry(&listing)?;
    let mut results = Vec::new();
    let mut record = |outcome: Outcome| {
        if !args.json {
            print_outcome(&outcome);
        }
        results.push(outcome);
    };
    // Entries already saved are not contacted again.
    let mut to_check = Vec::new();
    for entry in chosen {
        match saved_as(&lanyard, &entry.url) {
            Some(name) => record(Outcome::Skipped {
                entry: entry.name.clone(),
                reason: format!("already added as \"{name}\""),
            }),
            None => to_check.push(entry),
        }
    }
    let checks = lanyard.import_check(&to_check).await?;
    if !args.json {
        print_checks(&to_check, &checks);
    }
    let answer = answer_warnings(&args, &checks);
    let mut shown = Vec::new();
    for (entry, check) in to_check.into_iter().zip(checks) {
        let check = match check {
            Ok(c) => c,
            Err(e) => {
                record(failed(entry, &e));
                continue;
            }
        };
        record(match check.go_ahead(&args.expect_issuer, answer) {
            Ok(()) => import_one(&lanyard, entry, &check, &opts, args.connect.as_deref()).await,
            // The user said no at the warning: their choice, not a failure.
            Err(e @ ImportError::Declined { .. }) => Outcome::Skipped {
                entry: entry.name.clone(),
                reason: e.to_string(),
            },
            Err(e) => failed(entry, &lanyard_core::Error::from(e)),
        });
        shown.push(check);
    }
    if args.json {
        output::json(&serde_json::json!({
            "listing": listing,
            "costs": costs,
            "checks": shown,
            "results": results,
        }));
    }
    let n_failed = results
        .iter()
        .filter(|r| matches!(r, Outcome::Failed { .. }))
        .count();
    if n_failed > 0 {
        eprintln!(
            "{n_failed} of {} chosen server(s) could not be added; the others are saved.",
            results.len()
        );
        output::set_exit_code(1);
    }
    Ok(())
}

/// `--watch`: list again every `--interval` seconds and say what appeared or left; a failed
/// listing is reported and the next one tried.
async fn watch(
    lanyard: &Lanyard,
    args: &Args,
    opts: AddOptions,
    first: Listing,
) -> lanyard_core::Result<()> {
    print_listing(&first, &lanyard.import_costs(&first.catalogue.entries)?);
    println!(
        "Watching {} every {} s; new servers are offered, never added (^C to stop).",
        first.catalogue.url, args.interval
    );
    let mut known = first.catalogue.entries;
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(args.interval.max(1))).await;
        let now = match lanyard
            .import_list(&args.registry, opts.clone(), &output::progress)
            .await
        {
            Ok(l) => l.catalogue.entries,
            Err(e) => {
                eprintln!("could not list the registry: {}", e.paragraph());
                continue;
            }
        };
        let news = lanyard.registry_changes(&first.catalogue.url, &known, &now);
        for e in &news.added {
            println!(
                "new in the registry: {}  ({})  {} — add it with `lanyard import {} --select {}`",
                e.short, e.name, e.url, args.registry, e.name
            );
        }
        for gone in &news.removed {
            let e = &gone.entry;
            match &gone.saved_as {
                Some(name) => println!(
                    "gone from the registry: {} ({}) — still saved as \"{name}\"; `lanyard remove {name}` if you no longer want it",
                    e.name, e.url
                ),
                None => println!("gone from the registry: {} ({})", e.name, e.url),
            }
        }
        known = now;
    }
}

fn failed(entry: &Entry, e: &lanyard_core::Error) -> Outcome {
    Outcome::Failed {
        entry: entry.name.clone(),
        code: e.code(),
        error: e.what(),
        next_step: e.next_step(),
    }
}

/// Where each checked entry signs in, and its warning.
fn print_checks(entries: &[&Entry], checks: &[lanyard_core::Result<EntryCheck>]) {
    for (e, c) in entries.iter().zip(checks) {
        match c {
            Ok(c) => {
                println!("{} signs in at {}", e.short, c.issuer);
                if let Some(w) = &c.warning {
                    println!("  warning: {w}");
                }
            }
            Err(err) => println!("{} could not be checked: {}", e.short, err.what()),
        }
    }
}

/// The terminal's answer to the shared-issuer warnings (`None`: no warning, no terminal, or
/// `--expect-issuer` decides).
fn answer_warnings(args: &Args, checks: &[lanyard_core::Result<EntryCheck>]) -> Option<bool> {
    let warned = checks
        .iter()
        .filter(|c| c.as_ref().is_ok_and(|c| c.warning.is_some()))
        .count();
    if warned == 0
        || !args.expect_issuer.is_empty()
        || !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal())
    {
        return None;
    }
    eprint!("Sign in to the {warned} server(s) with a warning anyway? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    let _ = std::io::stdin().lock().read_line(&mut line);
    Some(matches!(line.trim(), "y" | "Y" | "yes"))
}

async fn import_one(
    lanyard: &Lanyard,
    entry: &Entry,
    check: &EntryCheck,
    opts: &AddOptions,
    connect: Option<&str>,
) -> Outcome {
    let added = match lanyard
        .import_entry(entry, check, opts, &output::progress)
        .await
    {
        Ok(a) => a,
        Err(e) => return failed(entry, &e),
    };
    let mut connected = Vec::new();
    if let Some(ides) = connect {
        let target = super::connect::Target {
            ide: Some(ides.to_owned()),
            ..Default::default()
        };
        match super::connect::connect(&added.name, &target).await {
            Ok(reports) => connected = reports.iter().map(|r| r.ide.label().to_owned()).collect(),
            Err(e) => return failed(entry, &e),
        }
    }
    Outcome::Added {
        entry: entry.name.clone(),
        name: added.name,
        url: added.url,
        tools: added.tools.len(),
        connected,
    }
}

/// The entries to add: `--all`, `--select`, the answer at the prompt on a terminal, or `None`
/// (list only).
fn choose<'a>(args: &Args, listing: &'a Listing) -> lanyard_core::Result<Option<Vec<&'a Entry>>> {
    let entries = &listing.catalogue.entries;
    if args.all {
        return Ok(Some(entries.iter().collect()));
    }
    let answer = match &args.select {
        Some(s) => s.clone(),
        None if entries.is_empty() => return Ok(None),
        None if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() => {
            eprint!(
                "Add which? Numbers or names, comma-separated ('all' for every one, empty for none): "
            );
            let _ = std::io::stderr().flush();
            let mut line = String::new();
            let _ = std::io::stdin().lock().read_line(&mut line);
            if line.trim().is_empty() {
                return Ok(None);
            }
            if line.trim() == "all" {
                return Ok(Some(entries.iter().collect()));
            }
            line
        }
        None => return Ok(None),
    };
    let mut out: Vec<&Entry> = Vec::new();
    for want in answer.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        let found = want
            .parse::<usize>()
            .ok()
            .filter(|_| args.select.is_none())
            .and_then(|i| i.checked_sub(1))
            .and_then(|i| entries.get(i))
            .or_else(|| entries.iter().find(|e| e.name == want));
        let found = match found {
            Some(e) => Some(e),
            None => {
                let by_short: Vec<&Entry> = entries.iter().filter(|e| e.short == want).collect();
                if by_short.len() > 1 {
                    return Err(FlowError::BadFlag(format!(
                        "\"{want}\" names several entries ({}): give the registry name",
                        by_short
                            .iter()
                            .map(|e| e.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                    .into());
                }
                by_short.first().copied()
            }
        };
        match found {
            Some(e) if !out.iter().any(|o| o.name == e.name) => out.push(e),
            Some(_) => {}
            None => {
                let skipped = listing.catalogue.skipped.iter().find(|s| s.name == want);
                return Err(FlowError::BadFlag(match skipped {
                    Some(s) => format!("\"{want}\" cannot be added: {}", s.reason),
                    None => format!(
                        "the registry lists no remote server \"{want}\" (it lists: {})",
                        entries
                            .iter()
                            .map(|e| e.short.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                })
                .into());
            }
        }
    }
    Ok(Some(out))
}

fn print_listing(listing: &Listing, costs: &[Cost]) {
    let c = &listing.catalogue;
    println!(
        "{} lists {} remote server(s){}:",
        c.url,
        c.entries.len(),
        if c.pages > 1 {
            format!(" over {} pages", c.pages)
        } else {
            String::new()
        }
    );
    for (i, (e, cost)) in c.entries.iter().zip(costs).enumerate() {
        println!("  {:>2}. {}  ({})  {}", i + 1, e.short, e.name, e.url);
        println!("      {}", cost_line(cost));
        if !e.description.is_empty() {
            println!("      {}", e.description);
        }
        let mut hints = Vec::new();
        if let Some(h) = &e.hints.token_header {
            hints.push(format!("token in {h}"));
        }
        if let Some(id) = &e.hints.client_id {
            hints.push(format!("client id {id}"));
        }
        if let Some(p) = e.hints.callback_port {
            hints.push(format!("callback port {p}"));
        }
        if !e.other_headers.is_empty() {
            hints.push(format!(
                "also wants headers Lanyard does not send: {}",
                e.other_headers.join(", ")
            ));
        }
        if !hints.is_empty() {
            println!("      ({})", hints.join("; "));
        }
    }
    for s in &c.skipped {
        println!("  skipped {}: {}", s.name, s.reason);
    }
    if c.truncated {
        println!(
            "  (the registry has more; Lanyard read the first {} pages)",
            c.pages
        );
    }
}

fn cost_line(cost: &Cost) -> String {
    match cost {
        Cost::AlreadyAdded { name } => format!("already added as \"{name}\": nothing to do"),
        Cost::KnownIssuer { issuer, via } => format!(
            "likely a sign-in at {issuer}, where you are signed in already for {via} at the same address: often no new prompt"
        ),
        Cost::SignIn => {
            "sign-in needed: where it signs in is checked and shown before it starts".into()
        }
    }
}

fn print_outcome(o: &Outcome) {
    match o {
        Outcome::Added {
            entry,
            name,
            url,
            tools,
            connected,
        } => {
            let to = if connected.is_empty() {
                String::new()
            } else {
                format!(", connected to {}", connected.join(", "))
            };
            println!("added {entry} as \"{name}\" ({url}): {tools} tool(s){to}.");
        }
        Outcome::Skipped { entry, reason } => println!("skipped {entry}: {reason}."),
        Outcome::Failed {
            entry,
            code,
            error,
            next_step,
        } => {
            println!("failed {entry}: [{code}] {error}\n  {next_step}");
        }
    }
}

/// The name a server with this URL is saved under, if any.
fn saved_as(lanyard: &Lanyard, url: &url::Url) -> Option<String> {
    let st = lanyard.state_file().and_then(|f| Ok(f.load()?)).ok()?;
    st.servers
        .iter()
        .find(|s| &s.url == url)
        .map(|s| s.name.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use lanyard_core::registry::{Catalogue, Judged, judge};

    fn listing(names: &[&str]) -> Listing {
        let entries = names
            .iter()
            .map(|n| {
                let item = serde_json::json!({"server": {"name": n, "remotes": [
                    {"type": "streamable-http", "url": format!("https://{}.example/mcp", n.replace('/', "-"))}
                ]}});
                match judge(&item) {
                    Judged::Remote(e) => *e,
                    other => panic!("{other:?}"),
                }
            })
            .collect();
        Listing {
            catalogue: Catalogue {
                entries,
                ..Catalogue::default()
            },
            registry_server: None,
        }
    }

    fn select(s: &str) -> Args {
        Args {
            registry: "https://r.example".into(),
            select: Some(s.into()),
            all: false,
            connect: None,
            no_browser: false,
            device: false,
            expect_issuer: vec![],
            json: false,
            watch: false,
            interval: 300,
        }
    }

    #[test]
    fn a_short_name_shared_by_two_entries_must_be_given_in_full() {
        let l = listing(&["com.a/search", "com.b/search", "com.a/crm"]);
        let err = choose(&select("search"), &l).unwrap_err();
        assert!(
            err.what().contains("com.a/search, com.b/search"),
            "{}",
            err.what()
        );
        let picked = choose(&select("com.b/search,crm"), &l).unwrap().unwrap();
        let names: Vec<&str> = picked.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["com.b/search", "com.a/crm"]);
        // Numbers are for the prompt only: with --select they are names.
        assert!(choose(&select("1"), &l).is_err());
    }
}
