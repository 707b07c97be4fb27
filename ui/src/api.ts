// The tray's commands, typed. Every call goes to Rust (src-tauri/src/commands.rs).
import { invoke } from "@tauri-apps/api/core";

export type StepState = "running" | "ok" | "failed" | "skipped" | "waiting" | "warning";

export interface TimelineStep {
  step: string;
  state: StepState;
  detail: string;
  method?: string | null;
  url?: string | null;
  status?: number | null;
  millis?: number | null;
}

export interface UiError {
  kind: string;
  what: string;
  next: string;
}

export interface ProbeSummary {
  steps: TimelineStep[];
  issuer: string | null;
  authorization_endpoint: string | null;
  token_endpoint: string | null;
  /** Set when the issuer already signs Lanyard in to servers of another origin. */
  issuer_warning: string | null;
  resource_name: string | null;
  dcr: "available" | "disabled" | "absent" | "unknown";
  cimd: boolean;
  error: UiError | null;
}

export interface ToolInfo {
  name: string;
  description: string;
}

export interface Assistant {
  id: string;
  name: string;
  installed: boolean;
  connected: boolean;
}

export type Status = "signed-in" | "refreshing" | "needs-sign-in" | "unreachable";

export interface ServerRow {
  name: string;
  url: string;
  issuer: string | null;
  client_id_source: string | null;
  client_id: string | null;
  expires_at: string | null;
  status: Status;
  connected: string[];
  drift: string[];
}

export interface Activity {
  at: string;
  kind: string;
  message: string;
}

export interface AddRequest {
  url: string;
  name: string;
  clientId?: string;
  clientSecret?: string;
  scope?: string;
  noResource?: boolean;
  /** What the user confirmed after the check: `add` aborts when discovery then differs. */
  expectIssuer?: string | null;
  expectAuthorizationEndpoint?: string | null;
  expectTokenEndpoint?: string | null;
}

/** What "Uninstall Lanyard…" found after the cleanup: how to remove the program itself. */
export interface UninstallResult {
  report: string;
  package: string | null;
  remove_command: string | null;
  can_pkexec: boolean;
  manual: string | null;
}

export const api = {
  probe: (url: string) => invoke<ProbeSummary>("probe", { url }),
  addServer: (req: AddRequest) => invoke<{ name: string; tools: ToolInfo[] }>("add_server", { req }),
  tools: (name: string) => invoke<ToolInfo[]>("tools", { name }),
  assistants: (server?: string) => invoke<Assistant[]>("assistants", { server: server ?? null }),
  connect: (name: string, ides: string[]) => invoke<void>("connect", { name, ides }),
  servers: () => invoke<ServerRow[]>("servers"),
  activity: () => invoke<Activity[]>("activity"),
  signInAgain: (name: string) => invoke<void>("sign_in_again", { name }),
  openWizard: (url?: string) => invoke<void>("open_wizard", { url: url ?? null }),
  cancelFlow: () => invoke<void>("cancel_flow"),
  useSystemBrowser: () => invoke<void>("use_system_browser"),
  removeEverything: () => invoke<string>("remove_everything"),
  uninstallLanyard: () => invoke<UninstallResult>("uninstall_lanyard"),
  finishUninstall: (removePackage: boolean) => invoke<string>("finish_uninstall", { removePackage }),
};

/** Errors from commands arrive as UiError objects; anything else is shown as text. */
export function asUiError(e: unknown): UiError {
  if (e && typeof e === "object" && "what" in e) return e as UiError;
  return { kind: "failed", what: String(e), next: "" };
}

/** Creates an element with text and attributes (no innerHTML anywhere: server data is untrusted). */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

export function $(id: string): HTMLElement {
  const e = document.getElementById(id);
  if (!e) throw new Error(`missing #${id}`);
  return e;
}

/** A short server name from its URL: "mcp.example.com/x" → "example". */
export function suggestName(raw: string): string {
  try {
    const u = new URL(raw);
    const labels = u.hostname.split(".").filter((l) => l && !["www", "mcp", "api", "gateway", "com", "org", "net", "io", "dev"].includes(l));
    let base = labels[0] ?? u.hostname;
    if (/^[\d.]+$/.test(u.hostname) || u.hostname === "localhost") {
      const seg = u.pathname.split("/").filter((s) => s && s !== "mcp")[0];
      base = seg ?? `local-${u.port || "80"}`;
    }
    return base.toLowerCase().replace(/[^a-z0-9_-]+/g, "-").replace(/^-+|-+$/g, "") || "server";
  } catch {
    return "";
  }
}
