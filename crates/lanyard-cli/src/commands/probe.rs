//! `lanyard probe URL [--json] [--try-register]`: the discovery chain step by step, without
//! signing in. What a gateway admin runs first.

use lanyard_core::discovery::{
    self, AuthServerMetadata, Discovery, DiscoveryFailure, DiscoveryMode, ProbeStep,
};
use lanyard_core::error::UserFacing;
use lanyard_core::http::Http;
use lanyard_core::registration::probe::{
    RegistrationProbe, RegistrationProbeOutcome, probe_registration,
};
use serde::Serialize;

use crate::output;

/// Show how a server signs in: each request of the discovery chain, what was learnt, and for a
/// failure the exact rule and what to change. Nothing is saved.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The MCP server URL (as given to `lanyard add`).
    pub url: String,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Also try an anonymous dynamic client registration (the test client is deleted again
    /// when the IdP supports RFC 7592).
    #[arg(long)]
    pub try_register: bool,
}

#[derive(Serialize)]
struct Failure {
    rule: String,
    what: String,
    next_step: String,
}

#[derive(Serialize)]
struct Report<'a> {
    url: &'a str,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    mode: Option<DiscoveryMode>,
    steps: Vec<ProbeStep>,
    #[serde(skip_serializing_if = "Option::is_none")]
    discovery: Option<&'a Discovery>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scopes_to_request: Option<Vec<String>>,
    /// Whether the AS offers the RFC 8628 device grant (sign-in without a browser here).
    #[serde(skip_serializing_if = "Option::is_none")]
    device_grant: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    notes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    registration: Option<&'a RegistrationProbe>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failure: Option<Failure>,
}

/// Refusals of the URL itself (before any request).
#[derive(Debug)]
struct BadUrl(String, String);

impl std::fmt::Display for BadUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?} is not a usable server URL: {}", self.0, self.1)
    }
}

impl std::error::Error for BadUrl {}

impl UserFacing for BadUrl {
    fn next_step(&self) -> String {
        "Give the full MCP endpoint URL, e.g. https://gateway.example.com/mcp.".into()
    }
    fn code(&self) -> &'static str {
        "probe.bad-url"
    }
}

pub async fn run(args: Args) -> lanyard_core::Result<()> {
    let url =
        url::Url::parse(args.url.trim()).map_err(|e| BadUrl(args.url.clone(), e.to_string()))?;
    lanyard_core::http::check_url(&url)?;
    let http = Http::new()?;
    if !args.json {
        println!("Probing {url} (no sign-in; nothing is saved)\n");
    }
    let result = discovery::discover_with_mode(&http, &url).await;
    // Discovery also serves machine clients; `add` for a person needs the code flow with PKCE
    // S256 on top, and the probe answers for a person.
    let person = match &result {
        Ok((d, _)) => d.auth_server.require_code_flow().err(),
        Err(_) => None,
    };
    let registration = match (&result, args.try_register) {
        (Ok((d, _)), true) => Some(probe_registration(&http, &d.auth_server).await),
        _ => None,
    };

    let mut steps = match &result {
        Ok((d, _)) => d.steps.clone(),
        Err(e) => e.steps.clone(),
    };
    if let Some(r) = &registration {
        steps.extend(r.steps.iter().cloned());
    }
    if let (Some(f), Ok((d, _))) = (&person, &result) {
        steps.push(ProbeStep {
            step: "person's sign-in".into(),
            method: "-".into(),
            url: d.auth_server.metadata_url.to_string(),
            status: None,
            millis: 0,
            outcome: f.to_string(),
            ok: false,
        });
    }
    let failed = result.is_err() || person.is_some();

    if args.json {
        let failure_of = |f: &DiscoveryFailure| Failure {
            rule: f.rule().into(),
            what: f.what(),
            next_step: f.next_step(),
        };
        let (discovery, mode, failure) = match &result {
            Ok((d, m)) => (Some(d), Some(*m), person.as_ref().map(failure_of)),
            Err(e) => (None, None, Some(failure_of(&e.failure))),
        };
        let mut notes = discovery.map(notes).unwrap_or_default();
        if let (Some(d), Some(_)) = (discovery, &person) {
            notes.push(machine_note(&d.auth_server));
        }
        output::json(&Report {
            url: url.as_str(),
            ok: !failed,
            mode,
            steps,
            discovery,
            scopes_to_request: discovery.map(Discovery::scopes_to_request),
            device_grant: discovery.map(|d| d.auth_server.device_authorization_endpoint.is_some()),
            notes,
            registration: registration.as_ref(),
            failure,
        });
    } else {
        print_steps(&steps, failed);
        match (&result, &person) {
            (Ok((d, mode)), None) => print_learnt(d, *mode, registration.as_ref(), &url),
            (Ok((d, mode)), Some(f)) => {
                print_learnt(d, *mode, registration.as_ref(), &url);
                print_failure("Discovery stopped for a person's sign-in", f);
                println!("{}\n", machine_note(&d.auth_server));
            }
            (Err(e), _) => print_failure("Discovery stopped", &e.failure),
        }
    }
    match (result, person) {
        (Ok(_), None) => Ok(()),
        // The report above already says what failed and what to change: exit 1 with one line.
        (Ok(_), Some(f)) => Err(Stopped(f.rule().to_owned()).into()),
        (Err(e), _) => Err(Stopped(e.rule().to_owned()).into()),
    }
}

