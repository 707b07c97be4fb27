// "Import from your gateway…": registry URL → checklist (name, description, what each costs,
// skipped entries with the reason) → the chosen ones checked (where each signs in, the
// shared-issuer warning) → sign in and add, one after the other, with progress per row.
// The page sends entry names only; the tray keeps the listing and the checks it showed.
import { invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import { $, asUiError, CANCELLED, el, type TimelineStep, type UiError } from "./api";
import type { ImportAdded, ImportCheckRow, ImportListing } from "./types.gen";

const importApi = {
  list: (registry: string) => invoke<ImportListing>("import_list", { registry }),
  registries: () => invoke<string[]>("import_registries"),
  check: (entries: string[]) => invoke<ImportCheckRow[]>("import_check", { entries }),
  add: (entry: string, acceptWarning: boolean) => invoke<ImportAdded>("import_add", { entry, acceptWarning }),
};

const registryInput = $("registry") as HTMLInputElement;
const rowsList = $("rows");
const checksList = $("checks");
let listing: ImportListing | null = null;
let checks: ImportCheckRow[] = [];
/** The entry being signed in to and added, whose row shows the sign-in's steps. */
let adding: string | null = null;
let busy = false;

function showError(e: UiError | null) {
  const box = $("error");
  box.hidden = !e;
  if (e) box.replaceChildren(el("div", { class: "what" }, e.what), el("div", {}, e.next));
}

function setBusy(b: boolean) {
  busy = b;
  for (const id of ["list", "continue", "add", "back"]) ($(id) as HTMLButtonElement).disabled = b;
  if (!b) updateContinue();
}

function titleOf(entry: string): string {
  return listing?.rows.find((r) => r.entry === entry)?.title ?? entry;
}

function chosen(): string[] {
  return [...rowsList.querySelectorAll<HTMLInputElement>("input[type=checkbox]:checked")].map((b) => b.dataset.entry!);
}

function updateContinue() {
  const n = chosen().length;
  const b = $("continue") as HTMLButtonElement;
  b.disabled = busy || n === 0;
  b.textContent = n === 0 ? "Continue" : `Continue with ${n}`;
}

function renderListing(l: ImportListing) {
  listing = l;
  $("listing-title").textContent = `Servers in ${l.registry}`;
  const notes = [`${l.rows.length} server(s) Lanyard can add, over ${l.pages} page(s).`];
  if (l.registry_server) notes.push(`Listed with your sign-in to the registry (saved as “${l.registry_server}”).`);
  if (l.truncated) notes.push("The registry has more; Lanyard read the first pages only.");
  $("listing-note").textContent = notes.join(" ");
  rowsList.replaceChildren(
    ...l.rows.map((r, i) => {
      const id = `pick-${i}`;
      const box = el("input", { type: "checkbox", id, "data-entry": r.entry, "aria-describedby": `${id}-cost` });
      if (r.cost === "already-added") box.disabled = true;
      box.addEventListener("change", updateContinue);
      const label = el("label", { for: id, class: "inline title" }, r.title);
      if (r.is_new) label.append(el("span", { class: "badge new" }, "new"));
      const li = el("li", { "data-entry": r.entry, "data-cost": r.cost },
        box,
        label,
        el("div", { class: "url" }, `${r.entry} — ${r.url}`),
        el("div", { class: "cost", id: `${id}-cost` }, r.cost_text),
        el("div", { class: "status", role: "status", "aria-live": "polite" }));
      if (r.description) li.insertBefore(el("div", { class: "desc" }, r.description), li.querySelector(".url"));
      if (r.hints.length) li.insertBefore(el("ul", { class: "hints" }, ...r.hints.map((h) => el("li", {}, h))), li.querySelector(".status"));
      return li;
    }),
  );
  $("skipped-box").hidden = l.skipped.length === 0;
  $("skipped").replaceChildren(
    ...l.skipped.map((s) => el("li", { "data-entry": s.entry }, `${s.entry}: `, el("span", { class: "reason" }, s.reason))),
  );
  $("gone-box").hidden = l.gone.length === 0;
  $("gone").replaceChildren(
    ...l.gone.map((g) =>
      el("li", { "data-entry": g.entry }, `${g.entry} (${g.url})`,
        el("span", { class: "reason" }, g.saved_as ? ` — still saved as “${g.saved_as}”; remove it from the dashboard if you no longer want it` : ""))),
  );
  $("listing-card").hidden = false;
  $("confirm-card").hidden = true;
  $("done-card").hidden = true;
  updateContinue();
}

async function list(ev?: Event) {
  ev?.preventDefault();
  const registry = registryInput.value.trim();
  if (!registry || busy) return;
  showError(null);
  setBusy(true);
  $("list-status").textContent = "Listing… (a protected registry asks you to sign in to it first)";
  $("signin-bar").hidden = false;
  try {
    renderListing(await importApi.list(registry));
    $("list-status").textContent = "";
    (rowsList.querySelector<HTMLInputElement>("input:not(:disabled)") ?? registryInput).focus();
  } catch (e) {
    const err = asUiError(e);
    $("list-status").textContent = "";
    if (err.code !== CANCELLED) showError(err);
  } finally {
    $("signin-bar").hidden = true;
    setBusy(false);
  }
}

function renderChecks(found: ImportCheckRow[]) {
  checks = found;
  checksList.replaceChildren(
    ...found.map((c, i) => {
      const li = el("li", { "data-entry": c.entry }, el("span"), el("div", { class: "title" }, titleOf(c.entry)));
      if (c.error) {
        li.append(el("div", { class: "status", "data-state": "failed" }, `Could not be checked: ${c.error.what} ${c.error.next}`));
      } else {
        li.append(el("div", { class: "cost" }, `Signs in at ${c.issuer}`));
      }
      if (c.warning) {
        const id = `accept-${i}`;
        const box = el("input", { type: "checkbox", id, "data-accept": c.entry });
        li.append(
          el("div", { class: "warning", id: `${id}-why` }, c.warning),
          el("label", { class: "inline", for: id }, box, "Sign in anyway"),
        );
        box.setAttribute("aria-describedby", `${id}-why`);
      }
      return li;
    }),
  );
  const ok = found.filter((c) => !c.error).length;
  ($("add") as HTMLButtonElement).textContent = `Sign in and add ${ok}`;
  $("confirm-card").hidden = false;
  $("confirm-card").scrollIntoView({ block: "start" });
}

async function check() {
  const entries = chosen();
  if (entries.length === 0 || busy) return;
  showError(null);
  setBusy(true);
  try {
    renderChecks(await importApi.check(entries));
  } catch (e) {
    showError(asUiError(e));
  } finally {
    setBusy(false);
  }
  // Once the buttons are enabled again: with a warning, the safe choice has the focus.
  if (!$("confirm-card").hidden) (checks.some((c) => c.warning) ? $("back") : $("add")).focus();
}

function rowStatus(entry: string, text: string, state: "running" | "ok" | "failed") {
  const status = rowsList.querySelector<HTMLElement>(`li[data-entry="${CSS.escape(entry)}"] .status`);
  if (status) {
    status.textContent = text;
    status.dataset.state = state;
  }
}

async function addChosen() {
  if (busy) return;
  showError(null);
  setBusy(true);
  const accepted = new Set(
    [...checksList.querySelectorAll<HTMLInputElement>("input[data-accept]:checked")].map((b) => b.dataset.accept!),
  );
  $("confirm-card").hidden = true;
  let added = 0;
  let tried = 0;
  for (const c of checks) {
    if (c.error) continue;
    tried += 1;
    if (c.warning && !accepted.has(c.entry)) {
      rowStatus(c.entry, "Not signed in: you did not confirm its sign-in.", "failed");
      continue;
    }
    adding = c.entry;
    $("signin-bar").hidden = false;
    rowStatus(c.entry, "Signing in…", "running");
    try {
      const out = await importApi.add(c.entry, accepted.has(c.entry));
      added += 1;
      rowStatus(c.entry, `Added as “${out.name}” (${out.tools} tool(s)).`, "ok");
      const box = rowsList.querySelector<HTMLInputElement>(`input[data-entry="${CSS.escape(c.entry)}"]`);
      if (box) {
        box.checked = false;
        box.disabled = true;
      }
    } catch (e) {
      const err = asUiError(e);
      rowStatus(c.entry, err.code === CANCELLED ? "Cancelled." : `${err.what} ${err.next}`, "failed");
    }
  }
  adding = null;
  $("signin-bar").hidden = true;
  setBusy(false);
  $("done-text").textContent = `Added ${added} of ${tried} chosen server(s). They are in the dashboard and the tray menu; connect them to your assistants there.`;
  $("done-card").hidden = false;
  $("dashboard").focus();
}

void listen<TimelineStep>("timeline", (ev) => {
  if (adding) rowStatus(adding, ev.payload.detail, ev.payload.state === "failed" ? "failed" : "running");
});

$("registry-form").addEventListener("submit", (ev) => void list(ev));
$("continue").addEventListener("click", () => void check());
$("back").addEventListener("click", () => {
  $("confirm-card").hidden = true;
  ($("continue") as HTMLButtonElement).focus();
});
$("add").addEventListener("click", () => void addChosen());
$("use-browser").addEventListener("click", () => {
  invoke<void>("use_system_browser").catch((e) => showError(asUiError(e)));
});
$("dashboard").addEventListener("click", () => {
  window.location.href = "dashboard.html";
});

async function init() {
  try {
    const known = await importApi.registries();
    $("known-registries").replaceChildren(...known.map((r) => el("option", { value: r })));
    if (known.length === 1 && !registryInput.value) registryInput.value = known[0];
  } catch {
    // No remembered registries: the field stays empty.
  }
  const asked = new URLSearchParams(window.location.search).get("registry");
  if (asked) {
    registryInput.value = asked;
    await list();
  } else {
    registryInput.focus();
  }
}

void init();
