#!/usr/bin/env node
// Smoke test of the better-auth stack with plain fetch (no Lanyard): starts stack.mjs, then walks
// 401 → protected resource metadata → RFC 8414 metadata → DCR → authorize with PKCE S256 + resource
// (through the world's scripted browser, tests/world/browser.mjs) → code → token → MCP initialize /
// tools/list / tools/call → refresh → revocation, and checks the admin API against what it saw.
// Also records the behaviours README.md lists as deviations. Prints `N passed, 0 failed`.
//
//   node tests/world/betterauth/smoke.mjs [--verbose]

import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const verbose = process.argv.includes('--verbose');
const children = new Set();
let passed = 0;
let failed = 0;

function check(name, ok, detail) {
  if (ok) passed += 1;
  else failed += 1;
  process.stdout.write(`${ok ? 'ok  ' : 'FAIL'} ${name}${!ok || verbose ? ` ${detail === undefined ? '' : JSON.stringify(detail)}` : ''}\n`);
  return ok;
}
const note = (what, value) => process.stdout.write(`note ${what}: ${JSON.stringify(value)}\n`);

const b64u = (buf) => Buffer.from(buf).toString('base64url');
const sha256hex = (s) => crypto.createHash('sha256').update(s).digest('hex');

function startStack(cfg) {
  const child = spawn(process.execPath, [path.join(here, 'stack.mjs'), '--config', JSON.stringify(cfg)], {
    stdio: ['pipe', 'pipe', verbose ? 'inherit' : 'ignore'],
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input: child.stdout });
    rl.once('line', (line) => resolve({ child, info: JSON.parse(line) }));
    child.once('exit', (code) => reject(new Error(`stack exited ${code}`)));
  });
}

function callbackServer() {
  return new Promise((resolve) => {
    let deliver;
    const got = new Promise((r) => { deliver = r; });
    const srv = http.createServer((req, res) => {
      const u = new URL(req.url, 'http://127.0.0.1');
      res.writeHead(200, { 'content-type': 'text/html' }).end('<title>done</title>signed in');
      if (u.pathname === '/callback') deliver(Object.fromEntries(u.searchParams));
    });
    srv.listen(0, '127.0.0.1', () => resolve({ srv, redirectUri: `http://127.0.0.1:${srv.address().port}/callback`, got }));
  });
}

function runBrowser(url, env = {}) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(here, '..', 'browser.mjs'), url], {
      stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env },
    });
    children.add(child);
    let err = '';
    child.stderr.on('data', (d) => { err += d; });
    child.on('exit', (code) => { children.delete(child); resolve({ code, log: err }); });
  });
}

const form = (o) => new URLSearchParams(Object.entries(o).filter(([, v]) => v !== undefined));
async function post(url, body, headers = {}) {
  const res = await fetch(url, { method: 'POST', body, headers, redirect: 'manual' });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, json, text, headers: res.headers };
}

let rpcId = 0;
async function mcpCall(url, token, method, params = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json', accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2025-06-18', ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: ++rpcId, method, params }),
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, json, text, www: res.headers.get('www-authenticate') };
}
const initParams = { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'smoke', version: '0' } };

async function authorizeFlow({ meta, clientId, resource, scope, redirect, extra = {}, env = {} }) {
  const verifier = b64u(crypto.randomBytes(32));
  const challenge = b64u(crypto.createHash('sha256').update(verifier).digest());
  const state = b64u(crypto.randomBytes(12));
  const u = new URL(meta.authorization_endpoint);
  for (const [k, v] of Object.entries({
    response_type: 'code', client_id: clientId, redirect_uri: redirect.redirectUri, state,
    code_challenge: challenge, code_challenge_method: 'S256', resource, scope, ...extra,
  })) if (v !== undefined) u.searchParams.set(k, v);
  const browser = await runBrowser(u.href, env);
  const cb = await Promise.race([redirect.got, new Promise((r) => setTimeout(() => r(null), 5000))]);
  return { verifier, state, cb, browser };
}

