#!/usr/bin/env node
// A third, independent OAuth/MCP stack for Lanyard's interop matrix: better-auth's MCP plugin
// (`@better-auth/mcp`, built on `@better-auth/oauth-provider`) as the OAuth 2.1 authorization server
// with dynamic client registration, in front of an MCP server on the official TypeScript SDK whose
// bearer check is better-auth's own `createMcpProtectedRequestHandler`. See README.md for the
// contract and for every deviation from the OAuth/MCP specs observed.
//
//   node tests/world/betterauth/stack.mjs --config '{"accessTokenTtl":300,"refreshTokens":true,"port":0}'
//
// Prints one JSON line on stdout once both listeners accept connections; logs go to stderr. Serves
// until SIGTERM, POST /shutdown on the admin port, or EOF on stdin.

import crypto from 'node:crypto';
import http from 'node:http';
import fs from 'node:fs';

import { betterAuth } from 'better-auth';
import { memoryAdapter } from 'better-auth/adapters/memory';
import { createMcpProtectedRequestHandler, mcp } from '@better-auth/mcp';
import { oauthDeviceAuthorization } from '@better-auth/oauth-provider';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import * as z from 'zod';

const versionOf = (pkg) => JSON.parse(fs.readFileSync(new URL(`./node_modules/${pkg}/package.json`, import.meta.url), 'utf8')).version;
const BA_VERSION = versionOf('better-auth');
const MCP_PLUGIN_VERSION = versionOf('@better-auth/mcp');
const SDK_VERSION = versionOf('@modelcontextprotocol/sdk');

const log = (...args) => process.stderr.write(`[betterauth] ${args.join(' ')}\n`);

// --- config ---------------------------------------------------------------------------------------
function parseConfig(argv) {
  const i = argv.indexOf('--config');
  const raw = i >= 0 ? argv[i + 1] : undefined;
  const c = raw ? JSON.parse(raw) : {};
  return {
    accessTokenTtl: Number.isFinite(c.accessTokenTtl) ? c.accessTokenTtl : 300,
    refreshTokens: c.refreshTokens !== false,
    port: Number.isInteger(c.port) ? c.port : 0,
    // Not part of the harness contract: lets a test see better-auth's out-of-the-box "web" default.
    dcrDefaultApplicationType: ['web', 'native', 'infer'].includes(c.dcrDefaultApplicationType) ? c.dcrDefaultApplicationType : 'infer',
    // RFC 8628 through @better-auth/oauth-provider's oauthDeviceAuthorization() (its device code
    // exchanged at the OAuth token endpoint for a real token set), approved on this stack's /device.
    deviceFlow: c.deviceFlow === true,
  };
}
const config = parseConfig(process.argv);

// --- listeners first: better-auth needs its absolute base URL -----------------------------------
let route = async (_req, res) => {
  res.writeHead(503).end();
};
const main = http.createServer((req, res) => {
  route(req, res).catch((e) => {
    log('unhandled', e?.stack ?? e);
    if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
    res.end('internal error');
  });
});
let adminRoute = async (_req, res) => {
  res.writeHead(503).end();
};
const admin = http.createServer((req, res) => {
  adminRoute(req, res).catch((e) => {
    log('admin unhandled', e?.stack ?? e);
    if (!res.headersSent) res.writeHead(500);
    res.end();
  });
});
const listen = (srv, port) => new Promise((resolve, reject) => {
  srv.once('error', reject);
  srv.listen(port, '127.0.0.1', () => resolve(srv.address().port));
});
const port = await listen(main, config.port);
const adminPort = await listen(admin, 0);
const origin = `http://127.0.0.1:${port}`;
const resource = `${origin}/mcp`;

// --- better-auth ----------------------------------------------------------------------------------
// The memory adapter's tables, read directly by the admin API.
const db = {
  user: [], session: [], account: [], verification: [], jwks: [],
  oauthClient: [], oauthAccessToken: [], oauthRefreshToken: [], oauthConsent: [], oauthResource: [],
  oauthClientResource: [], oauthClientAssertion: [], deviceCode: [],
};

const scopes = config.refreshTokens
  ? ['openid', 'profile', 'email', 'offline_access']
  : ['openid', 'profile', 'email'];

