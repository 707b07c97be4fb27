#!/usr/bin/python3
"""WebDriver test of "Import from your gateway…" against the test world's registry.

The CLI adds "demo" first. The tray starts on the wizard (the window under automation) and the
test moves it to the import page with the world's registry, which lists demo (already added),
locked (an IdP without registration; the entry's `_meta` hint names its pre-registered client)
and two entries Lanyard skips. Checked: the rows with what each costs, the skipped ones with
their reason, that listing contacted no entry; choosing locked shows where it signs in before
any sign-in (no authorization request yet); "Sign in and add" opens the native sign-in window,
"Open in my browser instead" hands it to $BROWSER (the world's scripted browser), the row says
it was added, the CLI lists it, and the dashboard shows it; the tray's watch tells a server that
appears without adding it. Then a registry behind the IdP: listing signs in to it first, its
entry warns (the IdP also signs in the registry, another address), Back has the focus, and the
entry is added only with "Sign in anyway"; last, axe-core on the import page. Screenshots: import, import-check, import-done,
import-warning.

Usage: import.py TRAY_BINARY SCREENSHOT_DIR WORLD_JSON
"""
import http.client
import json
import os
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import xwin  # noqa: E402
from wd import WebDriverError  # noqa: E402
from flow import check, finish, open_session  # noqa: E402
from a11y import axe  # noqa: E402

LANYARD = os.environ.get("LANYARD_BIN", "lanyard")


def lanyard(*args, timeout=180):
    return subprocess.run([LANYARD, *args], capture_output=True, text=True, timeout=timeout)


def world_log(world):
    with urllib.request.urlopen(f"{world['admin']}/log", timeout=10) as r:
        return json.load(r)


