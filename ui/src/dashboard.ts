// The dashboard: one row per server (name, state, when the next sign-in will be needed, a switch
// per assistant), details on demand (URL, identity provider, client id, token expiry, drift),
// the activity log, and the "remove everything" / "uninstall" confirmations.
import { listen } from "@tauri-apps/api/event";
import { $, api, asUiError, el, type Assistant, type ServerRow } from "./api";
import { closeOnEscape } from "./native";

const STATUS_TEXT: Record<string, string> = {
  "signed-in": "Signed in",
  refreshing: "Refreshing",
  "needs-sign-in": "Needs sign-in",
  unreachable: "IdP unreachable",
};

/** Every assistant Lanyard knows (installed or not); ids and names come from Rust. */
let assistants: Assistant[] = [];
/** Servers whose details are open. */
const expanded = new Set<string>();
let lastServers = "";
let lastLog = "";

function clock(d: Date): string {
  return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

/** "14:05" today, "Tue 14:05" within a week, else the date. */
function when(iso: string): string {
  const d = new Date(iso);
  if (isNaN(d.getTime())) return iso;
  const now = new Date();
  const days = (d.getTime() - now.getTime()) / 86_400_000;
  if (d.toDateString() === now.toDateString()) return `today ${clock(d)}`;
  if (days < 7) return `${d.toLocaleDateString([], { weekday: "short" })} ${clock(d)}`;
  return d.toLocaleDateString([], { day: "numeric", month: "short" });
}

/** The "Next sign-in" cell: now, a time (a token that cannot be refreshed), or none foreseen. */
function nextSignIn(s: ServerRow): [string, string] {
  if (s.status === "needs-sign-in") return ["Now", s.via ? "the company sign-in ended" : "the identity provider ended the sign-in"];
  if (s.sign_in_by) return [when(s.sign_in_by), "no refresh token: the token expires then"];
  if (s.status === "unreachable") return ["None foreseen", "retrying the identity provider"];
  return ["None foreseen", s.via ? "renews through your company sign-in" : "renews by itself"];
}

function host(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/** Ids for focus keeping across re-renders: letters, digits and dashes only. */
function key(...parts: string[]): string {
  return parts.map((p) => p.replace(/[^A-Za-z0-9]/g, (c) => `_${c.charCodeAt(0).toString(16)}`)).join("-");
}

let status: HTMLElement;

function toggle(s: ServerRow, a: Assistant, on: boolean, input: HTMLInputElement) {
  input.disabled = true;
  const done = on ? api.connect(s.name, [a.id]) : api.disconnect(s.name, a.id);
  done
    .then(() => (status.textContent = `${s.name}: ${on ? "connected to" : "disconnected from"} ${a.name}.`))
    .catch((e) => {
      const err = asUiError(e);
      input.checked = !on;
      status.textContent = `${s.name}: ${err.what} ${err.next}`;
    })
    .finally(() => {
      input.disabled = false;
      void refresh();
    });
}

function assistantSwitch(s: ServerRow, a: Assistant): HTMLLabelElement {
  const on = s.connected.includes(a.id);
  const input = el("input", { type: "checkbox", role: "switch", id: key("sw", s.name, a.id), "aria-label": `${a.name}: connect ${s.name}` });
  input.checked = on;
  input.addEventListener("change", () => toggle(s, a, input.checked, input));
  return el("label", { class: `switch${a.installed || on ? "" : " not-installed"}`, title: a.installed ? "" : `${a.name} was not found on this computer` }, input, el("span", {}, a.name));
}

/** Assistants shown in the row: the installed ones and those connected; all when none is. */
function rowAssistants(s: ServerRow): Assistant[] {
  const shown = assistants.filter((a) => a.installed || s.connected.includes(a.id));
  return shown.length ? shown : assistants;
}

function signInButton(s: ServerRow, text: string, label: string, id: string): HTMLButtonElement {
  const b = el("button", { type: "button", id, "aria-label": label }, text);
  b.addEventListener("click", () => {
    void api.signInAgain(s.name);
    status.textContent = `${s.name}: sign-in window opening…`;
  });
  return b;
}

function detailsRow(s: ServerRow, id: string): HTMLTableRowElement {
  const dl = el("dl", { class: "facts" });
  const fact = (k: string, v: Node | string) => dl.append(el("dt", {}, k), el("dd", {}, v));
  fact("URL", el("span", { class: "mono" }, s.url));
  fact("Identity provider", el("span", { class: "mono" }, s.issuer ?? "—"));
  if (s.via) fact("Signed in", s.via);
  fact("Client id", s.client_id ? el("span", {}, el("span", { class: "mono" }, s.client_id), ` (${s.client_id_source ?? "?"})`) : (s.client_id_source ?? "—"));
  fact("Access token", s.expires_at ? `valid until ${when(s.expires_at)}` : "no expiry given");
  if (s.drift.length) fact("Changed by hand", s.drift.join("; "));
  const others = assistants.filter((a) => !rowAssistants(s).includes(a));
  if (others.length) {
    const wrap = el("div", { class: "switches" }, ...others.map((a) => assistantSwitch(s, a)));
    fact("Other assistants", wrap);
  }
  if (s.status !== "needs-sign-in") {
    fact("Sign-in", signInButton(s, "Sign in again", `Sign in again to ${s.name}`, key("signin", s.name)));
  }
  const tr = el("tr", { class: "details", id }, el("td", { colspan: "5" }, dl));
  tr.hidden = !expanded.has(s.name);
  return tr;
}

function rows(s: ServerRow): HTMLTableRowElement[] {
  const detailsId = key("details", s.name);
  const more = el("button", { type: "button", class: "icon", id: key("more", s.name), "aria-expanded": String(expanded.has(s.name)), "aria-controls": detailsId, "aria-label": `Details of ${s.name}` }, "Details");
  const needed = s.status === "needs-sign-in";
  const signIn = signInButton(s, needed ? "Sign in" : "Sign in again", needed ? `Sign in to ${s.name}` : `Sign in again to ${s.name}`, key("signin", s.name));
  if (needed) signIn.classList.add("primary");
  const [next, why] = nextSignIn(s);
  const state = el("td", {}, el("span", { class: `badge ${s.status}` }, STATUS_TEXT[s.status] ?? s.status));
  for (const d of s.drift) state.append(el("div", { class: "drift" }, `⚠ ${d}`));
  const main = el("tr", { class: "server", "data-server": s.name },
    el("th", { scope: "row" }, el("div", { class: "name" }, s.name), el("div", { class: "host", title: s.url }, host(s.url)), ...(s.via ? [el("div", { class: "host via" }, s.via)] : [])),
    state,
    el("td", {}, el("div", {}, next), el("div", { class: "muted small" }, why)),
    el("td", {}, el("div", { class: "switches" }, ...rowAssistants(s).map((a) => assistantSwitch(s, a)))),
    el("td", { class: "row-actions" }, ...(needed ? [signIn] : []), more));
  const details = detailsRow(s, detailsId);
  more.addEventListener("click", () => {
    const open = !expanded.has(s.name);
    if (open) expanded.add(s.name);
    else expanded.delete(s.name);
    details.hidden = !open;
    more.setAttribute("aria-expanded", String(open));
  });
  return [main, details];
}

async function refresh() {
  if (!assistants.length) assistants = await api.assistants().catch(() => []);
  let servers: ServerRow[] = [];
  try {
    servers = await api.servers();
    $("empty").textContent = "No servers yet. Use “Add MCP server…” to add one.";
  } catch (e) {
    const err = asUiError(e);
    $("empty").textContent = `${err.what} ${err.next}`;
  }
  const log = await api.activity().catch(() => []);
  // Redraw only what changed, keeping the keyboard focus where it was.
  const focused = document.activeElement?.id;
  const serversNow = JSON.stringify(servers);
  if (serversNow !== lastServers) {
    lastServers = serversNow;
    $("servers").querySelector("tbody")!.replaceChildren(...servers.flatMap(rows));
    $("servers").hidden = servers.length === 0;
    $("empty").hidden = servers.length > 0;
  }
  const logNow = JSON.stringify([log.length, log[0] ?? null]);
  if (logNow !== lastLog) {
    lastLog = logNow;
    $("activity").replaceChildren(...(log.length
      ? log.map((a) => el("li", {}, el("time", { class: "at", datetime: a.at }, new Date(a.at).toLocaleTimeString()), el("span", { class: `kind ${a.kind}` }, a.kind), el("span", { class: "msg" }, a.message)))
      : [el("li", { class: "muted" }, "Nothing yet.")]));
  }
  if (focused) document.getElementById(focused)?.focus();
}

status = $("status");
$("add").addEventListener("click", () => void api.openWizard());

function showRemove() {
  $("remove-confirm").hidden = false;
  $("remove-card").scrollIntoView({ block: "end" });
  ($("remove-cancel") as HTMLButtonElement).focus();
}
$("remove-show").addEventListener("click", showRemove);
$("remove-cancel").addEventListener("click", () => ($("remove-confirm").hidden = true));
$("remove-go").addEventListener("click", async () => {
  const out = $("remove-out");
  ($("remove-go") as HTMLButtonElement).disabled = true;
  out.hidden = false;
  out.textContent = "Revoking tokens and deleting registrations…";
  try {
    out.textContent = `${await api.removeEverything()}\nDone. Lanyard quits now.`;
  } catch (e) {
    const err = asUiError(e);
    out.textContent = `${err.what}\n${err.next}`;
    ($("remove-go") as HTMLButtonElement).disabled = false;
  }
});
void listen("remove-everything", showRemove);

// "Uninstall Lanyard…" (Linux tray): the cleanup, then the package manager — the tray never runs
// it by itself: it shows the command, and offers pkexec only when it exists and the user asks.
function showUninstall() {
  $("uninstall-card").hidden = false;
  $("uninstall-confirm").hidden = false;
  $("uninstall-card").scrollIntoView({ block: "end" });
  ($("uninstall-cancel") as HTMLButtonElement).focus();
}
$("uninstall-cancel").addEventListener("click", () => ($("uninstall-card").hidden = true));
$("uninstall-go").addEventListener("click", async () => {
  const out = $("uninstall-out");
  const go = $("uninstall-go") as HTMLButtonElement;
  go.disabled = true;
  out.hidden = false;
  out.textContent = "Revoking tokens and deleting registrations…";
  try {
    const r = await api.uninstallLanyard();
    out.textContent = r.report;
    $("uninstall-confirm").hidden = true;
    $("uninstall-how").textContent = r.remove_command
      ? `Everything is cleaned up. To remove the program, run in a terminal:  ${r.remove_command}`
      : `Everything is cleaned up. ${r.manual ?? ""}`;
    $("uninstall-pkexec").hidden = !r.can_pkexec;
    $("uninstall-next").hidden = false;
  } catch (e) {
    const err = asUiError(e);
    out.textContent = `${err.what}\n${err.next}`;
    go.disabled = false;
  }
});
async function finishUninstall(removePackage: boolean) {
  const out = $("uninstall-out");
  try {
    const text = await api.finishUninstall(removePackage);
    out.textContent = `${text}\nDone. Lanyard quits now.`;
  } catch (e) {
    const err = asUiError(e);
    out.textContent = `${err.what}\n${err.next}`;
  }
}
$("uninstall-quit").addEventListener("click", () => void finishUninstall(false));
$("uninstall-pkexec").addEventListener("click", () => void finishUninstall(true));
void listen("uninstall", showUninstall);
if (location.hash === "#uninstall") showUninstall();
if (location.hash === "#remove-everything") showRemove();
// Escape closes an open confirmation or details first, then the window.
closeOnEscape(() => {
  if (!$("remove-confirm").hidden) {
    $("remove-confirm").hidden = true;
    ($("remove-show") as HTMLButtonElement).focus();
    return true;
  }
  if (!$("uninstall-card").hidden && !($("uninstall-go") as HTMLButtonElement).disabled) {
    $("uninstall-card").hidden = true;
    return true;
  }
  const row = document.activeElement?.closest("tr.details, tr.server");
  const name = row?.classList.contains("details") ? row.previousElementSibling?.getAttribute("data-server") : row?.getAttribute("data-server");
  if (name && expanded.has(name)) {
    document.getElementById(key("more", name))?.click();
    document.getElementById(key("more", name))?.focus();
    return true;
  }
  return false;
});
window.addEventListener("focus", () => void refresh());
setInterval(() => void refresh(), 10_000);
void refresh();
