#!/usr/bin/python3
"""Only the StatusNotifierWatcher of sni_host.py, kept running (as a desktop's tray host
would be) so the app under WebDriver exports its tray item over D-Bus as on a real desktop."""
import os
import sys

import dbus
import dbus.mainloop.glib
import dbus.service
from gi.repository import GLib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sni_host  # noqa: E402

dbus.mainloop.glib.DBusGMainLoop(set_as_default=True)
bus = dbus.SessionBus()
watcher = sni_host.Watcher(bus)
name = dbus.service.BusName(sni_host.WATCHER, bus, do_not_queue=True)
print("watcher ready", flush=True)
GLib.MainLoop().run()