/// For an AS a person cannot sign in at: whether a machine client could (it needs only the
/// token endpoint and its grant).
fn machine_note(a: &AuthServerMetadata) -> String {
    let machine_grants = [
        "client_credentials",
        lanyard_core::tokens::machine::JWT_BEARER,
    ];
    match &a.grant_types_supported {
        Some(listed) if !listed.iter().any(|g| machine_grants.contains(&g.as_str())) => format!(
            "a machine client could not sign in here either: the AS lists neither client_credentials nor jwt-bearer among its grants ({})",
            listed.join(", ")
        ),
        _ => "a machine client needs none of this and can still sign in here: `lanyard add URL --client-credentials …` or `--workload-token-file …`".into(),
    }
}

#[derive(Debug)]
struct Stopped(String);

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "discovery stopped at the rule \"{}\" (details above)",
            self.0
        )
    }
}

impl std::error::Error for Stopped {}

impl UserFacing for Stopped {
    fn next_step(&self) -> String {
        String::new()
    }
    fn code(&self) -> &'static str {
        "probe.stopped"
    }
}

fn print_steps(steps: &[ProbeStep], failed: bool) {
    let last = steps.len().saturating_sub(1);
    for (i, s) in steps.iter().enumerate() {
        let mark = if s.ok {
            "ok  "
        } else if failed && i == last {
            "FAIL"
        } else {
            "--  "
        };
        let status = s
            .status
            .map(|c| c.to_string())
            .unwrap_or_else(|| "---".into());
        println!(
            "{:>2}. {mark} {:<20} {:<6} {status} {:>5} ms  {}",
            i + 1,
            s.step,
            s.method,
            s.millis,
            s.url
        );
        println!("             {}", s.outcome);
    }
    println!();
}

fn line(label: &str, value: impl std::fmt::Display) {
    println!("  {label:<24}{value}");
}

