"""An axe-core check of the page a WebDriver session is on (issue 17). axe-core is pinned in
ui/package.json (devDependencies) and read from ui/node_modules. Every violation is printed;
the check fails on serious and critical ones."""
import json
import os

AXE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "ui", "node_modules", "axe-core", "axe.min.js")


def axe(session, page, then_js=""):
    """Runs axe on the current page; returns (serious_or_critical, report_lines). `then_js`
    (statements) runs in the page right after, in the same command: for a flow whose next step
    is its last (WebKitWebDriver has been seen to drop its connection on the command after axe)."""
    with open(AXE) as f:
        source = f.read()
    if not session.js("return typeof window.axe === 'object'"):
        session.js(source + "\nwindow.axe = axe; return true")
    result = session.js_async(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']})"
        ".then(r => { const out = JSON.stringify({v: r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)})), version: axe.version});"
        + then_js + "; done(out); })"
        ".catch(e => done(JSON.stringify({error: String(e)})))")
    data = json.loads(result)
    if "error" in data:
        return None, [f"{page}: axe failed: {data['error']}"]
    lines = [f"{page}: axe-core {data['version']}: {len(data['v'])} violation(s)"]
    bad = 0
    for v in data["v"]:
        lines.append(f"  [{v['impact']}] {v['id']}: {v['help']} — {', '.join(v['nodes'])}")
        if v["impact"] in ("serious", "critical"):
            bad += 1
    return bad, lines
