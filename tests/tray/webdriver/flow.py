#!/usr/bin/python3
"""WebDriver test of the tray's add flow against the test world (tests/world).

tauri-driver (on $TAURI_DRIVER_PORT, default 4444) starts the tray with `--add URL`, so the
wizard is the window under automation. The test checks the discovery timeline, clicks "Sign in"
(the native sign-in window opens: it is screenshotted through X11), then "Open in my browser
instead" — the system-browser path, where $BROWSER is the world's scripted browser — and waits for
the tools. It ticks no assistant and presses Done's neighbour: it navigates the same window to the
dashboard and checks the server row says "signed in". Screenshots: wizard, sign-in, dashboard.

Usage: flow.py TRAY_BINARY SCREENSHOT_DIR WORLD_JSON
"""
import http.client
import json
import os
import subprocess
import urllib.parse
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import xwin  # noqa: E402
from a11y import axe  # noqa: E402
from wd import Session, WebDriverError  # noqa: E402

results = []


def check(name, ok, detail=""):
    results.append(bool(ok))
    print(f"{'PASS' if ok else 'FAIL'} {name}{': ' + str(detail) if detail and not ok else ''}", flush=True)
    return ok


def stop_app(app):
    """Ends the app of a dead session (by process id), so the next session's app is not a
    second instance that hands its arguments over and exits (single-instance plugin)."""
    pids = subprocess.run(["pgrep", "-f", app], capture_output=True, text=True).stdout.split()
    for pid in pids:
        for child in subprocess.run(["pgrep", "-P", pid], capture_output=True, text=True).stdout.split():
            subprocess.run(["kill", child])
        subprocess.run(["kill", pid])
    time.sleep(1)


def open_session(base, caps, attempts=1):
    """A session on the wizard whose first command answers (None otherwise)."""
    for attempt in range(1, attempts + 1):
        s = None
        try:
            s = Session(base, caps, timeout=60)
            # Let the app start and run its discovery before talking to it: WebKitWebDriver has
            # been seen to drop its connection when commands race the app's first events.
            time.sleep(8)
            if s.wait(lambda: "wizard" in s.url(), 30):
                return s
            print(f"  (session attempt {attempt}: not on the wizard)", flush=True)
        except (OSError, http.client.HTTPException, WebDriverError) as e:
            print(f"  (session attempt {attempt} failed: {e!r})", flush=True)
        if s:
            s.quit()
        stop_app(caps["alwaysMatch"]["tauri:options"]["application"])
        time.sleep(1)
    return None


def main():
    tray, shots, world_json = sys.argv[1], sys.argv[2], sys.argv[3]
    world = json.loads(world_json)
    server = world["mcpServers"]["demo"]["url"]
    port = os.environ.get("TAURI_DRIVER_PORT", "4444")
    caps = {"alwaysMatch": {"tauri:options": {"application": tray, "args": ["--add", server]}}}
    s = None
    try:
        # A dropped driver connection fails the run at once (scripts/suites/60-tray.sh retries
        # the whole run once with a new driver: WebKitWebDriver does not recover).
        s = open_session(f"http://127.0.0.1:{port}", caps)
        check("WebDriver session on the wizard", s)
        if not s:
            return finish()
        # The `--add URL` start fills the URL and runs discovery by itself.
        ok = s.wait(lambda: s.js("return document.querySelector('#timeline li[data-stage=\"authorization server\"]')?.dataset.state") == "ok", 60)
        timeline = s.js("return document.getElementById('timeline-card').innerText")
        check("timeline reaches the authorization server", ok, timeline)
        check("timeline shows the challenge with its HTTP status",
              "401" in (s.js("return document.querySelector('#timeline li[data-stage=\"challenge\"]').innerText") or ""))
        xw = xwin.find("Add MCP server")
        if xw:
            xwin.screenshot(xw, os.path.join(shots, "wizard.png"))
        s.click(s.find("#signin"))
        signin = s.wait(lambda: xwin.find("Sign in to"), 60)
        check("the native sign-in window opens", signin)
        iss = world.get("issuers")
        idp = iss["idp"]["issuer"] if isinstance(iss, dict) else next(i["issuer"] for i in iss if i["name"] == "idp")
        host = urllib.parse.urlsplit(idp).netloc
        titles = [w[1] for w in xwin.windows() if w[1].startswith("Sign in to")]
        check("its native title names the IdP's host and says it is not https",
              any(f"{host} (not encrypted, this computer only)" in t for t in titles), titles)
        if signin:
            check("sign-in screenshot saved", xwin.screenshot(signin, os.path.join(shots, "signin.png")))
        s.click(s.find("#use-browser"))
        # No WebDriver traffic while the sign-in webview is torn down: WebKitWebDriver has been
        # seen to drop its connection when a command races the destruction of a webview.
        end = time.monotonic() + 30
        while xwin.find("Sign in to") and time.monotonic() < end:
            time.sleep(0.5)
        # And until the add finished (the CLI sees the server), again without WebDriver traffic.
        end = time.monotonic() + 90
        while time.monotonic() < end and "demo" not in subprocess.run(
                [os.environ.get("LANYARD_BIN", "lanyard"), "list"], capture_output=True, text=True).stdout:
            time.sleep(1)
        time.sleep(2)
        tools = s.wait(lambda: s.js("return [...document.querySelectorAll('#tools li[data-tool]')].map(l => l.dataset.tool)"), 90)
        check("after sign-in the wizard lists the server's tools", tools and "echo" in tools,
              s.js("return document.body.innerText"))
        check("the sign-in window closed", not xwin.find("Sign in to"))
        if xw:
            xwin.screenshot(xw, os.path.join(shots, "wizard-done.png"))
        offered = s.js("return [...document.querySelectorAll('#assistants input[type=checkbox]')].map(i => i.dataset.assistant)")
        check("assistants offered as check boxes", {"cursor", "claude", "codex"} <= set(offered or []), offered)
        s.navigate(s.url().split("wizard.html")[0] + "dashboard.html")
        status = s.wait(lambda: s.js("return document.querySelector('tr.server[data-server] .badge')?.textContent"), 30)
        check("dashboard row says signed in", status == "Signed in", status)
        xd = xwin.find("Add MCP server")  # same window, new page
        if xd:
            xwin.screenshot(xd, os.path.join(shots, "dashboard.png"))
        locked = world["mcpServers"].get("locked")
        if locked:
            dcr_disabled_path(s, locked["url"], shots)
    except (WebDriverError, OSError, http.client.HTTPException) as e:
        alive = subprocess.run(["pgrep", "-f", "-a", "lanyard-tray --add"], capture_output=True, text=True).stdout.strip()
        check("WebDriver commands answer", False, f"{e!r}; tray process: {alive or 'gone'}")
    finally:
        if s:
            s.quit()
    return finish()


