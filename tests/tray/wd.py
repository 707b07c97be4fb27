"""A minimal W3C WebDriver client over urllib (no Selenium): what the tray tests need."""
import base64
import json
import time
import urllib.error
import urllib.request

ELEMENT = "element-6066-11e4-a52e-4f735466cecf"


class WebDriverError(Exception):
    pass


class Session:
    def __init__(self, base, capabilities, timeout=120):
        self.base = base.rstrip("/")
        value = self._req("POST", "/session", {"capabilities": capabilities}, timeout=timeout)
        self.id = value["sessionId"]

    def _req(self, method, path, body=None, timeout=60):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return json.loads(r.read() or b"{}").get("value")
        except urllib.error.HTTPError as e:
            raise WebDriverError(f"{method} {path}: {e.code} {e.read()[:500]!r}") from None

    def cmd(self, method, path, body=None, timeout=60):
        return self._req(method, f"/session/{self.id}{path}", body, timeout)

    def find(self, css):
        return self.cmd("POST", "/element", {"using": "css selector", "value": css})[ELEMENT]

    def find_all(self, css):
        return [e[ELEMENT] for e in self.cmd("POST", "/elements", {"using": "css selector", "value": css})]

    def wait(self, pred, timeout=60, step=1.0):
        end = time.monotonic() + timeout
        last = None
        while time.monotonic() < end:
            try:
                v = pred()
                if v:
                    return v
            except WebDriverError as e:
                last = e
            time.sleep(step)
        if last:
            print(f"  (last error: {last})")
        return None

    def click(self, el):
        self.cmd("POST", f"/element/{el}/click", {})

    def type(self, el, text):
        self.cmd("POST", f"/element/{el}/clear", {})
        self.cmd("POST", f"/element/{el}/value", {"text": text})

    def text(self, el):
        return self.cmd("GET", f"/element/{el}/text")

    def js(self, script, *args):
        return self.cmd("POST", "/execute/sync", {"script": script, "args": list(args)})

    def js_async(self, script, *args, timeout=120):
        """Runs `script` with a callback as its last argument (W3C execute/async)."""
        return self.cmd("POST", "/execute/async", {"script": script, "args": list(args)}, timeout)

    def keys(self, *keys):
        """Presses and releases each key in turn (W3C actions): "\ue004" Tab, "\ue007" Enter,
        "\ue00c" Escape, or any character."""
        actions = []
        for k in keys:
            actions += [{"type": "keyDown", "value": k}, {"type": "keyUp", "value": k}]
        self.cmd("POST", "/actions", {"actions": [{"type": "key", "id": "keyboard", "actions": actions}]})

    def navigate(self, url):
        self.cmd("POST", "/url", {"url": url})

    def url(self):
        return self.cmd("GET", "/url")

    def handles(self):
        return self.cmd("GET", "/window/handles")

    def switch(self, handle):
        self.cmd("POST", "/window", {"handle": handle})

    def screenshot(self, path):
        png = base64.b64decode(self.cmd("GET", "/screenshot"))
        with open(path, "wb") as f:
            f.write(png)

    def quit(self):
        try:
            self._req("DELETE", f"/session/{self.id}", timeout=20)
        except Exception:  # noqa: BLE001 (best effort at the end of a test)
            pass