const auth = betterAuth({
  baseURL: origin,
  basePath: '/api/auth',
  secret: crypto.randomBytes(32).toString('hex'),
  database: memoryAdapter(db),
  emailAndPassword: { enabled: true, autoSignIn: false },
  rateLimit: { enabled: false },
  telemetry: { enabled: false },
  logger: { level: 'warn', log: (level, msg, ...rest) => log(level, msg, ...rest.map((r) => (r?.stack ?? JSON.stringify(r)))) },
  plugins: [
    mcp({
      resource,
      loginPage: '/login',
      consentPage: '/consent',
      scopes,
      accessTokenExpiresIn: config.accessTokenTtl,
      // Opaque access tokens, stored (hashed) in the database: what the admin API reads and what
      // POST /expire-access-tokens can expire. With the JWT plugin they would be stateless JWTs.
      disableJwtPlugin: true,
      allowDynamicClientRegistration: true,
      allowUnauthenticatedClientRegistration: true,
      // better-auth's default ("web") rejects every http loopback redirect URI at DCR unless the
      // client sends application_type=native; "infer" is its documented setting for MCP clients.
      clientRegistrationDefaultApplicationType: config.dcrDefaultApplicationType,
      rateLimit: {
        token: false, authorize: false, introspect: false, revoke: false, register: false,
        rotateClientKeys: false, userinfo: false,
      },
    }),
    ...(config.deviceFlow
      ? [oauthDeviceAuthorization({ verificationUri: `${origin}/device`, interval: '1s', expiresIn: '5m' })]
      : []),
  ],
});
const ctx = await auth.$context;
const issuer = ctx.baseURL;

// The resource server's own confidential client, used only by the MCP bearer check to introspect
// the opaque access tokens (better-auth's remoteVerify). Hidden from GET /state.
// Creating a client needs a signed-in user: a service account owns it.
const RS_EMAIL = 'resource-server@lanyard.test';
const RS_PASSWORD = crypto.randomBytes(16).toString('hex');
await auth.api.signUpEmail({ body: { email: RS_EMAIL, password: RS_PASSWORD, name: 'resource server' } });
const rsSignIn = await auth.api.signInEmail({ body: { email: RS_EMAIL, password: RS_PASSWORD }, returnHeaders: true });
const rsCookie = rsSignIn.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
const rsClient = await auth.api.adminCreateOAuthClient({
  headers: new Headers({ cookie: rsCookie }),
  body: {
    client_name: 'lanyard-world mcp resource server',
    redirect_uris: ['https://resource-server.lanyard.test/unused'],
    grant_types: ['client_credentials'],
    response_types: [],
    token_endpoint_auth_method: 'client_secret_post',
  },
});
const RS_CLIENT_ID = rsClient.client_id;

// --- request log around the token and revocation endpoints --------------------------------------
const tokenRequests = [];
const revocationRequests = [];

function clientAuthOf(headers, form) {
  const h = headers.get('authorization') ?? '';
  let basicId;
  if (/^basic\s/i.test(h)) {
    try {
      const dec = Buffer.from(h.replace(/^basic\s+/i, ''), 'base64').toString('utf8');
      basicId = decodeURIComponent(dec.slice(0, dec.indexOf(':')));
    } catch { /* logged as seen */ }
  }
  const bodyId = form.get('client_id');
  return {
    auth: basicId !== undefined ? 'basic' : form.has('client_secret') ? 'post' : 'none',
    client_id: basicId ?? bodyId ?? null,
    client_id_in_body: form.has('client_id'),
  };
}

async function errorOf(res) {
  if (res.status < 400) return null;
  try {
    const j = await res.clone().json();
    return j.error ?? j.code ?? j.message ?? null;
  } catch {
    return null;
  }
}

// --- node <-> fetch ---------------------------------------------------------------------------------
async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks);
}

function toRequest(req, body) {
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) {
    if (Array.isArray(v)) v.forEach((x) => headers.append(k, x));
    else if (v !== undefined) headers.set(k, v);
  }
  const hasBody = !['GET', 'HEAD'].includes(req.method) && body.length > 0;
  return new Request(`${origin}${req.url}`, { method: req.method, headers, body: hasBody ? body : undefined });
}

async function send(res, response) {
  const headers = {};
  response.headers.forEach((v, k) => {
    if (k === 'set-cookie') return;
    headers[k] = v;
  });
  const cookies = response.headers.getSetCookie?.() ?? [];
  if (cookies.length) headers['set-cookie'] = cookies;
  res.writeHead(response.status, headers);
  if (response.body) {
    for await (const chunk of response.body) res.write(chunk);
  }
  res.end();
}

// --- MCP ------------------------------------------------------------------------------------------
function buildMcpServer() {
  const server = new McpServer({ name: 'lanyard-world-betterauth', version: '1.0.0' });
  server.registerTool('echo', {
    description: 'Echoes its text back',
    inputSchema: { text: z.string() },
  }, async ({ text }) => ({ content: [{ type: 'text', text }] }));
  return server;
}

