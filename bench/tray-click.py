#!/usr/bin/python3
"""Time from a click on "Add MCP server…" in the tray menu to a painted wizard (issue 6).

The click goes through D-Bus exactly as a desktop's tray host sends it (com.canonical.dbusmenu
Event "clicked"); "painted" means the wizard's X11 window shows content (not blank) and two
grabs 50 ms apart are equal. Every sample starts a fresh tray. The windows run in a process
of their own, started on demand (issue 17); when the tray host says the menu opened (dbusmenu
AboutToShow / Event "opened", as desktops send) the tray starts it with the wizard loaded
hidden, so the click only shows it. Both are measured: the menu opened MENU_TO_CLICK before the
click, and a click with no such notice (a host that sends none). Not a test: prints figures.
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


def sample(bus, watcher, ctx, tray_bin, menu_first=False):
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
        if menu_first:
            # What a tray host does when the user opens the menu (GNOME's AppIndicator extension
            # and KDE send both); the click follows MENU_TO_CLICK later.
            menu.AboutToShow(dbus.Int32(0))
            menu.Event(dbus.Int32(0), "opened", dbus.Int32(0, variant_level=1), dbus.UInt32(0))
            sni_host.pump(ctx, MENU_TO_CLICK)
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


# Opening the menu to clicking an item: a quick hand takes about this long (finding the item and
# moving the pointer there; MENU_TO_CLICK_MS changes it); tray-click prints the figure with and
# without the menu-open step.
MENU_TO_CLICK = float(os.environ.get("MENU_TO_CLICK_MS", "400")) / 1000


def figures(label, times):
    if not times:
        print(f"{label}: no sample painted a wizard")
        return False
    ms = sorted(round(t * 1000) for t in times)
    print(f"{label}: median {statistics.median(ms):.0f} ms, min {ms[0]} ms, max {ms[-1]} ms ({len(ms)} samples: {ms})")
    return True


def main():
    tray_bin = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
    bus = dbus.SessionBus()
    watcher = sni_host.Watcher(bus)
    _name = dbus.service.BusName(sni_host.WATCHER, bus, do_not_queue=True)  # noqa: F841
    ctx = GLib.MainContext.default()
    warm, cold = [], []
    for _ in range(n):  # interleaved, so both see the same machine load
        warm.append(sample(bus, watcher, ctx, tray_bin, menu_first=True))
        cold.append(sample(bus, watcher, ctx, tray_bin))
    ok = figures(f"menu opened, click {MENU_TO_CLICK * 1000:.0f} ms later → painted wizard",
                 [t for t in warm if t is not None])
    ok = figures("click with no menu-open before it (cold) → painted wizard", [t for t in cold if t is not None]) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