async function main() {
  const ttl = 120;
  const { info } = await startStack({ accessTokenTtl: ttl });
  note('stack line', info);
  check('stack line shape', info.stack === 'better-auth' && info.url.endsWith('/mcp') && info.admin && info.capabilities?.dcr === true, info);
  const adminState = async () => (await fetch(`${info.admin}/state`)).json();

  // 1. 401 with RFC 9728 challenge
  const first = await mcpCall(info.url, undefined, 'initialize', initParams);
  const rm = /resource_metadata="([^"]+)"/.exec(first.www ?? '')?.[1];
  check('GET/POST /mcp without token → 401 + resource_metadata', first.status === 401 && !!rm, { status: first.status, www: first.www });
  const getMcp = await fetch(info.url);
  check('GET /mcp without token → 401 too', getMcp.status === 401, getMcp.status);

  // 2. PRM
  const prm = await (await fetch(rm)).json();
  check('PRM resource = MCP URL, AS = issuer', prm.resource === info.url && prm.authorization_servers?.[0] === info.issuer, prm);

  // 3. AS metadata (RFC 8414 path-inserted)
  const iss = new URL(info.issuer);
  const meta = await (await fetch(`${iss.origin}/.well-known/oauth-authorization-server${iss.pathname}`)).json();
  check('RFC 8414 metadata at path-inserted URL, issuer matches', meta.issuer === info.issuer, meta.issuer);
  check('S256 advertised', meta.code_challenge_methods_supported?.includes('S256'));
  note('token_endpoint_auth_methods_supported', meta.token_endpoint_auth_methods_supported);
  const wk = {};
  for (const p of [
    `/.well-known/oauth-authorization-server${iss.pathname}`, `/.well-known/openid-configuration${iss.pathname}`,
    `${iss.pathname}/.well-known/openid-configuration`, `${iss.pathname}/.well-known/oauth-authorization-server`,
    '/.well-known/oauth-authorization-server', '/.well-known/openid-configuration',
    '/.well-known/oauth-protected-resource', '/.well-known/oauth-protected-resource/mcp',
  ]) wk[p] = (await fetch(`${iss.origin}${p}`)).status;
  note('well-known statuses', wk);

  // 4. DCR (public client, as Lanyard registers) and the default when no auth method is named
  const redirect = await callbackServer();
  const reg = await post(meta.registration_endpoint, JSON.stringify({
    client_name: 'smoke', redirect_uris: [redirect.redirectUri], grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'], token_endpoint_auth_method: 'none',
  }), { 'content-type': 'application/json' });
  check('DCR public client → 201', reg.status === 201 && reg.json?.client_id && !reg.json.client_secret, reg.json ?? reg.text);
  const clientId = reg.json.client_id;
  note('DCR response (public)', reg.json);
  const regDefault = await post(meta.registration_endpoint, JSON.stringify({
    redirect_uris: ['http://127.0.0.1:9/callback'],
  }), { 'content-type': 'application/json' });
  note('DCR with no token_endpoint_auth_method', { status: regDefault.status, token_endpoint_auth_method: regDefault.json?.token_endpoint_auth_method, has_secret: !!regDefault.json?.client_secret, error: regDefault.json?.error_description });
  for (const [how, headers, extra] of [
    ['basic', { authorization: `Basic ${Buffer.from(`${regDefault.json?.client_id}:${regDefault.json?.client_secret}`).toString('base64')}` }, {}],
    ['post', {}, { client_id: regDefault.json?.client_id, client_secret: regDefault.json?.client_secret }],
    ['none', {}, { client_id: regDefault.json?.client_id }],
  ]) {
    const r = await post(meta.token_endpoint, form({ grant_type: 'authorization_code', code: 'bogus', redirect_uri: 'http://127.0.0.1:9/callback', code_verifier: 'x'.repeat(43), ...extra }),
      { 'content-type': 'application/x-www-form-urlencoded', ...headers });
    note(`token endpoint, client_secret_basic client authenticating by ${how} (bogus code)`, { status: r.status, error: r.json?.error });
  }
  const regConf = await post(meta.registration_endpoint, JSON.stringify({
    redirect_uris: ['http://127.0.0.1:9/callback'], token_endpoint_auth_method: 'client_secret_basic',
  }), { 'content-type': 'application/json' });
  note('DCR asking client_secret_basic without auth', { status: regConf.status, body: regConf.json?.error ? regConf.json : { token_endpoint_auth_method: regConf.json?.token_endpoint_auth_method, has_secret: !!regConf.json?.client_secret } });
  const regWeb = await post(meta.registration_endpoint, JSON.stringify({
    redirect_uris: ['http://127.0.0.1:9/callback'], token_endpoint_auth_method: 'none', application_type: 'web',
  }), { 'content-type': 'application/json' });
  note('DCR application_type=web with a loopback redirect', { status: regWeb.status, error: regWeb.json?.error, d: regWeb.json?.error_description });
  const manyRegs = [];
  for (let i = 0; i < 6; i += 1) manyRegs.push((await post(meta.registration_endpoint, JSON.stringify({ redirect_uris: ['http://127.0.0.1:9/cb'], token_endpoint_auth_method: 'none' }), { 'content-type': 'application/json' })).status);
  check('DCR not rate-limited (6 more in a row)', manyRegs.every((s) => s === 201), manyRegs);

  // 5. authorize (browser: login form, consent form) → code
  const flow = await authorizeFlow({ meta, clientId, resource: info.url, scope: 'openid offline_access', redirect });
  const steps = flow.browser.log.split('\n').filter(Boolean).map((l) => { try { return JSON.parse(l.replace(/^\[browser\] /, '')).step; } catch { return l; } });
  note('browser steps', steps);
  check('browser delivered a code to the loopback callback', flow.cb?.code && flow.cb.state === flow.state, { cb: flow.cb && { ...flow.cb, code: '…' }, log: flow.cb ? undefined : flow.browser.log });
  check('callback carries iss = issuer', flow.cb?.iss === info.issuer, flow.cb?.iss);

  // 6. token
  const tokenUrl = meta.token_endpoint;
  const tok = await post(tokenUrl, form({
    grant_type: 'authorization_code', code: flow.cb?.code, redirect_uri: redirect.redirectUri, client_id: clientId,
    code_verifier: flow.verifier, resource: info.url,
  }), { 'content-type': 'application/x-www-form-urlencoded' });
  check('token: access + refresh token, expires_in = accessTokenTtl', tok.status === 200 && tok.json.access_token && tok.json.refresh_token && tok.json.expires_in === ttl, tok.json ?? tok.text);
  note('token response keys', Object.keys(tok.json ?? {}));
  note('token_type / scope', { token_type: tok.json?.token_type, scope: tok.json?.scope, access_token_is_jwt: tok.json?.access_token?.split('.').length === 3 });
  const at = tok.json.access_token;
  const rt = tok.json.refresh_token;

  // 7. MCP with the bearer
  const init = await mcpCall(info.url, at, 'initialize', initParams);
  check('MCP initialize with bearer', init.status === 200 && init.json?.result?.serverInfo, init.json ?? init.text);
  const tools = await mcpCall(info.url, at, 'tools/list');
  check('tools/list has echo', tools.json?.result?.tools?.some((t) => t.name === 'echo'), tools.json);
  const echo = await mcpCall(info.url, at, 'tools/call', { name: 'echo', arguments: { text: 'hello better-auth' } });
  check('tools/call echo', echo.json?.result?.content?.[0]?.text === 'hello better-auth', echo.json);
  const slash = await mcpCall(`${info.url}/`, at, 'initialize', initParams);
  note('POST /mcp/ (trailing slash) with a valid bearer', { status: slash.status, www: slash.www, body: slash.text.slice(0, 120) });
  const bogus = await mcpCall(info.url, 'not-a-token', 'tools/list');
  check('bogus bearer → 401 invalid_token', bogus.status === 401 && /invalid_token/.test(bogus.www ?? ''), { status: bogus.status, www: bogus.www });

  // 8. admin state
  let st = await adminState();
  const rec = st.access_tokens.find((t) => t.sha256 === sha256hex(at));
  check('state: access token by sha256, client, expiry', rec && rec.client_id === clientId && Math.abs(rec.expires_at - (Math.floor(Date.now() / 1000) + ttl)) <= 5, { rec, n: st.access_tokens.length });
  check('state: refresh token by sha256', st.refresh_tokens.some((t) => t.sha256 === sha256hex(rt) && t.client_id === clientId));
  const c = st.clients.find((x) => x.client_id === clientId);
  check('state: client as registered', c && c.token_endpoint_auth_method === 'none' && c.redirect_uris[0] === redirect.redirectUri && c.grant_types.includes('refresh_token'), c);
  const tr = st.token_requests.find((r) => r.grant_type === 'authorization_code' && r.status === 200);
  check('state: token request logged', tr && tr.auth === 'none' && tr.client_id === clientId && tr.client_id_in_body === true && tr.error === null, st.token_requests);

  // 9. refresh (rotation)
  const ref = await post(tokenUrl, form({ grant_type: 'refresh_token', refresh_token: rt, client_id: clientId, resource: info.url }),
    { 'content-type': 'application/x-www-form-urlencoded' });
  check('refresh → new access token', ref.status === 200 && ref.json.access_token && ref.json.access_token !== at && ref.json.expires_in === ttl, ref.json ?? ref.text);
  note('refresh rotates the refresh token', ref.json?.refresh_token !== undefined && ref.json.refresh_token !== rt);
  const reuse = await post(tokenUrl, form({ grant_type: 'refresh_token', refresh_token: rt, client_id: clientId, resource: info.url }),
    { 'content-type': 'application/x-www-form-urlencoded' });
  note('reusing the old refresh token at once', { status: reuse.status, error: reuse.json?.error, same_access_token: reuse.json?.access_token === ref.json?.access_token });
  const oldAt = await mcpCall(info.url, at, 'tools/list');
  note('first access token after refresh', { status: oldAt.status });
  const at2 = ref.json.access_token;
  const rt2 = ref.json.refresh_token;
  const after = await mcpCall(info.url, at2, 'tools/list');
  check('MCP with refreshed token', after.status === 200, after.status);
  const noRes = await post(tokenUrl, form({ grant_type: 'refresh_token', refresh_token: rt2, client_id: clientId }),
    { 'content-type': 'application/x-www-form-urlencoded' });
  let rt3 = noRes.json?.refresh_token ?? rt2;
  if (noRes.status === 200) {
    const m = await mcpCall(info.url, noRes.json.access_token, 'tools/list');
    note('refresh without resource: token works at /mcp', m.status);
  } else note('refresh without resource', { status: noRes.status, error: noRes.json?.error });
  const wrongRes = await post(tokenUrl, form({ grant_type: 'refresh_token', refresh_token: rt3, client_id: clientId, resource: 'http://127.0.0.1:1/other' }),
    { 'content-type': 'application/x-www-form-urlencoded' });
  note('refresh with a foreign resource', { status: wrongRes.status, error: wrongRes.json?.error });
  if (wrongRes.json?.refresh_token) rt3 = wrongRes.json.refresh_token;

  // 10. expire via admin → 401
  const exp = await post(`${info.admin}/expire-access-tokens`, '');
  const expired = await mcpCall(info.url, at2, 'tools/list');
  check('admin expire → next MCP request 401', exp.status === 200 && expired.status === 401 && /invalid_token/.test(expired.www ?? ''), { exp: exp.json, status: expired.status, www: expired.www });
  st = await adminState();
  check('state: expired tokens report past expires_at', st.access_tokens.every((t) => t.expires_at <= Math.floor(Date.now() / 1000)), st.access_tokens);

  // 11. revocation (public client: client_id in the body, no secret)
  const ref3 = await post(tokenUrl, form({ grant_type: 'refresh_token', refresh_token: rt3, client_id: clientId, resource: info.url }),
    { 'content-type': 'application/x-www-form-urlencoded' });
  check('refresh after expiry works', ref3.status === 200, ref3.json ?? ref3.text);
  const rt4 = ref3.json?.refresh_token;
  const at4 = ref3.json?.access_token;
  const revAt = await post(meta.revocation_endpoint, form({ token: at4, token_type_hint: 'access_token', client_id: clientId }),
    { 'content-type': 'application/x-www-form-urlencoded' });
  const afterRevAt = await mcpCall(info.url, at4, 'tools/list');
  note('revoke access token as public client', { status: revAt.status, error: revAt.json?.error, mcp_after: afterRevAt.status });
  const rev = await post(meta.revocation_endpoint, form({ token: rt4, token_type_hint: 'refresh_token', client_id: clientId }),
    { 'content-type': 'application/x-www-form-urlencoded' });
  check('revoke refresh token as public client → 200', rev.status === 200, { status: rev.status, body: rev.text });
  const dead = await post(tokenUrl, form({ grant_type: 'refresh_token', refresh_token: rt4, client_id: clientId, resource: info.url }),
    { 'content-type': 'application/x-www-form-urlencoded' });
  check('revoked refresh token → invalid_grant', dead.status === 400 && dead.json?.error === 'invalid_grant', dead.json);
  const unknown = await post(meta.revocation_endpoint, form({ token: 'no-such-token', client_id: clientId }),
    { 'content-type': 'application/x-www-form-urlencoded' });
  note('revoke an unknown token', { status: unknown.status, error: unknown.json?.error });
  st = await adminState();
  check('state: revocation requests logged', st.revocation_requests.length >= 2 && st.revocation_requests.every((r) => r.client_id === clientId && r.auth === 'none'), st.revocation_requests);
  check('state: revoked refresh token gone from refresh_tokens', !st.refresh_tokens.some((t) => t.sha256 === sha256hex(rt4)));

  // 12. authorize without resource → audience, and whether /mcp accepts the token
  const redirect2 = await callbackServer();
  const reg2 = await post(meta.registration_endpoint, JSON.stringify({ redirect_uris: [redirect2.redirectUri], token_endpoint_auth_method: 'none' }), { 'content-type': 'application/json' });
  const flow2 = await authorizeFlow({ meta, clientId: reg2.json.client_id, resource: undefined, scope: undefined, redirect: redirect2 });
  const tok2 = await post(tokenUrl, form({
    grant_type: 'authorization_code', code: flow2.cb?.code, redirect_uri: redirect2.redirectUri, client_id: reg2.json.client_id, code_verifier: flow2.verifier,
  }), { 'content-type': 'application/x-www-form-urlencoded' });
  const m2 = tok2.json?.access_token ? await mcpCall(info.url, tok2.json.access_token, 'tools/list') : {};
  note('no resource and no scope anywhere', { token_status: tok2.status, scope: tok2.json?.scope, refresh_token: !!tok2.json?.refresh_token, mcp: m2.status, browser: flow2.cb ? 'code' : flow2.browser.log.slice(-300) });
  const replay = await post(tokenUrl, form({
    grant_type: 'authorization_code', code: flow2.cb?.code, redirect_uri: redirect2.redirectUri, client_id: reg2.json.client_id, code_verifier: flow2.verifier,
  }), { 'content-type': 'application/x-www-form-urlencoded' });
  check('code replay rejected', replay.status === 400 && replay.json?.error === 'invalid_grant', replay.json);
  st = await adminState();
  check('state: code replay logged with its error', st.token_requests.some((r) => r.status === 400 && r.error === 'invalid_grant'), st.token_requests);
  check('code replay revokes what the code issued (refresh token gone)', tok2.json?.refresh_token && !st.refresh_tokens.some((t) => t.sha256 === sha256hex(tok2.json.refresh_token)));

  const redirectD = await callbackServer();
  const regD = await post(meta.registration_endpoint, JSON.stringify({ redirect_uris: [redirectD.redirectUri], token_endpoint_auth_method: 'none' }), { 'content-type': 'application/json' });
  const deny = await authorizeFlow({ meta, clientId: regD.json.client_id, resource: info.url, redirect: redirectD, env: { WORLD_BROWSER_MODE: 'deny', WORLD_BROWSER_LOGIN: 'bob' } });
  check('browser deny at consent → access_denied at the callback', deny.cb?.error === 'access_denied' && deny.cb.state === deny.state, deny.cb ?? deny.browser.log.slice(-300));
  redirectD.srv.close();
  redirect.srv.close();
  redirect2.srv.close();

  // 13. refreshTokens:false, shutdown via admin
  const { child: c2, info: info2 } = await startStack({ refreshTokens: false, accessTokenTtl: 60 });
  check('refreshTokens:false → capabilities.refresh_tokens false', info2.capabilities.refresh_tokens === false, info2.capabilities);
  const iss2 = new URL(info2.issuer);
  const meta2 = await (await fetch(`${iss2.origin}/.well-known/oauth-authorization-server${iss2.pathname}`)).json();
  const redirect3 = await callbackServer();
  const reg3 = await post(meta2.registration_endpoint, JSON.stringify({ redirect_uris: [redirect3.redirectUri], token_endpoint_auth_method: 'none', grant_types: ['authorization_code', 'refresh_token'] }), { 'content-type': 'application/json' });
  const flow3 = await authorizeFlow({ meta: meta2, clientId: reg3.json?.client_id, resource: info2.url, scope: undefined, redirect: redirect3 });
  const tok3 = await post(meta2.token_endpoint, form({
    grant_type: 'authorization_code', code: flow3.cb?.code, redirect_uri: redirect3.redirectUri, client_id: reg3.json?.client_id, code_verifier: flow3.verifier, resource: info2.url,
  }), { 'content-type': 'application/x-www-form-urlencoded' });
  check('refreshTokens:false → no refresh_token, expires_in 60', tok3.status === 200 && !tok3.json.refresh_token && tok3.json.expires_in === 60, tok3.json ?? tok3.text);
  redirect3.srv.close();
  const exited = new Promise((r) => c2.once('exit', r));
  await post(`${info2.admin}/shutdown`, '');
  check('POST /shutdown exits', await Promise.race([exited.then(() => true), new Promise((r) => setTimeout(() => r(false), 3000))]));
}

const hardStop = setTimeout(() => { process.stdout.write('timeout\n'); failed += 1; finish(); }, 60000);
function finish() {
  clearTimeout(hardStop);
  for (const c of children) c.kill('SIGTERM');
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  process.exit(failed === 0 ? 0 : 1);
}
main().catch((e) => { failed += 1; process.stdout.write(`FAIL exception ${e?.stack ?? e}\n`); }).finally(finish);
