// The tray's commands, typed. Every call goes to Rust (src-tauri/src/commands.rs).
import { invoke } from "@tauri-apps/api/core";

import type {
  Activity,
  AddRequest,
  AddResult,
  Assistant,
  ProbeSummary,
  ServerRow,
  ToolInfo,
  UiError,
  UninstallResult,
} from "./types.gen";

// The types are generated from the Rust ones (src-tauri/src/model.rs).
export type * from "./types.gen";

export const api = {
  probe: (url: string) => invoke<ProbeSummary>("probe", { url }),
  /** The core's name for a server URL ("" when it is not a URL). */
  suggestName: (url: string) => invoke<string>("suggest_name", { url }),
  addServer: (req: AddRequest) => invoke<AddResult>("add_server", { req }),
  tools: (name: string) => invoke<ToolInfo[]>("tools", { name }),
  assistants: (server?: string) => invoke<Assistant[]>("assistants", { server: server ?? null }),
  connect: (name: string, ides: string[]) => invoke<void>("connect", { name, ides }),
  disconnect: (name: string, ide: string) => invoke<void>("disconnect", { name, ide }),
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
  if (e && typeof e === "object" && "what" in e && "code" in e) return e as UiError;
  return { code: "ui.unexpected", what: String(e), next: "" };
}

/** The sign-in was cancelled (the wizard closed or another sign-in started): nothing to show. */
export const CANCELLED = "tray.cancelled";

/**
 * Error codes (core's `UserFacing::code`) that a client id from the admin gets past: the
 * identity provider refused or does not offer registration, or deleted the registered client.
 */
const NEEDS_CLIENT_ID: ReadonlySet<string> = new Set([
  "registration.no-way",
  "registration.dcr-disabled",
  "registration.trusted-hosts",
  "registration.allowed-client-scopes",
  "registration.max-clients",
  "registration.rejected",
  "registration.bad-response",
  "token-endpoint.invalid-client",
]);

export function needsClientId(e: UiError): boolean {
  return NEEDS_CLIENT_ID.has(e.code);
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
