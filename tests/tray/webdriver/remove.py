#!/usr/bin/python3
"""The dashboard's "Remove everything and quit…", end to end: the tray runs the whole uninstall
in its own process (lanyard-core's cleanup, after stopping its refresh engine) and quits.

The CLI first adds the world's "demo" server and connects it to Cursor; the tray starts on the
wizard and the test moves it to the dashboard, confirms the removal and then leaves WebDriver
alone (the app quits). Checked with the CLI and the files: no server is left, Cursor's config no
longer names it, a dry-run uninstall finds nothing (the webview's data folder included), and
the tray ended.

Usage: remove.py TRAY_BINARY SCREENSHOT_DIR WORLD_JSON
"""
import http.client
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from wd import WebDriverError  # noqa: E402
from flow import check, finish, open_session  # noqa: E402

LANYARD = os.environ.get("LANYARD_BIN", "lanyard")


def lanyard(*args, timeout=180):
    return subprocess.run([LANYARD, *args], capture_output=True, text=True, timeout=timeout)


def cursor_config():
    path = os.path.join(os.environ["HOME"], ".cursor", "mcp.json")
    return open(path).read() if os.path.exists(path) else ""


def main():
    tray, world = sys.argv[1], json.loads(sys.argv[3])
    demo = world["mcpServers"]["demo"]["url"]
    added = lanyard("add", demo, "--name", "demo")
    if not check("the CLI adds demo", added.returncode == 0, added.stderr[-800:]):
        return finish()
    connected = lanyard("connect", "demo", "--ide", "cursor")
    check("the CLI connects demo to Cursor", connected.returncode == 0 and '"demo"' in cursor_config(),
          connected.stderr[-800:])
    port = os.environ.get("TAURI_DRIVER_PORT", "4444")
    caps = {"alwaysMatch": {"tauri:options": {"application": tray, "args": ["--add"]}}}
    s = None
    try:
        s = open_session(f"http://127.0.0.1:{port}", caps)
        if not check("WebDriver session on the wizard", s):
            return finish()
        s.navigate(s.url().split("wizard.html")[0] + "dashboard.html")
        row = s.wait(lambda: s.js("return document.querySelector('tr[data-server=\"demo\"]') !== null"), 30)
        check("the dashboard lists demo", row)
        # Confirm from a timer, late enough for this command's answer to be back, and stop
        # talking to the app: it quits when the removal is done.
        s.js("document.getElementById('remove-show').click();"
             "setTimeout(() => document.getElementById('remove-go').click(), 1500); return true")
    except (WebDriverError, OSError, http.client.HTTPException) as e:
        check("WebDriver commands answer", False, repr(e))
        s.quit()
        return finish()
    # run.sh starts the tray through a wrapper that notes how it ended.
    app_log = os.path.join(os.path.dirname(tray), "app.log")
    end = time.monotonic() + 120
    ended = ""
    while time.monotonic() < end and "tray exited" not in ended:
        time.sleep(1)
        ended = open(app_log).read() if os.path.exists(app_log) else ""
    check("the tray quits after removing everything", "tray exited with status 0" in ended, ended[-400:])
    listed = lanyard("list", "--json").stdout
    check("no server is left", "demo" not in listed, listed[-400:])
    check("Cursor's config no longer names demo", '"demo"' not in cursor_config(), cursor_config()[-400:])
    # Nothing at all is left, the webview's data folder included (an open webview writes it
    # anew after the cleanup; the tray closes its windows and deletes it again before quitting).
    plan = lanyard("uninstall", "--dry-run", "--json")
    try:
        items = [i.get("description", "") for i in json.loads(plan.stdout).get("items", [])]
    except ValueError:
        items = [plan.stdout]
    check("a dry-run uninstall finds nothing left, the webview's data folder included",
          plan.returncode == 0 and not items, items)
    s.quit()
    return finish()


if __name__ == "__main__":
    sys.exit(main())
