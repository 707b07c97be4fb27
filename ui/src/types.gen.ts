// Generated from src-tauri/src/model.rs by src-tauri/src/bindings.rs: do not edit.
// Regenerate: LANYARD_UPDATE_BINDINGS=1 cargo test -p lanyard-tray bindings

/**
 * A server's state as the tray shows it; also picks the tray icon.
 */
export type Status = "signed-in" | "refreshing" | "needs-sign-in" | "unreachable";

/**
 * One managed server, as the tray and the dashboard show it.
 */
export type ServerRow = { name: string, url: string, issuer: string | null,
/**
 * "DCR", "CIMD" or "pre-registered".
 */
client_id_source: string | null, client_id: string | null, expires_at: string | null,
/**
 * When the next sign-in will be needed: the token's expiry when the engine cannot refresh
 * it (the IdP gave no refresh token). `None`: not foreseen (it refreshes by itself), or
 * needed now (`status` says which).
 */
sign_in_by: string | null,
/**
 * "via login.example.com as you@example.com": the tokens come through a company IdP
 * session (enterprise-managed authorization), which renews them; `None`: its own sign-in.
 */
via: string | null, status: Status,
/**
 * Assistant ids ("cursor", "claude", "codex") this server is connected to.
 */
connected: Array<string>,
/**
 * Human-readable drift warnings ("disconnected in Cursor", …).
 */
drift: Array<string>, };

/**
 * One line of the dashboard's activity log.
 */
export type Activity = { at: string,
/**
 * "refresh", "repair", "sign-in", "error", …
 */
kind: string, message: string, };

/**
 * An error as the UI shows it: what failed and what to do next. `code` is what the UI
 * branches on: a core error's [`UserFacing::code`] (`registration.dcr-disabled`, …) or one of
 * the tray's own (`tray.cancelled`, …).
 */
export type UiError = { code: string, what: string, next: string, };

/**
 * How far a step of the wizard's timeline is.
 */
export type StepState = "running" | "ok" | "failed";

/**
 * One row of the wizard's timeline. The discovery steps carry what `lanyard probe` reports.
 */
export type TimelineStep = {
/**
 * "challenge", "resource metadata", "authorization server", "client id", "sign in",
 * "first tool call", or a discovery step's own name.
 */
step: string, state: StepState, detail: string, method?: string | null, url?: string | null, status?: number | null, millis?: number | null, };

/**
 * Whether the authorization server advertises dynamic client registration. Whether it
 * accepts an anonymous registration only shows at sign-in.
 */
export type Dcr = "available" | "absent" | "unknown";

/**
 * Where the authorization server came from (the core's `discovery::DiscoveryMode`).
 */
export type ProbeMode = "resource_metadata" | "legacy_origin_metadata" | "legacy_default_endpoints";

/**
 * What the wizard needs after discovery, before signing in.
 */
export type ProbeSummary = { steps: Array<TimelineStep>, issuer: string | null,
/**
 * The endpoints the user confirms with the issuer (carried into `add`, which aborts when
 * discovery then says otherwise).
 */
authorization_endpoint: string | null, token_endpoint: string | null,
/**
 * "evil.example will receive tokens from your sign-in at idp.corp …" when the issuer
 * already signs Lanyard in to servers of another origin (`flow::shared_issuer`).
 */
issuer_warning: string | null, resource_name: string | null, dcr: Dcr, cimd: boolean, mode: ProbeMode | null, error: UiError | null, };

/**
 * The wizard's "Sign in": the server and what the user confirmed after the check.
 */
export type AddRequest = { url: string, name: string, clientId?: string | null, clientSecret?: string | null, scope?: string | null, noResource?: boolean | null,
/**
 * What the user confirmed after the check (the probe's issuer and endpoints): `add`
 * aborts when discovery then differs.
 */
expectIssuer?: string | null, expectAuthorizationEndpoint?: string | null, expectTokenEndpoint?: string | null, };

export type ToolInfo = { name: string, description: string, };

export type AddResult = { name: string, tools: Array<ToolInfo>, };

/**
 * An AI assistant Lanyard can configure.
 */
export type Assistant = {
/**
 * "cursor", "claude", "codex".
 */
id: string, name: string, installed: boolean, connected: boolean, };

/**
 * What "Uninstall Lanyard…" found after the cleanup: how to remove the program itself.
 */
export type UninstallResult = {
/**
 * The cleanup's report.
 */
report: string,
/**
 * The Debian package holding this binary (`dpkg -S`), when installed from the `.deb`.
 */
package: string | null,
/**
 * The command that removes the program, for the user to run (never run by the tray).
 */
remove_command: string | null,
/**
 * `pkexec` exists: the dashboard may offer to run `apt-get remove` through it.
 */
can_pkexec: boolean,
/**
 * What to do when no package manager owns the program (AppImage, a copied binary).
 */
manual: string | null, };

/**
 * One entry of the checklist.
 */
export type ImportRow = {
/**
 * The registry's name for it: what the page sends back.
 */
entry: string,
/**
 * Its title, else the name it would be saved under.
 */
title: string, description: string, url: string,
/**
 * What choosing it costs: "already-added", "known-issuer" or "sign-in".
 */
cost: string,
/**
 * The same as one sentence.
 */
cost_text: string,
/**
 * The sign-in hints it carries, one sentence each.
 */
hints: Array<string>,
/**
 * Listed since the user last saw this registry.
 */
is_new: boolean, };

/**
 * An entry Lanyard cannot add, with the reason.
 */
export type SkippedRow = { entry: string, reason: string, };

/**
 * An entry that left the registry since the user last saw it.
 */
export type GoneRow = { entry: string, url: string,
/**
 * The name its URL is still saved under.
 */
saved_as: string | null, };

/**
 * A registry's listing as the import window shows it.
 */
export type ImportListing = {
/**
 * The list URL that answered.
 */
registry: string,
/**
 * The saved server holding the registry's own sign-in (protected registries).
 */
registry_server: string | null, rows: Array<ImportRow>, skipped: Array<SkippedRow>, gone: Array<GoneRow>, pages: number,
/**
 * The registry has more than Lanyard reads.
 */
truncated: boolean, };

/**
 * Where a chosen entry signs in (or why it could not be checked).
 */
export type ImportCheckRow = { entry: string, issuer: string | null,
/**
 * The shared-issuer warning: the entry is signed in to only with it accepted.
 */
warning: string | null, error: UiError | null, };

/**
 * A chosen entry, added.
 */
export type ImportAdded = { entry: string,
/**
 * The name it is saved under.
 */
name: string, tools: number, };
