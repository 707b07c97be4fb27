#!/usr/bin/env node
// Self-check of the test world, independent of Lanyard: starts a world, registers a native client by
// DCR, signs in with the scripted browser through a loopback listener, exchanges the code (PKCE S256 +
// resource), calls the MCP server's echo tool, refreshes (rotation), revokes. Exit 0 when all works.
//   node tests/world/smoke.mjs

import { spawn } from 'node:child_process';
import http from 'node:http';
import crypto from 'node:crypto';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const b64 = (buf) => buf.toString('base64url');

function startWorld(config) {
  const child = spawn(process.execPath, [path.join(HERE, 'world.mjs'), '--config', JSON.stringify(config)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input: child.stdout });
    rl.once('line', (line) => resolve({ child, world: JSON.parse(line) }));
    child.once('exit', (c) => reject(new Error(`world exited ${c}`)));
  });
}

// A restarted issuer closed the keep-alive sockets fetch pooled to it; a request that raced the
// close onto such a socket fails with "other side closed" and is sent once more on a new one.
async function fetchAfterRestart(url, init) {
  try {
    return await fetch(url, init);
  } catch (e) {
    if (e?.cause?.code !== 'UND_ERR_SOCKET') throw e;
    return fetch(url, init);
  }
}

async function json(res) {
  const t = await res.text();
  try {
    return JSON.parse(t);
  } catch {
    return { raw: t };
  }
}

async function signIn(world, iss, mcp, clientId, redirectUri, server, mode = 'approve') {
  const verifier = b64(crypto.randomBytes(32));
  const challenge = b64(crypto.createHash('sha256').update(verifier).digest());
  const state = b64(crypto.randomBytes(16));
  const auth = new URL(iss.authorization_endpoint);
  for (const [k, v] of Object.entries({
    response_type: 'code', client_id: clientId, redirect_uri: redirectUri, scope: 'mcp:tools offline_access',
    state, code_challenge: challenge, code_challenge_method: 'S256', resource: mcp.resource,
  })) auth.searchParams.set(k, v);
  const got = new Promise((resolve) => {
    server.once('request', (req, res) => {
      res.end('signed in');
      resolve(Object.fromEntries(new URL(req.url, redirectUri).searchParams));
    });
  });
  const br = spawn(process.execPath, [world.browser, auth.href], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, WORLD_BROWSER_MODE: mode },
  });
  const params = await got;
  await new Promise((r) => br.once('exit', r));
  return { params, verifier, state };
}

async function main() {
  const { child, world } = await startWorld({
    issuers: [{ name: 'idp', accessTokenTtl: 60 }],
    mcpServers: [{ name: 'alpha' }, { name: 'beta' }],
  });
  try {
    const iss = world.issuers.idp;
    const mcp = world.mcpServers.alpha;

    // 401 + challenge
    const r401 = await fetch(mcp.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(r401.status, 401);
    const wa = r401.headers.get('www-authenticate');
    assert.match(wa, /resource_metadata="[^"]+oauth-protected-resource\/alpha\/mcp"/);
    const prm = await json(await fetch(mcp.resource_metadata));
    assert.equal(prm.resource, mcp.resource);
    const meta = await json(await fetch(`${prm.authorization_servers[0]}/.well-known/openid-configuration`));
    assert.equal(meta.issuer, iss.issuer);
    assert.ok(meta.code_challenge_methods_supported.includes('S256'));

    // loopback listener on any port
    const server = http.createServer();
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    const redirectUri = `http://127.0.0.1:${server.address().port}/callback`;

    // DCR
    const reg = await json(await fetch(meta.registration_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_name: 'Lanyard smoke', application_type: 'native', token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'],
        redirect_uris: ['http://127.0.0.1/callback'],
      }),
    }));
    assert.ok(reg.client_id, JSON.stringify(reg));
    assert.ok(reg.registration_client_uri && reg.registration_access_token);

    const { params, verifier, state } = await signIn(world, iss, mcp, reg.client_id, redirectUri, server);
    assert.equal(params.state, state);
    assert.equal(params.iss, iss.issuer);
    assert.ok(params.code, JSON.stringify(params));

    const tok = await json(await fetch(meta.token_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'authorization_code', code: params.code, redirect_uri: redirectUri,
        client_id: reg.client_id, code_verifier: verifier, resource: mcp.resource,
      }),
    }));
    assert.ok(tok.access_token && tok.refresh_token, JSON.stringify(tok));
    assert.equal(tok.access_token.split('.').length, 3, 'JWT access token');

    // MCP call with the token: initialize + tools/call echo
    const hdr = {
      authorization: `Bearer ${tok.access_token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    };
    const init = await fetch(mcp.url, {
      method: 'POST', headers: hdr,
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'smoke', version: '0' } } }),
    });
    assert.equal(init.status, 200, await init.clone().text());
    const call = await json(await fetch(mcp.url, {
      method: 'POST', headers: hdr,
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { text: 'hi' } } }),
    }));
    assert.equal(call.result.content[0].text, 'hi', JSON.stringify(call));

    // The other server rejects a token minted for alpha (audience).
    const other = await fetch(world.mcpServers.beta.url, { method: 'POST', headers: hdr, body: '{}' });
    assert.equal(other.status, 401);

    // Refresh rotates
    const ref = await json(await fetch(meta.token_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tok.refresh_token, client_id: reg.client_id, resource: mcp.resource }),
    }));
    assert.ok(ref.access_token && ref.refresh_token && ref.refresh_token !== tok.refresh_token, JSON.stringify(ref));

    // Revocation (RFC 7009) then refresh → invalid_grant
    const rev = await fetch(meta.revocation_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: ref.refresh_token, token_type_hint: 'refresh_token', client_id: reg.client_id }),
    });
    assert.equal(rev.status, 200);
    const dead = await json(await fetch(meta.token_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: ref.refresh_token, client_id: reg.client_id }),
    }));
    assert.equal(dead.error, 'invalid_grant');

    // Deny
    const denied = await signIn(world, iss, mcp, reg.client_id, redirectUri, server, 'deny');
    assert.equal(denied.params.error, 'access_denied');

    // Restart keeps the registration
    await fetch(`${world.admin}/issuers/idp/restart`, { method: 'POST' });
    const read = await fetchAfterRestart(reg.registration_client_uri, { headers: { authorization: `Bearer ${reg.registration_access_token}` } });
    assert.equal(read.status, 200);

    // RFC 7592 delete
    const del = await fetch(reg.registration_client_uri, { method: 'DELETE', headers: { authorization: `Bearer ${reg.registration_access_token}` } });
    assert.equal(del.status, 204);
    const gone = await fetch(reg.registration_client_uri, { headers: { authorization: `Bearer ${reg.registration_access_token}` } });
    assert.equal(gone.status, 401);

    const counts = await json(await fetch(`${world.admin}/counts`));
    assert.equal(counts.issuers.idp.registration, 1);
    assert.equal(counts.issuers.idp.token.authorization_code, 1);
    assert.equal(counts.issuers.idp.token.refresh_token, 2);
    assert.equal(counts.issuers.idp.revocation, 1);
    server.close();
    console.log('world smoke: ok', JSON.stringify(counts));
  } finally {
    child.kill();
  }
}

main().catch((e) => {
  console.error('world smoke: FAILED', e);
  process.exit(1);
});
