#!/usr/bin/python3
"""A scripted StatusNotifierItem host for testing Lanyard's tray menu over D-Bus.

It owns org.kde.StatusNotifierWatcher on the session bus (so it must start before the tray),
launches the tray command given after `--`, waits for it to register its item, reads the
exported com.canonical.dbusmenu layout, asserts the items (among them "Uninstall Lanyard…"),
clicks "Add MCP server…", checks that the wizard window appears (X11 window title, via xwininfo), optionally screenshots it, then
clicks "Quit" and checks that the tray exits. Prints `N passed, N failed`; exit code 1 on failure.

Uses Debian's python3-dbus and python3-gi (run with /usr/bin/python3).
Usage: sni_host.py [--shots DIR] [--expect-server NAME] -- TRAY_COMMAND...
With --expect-server it checks that server's row and submenu instead of opening windows.
"""
import os
import subprocess
import sys
import time

import dbus
import dbus.mainloop.glib
import dbus.service
from gi.repository import GLib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import xwin  # noqa: E402

WATCHER = "org.kde.StatusNotifierWatcher"
ITEM = "org.kde.StatusNotifierItem"
MENU = "com.canonical.dbusmenu"
# Waits are for slow CI machines; they bound a hang, they do not measure speed.
DEADLINE = float(os.environ.get("TRAY_TEST_DEADLINE", "90"))

results = []


def check(name, ok, detail=""):
    results.append((name, bool(ok)))
    print(f"{'PASS' if ok else 'FAIL'} {name}{': ' + detail if detail and not ok else ''}", flush=True)
    return ok


class Watcher(dbus.service.Object):
    def __init__(self, bus):
        super().__init__(bus, "/StatusNotifierWatcher")
        self.items = []  # (bus name, object path)

    @dbus.service.method(WATCHER, in_signature="s", sender_keyword="sender")
    def RegisterStatusNotifierItem(self, service, sender=None):
        if service.startswith("/"):
            item = (sender, service)
        else:
            item = (service, "/StatusNotifierItem")
        if item not in self.items:
            self.items.append(item)
        self.StatusNotifierItemRegistered(f"{item[0]}{item[1]}")

    @dbus.service.method(WATCHER, in_signature="s")
    def RegisterStatusNotifierHost(self, service):
        pass

    @dbus.service.signal(WATCHER, signature="s")
    def StatusNotifierItemRegistered(self, service):
        pass

    @dbus.service.signal(WATCHER, signature="s")
    def StatusNotifierItemUnregistered(self, service):
        pass

    @dbus.service.signal(WATCHER, signature="")
    def StatusNotifierHostRegistered(self):
        pass

    def _props(self):
        return {
            "RegisteredStatusNotifierItems": dbus.Array([f"{b}{p}" for b, p in self.items], signature="s"),
            "IsStatusNotifierHostRegistered": dbus.Boolean(True),
            "ProtocolVersion": dbus.Int32(0),
        }

    @dbus.service.method(dbus.PROPERTIES_IFACE, in_signature="ss", out_signature="v")
    def Get(self, iface, prop):
        return self._props()[prop]

    @dbus.service.method(dbus.PROPERTIES_IFACE, in_signature="s", out_signature="a{sv}")
    def GetAll(self, iface):
        return self._props() if iface == WATCHER else {}


