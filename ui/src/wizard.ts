// The add wizard: URL → live discovery timeline → client id when needed → sign-in → tools and
// assistants → Done writes their configs.
import { listen } from "@tauri-apps/api/event";
import { getCurrentWindow } from "@tauri-apps/api/window";
import { $, api, asUiError, CANCELLED, el, needsClientId, type ProbeSummary, type TimelineStep, type UiError } from "./api";
import { closeOnEscape } from "./native";

closeOnEscape();

/** The chain as a person sees it; probe steps are grouped under these by name. */
const STAGES = ["challenge", "resource metadata", "authorization server", "client id", "sign in", "first tool call"] as const;
type Stage = (typeof STAGES)[number];

function stageOf(step: string): Stage | null {
  const s = step.toLowerCase();
  if (STAGES.includes(s as Stage)) return s as Stage;
  if (s.includes("challenge") || s.includes("unauthenticated") || s.includes("401")) return "challenge";
  if (s.includes("protected") || s.includes("resource")) return "resource metadata";
  if (s.includes("regist") || s.includes("client") || s.includes("cimd") || s.includes("dcr")) return "client id";
  if (s.includes("authorization") || s.includes("openid") || s.includes("oauth") || s.includes("issuer") || s.includes("as ")) return "authorization server";
  if (s.includes("sign") || s.includes("token")) return "sign in";
  if (s.includes("tool") || s.includes("initialize")) return "first tool call";
  return null;
}

const urlInput = $("url") as HTMLInputElement;
const nameInput = $("name") as HTMLInputElement;
const timeline = $("timeline");
let nameTouched = false;
let probed: ProbeSummary | null = null;
let busy = false;
/** The wizard was opened by a lanyard://add link (any web page can open one). */
let fromLink = false;

function stageRow(stage: string): HTMLLIElement {
  let li = timeline.querySelector<HTMLLIElement>(`li[data-stage="${CSS.escape(stage)}"]`);
  if (!li) {
    li = el("li", { "data-stage": stage, "data-state": "waiting" },
      el("span", { class: "dot" }),
      el("span", { class: "name" }, stage[0].toUpperCase() + stage.slice(1)),
      el("span", { class: "time" }),
      el("span", { class: "detail" }),
      el("ul", { class: "attempts" }));
    timeline.append(li);
  }
  return li;
}

function resetTimeline() {
  timeline.replaceChildren();
  for (const s of STAGES) stageRow(s);
  $("timeline-card").hidden = false;
  showError(null);
}

/** Shows one step: the stage takes its state and detail; requests are listed beneath it. */
function show(step: TimelineStep) {
  const stage = stageOf(step.step) ?? step.step;
  const li = stageRow(stage);
  li.dataset.state = step.state;
  (li.querySelector(".detail") as HTMLElement).textContent = step.detail;
  const time = li.querySelector(".time") as HTMLElement;
  if (step.millis != null) {
    const prev = Number(time.dataset.ms ?? 0) + step.millis;
    time.dataset.ms = String(prev);
    time.textContent = `${prev} ms`;
  }
  if (step.url) {
    const line = `${step.method ?? "GET"} ${step.url} → ${step.status ?? "no answer"}${step.millis != null ? ` (${step.millis} ms)` : ""}`;
    li.querySelector(".attempts")!.append(el("li", step.state === "failed" ? { class: "bad" } : {}, line));
  }
}

function showError(e: UiError | null) {
  const box = $("error");
  box.hidden = !e;
  if (e) box.replaceChildren(el("div", { class: "what" }, e.what), el("div", {}, e.next));
}

function askForClientId(why: string) {
  $("client-card").hidden = false;
  $("client-why").textContent = why;
  ($("client-id") as HTMLInputElement).focus();
}

/** The core's name for the URL in the field (one rule for the CLI, the core and this page). */
async function suggestName(url: string): Promise<string> {
  return api.suggestName(url).catch(() => "");
}

urlInput.addEventListener("input", async () => {
  if (nameTouched) return;
  const url = urlInput.value.trim();
  const name = await suggestName(url);
  // Typing on while the answer was on its way: only the latest URL's name counts.
  if (!nameTouched && urlInput.value.trim() === url) nameInput.value = name;
});
nameInput.addEventListener("input", () => (nameTouched = true));

async function check() {
  if (busy) return;
  const url = urlInput.value.trim();
  if (!url) return;
  busy = true;
  // A check of another URL than the one probed must not inherit its confirmation.
  probed = null;
  ($("check") as HTMLButtonElement).disabled = true;
  $("client-card").hidden = true;
  $("signin-card").hidden = true;
  $("done-card").hidden = true;
  resetTimeline();
  try {
    if (!nameTouched || !nameInput.value) nameInput.value = await suggestName(url);
    probed = await api.probe(url);
    for (const s of probed.steps) show(s);
    if (probed.error && probed.steps.length === 0) show({ step: "challenge", state: "failed", detail: probed.error.what });
    if (probed.error) {
      showError(probed.error);
      return;
    }
    const client = stageRow("client id");
    if (probed.dcr === "available") {
      client.dataset.state = "ok";
      (client.querySelector(".detail") as HTMLElement).textContent =
        probed.cimd ? "The IdP accepts Client ID Metadata Documents and dynamic registration." : "Dynamic registration is open: Lanyard registers one client for this machine.";
    } else if (probed.cimd) {
      client.dataset.state = "ok";
      (client.querySelector(".detail") as HTMLElement).textContent = "The IdP accepts Client ID Metadata Documents.";
    } else {
      client.dataset.state = "warning";
      (client.querySelector(".detail") as HTMLElement).textContent = "No registration endpoint: a client id is needed.";
      askForClientId("This IdP offers no way to register a client automatically. Ask your admin for a client id registered with a loopback redirect URI (http://127.0.0.1) and paste it here.");
    }
    $("issuer").textContent = probed.issuer ?? "the identity provider";
    $("signin-note").textContent = `Next: sign in at ${probed.issuer ?? "the identity provider"}. Lanyard opens the sign-in page in its own window; you can switch to your browser from there.`;
    const warning = $("issuer-warning");
    warning.hidden = !probed.issuer_warning;
    warning.textContent = probed.issuer_warning ?? "";
    ($("signin") as HTMLButtonElement).textContent = probed.issuer_warning ? "Sign in anyway" : "Sign in";
    $("signin").classList.toggle("primary", !probed.issuer_warning);
    $("signin-card").hidden = false;
    // A warning, or a wizard a link opened: Enter must not sign in.
    ($(probed.issuer_warning || fromLink ? "signin-cancel" : "signin") as HTMLButtonElement).focus();
  } catch (e) {
    showError(asUiError(e));
  } finally {
    busy = false;
    ($("check") as HTMLButtonElement).disabled = false;
  }
}