def dcr_disabled_path(s, url, shots):
    """An IdP with DCR turned off (403): the wizard explains it and asks for a client id
    instead of failing; with the admin's client id the sign-in goes through."""
    s.navigate(s.url().split("dashboard.html")[0] + "wizard.html?url=" + urllib.parse.quote(url, safe=""))
    ok = s.wait(lambda: s.js("return !document.getElementById('signin-card').hidden"), 60)
    check("second server discovered", ok)
    s.click(s.find("#signin"))
    asked = s.wait(lambda: s.js("return !document.getElementById('client-card').hidden && document.getElementById('client-why').textContent"), 60)
    check("DCR refused: the wizard explains it and asks for a client id",
          asked and "registration" in asked.lower() and ("refused" in asked.lower() or "disabled" in asked.lower()), asked)
    client = s.js("return document.querySelector('#timeline li[data-stage=\"client id\"]').dataset.state")
    check("the client id step is marked failed, not the whole flow", client == "failed", client)
    xw = xwin.find("Add MCP server")
    if xw:
        xwin.screenshot(xw, os.path.join(shots, "wizard-client-id.png"))
    s.type(s.find("#client-id"), "lanyard-desktop")
    s.click(s.find("#signin"))
    signin = s.wait(lambda: xwin.find("Sign in to"), 60)
    check("with the client id, the sign-in window opens", signin)
    s.click(s.find("#use-browser"))
    end = time.monotonic() + 30
    while xwin.find("Sign in to") and time.monotonic() < end:
        time.sleep(0.5)
    end = time.monotonic() + 90
    while time.monotonic() < end and "locked" not in subprocess.run(
            [os.environ.get("LANYARD_BIN", "lanyard"), "list"], capture_output=True, text=True).stdout:
        time.sleep(1)
    time.sleep(2)
    tools = s.wait(lambda: s.js("return [...document.querySelectorAll('#tools li[data-tool]')].map(l => l.dataset.tool)"), 60)
    check("signed in with the pre-registered client: tools listed", tools and "echo" in tools, tools)
    done_writes_the_ticked_assistant(s, "locked")


def done_writes_the_ticked_assistant(s, server):
    """Done with Cursor ticked: the tray writes Cursor's config (in-process, through the core's
    ides::actions) and records the connection the CLI then reports."""
    cfg = os.path.join(os.environ["HOME"], ".cursor", "mcp.json")
    # The wizard closes itself after Done: click from a timer, late enough for this command's
    # answer to be back (WebKitWebDriver drops its connection when an answer races the window's
    # destruction), then leave WebDriver alone.
    # axe on the finished wizard first, in the same command as the tick and Done's timer: the
    # command after an axe run is where WebKitWebDriver has dropped its connection.
    bad, report = axe(s, "wizard, signed in with tools",
                      "const b = document.querySelector('#assistants input[data-assistant=\"cursor\"]');"
                      "b.checked = true; setTimeout(() => document.getElementById('done').click(), 1500)")
    print("\n".join(report), flush=True)
    check("axe: no serious or critical violation on the finished wizard", bad == 0, report)
    end = time.monotonic() + 60
    text = ""
    while time.monotonic() < end:
        text = open(cfg).read() if os.path.exists(cfg) else ""
        if f'"{server}"' in text:
            break
        time.sleep(0.5)
    check("Done writes the ticked assistant's config (Cursor)", f'"{server}"' in text, text[-800:])
    out = subprocess.run([os.environ.get("LANYARD_BIN", "lanyard"), "ides", "--json"],
                         capture_output=True, text=True, timeout=60).stdout
    try:
        conns = json.loads(out).get("connections", [])
    except ValueError:
        conns = []
    check("the CLI reports the tray's connection as connected",
          any(c.get("server") == server and c.get("ide") == "cursor"
              and c.get("state", {}).get("state") == "ok" for c in conns), out[-800:])


def finish():
    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed", flush=True)
    return 0 if all(results) and results else 1


if __name__ == "__main__":
    sys.exit(main())