def admin_post(world, path, body):
    req = urllib.request.Request(f"{world['admin']}{path}", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status


def authorizations(world, issuer):
    with urllib.request.urlopen(f"{world['admin']}/counts", timeout=10) as r:
        counts = json.load(r)
    return counts.get("issuers", {}).get(issuer, {}).get("authorization", 0)


def shot(name, shots):
    w = xwin.find("Add MCP server") or xwin.find("Import from your gateway")
    if w:
        xwin.screenshot(w, os.path.join(shots, name))


def wait_quietly_for_signin(server):
    """The sign-in window was handed to the system browser: no WebDriver traffic until it is
    gone and `server` is saved (or the registry listed, for server None)."""
    end = time.monotonic() + 30
    while xwin.find("Sign in to") and time.monotonic() < end:
        time.sleep(0.5)
    end = time.monotonic() + 90
    while server and time.monotonic() < end and server not in lanyard("list").stdout:
        time.sleep(1)
    time.sleep(2)


def protected_registry(s, world, shots):
    """A registry behind the world's IdP: listing it signs in to it first (the sign-in window);
    its entry wiki signs in at the same IdP from another address than the registry, so the
    check warns, Back has the focus, and wiki is signed in to only with "Sign in anyway"."""
    gated = world["registries"]["gated"]["url"]
    s.navigate(s.url().split("import.html")[0] + "import.html?registry=" + urllib.request.quote(gated, safe=""))
    signin = s.wait(lambda: xwin.find("Sign in to"), 60)
    check("a protected registry opens its sign-in first", signin)
    s.click(s.find("#use-browser"))
    wait_quietly_for_signin(None)
    rows = s.wait(lambda: s.js("return [...document.querySelectorAll('#rows li[data-entry]')].map(li => li.dataset.entry)"), 60)
    check("then lists its servers", rows == ["dev.lanyard.world/wiki"], rows)
    note = s.js("return document.getElementById('listing-note').textContent") or ""
    check("with the registry's saved sign-in", "registry-local" in note, note)
    before = authorizations(world, "idp")
    s.js("document.querySelector('#rows li[data-entry$=\"/wiki\"] input').click();"
         "document.getElementById('continue').click(); return true")
    seen = s.wait(lambda: s.js("""
        const w = document.querySelector('#checks .warning');
        return !document.getElementById('confirm-card').hidden && w
          && {warning: w.textContent, focused: document.activeElement?.id,
              add: document.getElementById('add').textContent};"""), 60)
    warning = (seen or {}).get("warning", "")
    check("the check warns: the IdP also signs in the registry", "registry-local" in warning
          and "will receive tokens from your sign-in at" in warning, seen)
    check("with the warning, Back has the focus", (seen or {}).get("focused") == "back", seen)
    check("no sign-in yet", authorizations(world, "idp") == before)
    shot("import-warning.png", shots)
    s.js("document.querySelector('#checks input[data-accept]').click();"
         "document.getElementById('add').click(); return true")
    signin = s.wait(lambda: xwin.find("Sign in to"), 60)
    check("with 'Sign in anyway' ticked, its sign-in opens", signin)
    s.click(s.find("#use-browser"))
    wait_quietly_for_signin("wiki")
    status = s.wait(lambda: s.js(
        "const st = document.querySelector('#rows li[data-entry$=\"/wiki\"] .status');"
        "return st && st.dataset.state === 'ok' && st.textContent"), 60)
    check("wiki is added", status and "Added as “wiki”" in status, status)


def main():
    tray, shots, world = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    registry = world["registries"]["open"]["url"]
    added = lanyard("add", world["mcpServers"]["demo"]["url"], "--name", "demo")
    if not check("the CLI adds demo", added.returncode == 0, added.stderr[-800:]):
        return finish()
    port = os.environ.get("TAURI_DRIVER_PORT", "4444")
    caps = {"alwaysMatch": {"tauri:options": {"application": tray, "args": ["--add"]}}}
    s = None
    try:
        s = open_session(f"http://127.0.0.1:{port}", caps)
        if not check("WebDriver session on the wizard", s):
            return finish()
        s.navigate(s.url().split("wizard.html")[0] + "import.html?registry=" + urllib.request.quote(registry, safe=""))
        # The page lists the registry as it loads; no WebDriver traffic meanwhile (commands
        # racing a page's first events have dropped WebKitWebDriver's connection).
        time.sleep(4)
        # One script reads the whole listing: every WebDriver command is a chance for
        # WebKitWebDriver to drop its connection under load.
        seen = s.wait(lambda: s.js("""
            const rows = [...document.querySelectorAll('#rows li[data-entry]')];
            if (rows.length === 0) return null;
            return {
              rows: rows.map(li => [li.dataset.entry, li.dataset.cost, li.querySelector('.cost').textContent,
                                    li.querySelector('input').disabled, li.querySelector('.hints')?.textContent ?? '']),
              skipped: [...document.querySelectorAll('#skipped li')].map(li => li.textContent),
            };"""), 60)
        rows = (seen or {}).get("rows") or []
        check("the registry's servers are listed", len(rows) == 2, rows)
        by = {e.rsplit("/", 1)[-1]: (c, t, d, h) for e, c, t, d, h in rows}
        demo, locked = by.get("demo", ("", "", False, "")), by.get("locked", ("", "", False, ""))
        check("demo costs nothing: already added",
              demo[0] == "already-added" and "Already added as “demo”" in demo[1], by)
        # locked is on demo's address (the world's gateway), so the guess is demo's issuer; the
        # check below shows its real one before any sign-in.
        check("locked costs a sign-in", locked[0] in ("sign-in", "known-issuer")
              and "sign-in" in locked[1].lower(), by)
        check("demo cannot be chosen again", demo[2] is True and locked[2] is False, by)
        check("locked's hint (its client id) is shown", "lanyard-desktop" in locked[3], locked[3])
        skipped = (seen or {}).get("skipped") or []
        check("skipped entries are named with their reason",
              any("local-files" in x and "stdio" in x for x in skipped)
              and any("broken" in x and "not a valid URL" in x for x in skipped), skipped)
        log = world_log(world)
        check("listing contacted no server of the world",
              not log["mcpServers"].get("locked") and authorizations(world, "locked") == 0,
              log["mcpServers"].get("locked"))
        shot("import.png", shots)

        s.click(s.find('#rows li[data-entry$="/locked"] input'))
        s.click(s.find("#continue"))
        issuer = s.wait(lambda: s.js(
            "return !document.getElementById('confirm-card').hidden"
            " && document.querySelector('#checks li .cost')?.textContent"), 60)
        locked_issuer = world["issuers"]["locked"]["issuer"]
        check("before any sign-in it shows where locked signs in",
              issuer and locked_issuer in issuer, issuer)
        check("no warning: that issuer signs in nothing else",
              not s.js("return document.querySelector('#checks .warning')"))
        check("checked, not signed in: no authorization request yet", authorizations(world, "locked") == 0)
        shot("import-check.png", shots)

        s.click(s.find("#add"))
        signin = s.wait(lambda: xwin.find("Sign in to"), 60)
        check("the native sign-in window opens", signin)
        s.click(s.find("#use-browser"))
        # No WebDriver traffic while the sign-in webview is torn down and the add finishes
        # (WebKitWebDriver drops its connection when a command races a webview's destruction).
        wait_quietly_for_signin("locked")
        status = s.wait(lambda: s.js(
            "const st = document.querySelector('#rows li[data-entry$=\"/locked\"] .status');"
            "return st && st.dataset.state === 'ok' && st.textContent"), 60)
        check("the row says it was added", status and "Added as “locked”" in status, status)
        listed = lanyard("list", "--json")
        check("the CLI lists it", listed.returncode == 0 and '"locked"' in listed.stdout, listed.stdout[-600:])
        shot("import-done.png", shots)

        s.click(s.find("#dashboard"))
        row = s.wait(lambda: s.js("return document.querySelector('[data-server=\"locked\"]') !== null"), 30)
        check("the dashboard shows the imported server", row)

        # The registry changes: wiki appears, locked leaves. The tray's watch (every
        # LANYARD_TRAY_REGISTRY_SECS) tells it in the activity log and adds nothing; the import
        # window offers wiki as new and names locked as gone but still saved.
        admin_post(world, "/registries/open/servers", {"servers": ["demo", "wiki"]})
        told = s.wait(lambda: "(not added)" in (s.js("return document.body.innerText") or ""), 60, step=3)
        text = s.js("return document.body.innerText") or ""
        check("the tray's watch tells the new server in the activity log", told and "wiki" in text, text[-800:])
        check("and adds nothing", "wiki" not in lanyard("list").stdout)
        s.navigate(s.url().split("dashboard.html")[0] + "import.html?registry=" + urllib.request.quote(registry, safe=""))
        new = s.wait(lambda: s.js(
            "return document.querySelector('#rows li[data-entry$=\"/wiki\"] .badge.new')?.textContent"), 60)
        check("the import window offers it, marked new", new == "new", new)
        gone = s.js("return document.querySelector('#gone li')?.textContent") or ""
        check("and names the one that left, still saved", "locked" in gone and "still saved as “locked”" in gone, gone)
        protected_registry(s, world, shots)
        # Last: WebKitWebDriver has been seen to drop the command after an axe run.
        bad, report = axe(s, "import (checked, warned, added)")
        print("\n".join(report), flush=True)
        check("axe: no serious or critical violation on the import page", bad == 0, report)
    except (WebDriverError, OSError, http.client.HTTPException) as e:
        check("WebDriver commands answer", False, repr(e))
    finally:
        if s:
            s.quit()
    return finish()


if __name__ == "__main__":
    sys.exit(main())
