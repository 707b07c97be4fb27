#!/usr/bin/env python3
"""End-to-end check of tests/world/python/stack.py: starts each stack on loopback and signs in to
it the way an OAuth client does, with plain httpx: 401 challenge, RFC 9728 + RFC 8414 discovery,
DCR, authorize (PKCE S256 + resource, through the login form where there is one), code exchange
with client_secret_post, MCP initialize / tools/list / tools/call echo, refresh, expiry through
the admin API, revocation, and the library behaviours README.md documents.

    tests/world/python/.venv/bin/python tests/world/python/smoke.py [fastmcp|mcp-sdk ...]

Prints one line per check, then 'N passed, M failed'; exits non-zero on any failure.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import secrets
import select
import signal
import subprocess
import sys
import time
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import httpx

HERE = Path(__file__).resolve().parent
passed = 0
failed = 0


def check(name: str, ok: bool, detail: Any = "") -> bool:
    global passed, failed
    if ok:
        passed += 1
        print(f"ok    {name}")
    else:
        failed += 1
        print(f"FAIL  {name}  {detail}")
    return ok


def note(stack: str, text: str) -> None:
    print(f"note  [{stack}] {text}")


class Stack:
    def __init__(self, name: str, cfg: dict[str, Any]):
        self.name = name
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "stack.py"), name, "--config", json.dumps(cfg)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=sys.stderr,
        )
        assert self.proc.stdout
        ready, _, _ = select.select([self.proc.stdout], [], [], 30)
        if not ready:
            self.proc.kill()
            raise RuntimeError(f"{name}: no JSON line within 30 s")
        line = self.proc.stdout.readline().decode()
        self.info = json.loads(line)

    def exited_within(self, seconds: float) -> bool:
        try:
            self.proc.wait(timeout=seconds)
            return True
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return False


def www_param(header: str, key: str) -> str | None:
    m = re.search(rf'{key}="([^"]*)"', header)
    return m.group(1) if m else None


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


def forms(html: str) -> list[dict[str, Any]]:
    out = []
    for m in re.finditer(r"<form\b([^>]*)>([\s\S]*?)</form>", html, re.I):
        action = re.search(r'action="([^"]*)"', m.group(1))
        method = re.search(r'method="([^"]*)"', m.group(1))
        inputs = {}
        for im in re.finditer(r"<input\b[^>]*>", m.group(2), re.I):
            n = re.search(r'name="([^"]*)"', im.group(0))
            v = re.search(r'value="([^"]*)"', im.group(0))
            if n:
                inputs[n.group(1)] = unescape(v.group(1)) if v else ""
        out.append(
            {
                "action": unescape(action.group(1)) if action else "",
                "method": (method.group(1) if method else "get").lower(),
                "inputs": inputs,
            }
        )
    return out


def authorize(http: httpx.Client, meta: dict, client_id: str, redirect_uri: str, resource: str, scope: str):
    """Walk the authorization endpoint like browser.mjs: follow redirects, fill a login form
    (fields `login` and `password`), stop at the loopback callback. Returns (callback params,
    code_verifier, whether a login form was seen)."""
    verifier, challenge = pkce()
    state = secrets.token_urlsafe(12)
    q = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        "state": state,
        "resource": resource,
    }
    if scope:
        q["scope"] = scope
    target = f"{meta['authorization_endpoint']}?{urlencode(q)}"
    method, data = "GET", None
    saw_login = False
    for _ in range(10):
        if target.startswith(redirect_uri):
            params = {k: v[0] for k, v in parse_qs(urlparse(target).query).items()}
            if params.get("state") != state:
                raise RuntimeError(f"state not echoed: {params}")
            return params, verifier, saw_login
        r = http.request(method, target, data=data)
        method, data = "GET", None
        if r.is_redirect:
            target = str(httpx.URL(target).join(r.headers["location"]))
            continue
        if r.status_code != 200:
            raise RuntimeError(f"authorization page {r.status_code}: {r.text[:200]}")
        login = [f for f in forms(r.text) if "login" in f["inputs"]]
        if not login:
            raise RuntimeError(f"nothing to do on {target}: {r.text[:200]}")
        saw_login = True
        form = login[0]
        data = {**form["inputs"], "login": "alice", "password": "any-password"}
        method = form["method"].upper()
        target = str(httpx.URL(target).join(form["action"] or target))
    raise RuntimeError("too many hops")


def mcp_post(http: httpx.Client, url: str, token: str | None, body: dict, session: str | None = None):
    headers = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    if session:
        headers["mcp-session-id"] = session
    headers["mcp-protocol-version"] = "2025-06-18"
    r = http.post(url, headers=headers, content=json.dumps(body))
    msg = None
    if r.status_code == 200 and "id" in body:
        if r.headers.get("content-type", "").startswith("text/event-stream"):
            for line in r.text.splitlines():
                if line.startswith("data:"):
                    candidate = json.loads(line[5:])
                    if candidate.get("id") == body["id"]:
                        msg = candidate
        else:
            msg = r.json()
    return r, msg


def mcp_session(http: httpx.Client, url: str, token: str) -> tuple[bool, str]:
    """initialize + tools/list + tools/call echo; returns (ok, detail)."""
    r, msg = mcp_post(
        http,
        url,
        token,
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "lanyard-smoke", "version": "0"},
            },
        },
    )
    if r.status_code != 200 or not msg or "result" not in msg:
        return False, f"initialize {r.status_code} {r.text[:200]}"
    session = r.headers.get("mcp-session-id")
    mcp_post(http, url, token, {"jsonrpc": "2.0", "method": "notifications/initialized"}, session)
    r, msg = mcp_post(http, url, token, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, session)
    names = [t["name"] for t in (msg or {}).get("result", {}).get("tools", [])]
    if "echo" not in names:
        return False, f"tools/list {r.status_code} {names}"
    r, msg = mcp_post(
        http,
        url,
        token,
        {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "echo", "arguments": {"text": "hi"}}},
        session,
    )
    texts = [c.get("text") for c in (msg or {}).get("result", {}).get("content", [])]
    if texts != ["hi"]:
        return False, f"tools/call {r.status_code} {r.text[:200]}"
    return True, ""


def mcp_status(http: httpx.Client, url: str, token: str) -> int:
    """The status of an MCP initialize with this token: 200 accepted, 401 refused."""
    r, _ = mcp_post(http, url, token, {
        "jsonrpc": "2.0", "id": 9, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "lanyard-smoke", "version": "0"}}})
    return r.status_code


def token_request(http: httpx.Client, meta: dict, form: dict, basic: tuple[str, str] | None = None) -> httpx.Response:
    return http.post(meta["token_endpoint"], data=form, auth=basic)


def run_stack(name: str, ttl: int = 120) -> None:
    tag = f"[{name}]"
    stack = Stack(name, {"accessTokenTtl": ttl})
    info = stack.info
    url, admin = info["url"], info["admin"]
    caps = info["capabilities"]
    http = httpx.Client(timeout=10)
    try:
        check(f"{tag} JSON line has the contract's fields",
              set(info) == {"stack", "implementation", "url", "issuer", "admin", "capabilities"}
              and info["stack"] == name and url.endswith("/mcp"), info)
        print(f"      {json.dumps(info)}")

        # Discovery.
        r = http.post(url, json={})
        rm = www_param(r.headers.get("www-authenticate", ""), "resource_metadata")
        check(f"{tag} unauthenticated /mcp: 401 with resource_metadata", r.status_code == 401 and bool(rm),
              (r.status_code, r.headers.get("www-authenticate")))
        note(name, f"401 challenge: {r.headers.get('www-authenticate')}")
        prm = http.get(rm).json()
        check(f"{tag} PRM resource is the MCP URL", prm.get("resource") == url, prm)
        as_id = prm["authorization_servers"][0]
        meta = http.get(f"{as_id.rstrip('/')}/.well-known/oauth-authorization-server").json()
        check(f"{tag} AS metadata issuer == PRM authorization_servers[0] == JSON line issuer",
              meta["issuer"] == as_id == info["issuer"], (meta["issuer"], as_id, info["issuer"]))
        check(f"{tag} AS metadata: S256, DCR, client_secret_post",
              meta.get("code_challenge_methods_supported") == ["S256"] and bool(meta.get("registration_endpoint"))
              and "client_secret_post" in meta.get("token_endpoint_auth_methods_supported", []), meta)
        check(f"{tag} revocation endpoint advertised iff capability",
              bool(meta.get("revocation_endpoint")) == caps["revocation"], meta)
        scope = " ".join(prm.get("scopes_supported") or [])

        r = http.post(url + "/", json={})
        note(name, f"POST /mcp/ -> {r.status_code} location={r.headers.get('location')}")

        # DCR with a loopback redirect URI on an arbitrary port.
        cb = f"http://127.0.0.1:{40000 + secrets.randbelow(20000)}/callback"
        reg = {
            "client_name": "lanyard-smoke",
            "redirect_uris": [cb],
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "client_secret_post",
        }
        r = http.post(meta["registration_endpoint"], json=reg)
        client = r.json()
        check(f"{tag} DCR (client_secret_post, loopback redirect) 201 with a secret",
              r.status_code == 201 and bool(client.get("client_secret")), (r.status_code, r.text[:300]))
        cid, csec = client["client_id"], client["client_secret"]
        note(name, f"DCR answer keys: {sorted(client)}; client_secret_expires_at={client.get('client_secret_expires_at')}")

        # Authorization code with PKCE + resource.
        params, verifier, saw_login = authorize(http, meta, cid, cb, url, scope)
        check(f"{tag} authorize returns a code to the loopback callback", "code" in params, params)
        note(name, f"authorize: login form={saw_login}; callback params={sorted(params)}")
        r = token_request(http, meta, {
            "grant_type": "authorization_code", "code": params["code"], "redirect_uri": cb,
            "code_verifier": verifier, "client_id": cid, "client_secret": csec, "resource": url,
        })
        tok = r.json()
        check(f"{tag} code exchange with client_secret_post: 200", r.status_code == 200, r.text[:300])
        check(f"{tag} expires_in == accessTokenTtl", tok.get("expires_in") == ttl, tok.get("expires_in"))
        check(f"{tag} refresh_token issued iff capability", bool(tok.get("refresh_token")) == caps["refresh_tokens"],
              sorted(tok))
        access, refresh = tok["access_token"], tok.get("refresh_token")

        ok, detail = mcp_session(http, url, access)
        check(f"{tag} MCP initialize, tools/list, tools/call echo with the bearer token", ok, detail)

        state = http.get(f"{admin}/state").json()
        mine = [c for c in state["clients"] if c["client_id"] == cid]
        check(f"{tag} admin /state: the client as registered",
              len(mine) == 1 and mine[0]["token_endpoint_auth_method"] == "client_secret_post"
              and mine[0]["redirect_uris"] == [cb], mine)
        at = [t for t in state["access_tokens"] if t["sha256"] == hashlib.sha256(access.encode()).hexdigest()]
        check(f"{tag} admin /state: the access token, expires_at ~ now + ttl",
              len(at) == 1 and at[0]["client_id"] == cid and abs(at[0]["expires_at"] - (time.time() + ttl)) < 5, at)
        note(name, f"stored access token resource: {at[0]['resource'] if at else None!r}")
        last = state["token_requests"][-1]
        check(f"{tag} admin /state: token request logged as post, 200",
              last == {"grant_type": "authorization_code", "auth": "post", "client_id_in_body": True,
                       "status": 200, "error": None}, last)

        # Refresh.
        if caps["refresh_tokens"]:
            r = token_request(http, meta, {"grant_type": "refresh_token", "refresh_token": refresh,
                                           "client_id": cid, "client_secret": csec})
            tok2 = r.json()
            check(f"{tag} refresh: 200, expires_in == ttl", r.status_code == 200 and tok2.get("expires_in") == ttl,
                  r.text[:300])
            access2, refresh2 = tok2["access_token"], tok2.get("refresh_token")
            note(name, f"refresh rotates the refresh token: {bool(refresh2) and refresh2 != refresh}")
            note(name, f"after refresh, the previous access token gets {mcp_status(http, url, access)}")
            ok, detail = mcp_session(http, url, access2)
            check(f"{tag} MCP with the refreshed access token", ok, detail)
            r = token_request(http, meta, {"grant_type": "refresh_token", "refresh_token": refresh,
                                           "client_id": cid, "client_secret": csec})
            note(name, f"reusing the old refresh token: {r.status_code} {r.text[:120]}")
            access, refresh = access2, refresh2

        # Expiry through the admin API.
        r = http.post(f"{admin}/expire-access-tokens")
        check(f"{tag} admin expire-access-tokens", r.status_code == 200 and r.json().get("expired", 0) >= 1, r.text)
        check(f"{tag} MCP with an expired token: 401", mcp_status(http, url, access) == 401)
        if caps["refresh_tokens"]:
            r = token_request(http, meta, {"grant_type": "refresh_token", "refresh_token": refresh,
                                           "client_id": cid, "client_secret": csec})
            note(name, f"refresh after the RS saw the expired access token: {r.status_code} {r.text[:120]}")

        # Revocation (fresh sign-in).
        params, verifier, _ = authorize(http, meta, cid, cb, url, scope)
        tok = token_request(http, meta, {
            "grant_type": "authorization_code", "code": params["code"], "redirect_uri": cb,
            "code_verifier": verifier, "client_id": cid, "client_secret": csec, "resource": url,
        }).json()
        access, refresh = tok["access_token"], tok.get("refresh_token")
        r = http.post(meta["revocation_endpoint"], data={"token": access, "token_type_hint": "access_token",
                                                          "client_id": cid, "client_secret": csec})
        check(f"{tag} revoke the access token (client_secret_post): 200", r.status_code == 200, r.text[:200])
        check(f"{tag} MCP with the revoked token: 401", mcp_status(http, url, access) == 401)
        if refresh:
            r = token_request(http, meta, {"grant_type": "refresh_token", "refresh_token": refresh,
                                           "client_id": cid, "client_secret": csec})
            note(name, f"refresh token after revoking its access token: {r.status_code} {r.text[:100]}")
        rv = http.get(f"{admin}/state").json()["revocation_requests"]
        check(f"{tag} admin /state: revocation logged", rv and rv[-1]["auth"] == "post" and rv[-1]["status"] == 200, rv)

        # Client authentication variants (a bogus code: authentication happens before the grant).
        bogus = {"grant_type": "authorization_code", "code": "nope", "redirect_uri": cb, "code_verifier": "x" * 43}
        r = token_request(http, meta, {**bogus, "client_id": cid}, basic=(cid, csec))
        note(name, f"client_secret_post client sending Basic (+client_id in body): {r.status_code} {r.text[:120]}")
        reg_b = {**reg, "token_endpoint_auth_method": "client_secret_basic"}
        cb_client = http.post(meta["registration_endpoint"], json=reg_b).json()
        bid, bsec = cb_client["client_id"], cb_client["client_secret"]
        r = token_request(http, meta, {**bogus, "client_id": bid}, basic=(bid, bsec))
        note(name, f"client_secret_basic client, Basic + client_id in body: {r.status_code} {r.text[:120]}")
        check(f"{tag} Basic with client_id in body authenticates (fails later on the grant)",
              r.json().get("error") == "invalid_grant", r.text[:200])
        r = token_request(http, meta, bogus, basic=(bid, bsec))
        note(name, f"client_secret_basic client, Basic WITHOUT client_id in body: {r.status_code} {r.text[:120]}")
        r = token_request(http, meta, {**bogus, "client_id": bid, "client_secret": bsec})
        note(name, f"client_secret_basic client sending client_secret_post: {r.status_code} {r.text[:120]}")
        logged = http.get(f"{admin}/state").json()["token_requests"][-4:]
        check(f"{tag} admin /state logs basic/post and client_id_in_body",
              [(x["auth"], x["client_id_in_body"]) for x in logged]
              == [("basic", True), ("basic", True), ("basic", False), ("post", True)], logged)

        # Public client.
        reg_n = {**reg, "token_endpoint_auth_method": "none"}
        r = http.post(meta["registration_endpoint"], json=reg_n)
        note(name, f"DCR with token_endpoint_auth_method=none: {r.status_code} secret={'client_secret' in r.json()}")
        if r.status_code == 201:
            nid = r.json()["client_id"]
            params, verifier, _ = authorize(http, meta, nid, cb, url, scope)
            r = token_request(http, meta, {
                "grant_type": "authorization_code", "code": params["code"], "redirect_uri": cb,
                "code_verifier": verifier, "client_id": nid, "resource": url,
            })
            note(name, f"public client code exchange: {r.status_code}")
            if r.status_code == 200:
                ptok = r.json()["access_token"]
                r = http.post(meta["revocation_endpoint"], data={"token": ptok, "client_id": nid})
                note(name, f"public client revocation (client_id only): {r.status_code} {r.text[:150]}")
                r = http.post(meta["revocation_endpoint"], data={"token": ptok, "client_id": nid, "client_secret": ""})
                note(name, f"public client revocation (client_id + empty client_secret): {r.status_code} {r.text[:80]}")
                note(name, f"public client token after those: MCP {mcp_status(http, url, ptok)}")

        # Odds and ends README.md documents.
        r = http.post(meta["revocation_endpoint"], data={"token": "x", "client_id": cid, "client_secret": "wrong"})
        note(name, f"revocation with a wrong client_secret: {r.status_code} {r.text[:100]}")
        r = http.post(meta["registration_endpoint"], json={"redirect_uris": ["http://localhost:1/cb"]})
        note(name, f"DCR without token_endpoint_auth_method: {r.status_code} -> "
                   f"{r.json().get('token_endpoint_auth_method')} grant_types={r.json().get('grant_types')}")
        r = http.get(f"{as_id.rstrip('/')}/.well-known/oauth-authorization-server/")
        note(name, f"GET /.well-known/oauth-authorization-server/ (issuer path '/'): {r.status_code}")
        r = http.get(f"{as_id.rstrip('/')}/.well-known/openid-configuration")
        note(name, f"GET /.well-known/openid-configuration: {r.status_code}")
        r = http.get(f"{urlparse(url).scheme}://{urlparse(url).netloc}/.well-known/oauth-protected-resource")
        note(name, f"GET /.well-known/oauth-protected-resource (no /mcp suffix): {r.status_code}")

        # Loopback redirect URI with another port than registered.
        other = cb.replace(str(urlparse(cb).port), str(urlparse(cb).port + 1))
        v, c = pkce()
        r = http.get(meta["authorization_endpoint"], params={
            "response_type": "code", "client_id": cid, "redirect_uri": other, "code_challenge": c,
            "code_challenge_method": "S256", "state": "s", "resource": url})
        note(name, f"authorize with the registered loopback URI on another port: {r.status_code} {r.text[:100]}")

        # Stop.
        if name == "fastmcp":
            http.post(f"{admin}/shutdown")
            check(f"{tag} admin /shutdown exits the process", stack.exited_within(8))
        else:
            assert stack.proc.stdin
            stack.proc.stdin.close()
            check(f"{tag} stdin EOF exits the process", stack.exited_within(8))
    finally:
        http.close()
        if stack.proc.poll() is None:
            stack.proc.kill()
            stack.proc.wait()


def run_no_refresh() -> None:
    """mcp-sdk with refreshTokens=false and a short TTL; stopped with SIGTERM."""
    tag = "[mcp-sdk no-refresh]"
    stack = Stack("mcp-sdk", {"accessTokenTtl": 42, "refreshTokens": False})
    http = httpx.Client(timeout=10)
    try:
        info = stack.info
        check(f"{tag} capabilities.refresh_tokens false", info["capabilities"]["refresh_tokens"] is False, info)
        meta = http.get(f"{info['issuer'].rstrip('/')}/.well-known/oauth-authorization-server").json()
        cb = "http://127.0.0.1:1/callback"
        client = http.post(meta["registration_endpoint"], json={
            "redirect_uris": [cb], "token_endpoint_auth_method": "client_secret_post",
            "grant_types": ["authorization_code", "refresh_token"]}).json()
        params, verifier, _ = authorize(http, meta, client["client_id"], cb, info["url"], "user")
        r = token_request(http, meta, {
            "grant_type": "authorization_code", "code": params["code"], "redirect_uri": cb,
            "code_verifier": verifier, "client_id": client["client_id"], "client_secret": client["client_secret"],
            "resource": info["url"]})
        tok = r.json()
        check(f"{tag} no refresh_token, expires_in 42", r.status_code == 200 and "refresh_token" not in tok
              and tok.get("expires_in") == 42, tok)
        stack.proc.send_signal(signal.SIGTERM)
        check(f"{tag} SIGTERM exits the process", stack.exited_within(8))
    finally:
        http.close()
        if stack.proc.poll() is None:
            stack.proc.kill()
            stack.proc.wait()


def main() -> int:
    names = sys.argv[1:] or ["fastmcp", "mcp-sdk"]
    started = time.time()
    for name in names:
        try:
            run_stack(name)
        except Exception as e:  # noqa: BLE001 - a crash is one failure, then go on
            check(f"[{name}] ran to the end", False, repr(e))
    if "mcp-sdk" in names:
        try:
            run_no_refresh()
        except Exception as e:  # noqa: BLE001
            check("[mcp-sdk no-refresh] ran to the end", False, repr(e))
    print(f"({time.time() - started:.1f}s)")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