fn print_learnt(
    d: &Discovery,
    mode: DiscoveryMode,
    reg: Option<&RegistrationProbe>,
    url: &url::Url,
) {
    let a = &d.auth_server;
    // `…/mcp/` pasted for a server that calls itself `…/mcp`: what `add` will call.
    let settled = lanyard_core::api::settled_url(url, &d.resource.resource);
    let url = &settled;
    println!("What Lanyard learnt");
    match mode {
        DiscoveryMode::ResourceMetadata => {}
        DiscoveryMode::LegacyOriginMetadata => line(
            "Note",
            "no Protected Resource Metadata: MCP 2025-03-26 back-compat, the server's origin is its authorization server",
        ),
        DiscoveryMode::LegacyDefaultEndpoints => line(
            "Note",
            "no metadata at all: MCP 2025-03-26 back-compat, default endpoints at the server's origin",
        ),
    }
    // Exactly as the authorization and token requests will carry it (RFC 8707 `resource`).
    line(
        "Resource",
        lanyard_core::authorization::resource_param(&d.resource.resource),
    );
    if let Some(n) = &d.resource.resource_name {
        line("Resource name", n);
    }
    line(
        "Authorization servers",
        d.resource
            .authorization_servers
            .iter()
            .map(|u| u.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    );
    line("Issuer", &a.issuer);
    if mode == DiscoveryMode::LegacyDefaultEndpoints {
        line("Metadata", "none published (default endpoints assumed)");
    } else {
        line("Metadata", &a.metadata_url);
    }
    line(
        "Authorization endpoint",
        a.authorization_endpoint
            .as_ref()
            .map_or("none published", url::Url::as_str),
    );
    line("Token endpoint", &a.token_endpoint);
    if let Some(r) = &a.registration_endpoint {
        line("Registration endpoint", r);
    }
    if let Some(r) = &a.revocation_endpoint {
        line("Revocation endpoint", r);
    }
    line(
        "PKCE methods",
        if a.code_challenge_methods_supported.is_empty() {
            "none listed".to_owned()
        } else {
            a.code_challenge_methods_supported.join(", ")
        },
    );
    line(
        "Token endpoint auth",
        a.token_endpoint_auth_methods_supported.join(", "),
    );
    line(
        "RFC 9207 iss",
        if a.authorization_response_iss_parameter_supported {
            "sent by the IdP (will be checked)"
        } else {
            "not advertised"
        },
    );
    line(
        "Device sign-in",
        match &a.device_authorization_endpoint {
            Some(ep) => format!(
                "offered ({ep}): `lanyard add URL --device`, chosen by itself where no browser can open"
            ),
            None => "not offered (no device_authorization_endpoint): without a browser here, use `--no-browser`".into(),
        },
    );
    let scopes = d.scopes_to_request();
    let source = if d.challenge.as_ref().is_some_and(|c| c.scope.is_some()) {
        "from the challenge"
    } else {
        "from the resource's scopes_supported"
    };
    line(
        "Scopes to request",
        if scopes.is_empty() {
            // FastMCP publishes `scopes_supported: []`: named, but nothing to ask for.
            "none named: the scope parameter will be omitted".to_owned()
        } else {
            format!("{} ({source})", scopes.join(" "))
        },
    );
    if let Some(s) = a.scopes_supported.as_ref().filter(|s| !s.is_empty()) {
        line("IdP scopes", s.join(" "));
    }
    let notes = notes(d);
    if !notes.is_empty() {
        println!("\nWorth knowing");
        for n in &notes {
            println!("  - {n}");
        }
    }
    println!("\nHow Lanyard can get a client id (in the MCP spec's order)");
    line(
        "Pre-registered",
        "always possible: `lanyard add URL --client-id ID`",
    );
    line(
        "Client ID Metadata Doc",
        if a.client_id_metadata_document_supported {
            "supported by the IdP (`--client-metadata-url URL`)"
        } else {
            "not supported by the IdP"
        },
    );
    let dcr = match (&a.registration_endpoint, reg.map(|r| &r.outcome)) {
        (None, _) => "not offered (no registration_endpoint)".to_owned(),
        (Some(ep), None) => {
            format!("advertised at {ep} (add --try-register to check it accepts Lanyard)")
        }
        (Some(_), Some(RegistrationProbeOutcome::Accepted { note, .. })) => {
            format!("works: anonymous registration accepted; {note}")
        }
        (
            Some(_),
            Some(RegistrationProbeOutcome::Refused {
                what, next_step, ..
            }),
        ) => {
            format!("REFUSED: {what}\n{:26}{next_step}", "")
        }
        (Some(_), Some(RegistrationProbeOutcome::Failed { what })) => format!("unusable: {what}"),
        (Some(_), Some(RegistrationProbeOutcome::NoEndpoint)) => "not offered".to_owned(),
    };
    line("Dynamic registration", dcr);
    let refused = matches!(
        reg.map(|r| &r.outcome),
        Some(RegistrationProbeOutcome::Refused { .. } | RegistrationProbeOutcome::Failed { .. })
    );
    println!();
    if a.require_code_flow().is_err() {
        // The failure below says why.
    } else if a.registration_endpoint.is_none() && !a.client_id_metadata_document_supported
        || refused
    {
        println!(
            "Result: discovery works; sign-in needs a client id from the admin: `lanyard add {url} --client-id ID`"
        );
    } else {
        println!("Result: ready to sign in: `lanyard add {url}`");
    }
}

/// Capability-based observations an admin may want to act on (never keyed on the IdP's name).
fn notes(d: &Discovery) -> Vec<String> {
    let a = &d.auth_server;
    let mut out = Vec::new();
    if !a
        .token_endpoint_auth_methods_supported
        .iter()
        .any(|m| m == "none")
    {
        out.push(format!(
            "the IdP does not list public clients (token_endpoint_auth_methods_supported = {}): a registration gets a client secret, kept in the keychain",
            a.token_endpoint_auth_methods_supported.join(", ")
        ));
    }
    if a.grant_types_supported
        .as_ref()
        .is_some_and(|g| !g.iter().any(|x| x == "refresh_token"))
    {
        out.push("the IdP does not offer the refresh_token grant: you will sign in again each time the access token expires".into());
    }
    if let Some(s) = &a.scopes_supported
        && !s.iter().any(|x| x == "offline_access")
    {
        out.push("offline_access is not advertised, so Lanyard will not ask for it; refresh works only if the IdP issues refresh tokens anyway".into());
    }
    if a.revocation_endpoint.is_none() {
        out.push(
            "no revocation_endpoint: `lanyard logout` can only forget the tokens, not revoke them"
                .into(),
        );
    }
    out
}

fn print_failure(heading: &str, e: &DiscoveryFailure) {
    println!("{heading}");
    line("Rule", e.rule());
    line("Problem", e.what());
    line("What to change", e.next_step());
    println!();
}