async function signIn() {
  if (busy) return;
  busy = true;
  const button = $("signin") as HTMLButtonElement;
  button.disabled = true;
  showError(null);
  $("use-browser").hidden = false;
  const name = nameInput.value.trim() || (await suggestName(urlInput.value.trim()));
  try {
    const result = await api.addServer({
      url: urlInput.value.trim(),
      name,
      clientId: ($("client-id") as HTMLInputElement).value,
      clientSecret: ($("client-secret") as HTMLInputElement).value,
      scope: ($("scope") as HTMLInputElement).value,
      noResource: ($("no-resource") as HTMLInputElement).checked,
      // What the user saw: the core aborts before any sign-in when discovery now differs.
      expectIssuer: probed?.issuer,
      expectAuthorizationEndpoint: probed?.authorization_endpoint,
      expectTokenEndpoint: probed?.token_endpoint,
    });
    $("signin-card").hidden = true;
    $("client-card").hidden = true;
    $("done-title").textContent = `Signed in to ${result.name}`;
    $("tools").replaceChildren(...(result.tools.length
      ? result.tools.map((t) => el("li", { "data-tool": t.name }, el("strong", {}, t.name), t.description ? el("span", { class: "desc" }, ` — ${t.description}`) : ""))
      : [el("li", {}, "The server lists no tools.")]));
    const assistants = await api.assistants(result.name).catch(() => []);
    $("assistants").replaceChildren(...assistants.map((a) =>
      el("label", { class: "inline" },
        Object.assign(el("input", { type: "checkbox", value: a.id, "data-assistant": a.id }), { checked: a.installed || a.connected }),
        a.installed ? a.name : `${a.name} (not detected)`)));
    $("done-card").hidden = false;
    $("done-card").scrollIntoView({ block: "end" });
    ($("done") as HTMLButtonElement).dataset.server = result.name;
  } catch (e) {
    const err = asUiError(e);
    if (needsClientId(err)) {
      askForClientId(`${err.what} ${err.next}`.trim());
    } else if (err.code !== CANCELLED) {
      showError(err);
    }
  } finally {
    busy = false;
    button.disabled = false;
    $("use-browser").hidden = true;
  }
}

async function done() {
  const button = $("done") as HTMLButtonElement;
  const ides = [...document.querySelectorAll<HTMLInputElement>("#assistants input:checked")].map((i) => i.value);
  button.disabled = true;
  try {
    await api.connect(button.dataset.server ?? "", ides);
    await getCurrentWindow().close();
  } catch (e) {
    showError(asUiError(e));
    button.disabled = false;
  }
}

$("url-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  void check();
});
$("signin").addEventListener("click", () => void signIn());
$("signin-cancel").addEventListener("click", () => {
  api.cancelFlow().catch(() => {});
  probed = null;
  $("signin-card").hidden = true;
  $("client-card").hidden = true;
  $("timeline-card").hidden = true;
  urlInput.focus();
});
$("done").addEventListener("click", () => void done());
$("use-browser").addEventListener("click", () => {
  api.useSystemBrowser().catch((e) => showError(asUiError(e)));
});

void listen<TimelineStep>("timeline", (ev) => show(ev.payload));
void listen<string>("signin-browser", () => {
  show({ step: "sign in", state: "running", detail: "Continuing in your browser; Lanyard will remember this for this server." });
});
void listen<string>("signin-redirect", () => {
  show({ step: "sign in", state: "running", detail: "Redirect received; finishing the code exchange…" });
});

// `--add URL` opens the wizard with the URL filled in and checked. A lanyard://add link
// (?link=…) contacts nothing until the user confirmed the URL, with Cancel focused.
const params = new URLSearchParams(location.search);
const pre = params.get("url");
const link = params.get("link");
if (link) {
  fromLink = true;
  $("url-form").hidden = true;
  $("link-url").textContent = link;
  $("link-card").hidden = false;
  $("link-cancel").addEventListener("click", () => {
    $("link-card").hidden = true;
    $("url-form").hidden = false;
    $("link-note").hidden = false;
    $("link-note").textContent = "Cancelled: Lanyard contacted nothing and saved nothing.";
    urlInput.value = "";
    nameInput.value = "";
    urlInput.focus();
  });
  $("link-check").addEventListener("click", () => {
    $("link-card").hidden = true;
    $("url-form").hidden = false;
    urlInput.value = link;
    void check();
  });
  ($("link-cancel") as HTMLButtonElement).focus();
} else if (pre) {
  urlInput.value = pre;
  void check();
} else {
  urlInput.focus();
}
