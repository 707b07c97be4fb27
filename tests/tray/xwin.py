"""X11 helpers for the tray tests: find a top-level window by title, screenshot it.

Uses xwininfo (x11-utils) and GDK from python3-gi, both Debian packages; no window manager
is needed (the tests run under Xvfb).
"""
import re
import subprocess
import time

_LINE = re.compile(r'^\s*(0x[0-9a-f]+) "(.*)": \(.*?\)\s+(\d+)x(\d+)\+(-?\d+)\+(-?\d+)\s+\+(-?\d+)\+(-?\d+)')


def windows():
    """[(id, title, w, h, abs_x, abs_y)] for every named window."""
    out = subprocess.run(["xwininfo", "-root", "-tree"], capture_output=True, text=True).stdout
    found = []
    for line in out.splitlines():
        m = _LINE.match(line)
        if m:
            wid, title, w, h, _x, _y, ax, ay = m.groups()
            found.append((wid, title, int(w), int(h), int(ax), int(ay)))
    return found


def find(title, exact=False):
    """The biggest mapped window whose title matches (exact, or as a prefix)."""
    hits = [w for w in windows() if (w[1] == title if exact else w[1].startswith(title)) and w[2] > 50 and w[3] > 50]
    if not hits:
        return None
    wid = max(hits, key=lambda w: w[2] * w[3])[0]
    info = subprocess.run(["xwininfo", "-id", wid], capture_output=True, text=True).stdout
    return wid if "IsViewable" in info else None


def geometry(wid):
    info = subprocess.run(["xwininfo", "-id", wid], capture_output=True, text=True).stdout
    val = {k: int(v) for k, v in re.findall(r"(Absolute upper-left [XY]|Width|Height):\s+(-?\d+)", info)}
    keys = ("Absolute upper-left X", "Absolute upper-left Y", "Width", "Height")
    return tuple(val[k] for k in keys) if all(k in val for k in keys) else None


def _grab(wid):
    import gi

    gi.require_version("Gdk", "3.0")
    from gi.repository import Gdk

    g = geometry(wid)
    if g is None:  # the window went away
        return None
    x, y, w, h = g
    root = Gdk.get_default_root_window()
    return Gdk.pixbuf_get_from_window(root, x, y, w, h)


def screenshot(wid, path, settle=20.0):
    """Saves the window once its content is painted and stable (two equal grabs, not blank)."""
    end = time.monotonic() + settle
    last = None
    pix = None
    while time.monotonic() < end:
        pix = _grab(wid)
        data = pix.get_pixels() if pix else None
        painted = data is not None and len(set(data[: len(data) : 997])) > 8
        if painted and data == last:
            break
        last = data
        time.sleep(0.5)
    if pix is None:
        return False
    pix.savev(path, "png", [], [])
    return True


def _xlib():
    import ctypes

    x = ctypes.cdll.LoadLibrary("libX11.so.6")
    x.XOpenDisplay.restype = ctypes.c_void_p
    x.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x.XInternAtom.restype = ctypes.c_ulong
    x.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    x.XSendEvent.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_long, ctypes.c_void_p]
    x.XFlush.argtypes = [ctypes.c_void_p]
    x.XCloseDisplay.argtypes = [ctypes.c_void_p]
    return ctypes, x


def close(wid):
    """Asks a window to close as a window manager's close button does (a WM_DELETE_WINDOW
    client message; no window manager runs under Xvfb). Uses libX11 through ctypes."""
    ctypes, x = _xlib()

    class ClientMessage(ctypes.Structure):
        _fields_ = [("type", ctypes.c_int), ("serial", ctypes.c_ulong), ("send_event", ctypes.c_int),
                    ("display", ctypes.c_void_p), ("window", ctypes.c_ulong), ("message_type", ctypes.c_ulong),
                    ("format", ctypes.c_int), ("data", ctypes.c_long * 5), ("pad", ctypes.c_long * 12)]

    dpy = x.XOpenDisplay(None)
    if not dpy:
        return False
    try:
        ev = ClientMessage()
        ev.type = 33  # ClientMessage
        ev.window = int(wid, 16)
        ev.message_type = x.XInternAtom(dpy, b"WM_PROTOCOLS", 0)
        ev.format = 32
        ev.data[0] = x.XInternAtom(dpy, b"WM_DELETE_WINDOW", 0)
        ok = x.XSendEvent(dpy, ev.window, 0, 0, ctypes.byref(ev))
        x.XFlush(dpy)
        return bool(ok)
    finally:
        x.XCloseDisplay(dpy)
