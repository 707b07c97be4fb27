#!/usr/bin/python3
"""WebDriver test of the dashboard at a glance (issue 17), against the test world.

Three servers are added with the CLI (demo and wiki with DCR, locked with the admin's client id;
demo connected to Cursor and Claude Code, whose Cursor entry is then removed by hand). tauri-driver
starts the tray with `--dashboard`, so the dashboard (in the tray's windows process) is the page
under automation. Checked: one row per server with name, host, state, next sign-in and a switch
per assistant, no URL or client id in the rows and nothing wider than the window at its default
size, details on demand; the theme the page sees is the one asked for (THEME: light or dark,
set by run.sh through GTK_THEME); the Codex switch writes and removes demo's Codex entry; the
keyboard: Tab visits the controls in reading order, Enter opens a row's details, Escape closes
them, then the window; axe-core on the dashboard (flow.py and deeplink.py check the wizard's
screens).
Screenshot: dashboard-THEME.png.

Usage: dashboard.py TRAY_BINARY SCREENSHOT_DIR WORLD_JSON
"""
import http.client
import json
import os
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import xwin  # noqa: E402
from a11y import axe  # noqa: E402
from wd import Session, WebDriverError  # noqa: E402

results = []
TAB, ENTER, ESCAPE = "\ue004", "\ue007", "\ue00c"


def check(name, ok, detail=""):
    results.append(bool(ok))
    print(f"{'PASS' if ok else 'FAIL'} {name}{': ' + str(detail) if detail and not ok else ''}", flush=True)
    return ok


def lanyard(*args):
    return subprocess.run([os.environ.get("LANYARD_BIN", "lanyard"), *args], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=120)


def add_servers(world):
    servers = world["mcpServers"]
    ok = True
    for name, extra in [("demo", ["--connect", "cursor,claude"]), ("locked", ["--client-id", "lanyard-desktop"]),
                        ("wiki", [])]:
        if name not in servers:
            continue
        r = lanyard("add", servers[name]["url"], "--name", name, *extra)
        ok = check(f"`lanyard add` {name}", r.returncode == 0, (r.stdout + r.stderr)[-600:]) and ok
    # The user removes demo's entry from Cursor's config by hand.
    cfg = os.path.join(os.environ["HOME"], ".cursor", "mcp.json")
    try:
        with open(cfg) as f:
            data = json.load(f)
        data.get("mcpServers", {}).pop("demo", None)
        with open(cfg, "w") as f:
            json.dump(data, f, indent=2)
    except (OSError, ValueError) as e:
        check("Cursor's config is there to edit by hand", False, repr(e))
    return ok


def focusables(s):
    """The ids of the controls Tab should visit, in reading (DOM) order."""
    return s.js("""
      const sel = 'button, input, select, textarea, a[href], [tabindex]:not([tabindex="-1"])';
      return [...document.querySelectorAll(sel)]
        .filter(e => !e.disabled && e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden')
        .map(e => e.id || e.tagName.toLowerCase());""")