const mcpHandler = createMcpProtectedRequestHandler({
  issuer,
  audience: resource,
  remoteVerify: {
    introspectUrl: `${issuer}/oauth2/introspect`,
    clientId: RS_CLIENT_ID,
    clientSecret: rsClient.client_secret,
    force: true,
  },
}, async (request) => {
  const server = buildMcpServer();
  const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  await server.connect(transport);
  try {
    return await transport.handleRequest(request);
  } finally {
    await transport.close().catch(() => {});
    await server.close().catch(() => {});
  }
});

// --- login and consent pages ------------------------------------------------------------------------
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const page = (title, body) => `<!doctype html><html><head><meta charset="utf-8"><title>${esc(title)}</title></head><body><h1>${esc(title)}</h1>${body}</body></html>`;
// Every user has this password in better-auth; the login form accepts any password (a test world).
const USER_PASSWORD = 'lanyard-world-password';
const emailOf = (login) => (login.includes('@') ? login : `${login}@lanyard.test`);

function html(res, status, body, extra = {}) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', ...extra });
  res.end(body);
}

// Calls a better-auth endpoint in process through its HTTP handler (so its hooks run), as JSON.
async function callAuth(path, body, cookie) {
  const headers = { 'content-type': 'application/json', accept: 'application/json', origin };
  if (cookie) headers.cookie = cookie;
  return auth.handler(new Request(`${issuer}${path}`, { method: 'POST', headers, body: JSON.stringify(body) }));
}

// Turns better-auth's `{ redirect, url }` answer into a browser redirect carrying its cookies.
async function redirectFrom(res, response) {
  const cookies = response.headers.getSetCookie?.() ?? [];
  let data = {};
  try {
    data = await response.json();
  } catch { /* not JSON */ }
  const loc = response.headers.get('location') ?? data.url ?? data.redirectURI;
  if (response.status >= 400 || !loc) {
    log('auth step failed', response.status, JSON.stringify(data));
    return html(res, response.status >= 400 ? response.status : 500, page('Sign-in failed', `<p>${esc(JSON.stringify(data))}</p>`),
      cookies.length ? { 'set-cookie': cookies } : {});
  }
  res.writeHead(302, { location: new URL(loc, origin).href, ...(cookies.length ? { 'set-cookie': cookies } : {}) });
  res.end();
}

async function loginPost(req, res, form) {
  const login = (form.get('login') || 'alice').trim();
  const email = emailOf(login).toLowerCase();
  if (!db.user.some((u) => u.email === email)) {
    const r = await callAuth('/sign-up/email', { email, password: USER_PASSWORD, name: login });
    if (r.status >= 400) log('sign-up failed', r.status, await r.text());
  }
  const r = await callAuth('/sign-in/email', { email, password: USER_PASSWORD, oauth_query: form.get('oauth_query') ?? '' });
  return redirectFrom(res, r);
}

// The device verification page (RFC 8628): signed out, a login form; signed in, the code is
// bound to the user (better-auth's GET /device) and a form approves it, a link ending in /abort
// denies it. Both end on a page without forms, where the scripted browser stops.
async function devicePage(req, res, u) {
  const userCode = u.searchParams.get('user_code') ?? '';
  const cookie = req.headers.cookie ?? '';
  const session = cookie ? await auth.api.getSession({ headers: new Headers({ cookie }) }).catch(() => null) : null;
  if (!session) {
    return html(res, 200, page('Sign in to connect a device', `<form method="post" action="/device/login">
<input type="hidden" name="user_code" value="${esc(userCode)}">
<label>Login <input name="login" autocomplete="username"></label>
<label>Password <input name="password" type="password"></label>
<button type="submit">Sign in</button></form>`));
  }
  const verify = await auth.handler(new Request(`${issuer}/device?user_code=${encodeURIComponent(userCode)}`,
    { headers: { cookie, accept: 'application/json', origin } }));
  const record = await verify.json().catch(() => ({}));
  if (verify.status >= 400) return html(res, verify.status, page('Unknown code', `<p>${esc(JSON.stringify(record))}</p>`));
  return html(res, 200, page('Connect a device', `<p>Client <code>${esc(record.client_id ?? '')}</code> asks for: ${esc(record.scope ?? '')}</p>
<form method="post" action="/device">
<input type="hidden" name="user_code" value="${esc(userCode)}">
<input type="hidden" name="prompt" value="consent">
<button type="submit">Allow</button></form>
<p><a href="/device/${encodeURIComponent(userCode)}/abort">Cancel</a></p>`));
}

