#!/usr/bin/env python3
"""The Python MCP auth stacks of Lanyard's test world, each on loopback as a user deploys it.

    tests/world/python/.venv/bin/python tests/world/python/stack.py fastmcp|mcp-sdk --config '<json>'

- fastmcp: FastMCP 4.2.3, one server: Streamable HTTP at /mcp (tool `echo`) protected by the
  built-in InMemoryOAuthProvider (authorization server on the same origin: DCR, /authorize that
  approves at once, /token, /revoke).
- mcp-sdk: the official MCP Python SDK 2.3.0 split the way its `simple-auth` example does it: an
  authorization server (mcp.server.auth routes: /authorize, /token, /register, /revoke, plus a
  login page and /introspect) and a resource server (MCPServer, Streamable HTTP at /mcp, tool
  `echo`, RFC 9728 metadata naming the AS, tokens checked by calling the AS's /introspect).

Only launcher glue is written here: the OAuth handlers, client authentication, metadata and bearer
checks are the libraries' own. A small ASGI middleware records how clients authenticate at /token
and /revoke (it never changes a response), and an admin API on its own port exposes the
providers' in-memory stores. See README.md beside this file for the contract and what we saw.

Prints ONE JSON line on stdout once every listener accepts connections, then serves until
SIGTERM/SIGINT, POST /shutdown on the admin port, or EOF on stdin. Logs go to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import logging
import os
import secrets
import signal
import socket
import sys
import threading
import time
from contextlib import nullcontext
from typing import Any
from urllib.parse import parse_qsl

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

log = logging.getLogger("stack")
HOST = "127.0.0.1"


# --- request log ---------------------------------------------------------------------------------
class RequestLog:
    """ASGI middleware: records, for POSTs to the token and revocation endpoints, how the client
    authenticated (Basic header, client_secret in the body, or nothing), whether client_id was in
    the body, and the status and `error` of the answer. It replays the body to the app untouched
    and forwards every response message as it is."""

    def __init__(self, app: Any, logs: dict[str, list[dict[str, Any]]]):
        self.app = app
        self.logs = logs  # path -> list of records

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] not in self.logs:
            await self.app(scope, receive, send)
            return
        messages = []
        body = b""
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break

        async def replay() -> dict:
            if messages:
                return messages.pop(0)
            return await receive()

        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        authz = headers.get("authorization", "")
        if authz[:6].lower() == "basic ":
            auth = "basic"
        elif "client_secret" in form:
            auth = "post"
        else:
            auth = "none"
        status = {"code": 0}
        out = bytearray()

        async def send_wrapper(message: dict) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            elif message["type"] == "http.response.body" and len(out) < 65536:
                out.extend(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay, send_wrapper)
        finally:
            error = None
            if status["code"] >= 400:
                try:
                    error = json.loads(bytes(out)).get("error")
                except (ValueError, AttributeError):
                    error = None
            record: dict[str, Any] = {
                "auth": auth,
                "client_id_in_body": "client_id" in form,
                "status": status["code"],
                "error": error,
            }
            if scope["path"].endswith("/token"):
                record = {"grant_type": form.get("grant_type"), **record}
            else:
                record["token_type_hint"] = form.get("token_type_hint")
            self.logs[scope["path"]].append(record)
            log.info("%s %s", scope["path"], record)


# --- helpers -------------------------------------------------------------------------------------
def sha256(s: str) -> str:
    return hashlib.sha256(s.encode()).hexdigest()


def listen(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def port_of(sock: socket.socket) -> int:
    return sock.getsockname()[1]


def client_view(c: Any) -> dict[str, Any]:
    return {
        "client_id": c.client_id,
        "token_endpoint_auth_method": c.token_endpoint_auth_method,
        "grant_types": list(c.grant_types or []),
        "redirect_uris": [str(u) for u in (c.redirect_uris or [])],
    }


def access_view(t: Any) -> dict[str, Any]:
    return {
        "sha256": sha256(t.token),
        "client_id": t.client_id,
        "expires_at": t.expires_at,
        "resource": getattr(t, "resource", None),
    }


def refresh_view(t: Any) -> dict[str, Any]:
    return {"sha256": sha256(t.token), "client_id": t.client_id}


def expire_all(store: dict[str, Any]) -> int:
    past = int(time.time()) - 1
    for key, tok in list(store.items()):
        store[key] = tok.model_copy(update={"expires_at": past})
    return len(store)


# --- FastMCP ------------------------------------------------------------------------------------
class FastMCPStack:
    name = "fastmcp"

    def __init__(self, cfg: dict[str, Any]):
        import fastmcp
        from fastmcp import FastMCP
        from fastmcp.server.auth.auth import ClientRegistrationOptions, RevocationOptions
        from fastmcp.server.auth.providers import in_memory
        from fastmcp.server.auth.providers.in_memory import InMemoryOAuthProvider

        ttl = int(cfg.get("accessTokenTtl", 300))
        # The provider reads its lifetimes from module constants at every issue (3600 s by
        # default); setting the constant is how this provider is configured.
        in_memory.DEFAULT_ACCESS_TOKEN_EXPIRY_SECONDS = ttl
        self.sock = listen(int(cfg.get("port", 0)))
        base = f"http://{HOST}:{port_of(self.sock)}"
        self.provider = InMemoryOAuthProvider(
            base_url=base,
            client_registration_options=ClientRegistrationOptions(enabled=True),
            revocation_options=RevocationOptions(enabled=True),
        )
        server = FastMCP("lanyard-world-fastmcp", auth=self.provider)

        @server.tool
        def echo(text: str) -> str:
            """Return the text unchanged."""
            return text

        self.logs: dict[str, list[dict[str, Any]]] = {"/token": [], "/revoke": []}
        self.apps = [(RequestLog(server.http_app(path="/mcp"), self.logs), self.sock)]
        self.url = f"{base}/mcp"
        self.as_base = base
        if cfg.get("refreshTokens") is False:
            log.warning("fastmcp: the in-memory provider always issues refresh tokens; refreshTokens=false ignored")
        self.implementation = f"fastmcp {fastmcp.__version__} (in-memory OAuth provider)"
        self.capabilities = {
            "dcr": True,
            "refresh_tokens": True,
            "revocation": True,
            "registration_management": False,
            "introspection": False,
        }

    def state(self) -> dict[str, Any]:
        p = self.provider
        return {
            "clients": [client_view(c) for c in p.clients.values()],
            "access_tokens": [access_view(t) for t in p.access_tokens.values()],
            "refresh_tokens": [refresh_view(t) for t in p.refresh_tokens.values()],
            "token_requests": list(self.logs["/token"]),
            "revocation_requests": list(self.logs["/revoke"]),
        }

    def expire(self) -> int:
        return expire_all(self.provider.access_tokens)


# --- official MCP Python SDK (simple-auth split) --------------------------------------------------
def make_sdk_provider_class() -> type:
    from mcp.server.auth.provider import (
        AccessToken,
        AuthorizationCode,
        AuthorizationParams,
        OAuthAuthorizationServerProvider,
        RefreshToken,
        TokenError,
        construct_redirect_uri,
    )
    from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
    from pydantic import AnyHttpUrl

    class WorldAuthProvider(OAuthAuthorizationServerProvider[AuthorizationCode, RefreshToken, AccessToken]):
        """The simple-auth example's SimpleOAuthProvider, with configurable lifetimes, optional
        refresh tokens (rotated on use), revocation of AccessToken/RefreshToken objects (the form
        the SDK's RevocationHandler passes), and a login page whose fields are `login`/`password`
        (any non-empty user name and password are accepted, like the rest of the test world)."""

        def __init__(self, server_url: str, scope: str, ttl: int, refresh: bool):
            self.server_url = server_url.rstrip("/")
            self.scope = scope
            self.ttl = ttl
            self.refresh = refresh
            self.clients: dict[str, OAuthClientInformationFull] = {}
            self.auth_codes: dict[str, AuthorizationCode] = {}
            self.tokens: dict[str, AccessToken] = {}
            self.refresh_tokens: dict[str, RefreshToken] = {}
            self.pending: dict[str, dict[str, Any]] = {}

        async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
            return self.clients.get(client_id)

        async def register_client(self, client_info: OAuthClientInformationFull) -> None:
            if not client_info.client_id:
                raise ValueError("No client_id provided")
            self.clients[client_info.client_id] = client_info

        async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
            txn = secrets.token_urlsafe(16)
            self.pending[txn] = {
                "redirect_uri": str(params.redirect_uri),
                "redirect_uri_provided_explicitly": params.redirect_uri_provided_explicitly,
                "code_challenge": params.code_challenge,
                "client_id": client.client_id,
                "state": params.state,
                "resource": params.resource,
            }
            return f"{self.server_url}/login?txn={txn}"

        def login_page(self, txn: str) -> Response:
            if txn not in self.pending:
                return HTMLResponse("<h1>Unknown or expired login</h1>", status_code=400)
            return HTMLResponse(
                "<!DOCTYPE html><html><head><title>MCP Demo Authentication</title></head><body>"
                "<h2>MCP Demo Authentication</h2>"
                f'<form action="{self.server_url}/login/callback" method="post">'
                f'<input type="hidden" name="txn" value="{txn}">'
                '<label>User <input type="text" name="login" required></label>'
                '<label>Password <input type="password" name="password" required></label>'
                '<button type="submit">Sign in</button></form></body></html>'
            )

        async def login_callback(self, request: Request) -> Response:
            form = await request.form()
            login, password, txn = form.get("login"), form.get("password"), form.get("txn")
            if not all(isinstance(v, str) and v for v in (login, password, txn)):
                return HTMLResponse("<h1>Missing login, password or transaction</h1>", status_code=400)
            pending = self.pending.pop(str(txn), None)
            if pending is None:
                return HTMLResponse("<h1>Unknown or expired login</h1>", status_code=400)
            code = f"mcp_{secrets.token_hex(16)}"
            self.auth_codes[code] = AuthorizationCode(
                code=code,
                client_id=pending["client_id"],
                redirect_uri=AnyHttpUrl(pending["redirect_uri"]),
                redirect_uri_provided_explicitly=pending["redirect_uri_provided_explicitly"],
                expires_at=time.time() + 300,
                scopes=[self.scope],
                code_challenge=pending["code_challenge"],
                resource=pending["resource"],
                subject=str(login),
            )
            target = construct_redirect_uri(pending["redirect_uri"], code=code, state=pending["state"])
            return RedirectResponse(url=target, status_code=302)

        async def load_authorization_code(
            self, client: OAuthClientInformationFull, authorization_code: str
        ) -> AuthorizationCode | None:
            return self.auth_codes.get(authorization_code)

        def _issue(
            self, client: OAuthClientInformationFull, scopes: list[str], resource: str | None, subject: str | None
        ) -> OAuthToken:
            assert client.client_id
            access = f"mcp_{secrets.token_hex(32)}"
            self.tokens[access] = AccessToken(
                token=access,
                client_id=client.client_id,
                scopes=scopes,
                expires_at=int(time.time()) + self.ttl,
                resource=resource,
                subject=subject,
            )
            refresh = None
            if self.refresh and "refresh_token" in (client.grant_types or []):
                refresh = f"mcp_rt_{secrets.token_hex(32)}"
                self.refresh_tokens[refresh] = RefreshToken(
                    token=refresh, client_id=client.client_id, scopes=scopes, resource=resource, subject=subject
                )
            return OAuthToken(
                access_token=access,
                token_type="Bearer",
                expires_in=self.ttl,
                scope=" ".join(scopes),
                refresh_token=refresh,
            )

        async def exchange_authorization_code(
            self, client: OAuthClientInformationFull, authorization_code: AuthorizationCode
        ) -> OAuthToken:
            if self.auth_codes.pop(authorization_code.code, None) is None:
                raise TokenError("invalid_grant", "authorization code already used")
            return self._issue(
                client, authorization_code.scopes, authorization_code.resource, authorization_code.subject
            )

        async def load_access_token(self, token: str) -> AccessToken | None:
            access = self.tokens.get(token)
            if access is None:
                return None
            if access.expires_at and access.expires_at < time.time():
                del self.tokens[token]
                return None
            return access

        async def load_refresh_token(
            self, client: OAuthClientInformationFull, refresh_token: str
        ) -> RefreshToken | None:
            token = self.refresh_tokens.get(refresh_token)
            if token is None or token.client_id != client.client_id:
                return None
            return token

        async def exchange_refresh_token(
            self, client: OAuthClientInformationFull, refresh_token: RefreshToken, scopes: list[str]
        ) -> OAuthToken:
            if self.refresh_tokens.pop(refresh_token.token, None) is None:
                raise TokenError("invalid_grant", "refresh token already used")
            return self._issue(client, scopes, refresh_token.resource, refresh_token.subject)

        async def revoke_token(self, token: AccessToken | RefreshToken) -> None:
            self.tokens.pop(token.token, None)
            if self.refresh_tokens.pop(token.token, None) is not None:
                # RFC 7009 §2.1: revoking a refresh token also invalidates the access tokens of
                # the same grant; here, every access token of that client and subject.
                for key, access in list(self.tokens.items()):
                    if access.client_id == token.client_id and access.subject == token.subject:
                        del self.tokens[key]

    return WorldAuthProvider


class SdkStack:
    name = "mcp-sdk"
    SCOPE = "user"  # the simple-auth example's scope

    def __init__(self, cfg: dict[str, Any]):
        from importlib.metadata import version

        from mcp.server.auth.routes import cors_middleware, create_auth_routes
        from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions, RevocationOptions
        from mcp.server.mcpserver import MCPServer
        from pydantic import AnyHttpUrl

        ttl = int(cfg.get("accessTokenTtl", 300))
        refresh = bool(cfg.get("refreshTokens", True))
        self.as_sock = listen(int(cfg.get("asPort", 0)))
        self.rs_sock = listen(int(cfg.get("port", 0)))
        as_url = f"http://{HOST}:{port_of(self.as_sock)}"
        self.url = f"http://{HOST}:{port_of(self.rs_sock)}/mcp"
        self.as_base = as_url

        # Authorization server, as in the example's auth_server.py.
        self.provider = make_sdk_provider_class()(as_url, self.SCOPE, ttl, refresh)
        provider = self.provider
        routes = create_auth_routes(
            provider=provider,
            issuer_url=AnyHttpUrl(as_url),
            client_registration_options=ClientRegistrationOptions(
                enabled=True, valid_scopes=[self.SCOPE], default_scopes=[self.SCOPE]
            ),
            revocation_options=RevocationOptions(enabled=True),
        )

        async def login_page(request: Request) -> Response:
            return provider.login_page(request.query_params.get("txn", ""))

        async def login_callback(request: Request) -> Response:
            return await provider.login_callback(request)

        async def introspect(request: Request) -> Response:
            form = await request.form()
            token = form.get("token")
            if not token or not isinstance(token, str):
                return JSONResponse({"active": False}, status_code=400)
            access = await provider.load_access_token(token)
            if not access:
                return JSONResponse({"active": False})
            return JSONResponse(
                {
                    "active": True,
                    "client_id": access.client_id,
                    "scope": " ".join(access.scopes),
                    "exp": access.expires_at,
                    "iat": int(time.time()),
                    "token_type": "Bearer",
                    "aud": access.resource,
                    "sub": access.subject,
                    "iss": as_url,
                }
            )

        routes += [
            Route("/login", endpoint=login_page, methods=["GET"]),
            Route("/login/callback", endpoint=login_callback, methods=["POST"]),
            Route("/introspect", endpoint=cors_middleware(introspect, ["POST", "OPTIONS"]), methods=["POST", "OPTIONS"]),
        ]
        self.logs: dict[str, list[dict[str, Any]]] = {"/token": [], "/revoke": []}
        as_app = RequestLog(Starlette(routes=routes), self.logs)

        # Resource server, as in the example's server.py.
        verifier = IntrospectionTokenVerifier(f"{as_url}/introspect")
        server = MCPServer(
            name="lanyard-world-mcp-sdk",
            token_verifier=verifier,
            auth=AuthSettings(
                issuer_url=AnyHttpUrl(as_url),
                required_scopes=[self.SCOPE],
                resource_server_url=AnyHttpUrl(self.url),
                validate_token_resource=bool(cfg.get("validateResource", False)),
            ),
        )

        @server.tool()
        async def echo(text: str) -> str:
            """Return the text unchanged."""
            return text

        rs_app = server.streamable_http_app(streamable_http_path="/mcp", host=HOST)
        self.apps = [(as_app, self.as_sock), (rs_app, self.rs_sock)]
        self.implementation = f"mcp {version('mcp')} (official Python SDK, simple-auth split AS/RS)"
        self.capabilities = {
            "dcr": True,
            "refresh_tokens": refresh,
            "revocation": True,
            "registration_management": False,
            "introspection": True,
        }

    def state(self) -> dict[str, Any]:
        p = self.provider
        return {
            "clients": [client_view(c) for c in p.clients.values()],
            "access_tokens": [access_view(t) for t in p.tokens.values()],
            "refresh_tokens": [refresh_view(t) for t in p.refresh_tokens.values()],
            "token_requests": list(self.logs["/token"]),
            "revocation_requests": list(self.logs["/revoke"]),
        }

    def expire(self) -> int:
        return expire_all(self.provider.tokens)


class IntrospectionTokenVerifier:
    """The simple-auth example's token verifier: RFC 7662 introspection at the AS for every
    request (non-strict: the RS leaves the RFC 8707 check to AuthSettings.validate_token_resource)."""

    def __init__(self, endpoint: str):
        self.endpoint = endpoint

    async def verify_token(self, token: str) -> Any:
        from mcp.server.auth.provider import AccessToken

        async with httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0)) as client:
            try:
                resp = await client.post(self.endpoint, data={"token": token})
            except httpx.HTTPError as e:
                log.warning("introspection failed: %s", e)
                return None
        if resp.status_code != 200:
            return None
        data = resp.json()
        if not data.get("active", False):
            return None
        return AccessToken(
            token=token,
            client_id=data.get("client_id", "unknown"),
            scopes=data.get("scope", "").split() if data.get("scope") else [],
            expires_at=data.get("exp"),
            resource=data.get("aud"),
            subject=data.get("sub"),
            claims=data,
        )


# --- process ------------------------------------------------------------------------------------
class Server(uvicorn.Server):
    """uvicorn's server without its own signal handling: this process runs several servers in
    one loop and handles SIGTERM/SIGINT and stdin EOF itself."""

    def capture_signals(self):  # type: ignore[override]
        return nullcontext()


def watch_stdin(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> None:
    try:
        while os.read(0, 65536):
            pass
    except OSError:
        pass
    log.info("stdin closed: stopping")
    loop.call_soon_threadsafe(stop.set)


async def amain(stack_name: str, cfg: dict[str, Any]) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    threading.Thread(target=watch_stdin, args=(loop, stop), daemon=True).start()

    stack: FastMCPStack | SdkStack = FastMCPStack(cfg) if stack_name == "fastmcp" else SdkStack(cfg)

    async def state(_: Request) -> Response:
        return JSONResponse(stack.state())

    async def expire(_: Request) -> Response:
        return JSONResponse({"expired": stack.expire()})

    async def shutdown(_: Request) -> Response:
        loop.call_later(0.05, stop.set)
        return JSONResponse({"ok": True})

    admin = Starlette(
        routes=[
            Route("/state", state, methods=["GET"]),
            Route("/expire-access-tokens", expire, methods=["POST"]),
            Route("/shutdown", shutdown, methods=["POST"]),
        ]
    )
    admin_sock = listen(int(cfg.get("adminPort", 0)))
    servers = []
    tasks = []
    for app, sock in [*stack.apps, (admin, admin_sock)]:
        config = uvicorn.Config(
            app, log_config=None, access_log=False, lifespan="on", timeout_graceful_shutdown=2, ws="none"
        )
        srv = Server(config)
        servers.append(srv)
        tasks.append(asyncio.create_task(srv.serve(sockets=[sock])))

    while not all(s.started for s in servers):
        if any(t.done() for t in tasks):
            log.error("a listener failed to start")
            return 1
        await asyncio.sleep(0.02)

    async with httpx.AsyncClient() as client:
        meta = (await client.get(f"{stack.as_base}/.well-known/oauth-authorization-server")).json()
    line = {
        "stack": stack.name,
        "implementation": stack.implementation,
        "url": stack.url,
        "issuer": meta["issuer"],
        "admin": f"http://{HOST}:{port_of(admin_sock)}",
        "capabilities": stack.capabilities,
    }
    sys.stdout.write(json.dumps(line) + "\n")
    sys.stdout.flush()

    stopper = asyncio.create_task(stop.wait())
    await asyncio.wait([stopper, *tasks], return_when=asyncio.FIRST_COMPLETED)
    # Whatever happens now, the process is gone within a few seconds: no orphans.
    watchdog = threading.Timer(5.0, lambda: os._exit(0))
    watchdog.daemon = True
    watchdog.start()
    for s in servers:
        s.should_exit = True
    await asyncio.wait(tasks, timeout=4)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("stack", choices=["fastmcp", "mcp-sdk"])
    parser.add_argument("--config", default="{}", help="JSON object (or @file)")
    parser.add_argument("--verbose", action="store_true", help="log every request at INFO")
    args = parser.parse_args()
    raw = args.config
    if raw.startswith("@"):
        with open(raw[1:]) as f:
            raw = f.read()
    cfg = json.loads(raw or "{}")
    os.environ.setdefault("FASTMCP_LOG_LEVEL", "INFO" if args.verbose else "WARNING")
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO if args.verbose else logging.WARNING,
        format=f"[{args.stack}] %(levelname)s %(name)s: %(message)s",
    )
    return asyncio.run(amain(args.stack, cfg))


if __name__ == "__main__":
    sys.exit(main())
