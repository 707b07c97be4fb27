#!/usr/bin/python3
"""A scripted notification server for testing Lanyard's "needs sign-in" notification (issue 6).

It starts the test world (one issuer, short-lived access tokens), adds its "demo" server with the
`lanyard` CLI ($LANYARD_BIN, the scripted browser as $BROWSER), revokes every grant at the world's
admin API, then owns org.freedesktop.Notifications (and the StatusNotifierWatcher) on the session
bus and launches the tray given after `--`. The tray's engine refreshes at once, gets
`invalid_grant` and notifies; this server records the Notify call, "clicks" it (emits
ActionInvoked(id, "default")) and checks that the sign-in window opens; closing it ends the
windows process (PSS of the tray's tree measured after). Then demo's entry is removed from
Cursor's config by hand: the tray notifies it, and its "Open Lanyard" button opens the dashboard.
Prints `N passed, N failed`.

Uses Debian's python3-dbus and python3-gi (run with /usr/bin/python3).
Usage: notify_host.py -- TRAY_COMMAND...
"""
import json
import os
import subprocess
import sys
import urllib.request

import dbus
import dbus.mainloop.glib
import dbus.service
from gi.repository import GLib

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
import xwin  # noqa: E402
from memory import pss_mb, windows_process  # noqa: E402
from sni_host import WATCHER, Watcher, check, finish, pump, wait_for  # noqa: E402

NOTIFY = "org.freedesktop.Notifications"
ROOT = os.path.abspath(os.path.join(here, "..", ".."))


class Notifications(dbus.service.Object):
    """The parts of the Desktop Notifications spec a client uses; records every Notify."""

    def __init__(self, bus):
        super().__init__(bus, "/org/freedesktop/Notifications")
        self.calls = []  # (id, summary, body, actions)

    @dbus.service.method(NOTIFY, in_signature="susssasa{sv}i", out_signature="u")
    def Notify(self, app, replaces, icon, summary, body, actions, hints, timeout):
        nid = len(self.calls) + 1
        self.calls.append((nid, str(summary), str(body), [str(a) for a in actions]))
        print(f"Notify #{nid}: {summary!r} {body!r} actions={list(map(str, actions))}", flush=True)
        return dbus.UInt32(nid)

    @dbus.service.method(NOTIFY, in_signature="", out_signature="as")
    def GetCapabilities(self):
        return dbus.Array(["actions", "body"], signature="s")

    @dbus.service.method(NOTIFY, in_signature="", out_signature="ssss")
    def GetServerInformation(self):
        return ("lanyard-test", "lanyard", "1", "1.2")

    @dbus.service.method(NOTIFY, in_signature="u")
    def CloseNotification(self, nid):
        self.NotificationClosed(nid, dbus.UInt32(3))

    @dbus.service.signal(NOTIFY, signature="us")
    def ActionInvoked(self, nid, action):
        pass

    @dbus.service.signal(NOTIFY, signature="uu")
    def NotificationClosed(self, nid, reason):
        pass