def main():
    tray, shots, world_json = sys.argv[1], sys.argv[2], sys.argv[3]
    world = json.loads(world_json)
    theme = os.environ.get("THEME", "light")
    if not add_servers(world):
        return finish()
    port = os.environ.get("TAURI_DRIVER_PORT", "4444")
    caps = {"alwaysMatch": {"tauri:options": {"application": tray, "args": ["--dashboard"]}}}
    s = None
    try:
        s = Session(f"http://127.0.0.1:{port}", caps, timeout=60)
        time.sleep(5)
        rows = s.wait(lambda: s.js("return document.querySelectorAll('tr.server').length") == 3 and
                      s.js("return [...document.querySelectorAll('tr.server')].map(r => r.innerText)"), 60)
        check("the dashboard lists the three servers", rows, s.js("return document.body.innerText"))
        if not rows:
            return finish()
        print("rows:", json.dumps(rows), flush=True)
        demo = world["mcpServers"]["demo"]["url"]
        check("rows show the host, not the URL",
              all(demo not in r for r in rows) and urllib.parse.urlsplit(demo).netloc in " ".join(rows), rows)
        check("no client id in the rows", "lanyard-desktop" not in " ".join(rows), rows)
        def complete(r):
            state = any(w in r for w in ("Signed in", "Refreshing", "Needs sign-in"))
            return state and any(w in r for w in ("None foreseen", "Now", "today"))
        # A switch per assistant: the installed ones (and any connected) in the row, the others
        # under Details.
        switches = s.js("return [...document.querySelectorAll('tr.server')].map(r =>"
                        " r.querySelectorAll('input[role=switch]').length +"
                        " r.nextElementSibling.querySelectorAll('input[role=switch]').length)")
        in_row = s.js("return document.querySelectorAll('tr.server input[role=switch]').length")
        check("each row has name, state, next sign-in and a switch per assistant (in the row or its details)",
              all(complete(r) for r in rows) and len(set(switches)) == 1 and switches[0] >= 3 and in_row >= 3,
              f"switches per server {switches}, {in_row} in rows; {rows}")
        size = s.js("return [window.innerWidth, document.documentElement.scrollWidth,"
                    " Math.max(...[...document.querySelectorAll('tr.server')].map(r => r.getBoundingClientRect().height))]")
        check("at the default size nothing is wider than the window and rows stay compact",
              size[1] <= size[0] and size[2] < 90, size)
        drift = s.js("return document.querySelector('tr[data-server=demo]').innerText")
        check("the entry removed by hand shows on demo's row", "disconnected in Cursor" in drift, drift)
        dark = s.js("return matchMedia('(prefers-color-scheme: dark)').matches")
        bg = s.js("return getComputedStyle(document.body).backgroundColor")
        print(f"prefers-color-scheme: {'dark' if dark else 'light'}; body background {bg}", flush=True)
        check(f"the page sees the {theme} theme WebKitGTK reports", dark == (theme == "dark"), f"dark={dark}")

        # Clicks from the page (element.click()): a WebDriver click that races a redraw of the
        # table has been seen to drop WebKitWebDriver's connection.
        details = "tr[data-server=demo] button[aria-controls]"
        s.js(f"document.querySelector('{details}').click(); return true")
        shown = s.wait(lambda: s.js("return !document.querySelector('tr.server[data-server=demo] + tr.details').hidden"), 10)
        facts = s.js("return document.querySelector('tr.server[data-server=demo] + tr.details').innerText") or ""
        check("Details shows the URL and identity provider on demand", shown and demo in facts, facts)
        s.js(f"document.querySelector('{details}').click(); return true")

        win = xwin.find("Lanyard", exact=True)
        if win:
            check("dashboard screenshot saved", xwin.screenshot(win, os.path.join(shots, f"dashboard-{theme}.png")))

        bad, report = axe(s, "dashboard")
        print("\n".join(report), flush=True)
        check("axe: no serious or critical violation on the dashboard", bad == 0, report)

        def connected(server, ide):
            out = lanyard("ides", "--json").stdout
            try:
                conns = json.loads(out).get("connections", [])
            except ValueError:
                return False
            return any(c.get("server") == server and c.get("ide") == ide
                       and c.get("state", {}).get("state") == "ok" for c in conns)
        sw = "tr[data-server=wiki] input[role=switch][id$='claude']"
        s.js(f"document.querySelector(\"{sw}\").click(); return true")
        check("the Claude Code switch connects wiki (the CLI sees the connection)",
              s.wait(lambda: connected("wiki", "claude"), 30, 0.5))
        s.wait(lambda: s.js(f"return !document.querySelector(\"{sw}\").disabled"), 20)
        s.js(f"document.querySelector(\"{sw}\").click(); return true")
        check("switched off, wiki's Claude Code entry is removed", s.wait(lambda: not connected("wiki", "claude"), 30, 0.5))
        time.sleep(2)

        # Keyboard: Tab from the first control visits every control in reading order.
        want = focusables(s)
        s.js("document.getElementById('add').focus(); return true")
        seen = [s.js("return document.activeElement.id || document.activeElement.tagName.toLowerCase()")]
        for _ in range(len(want) - 1):
            s.keys(TAB)
            seen.append(s.js("return document.activeElement.id || document.activeElement.tagName.toLowerCase()"))
        check("Tab visits every control in reading order", seen == want, f"\nwant {want}\nseen {seen}")
        s.js("document.querySelector('tr[data-server=wiki] button[aria-controls]').focus(); return true")
        s.keys(ENTER)
        opened = s.wait(lambda: s.js("return document.querySelector('tr[data-server=wiki] button[aria-controls]')"
                                     ".getAttribute('aria-expanded')") == "true", 5, 0.3)
        check("Enter on Details opens the row's details", opened)
        s.keys(ESCAPE)
        closed = s.wait(lambda: s.js("return document.querySelector('tr[data-server=wiki] button[aria-controls]')"
                                     ".getAttribute('aria-expanded')") == "false", 5, 0.3)
        check("Escape closes the details first (the window stays)", closed and xwin.find("Lanyard", exact=True))

        # With nothing open, Escape closes the window. The webview goes while the key command may
        # still be answering, so a dropped connection here is expected.
        try:
            s.keys(ESCAPE)
        except (WebDriverError, OSError, http.client.HTTPException) as e:
            print(f"  (the key command ended with the window: {e!r})", flush=True)
        s = None
        end = time.monotonic() + 20
        while time.monotonic() < end and xwin.find("Lanyard", exact=True):
            time.sleep(0.3)
        check("Escape closes the window", not xwin.find("Lanyard", exact=True))
    except (WebDriverError, OSError, http.client.HTTPException) as e:
        check("WebDriver commands answer", False, repr(e))
    finally:
        if s:
            s.quit()
    return finish()


def finish():
    passed = sum(results)
    print(f"{passed} passed, {len(results) - passed} failed", flush=True)
    return 0 if all(results) and results else 1


if __name__ == "__main__":
    sys.exit(main())
