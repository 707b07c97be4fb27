#!/usr/bin/python3
"""The `lanyard://add` link, end to end (issue 12: a link must never aim a sign-in at a stranger).

A loopback server that logs every request plays the stranger: its protected resource metadata
names the world's IdP ("idp"), which already signs Lanyard in to the world's "demo" server (added
first with the CLI, another origin). tauri-driver starts the tray with an empty wizard; a second
launch of the tray with `lanyard://add?url=<stranger>` hands the link over (single-instance).
Checked: the wizard shows the full URL, says it came from a link, has Cancel focused, and the
stranger received zero requests; Cancel leaves nothing (no request, no server saved); a second
link, confirmed, runs discovery and shows the issuer with the warning that the stranger would
receive tokens from the sign-in at the IdP, Cancel focused again.

Usage: deeplink.py TRAY_BINARY SCREENSHOT_DIR WORLD_JSON
"""
import http.client
import http.server
import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import xwin  # noqa: E402
from a11y import axe  # noqa: E402
from wd import WebDriverError  # noqa: E402
from flow import check, finish, open_session  # noqa: E402

LANYARD = os.environ.get("LANYARD_BIN", "lanyard")


def stranger(issuer):
    """A loopback MCP 'server' that logs requests and sends sign-ins to `issuer`."""
    log = []

    class H(http.server.BaseHTTPRequestHandler):
        def _answer(self):
            log.append(f"{self.command} {self.path}")
            base = f"http://127.0.0.1:{self.server.server_port}"
            if self.path.startswith("/.well-known/oauth-protected-resource"):
                body = json.dumps({"resource": f"{base}/mcp", "authorization_servers": [issuer]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
            else:
                body = b'{"error":"unauthorized"}'
                self.send_response(401)
                self.send_header("Content-Type", "application/json")
                self.send_header("WWW-Authenticate",
                                 f'Bearer resource_metadata="{base}/.well-known/oauth-protected-resource/mcp"')
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):  # noqa: N802
            self._answer()

        def do_POST(self):  # noqa: N802
            n = int(self.headers.get("Content-Length") or 0)
            if n:
                self.rfile.read(n)
            self._answer()

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, log


def issuer_of(world, name):
    iss = world.get("issuers")
    if isinstance(iss, dict):
        return iss[name]["issuer"]
    return next(i["issuer"] for i in iss if i["name"] == name)


def second_launch(tray, link):
    """The tray again with a link (as a desktop's URL handler runs it); it hands over and exits."""
    p = subprocess.run([tray, link], capture_output=True, text=True, timeout=60)
    return p.returncode


def servers():
    out = subprocess.run([LANYARD, "list", "--json"], capture_output=True, text=True).stdout
    try:
        v = json.loads(out or "[]")
    except json.JSONDecodeError:
        return out
    rows = v.get("servers", v) if isinstance(v, dict) else v
    return sorted(r.get("name") for r in rows)


def main():
    tray, shots, world = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    idp = issuer_of(world, "idp")
    demo = world["mcpServers"]["demo"]["url"]
    # The IdP already signs Lanyard in to "demo" (another origin than the stranger's).
    added = subprocess.run([LANYARD, "add", demo, "--name", "demo"], capture_output=True, text=True, timeout=180)
    if not check("the CLI adds demo at the world's IdP", added.returncode == 0, added.stderr[-800:]):
        return finish()
    srv, log = stranger(idp)
    target = f"http://127.0.0.1:{srv.server_port}/mcp"
    link = "lanyard://add?url=" + urllib.parse.quote(target, safe="")
    port = os.environ.get("TAURI_DRIVER_PORT", "4444")
    caps = {"alwaysMatch": {"tauri:options": {"application": tray, "args": ["--add"]}}}
    s = None
    try:
        s = open_session(f"http://127.0.0.1:{port}", caps)
        if not check("WebDriver session on the (empty) wizard", s):
            return finish()
        bad, report = axe(s, "wizard, empty")
        print("\n".join(report), flush=True)
        check("axe: no serious or critical violation on the empty wizard", bad == 0, report)
        before = servers()
        check("second launch with the link hands it over", second_launch(tray, link) == 0)
        shown = s.wait(lambda: s.js("return !document.getElementById('link-card').hidden && document.getElementById('link-url').textContent"), 30)
        check("the wizard shows the link's full URL", shown == target, shown)
        text = s.js("return document.getElementById('link-card').innerText") or ""
        check("the screen says the request came from a link", "came from a link" in text, text)
        check("Cancel is focused", s.js("return document.activeElement && document.activeElement.id") == "link-cancel",
              s.js("return document.activeElement && document.activeElement.id"))
        bad, report = axe(s, "wizard, link confirmation")
        print("\n".join(report), flush=True)
        check("axe: no serious or critical violation on the link confirmation", bad == 0, report)
        time.sleep(3)
        check("zero requests to the server before confirmation", log == [], log)
        xw = xwin.find("Add MCP server")
        if xw:
            xwin.screenshot(xw, os.path.join(shots, "wizard-link.png"))
        s.click(s.find("#link-cancel"))
        note = s.wait(lambda: s.js("return !document.getElementById('link-note').hidden && document.getElementById('link-note').textContent"), 10)
        check("Cancel says nothing was contacted", note and "contacted nothing" in note, note)
        time.sleep(2)
        check("cancel: still zero requests", log == [], log)
        check("cancel: no server saved", servers() == before, f"{before} → {servers()}")

        check("a second link hands over again", second_launch(tray, link) == 0)
        s.wait(lambda: s.js("return !document.getElementById('link-card').hidden"), 30)
        check("still zero requests before this confirmation", log == [], log)
        s.click(s.find("#link-check"))
        ok = s.wait(lambda: s.js("return !document.getElementById('signin-card').hidden"), 60)
        check("confirmed: discovery runs and reaches the sign-in step", ok, s.js("return document.body.innerText"))
        check("confirmed: the server was contacted only now", len(log) > 0, log)
        issuer = s.js("return document.getElementById('issuer').textContent")
        check("the issuer is shown", issuer and issuer.rstrip("/") == idp.rstrip("/"), issuer)
        warning = s.js("return !document.getElementById('issuer-warning').hidden && document.getElementById('issuer-warning').textContent")
        who = f"127.0.0.1:{srv.server_port}"
        check("the warning names the stranger and the IdP",
              warning and warning.startswith(f"{who} will receive tokens from your sign-in at") and "demo" in warning, warning)
        check("with the warning, Cancel is focused, not Sign in",
              s.js("return document.activeElement && document.activeElement.id") == "signin-cancel")
        check("the sign-in button says 'Sign in anyway'", s.js("return document.getElementById('signin').textContent") == "Sign in anyway")
        bad, report = axe(s, "wizard, issuer warning")
        print("\n".join(report), flush=True)
        check("axe: no serious or critical violation on the issuer warning", bad == 0, report)
        if xw:
            xwin.screenshot(xw, os.path.join(shots, "wizard-issuer-warning.png"))
        paths = {r.split()[1].split("?")[0] for r in log}
        check("nothing but discovery reached the server (no token)", paths <= {"/mcp", "/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"}, log)
        s.click(s.find("#signin-cancel"))
        check("after cancel: no server saved", servers() == before, f"{before} → {servers()}")
    except (WebDriverError, OSError, http.client.HTTPException) as e:
        check("WebDriver commands answer", False, repr(e))
    finally:
        if s:
            s.quit()
        srv.shutdown()
    return finish()


if __name__ == "__main__":
    sys.exit(main())