def start_world():
    config = {"issuers": [{"name": "idp", "accessTokenTtl": 30}],
              "mcpServers": [{"name": "demo", "issuer": "idp"}]}
    env = dict(os.environ, WORLD_EXIT_ON_STDIN_EOF="1")
    world = subprocess.Popen(["node", os.path.join(ROOT, "tests/world/world.mjs"), "--config", json.dumps(config)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    line = world.stdout.readline()
    return world, (json.loads(line) if line else None)


def main():
    argv = sys.argv[1:]
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        print("usage: notify_host.py -- TRAY_COMMAND...", file=sys.stderr)
        return 2
    world, info = start_world()
    tray = None
    try:
        if not check("the test world starts", info):
            return finish()
        lanyard = os.environ.get("LANYARD_BIN", "lanyard")
        env = dict(os.environ, BROWSER=info["browser"])
        add = subprocess.run([lanyard, "add", info["mcpServers"]["demo"]["url"], "--name", "demo", "--connect", "cursor"],
                             capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=120)
        if not check("`lanyard add` signs in to demo", add.returncode == 0, (add.stdout + add.stderr)[-800:]):
            return finish()
        req = urllib.request.Request(info["admin"] + "/issuers/idp/revoke-all", data=b"{}", method="POST",
                                     headers={"content-type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            check("the IdP revokes every grant", r.status == 200, str(r.status))

        dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
        bus = dbus.SessionBus()
        watcher = Watcher(bus)  # noqa: F841 (a tray host, as on a desktop)
        names = [dbus.service.BusName(WATCHER, bus, do_not_queue=True),  # noqa: F841 (keeps the names)
                 dbus.service.BusName(NOTIFY, bus, do_not_queue=True)]
        server = Notifications(bus)
        ctx = GLib.MainContext.default()

        tray = subprocess.Popen(argv, env=env)
        note = wait_for(ctx, lambda: next((c for c in server.calls if c[1] == "demo needs sign-in"), None))
        if not check("the tray notifies “demo needs sign-in”", note, str(server.calls)):
            return finish()
        check("the notification has a default (click) action", "default" in note[3][0::2], str(note[3]))
        check("and a “Sign in” button", "open" in note[3][0::2] and "Sign in" in note[3][1::2], str(note[3]))

        # The click. The tray's listener subscribes right after Notify returns, so the signal is
        # repeated until the window shows (the tray acts on the first one it sees).
        repeat = {"click": True, "open": True}

        def click():
            if repeat["click"]:
                server.ActionInvoked(dbus.UInt32(note[0]), "default")
            return repeat["click"]
        GLib.timeout_add(1000, click)
        win = wait_for(ctx, lambda: xwin.find("Sign in to demo"))
        repeat["click"] = False
        check("clicking the notification opens the sign-in window", win)
        if win:
            # Closed by the user: the sign-in stops and the windows process exits.
            pump(ctx, 2)
            xwin.close(win)
            gone = wait_for(ctx, lambda: windows_process(tray.pid) is None, 20)
            check("closing the sign-in window ends the windows process", gone)
            pump(ctx, 3)
            mb = pss_mb(tray.pid)
            print(f"  3 s after the sign-in window closed: {mb:.1f} MB PSS", flush=True)
            check("after the sign-in window closed the tray's tree is under 80 MB PSS", mb < 80, f"{mb:.1f} MB")

        # The user removes demo's entry from Cursor's config by hand.
        cfg = os.path.join(os.environ["HOME"], ".cursor", "mcp.json")
        with open(cfg) as f:
            data = json.load(f)
        data.get("mcpServers", {}).pop("demo", None)
        with open(cfg, "w") as f:
            json.dump(data, f)
        drift = wait_for(ctx, lambda: next((c for c in server.calls if c[1] == "demo: disconnected in Cursor"), None))
        check("the tray notifies “demo: disconnected in Cursor”", drift, str(server.calls))
        if drift:
            check("with an “Open Lanyard” button", "open" in drift[3][0::2] and "Open Lanyard" in drift[3][1::2],
                  str(drift[3]))

            def open_button():
                if repeat["open"]:
                    server.ActionInvoked(dbus.UInt32(drift[0]), "open")
                return repeat["open"]
            GLib.timeout_add(1000, open_button)
            dash = wait_for(ctx, lambda: xwin.find("Lanyard", exact=True))
            repeat["open"] = False
            check("its button opens the dashboard", dash)
    finally:
        if tray is not None and tray.poll() is None:
            tray.terminate()
            try:
                tray.wait(10)
            except subprocess.TimeoutExpired:
                tray.kill()
        world.stdin.close()
        try:
            world.wait(10)
        except subprocess.TimeoutExpired:
            world.kill()
    return finish()


if __name__ == "__main__":
    sys.exit(main())
