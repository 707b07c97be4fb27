// The dashboard: servers with status, expiry, issuer, client id source, assistants and drift;
// the activity log of refreshes, repairs and errors.
import { listen } from "@tauri-apps/api/event";
import { $, api, asUiError, el, type ServerRow } from "./api";

const ASSISTANT_NAMES: Record<string, string> = { cursor: "Cursor", claude: "Claude Code", codex: "Codex" };
const STATUS_TEXT: Record<string, string> = {
  "signed-in": "signed in",
  refreshing: "refreshing",
  "needs-sign-in": "needs sign-in",
  unreachable: "IdP unreachable",
};

function time(iso: string | null): string {
  if (!iso) return "—";
  const d = new Date(iso);
  return isNaN(d.getTime()) ? iso : d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function row(s: ServerRow): HTMLTableRowElement {
  const signIn = el("button", { "data-action": "signin" }, "Sign in again");
  signIn.addEventListener("click", () => void api.signInAgain(s.name));
  const assistants = el("td", {}, s.connected.length ? s.connected.map((c) => ASSISTANT_NAMES[c] ?? c).join(", ") : "—");
  for (const d of s.drift) assistants.append(el("div", { class: "drift" }, `⚠ ${d}`));
  return el("tr", { "data-server": s.name },
    el("td", {}, el("strong", {}, s.name), el("div", { class: "url" }, s.url)),
    el("td", {}, el("span", { class: `badge status ${s.status}` }, STATUS_TEXT[s.status] ?? s.status)),
    el("td", {}, time(s.expires_at)),
    el("td", { class: "url" }, s.issuer ?? "—"),
    el("td", {}, s.client_id_source ?? "—", s.client_id ? el("div", { class: "url" }, s.client_id) : ""),
    assistants,
    el("td", {}, signIn));
}

async function refresh() {
  try {
    const servers = await api.servers();
    $("servers").querySelector("tbody")!.replaceChildren(...servers.map(row));
    $("empty").hidden = servers.length > 0;
  } catch (e) {
    const err = asUiError(e);
    $("empty").hidden = false;
    $("empty").textContent = `${err.what} ${err.next}`;
  }
  const log = await api.activity().catch(() => []);
  $("activity").replaceChildren(...(log.length
    ? log.map((a) => el("li", {}, el("span", { class: "at" }, new Date(a.at).toLocaleTimeString()), el("span", { class: `kind ${a.kind}` }, a.kind), a.message))
    : [el("li", { class: "muted" }, "Nothing yet.")]));
}

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
window.addEventListener("focus", () => void refresh());
setInterval(() => void refresh(), 10_000);
void refresh();
