#!/usr/bin/python3
"""Time from a click on "Add MCP server…" in the tray menu to a painted wizard (issue 6).

The click goes through D-Bus exactly as a desktop's tray host sends it (com.canonical.dbusmenu
Event "clicked"); "painted" means the wizard's X11 window shows content (not blank) and two
grabs 50 ms apart are equal. Every sample starts a fresh tray, as the wizard is created on
demand and destroyed on close, so each open pays for a new webview. Not a test: prints figures.
Run under Xvfb and a session bus: bench/tray-click.
Usage: tray-click.py TRAY_BINARY [SAMPLES]
"""
import os
import statistics
import subprocess
import sys
import time

import dbus
import dbus.mainloop.glib
import dbus.service
from gi.repository import GLib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "tray"))
import sni_host  # noqa: E402
import xwin  # noqa: E402


def painted(wid):
    a = xwin._grab(wid)
    if a is None:
        return False
    da = a.get_pixels()
    if len(set(da[:: 997])) <= 8:
        return False
    time.sleep(0.05)
    b = xwin._grab(wid)
    return b is not None and b.get_pixels() == da


def sample(bus, watcher, ctx, tray_bin):
    watcher.items.clear()
    tray = subprocess.Popen([tray_bin], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        item = sni_host.wait_for(ctx, lambda: watcher.items[0] if watcher.items else None, 60)
        props = bus.get_object(*item).GetAll(sni_host.ITEM, dbus_interface=dbus.PROPERTIES_IFACE)
        menu = dbus.Interface(bus.get_object(item[0], props["Menu"]), sni_host.MENU)

        def add_id():
            _r, root = menu.GetLayout(0, -1, dbus.Array([], signature="s"))
            return next((i for i, l, _ in sni_host.labels(root, []) if l == "Add MCP server…"), None)

        mid = sni_host.wait_for(ctx, add_id, 60)
        time.sleep(1)  # idle tray
        t0 = time.monotonic()
        menu.Event(dbus.Int32(mid), "clicked", dbus.Int32(0, variant_level=1), dbus.UInt32(0))
        wid = None
        while time.monotonic() - t0 < 60:
            ctx.iteration(False)
            wid = wid or xwin.find("Add MCP server")
            if wid and painted(wid):
                return time.monotonic() - t0
            time.sleep(0.01)
        return None
    finally:
        tray.terminate()
        tray.wait(10)


def main():
    tray_bin = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    bus = dbus.SessionBus()
    watcher = sni_host.Watcher(bus)
    _name = dbus.service.BusName(sni_host.WATCHER, bus, do_not_queue=True)  # noqa: F841
    ctx = GLib.MainContext.default()
    times = [t for t in (sample(bus, watcher, ctx, tray_bin) for _ in range(n)) if t is not None]
    if not times:
        print("no sample painted a wizard")
        return 1
    ms = sorted(round(t * 1000) for t in times)
    print(f"tray click → painted wizard: median {statistics.median(ms):.0f} ms, min {ms[0]} ms, max {ms[-1]} ms ({len(ms)} samples: {ms})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