async function deviceLogin(req, res, form) {
  const login = (form.get('login') || 'alice').trim();
  const email = emailOf(login).toLowerCase();
  if (!db.user.some((u) => u.email === email)) {
    const r = await callAuth('/sign-up/email', { email, password: USER_PASSWORD, name: login });
    if (r.status >= 400) log('sign-up failed', r.status, await r.text());
  }
  const r = await callAuth('/sign-in/email', { email, password: USER_PASSWORD });
  const cookies = r.headers.getSetCookie?.() ?? [];
  if (r.status >= 400) return html(res, r.status, page('Sign-in failed', `<p>${esc(await r.text())}</p>`));
  res.writeHead(302, { location: `/device?user_code=${encodeURIComponent(form.get('user_code') ?? '')}`, 'set-cookie': cookies });
  return res.end();
}

async function deviceDecision(req, res, userCode, approve) {
  const r = await callAuth(approve ? '/device/approve' : '/device/deny', { userCode }, req.headers.cookie);
  const text = await r.text();
  if (r.status >= 400) return html(res, r.status, page('Device not connected', `<p>${esc(text)}</p>`));
  return html(res, 200, page(approve ? 'Device connected' : 'Device refused', '<p>You can close this page.</p>'));
}

async function consentPost(req, res, form, accept) {
  const r = await callAuth('/oauth2/consent', { accept, oauth_query: form.get('oauth_query') ?? '' }, req.headers.cookie);
  return redirectFrom(res, r);
}

// --- routing ----------------------------------------------------------------------------------------
const issuerPath = new URL(issuer).pathname; // "/api/auth"

route = async (req, res) => {
  const u = new URL(req.url, origin);
  const path = u.pathname;
  const body = await readBody(req);

  if (path === '/mcp') return send(res, await mcpHandler(toRequest(req, body)));

  if (path === '/login') {
    if (req.method === 'POST') return loginPost(req, res, new URLSearchParams(body.toString('utf8')));
    return html(res, 200, page('Sign in', `<form method="post" action="/login">
<input type="hidden" name="oauth_query" value="${esc(u.search.slice(1))}">
<label>Login <input name="login" autocomplete="username"></label>
<label>Password <input name="password" type="password"></label>
<button type="submit">Sign in</button></form>`));
  }
  if (config.deviceFlow && path === '/device') {
    if (req.method === 'POST') {
      return deviceDecision(req, res, new URLSearchParams(body.toString('utf8')).get('user_code') ?? '', true);
    }
    return devicePage(req, res, u);
  }
  if (config.deviceFlow && path === '/device/login' && req.method === 'POST') {
    return deviceLogin(req, res, new URLSearchParams(body.toString('utf8')));
  }
  const deviceAbort = /^\/device\/([^/]+)\/abort$/.exec(path);
  if (config.deviceFlow && deviceAbort) return deviceDecision(req, res, decodeURIComponent(deviceAbort[1]), false);
  if (path === '/consent') {
    if (req.method === 'POST') return consentPost(req, res, new URLSearchParams(body.toString('utf8')), true);
    const clientId = u.searchParams.get('client_id') ?? '';
    return html(res, 200, page('Authorize access', `<p>Client <code>${esc(clientId)}</code> asks for: ${esc(u.searchParams.get('scope') ?? '')}</p>
<form method="post" action="/consent">
<input type="hidden" name="oauth_query" value="${esc(u.search.slice(1))}">
<input type="hidden" name="prompt" value="consent">
<button type="submit">Allow</button></form>
<p><a href="/consent/${Buffer.from(u.search.slice(1)).toString('base64url')}/abort">Cancel</a></p>`));
  }
  // The cancel link carries the signed query in its path (the scripted browser looks for a link
  // ending in /abort).
  const abort = /^\/consent\/([A-Za-z0-9_-]+)\/abort$/.exec(path);
  if (abort) {
    return consentPost(req, res, new URLSearchParams({ oauth_query: Buffer.from(abort[1], 'base64url').toString('utf8') }), false);
  }

  // Everything else is better-auth's: its API under /api/auth, the discovery documents it serves
  // itself (/.well-known/oauth-authorization-server/api/auth, /api/auth/.well-known/
  // oauth-authorization-server, /api/auth/.well-known/openid-configuration) and the protected
  // resource metadata the mcp plugin serves (/.well-known/oauth-protected-resource[/mcp]).
  const request = toRequest(req, body);
  // Node's fetch (the world's scripted browser) sends `Sec-Fetch-Mode: cors` on every request, which
  // better-auth takes for a SPA's fetch() and answers the authorize endpoint with JSON
  // `{redirect,url}` instead of a 302. A real browser opening the URL sends `navigate`: say so for
  // requests that ask for HTML.
  if (path === `${issuerPath}/oauth2/authorize` && request.headers.get('sec-fetch-mode') === 'cors'
    && (request.headers.get('accept') ?? '').startsWith('text/html')) {
    request.headers.set('sec-fetch-mode', 'navigate');
  }
  const isToken = path === `${issuerPath}/oauth2/token`;
  const isRevoke = path === `${issuerPath}/oauth2/revoke`;
  if (!isToken && !isRevoke) return send(res, await auth.handler(request));

  const form = new URLSearchParams((req.headers['content-type'] ?? '').includes('json') ? '' : body.toString('utf8'));
  const response = await auth.handler(request);
  const entry = {
    ...(isToken ? { grant_type: form.get('grant_type') } : { token_type_hint: form.get('token_type_hint') }),
    ...clientAuthOf(request.headers, form),
    status: response.status,
    error: await errorOf(response),
  };
  (isToken ? tokenRequests : revocationRequests).push(entry);
  return send(res, response);
};