def pump(loop_ctx, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        loop_ctx.iteration(False)
        time.sleep(0.01)


def wait_for(loop_ctx, pred, timeout=DEADLINE):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        loop_ctx.iteration(False)
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    return None


def label_of(props):
    return str(props.get("label", "")).replace("_", "") if "label" in props else ""


def labels(node, out):
    """Flattens a GetLayout node: (id, props, children) → [(id, label, props)]; each props
    also gets "children": the labels of the whole subtree below it."""
    nid, props, children = node
    props = dict(props)
    start = len(out)
    out.append((int(nid), label_of(props), props))
    for c in children:
        labels(c, out)
    props["children"] = [l for _, l, _ in out[start + 1:]]
    return out


def pixels(wid):
    pix = xwin._grab(wid)
    return None if pix is None else bytes(pix.get_pixels())


def shot_changed(wid, before):
    """The wizard shows the link's confirmation screen (issue 12: it contacts nothing before
    the user confirms; tests/tray/webdriver/deeplink.py checks that screen in detail): the
    window no longer looks like the empty wizard."""
    now = pixels(wid)
    if now is None or before is None or len(now) != len(before):
        return False
    # More than a blinking caret: at least 2% of the bytes differ.
    differing = sum(1 for a, b in zip(now[::7], before[::7]) if a != b)
    return differing * 7 > len(now) // 50


def main():
    argv = sys.argv[1:]
    shots = None
    expect = None
    if argv[:1] == ["--shots"]:
        shots, argv = argv[1], argv[2:]
    if argv[:1] == ["--expect-server"]:
        expect, argv = argv[1], argv[2:]
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        print("usage: sni_host.py [--shots DIR] -- TRAY_COMMAND...", file=sys.stderr)
        return 2

    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    bus = dbus.SessionBus()
    watcher = Watcher(bus)
    name = dbus.service.BusName(WATCHER, bus, do_not_queue=True)  # noqa: F841 (keeps the name)
    ctx = GLib.MainContext.default()

    tray = subprocess.Popen(argv)
    try:
        item = wait_for(ctx, lambda: watcher.items[0] if watcher.items else None)
        if not check("tray registers a StatusNotifierItem", item):
            return finish()
        obj = bus.get_object(item[0], item[1])
        props = obj.GetAll(ITEM, dbus_interface=dbus.PROPERTIES_IFACE)
        check("item has an icon", props.get("IconName") or props.get("IconPixmap"), str(dict(props)))
        menu_path = props.get("Menu")
        if not check("item exports a menu", menu_path):
            return finish()
        menu = dbus.Interface(bus.get_object(item[0], menu_path), MENU)

        def layout():
            _rev, root = menu.GetLayout(0, -1, dbus.Array([], signature="s"))
            items = labels(root, [])
            return items if any(l == "Add MCP server…" for _, l, _ in items) else None

        items = wait_for(ctx, layout)
        if not check("menu layout is readable", items):
            return finish()
        texts = [l for _, l, _ in items if l]
        print("menu:", texts, flush=True)
        for want in ["Add MCP server…", "Import from your gateway…", "Open Lanyard", "Start at login",
                     "Remove everything and quit…", "Uninstall Lanyard…", "Quit"]:
            check(f"menu has “{want}”", want in texts, str(texts))
        if expect:
            def row():
                _rev, root = menu.GetLayout(0, -1, dbus.Array([], signature="s"))
                return next((p for _, l, p in labels(root, []) if l.startswith(f"{expect} — ")), None)
            found = wait_for(ctx, row)
            items = layout() or items
            row_label = next((l for _, l, _ in items if l.startswith(f"{expect} — ")), "")
            check(f"a row for “{expect}” with its state", row_label.startswith(f"{expect} — signed in"), row_label or str(texts))
            kids = (found or {}).get("children", [])
            for want in ["Sign in again", "Connect to", "Cursor", "Claude Code", "Codex", "Copy URL", "Remove"]:
                check(f"the row's submenu has “{want}”", want in kids, str(kids))
        start = next((p for _, l, p in items if l == "Start at login"), {})
        check("“Start at login” is a check item", start.get("toggle-type") == "checkmark", str(dict(start)))

        def click(label):
            mid = next(i for i, l, _ in items if l == label)
            menu.Event(dbus.Int32(mid), "clicked", dbus.Int32(0, variant_level=1), dbus.UInt32(int(time.time())))

        if expect:  # the second run checks the rows and the way to remove everything, then quits
            click("Remove everything and quit…")
            dash = wait_for(ctx, lambda: xwin.find("Lanyard", exact=True))
            check("“Remove everything and quit…” opens the dashboard at its confirmation", dash)
            if dash and shots:
                check("remove screenshot saved", xwin.screenshot(dash, os.path.join(shots, "remove-everything.png")))
            click("Quit")
            code = wait_for(ctx, lambda: tray.poll() is not None and (tray.returncode,))
            check("clicking “Quit” ends the tray", code and code[0] == 0, str(code))
            return finish()
        click("Add MCP server…")
        win = wait_for(ctx, lambda: xwin.find("Add MCP server"))
        check("clicking “Add MCP server…” opens the wizard window", win)
        if win and shots:
            path = os.path.join(shots, "wizard-empty.png")
            check("wizard screenshot saved", xwin.screenshot(win, path), path)
        # A second launch with a lanyard:// link hands it to the running tray and exits.
        link = "lanyard://add?url=https%3A%2F%2Fgateway.example.invalid%2Fmcp"
        pump(ctx, 1)
        empty = pixels(win) if win else None
        second = subprocess.run(argv + [link], capture_output=True, timeout=DEADLINE)
        check("a second launch with a lanyard:// link exits at once, handing it over", second.returncode == 0,
              second.stderr.decode(errors="replace")[-500:])
        check("the running tray shows the link's confirmation in the wizard",
              wait_for(ctx, lambda: xwin.find("Add MCP server") and shot_changed(win, empty)), "unchanged")
        if win and shots:
            xwin.screenshot(win, os.path.join(shots, "wizard-link-confirm.png"))

        click("Open Lanyard")
        dash = wait_for(ctx, lambda: xwin.find("Lanyard", exact=True))
        check("clicking “Open Lanyard” opens the dashboard window", dash)
        if dash and shots:
            path = os.path.join(shots, "dashboard-empty.png")
            check("dashboard screenshot saved", xwin.screenshot(dash, path), path)
        # "Uninstall Lanyard…" brings the dashboard forward at its uninstall confirmation.
        click("Uninstall Lanyard…")
        pump(ctx, 1)
        dash = wait_for(ctx, lambda: xwin.find("Lanyard", exact=True))
        check("“Uninstall Lanyard…” keeps the dashboard open at its confirmation", dash)
        if dash and shots:
            path = os.path.join(shots, "uninstall.png")
            check("uninstall screenshot saved", xwin.screenshot(dash, path), path)

        click("Import from your gateway…")
        imp = wait_for(ctx, lambda: xwin.find("Import from your gateway"))
        check("clicking “Import from your gateway…” opens the import window", imp)
        if imp and shots:
            path = os.path.join(shots, "import-empty.png")
            check("import screenshot saved", xwin.screenshot(imp, path), path)

        click("Quit")
        code = wait_for(ctx, lambda: tray.poll() is not None and (tray.returncode,))
        check("clicking “Quit” ends the tray", code and code[0] == 0, str(code))
    finally:
        if tray.poll() is None:
            tray.terminate()
            try:
                tray.wait(10)
            except subprocess.TimeoutExpired:
                tray.kill()
    return finish()


def finish():
    passed = sum(1 for _, ok in results if ok)
    failed = len(results) - passed
    print(f"{passed} passed, {failed} failed", flush=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