// --- admin API ------------------------------------------------------------------------------------
const hex = (b64url) => Buffer.from(b64url, 'base64url').toString('hex');
const unix = (d) => (d ? Math.floor(new Date(d).getTime() / 1000) : null);
const list = (v) => (Array.isArray(v) ? v : typeof v === 'string' ? (() => {
  try { return JSON.parse(v); } catch { return v.split(/[\s,]+/).filter(Boolean); }
})() : []);

function state() {
  return {
    clients: db.oauthClient.filter((c) => c.clientId !== RS_CLIENT_ID).map((c) => ({
      client_id: c.clientId,
      token_endpoint_auth_method: c.tokenEndpointAuthMethod ?? (c.public ? 'none' : 'client_secret_basic'),
      grant_types: list(c.grantTypes),
      redirect_uris: list(c.redirectUris),
    })),
    access_tokens: db.oauthAccessToken.filter((t) => t.clientId !== RS_CLIENT_ID && !t.revoked).map((t) => ({
      sha256: hex(t.token),
      client_id: t.clientId ?? null,
      expires_at: unix(t.expiresAt),
    })),
    refresh_tokens: db.oauthRefreshToken.filter((t) => !t.revoked).map((t) => ({
      sha256: hex(t.token),
      client_id: t.clientId ?? null,
    })),
    token_requests: tokenRequests.filter((r) => r.client_id !== RS_CLIENT_ID),
    revocation_requests: revocationRequests,
  };
}

const json = (res, status, obj) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(obj));
};

adminRoute = async (req, res) => {
  const path = new URL(req.url, 'http://x').pathname;
  await readBody(req);
  if (req.method === 'GET' && path === '/state') return json(res, 200, state());
  if (req.method === 'POST' && path === '/expire-access-tokens') {
    const past = new Date(Date.now() - 1000);
    let n = 0;
    for (const t of db.oauthAccessToken) {
      t.expiresAt = past;
      n += 1;
    }
    return json(res, 200, { expired: n });
  }
  if (req.method === 'POST' && path === '/shutdown') {
    json(res, 200, { ok: true });
    setImmediate(() => shutdown('admin /shutdown'));
    return undefined;
  }
  return json(res, 404, { error: 'not found' });
};

// --- lifecycle ------------------------------------------------------------------------------------
let stopping = false;
function shutdown(why) {
  if (stopping) return;
  stopping = true;
  log('shutting down:', why);
  main.closeAllConnections?.();
  admin.closeAllConnections?.();
  main.close();
  admin.close();
  setTimeout(() => process.exit(0), 200).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
process.stdin.on('end', () => shutdown('stdin EOF'));
process.stdin.on('error', () => shutdown('stdin error'));
process.stdin.resume();

const meta = await (await auth.handler(new Request(`${origin}/.well-known/oauth-authorization-server${issuerPath}`))).json();
process.stdout.write(`${JSON.stringify({
  stack: 'better-auth',
  implementation: `better-auth ${BA_VERSION} (mcp plugin @better-auth/mcp ${MCP_PLUGIN_VERSION}) + @modelcontextprotocol/sdk ${SDK_VERSION}`,
  url: resource,
  issuer: meta.issuer,
  admin: `http://127.0.0.1:${adminPort}`,
  capabilities: {
    dcr: Boolean(meta.registration_endpoint),
    refresh_tokens: config.refreshTokens,
    revocation: Boolean(meta.revocation_endpoint),
    registration_management: false,
    introspection: Boolean(meta.introspection_endpoint),
  },
})}\n`);
log(`listening on ${origin} (admin ${adminPort}), issuer ${meta.issuer}`);
