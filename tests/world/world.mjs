#!/usr/bin/env node
// The test world: one or more OpenID providers (oidc-provider 9.x), one or more MCP servers on the
// official TypeScript SDK protected by them, faulty variants for negative tests, and an admin API.
//
//   node tests/world/world.mjs [--config '<json>' | --config path/to/config.json]
//
// Starts on free 127.0.0.1 ports (or the ports the config names), prints ONE JSON line on stdout
// describing everything (see `describe()`), then serves until killed. Logs go to stderr.
// Config format: see README.md in this folder.

import http from 'node:http';
import https from 'node:https';
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';

import Provider, { errors as oidcErrors } from 'oidc-provider';
import * as jose from 'jose';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { SUPPORTED_PROTOCOL_VERSIONS as V1_VERSIONS } from '@modelcontextprotocol/sdk/types.js';
// SDK v2: the 2026-07-28 revision (`server/discover`, per-request `_meta`, no `initialize`).
import { McpServer as McpServerV2, createMcpHandler } from '@modelcontextprotocol/server';
import { z } from 'zod';

import { Registry, normalizeRegistries } from './registry.mjs';
import { ResourceDpop, issuerDpop } from './dpop.mjs';
import { machineClientKeys, registerWorkloadGrant, sha16, workloadAudience } from './machine.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
let HOST = '127.0.0.1';
// HTTPS mode (config `tls`): issuers and the gateway serve TLS with the given certificate under a
// host name of the test's choosing (one a proxy can resolve: proxies never see loopback URLs,
// Lanyard sends those directly); the admin API stays plain HTTP on HOST.
let TLS = null;

// The public origin of a server of the world on `port` (issuer, gateway).
function origin(port) {
  return TLS ? `https://${TLS.host}:${port}` : `http://${HOST}:${port}`;
}

// A server for the world's public endpoints: HTTPS in TLS mode, HTTP otherwise.
function publicServer(handler) {
  return TLS ? https.createServer({ cert: TLS.cert, key: TLS.key }, handler) : http.createServer(handler);
}

const KEYCLOAK_TRUSTED_HOSTS_403 = {
  error: 'insufficient_scope',
  error_description:
    "Policy 'Trusted Hosts' rejected request to client-registration service. Details: Host not trusted.",
};

// oidc-provider's notices (console.info, e.g. on the first device flow page) go to stderr: stdout
// carries only the one JSON line, and the harness stops reading it after that (EPIPE otherwise).
console.info = console.error;

function log(...args) {
  process.stderr.write(`[world] ${args.join(' ')}\n`);
}

// ---------------------------------------------------------------------------------------------
// Configuration

function readConfig(argv) {
  let raw = '{}';
  const i = argv.indexOf('--config');
  if (i !== -1 && argv[i + 1] !== undefined) {
    const v = argv[i + 1];
    raw = v.trim().startsWith('{') ? v : fs.readFileSync(v, 'utf8');
  } else if (process.env.WORLD_CONFIG) {
    raw = process.env.WORLD_CONFIG;
  }
  return normalizeConfig(JSON.parse(raw));
}

// Which official TypeScript SDK serves an MCP server: "v1" (@modelcontextprotocol/sdk, 2025-06-18 /
// 2025-11-25 with `initialize`) or "v2" (@modelcontextprotocol/server, 2026-07-28 only: the 2025
// handshake is refused).
function sdkOf(name, sdk) {
  const v = sdk ?? 'v1';
  if (v !== 'v1' && v !== 'v2') throw new Error(`mcp server ${name}: sdk must be "v1" or "v2", not ${v}`);
  return v;
}

function normalizeConfig(c) {
  const issuers = (c.issuers ?? [{ name: 'idp' }]).map((i, n) => ({
    name: i.name ?? `idp${n}`,
    port: i.port ?? 0,
    path: i.path ?? '',
    dcr: i.dcr ?? 'open', // open | forbidden | absent
    registrationManagement: i.registrationManagement ?? true,
    rotateRegistrationToken: i.rotateRegistrationToken ?? false,
    revocation: i.revocation ?? true,
    introspection: i.introspection ?? true,
    resourceIndicators: i.resourceIndicators ?? true,
    accessTokenTtl: i.accessTokenTtl ?? 300,
    refreshTokenTtl: i.refreshTokenTtl ?? 1800,
    rotateRefreshToken: i.rotateRefreshToken ?? true,
    clients: (i.clients ?? []).map((cl) => ({
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      redirect_uris: ['http://127.0.0.1/callback', 'http://localhost/callback'],
      ...cl,
    })),
    // Pre-registered clients accept any loopback redirect path (and port) unless this is false.
    lenientLoopbackPaths: i.lenientLoopbackPaths ?? true,
    rfc8414: i.rfc8414 ?? false, // also serve /.well-known/oauth-authorization-server[/path]
    // issuer-mismatch | no-s256 | refuse-basic (token and device authorization endpoints answer
    // a client authenticated by HTTP Basic `invalid_client`, as an AS taking only the form
    // does) | refuse-basic-at-token (the token endpoint only) | machine-only (the metadata of an
    // AS for machine clients only: no authorization_endpoint, code_challenge_methods_supported
    // or code response type, only grants without the authorization endpoint — RFC 8414 §2)
    faults: i.faults ?? [],
    scopes: i.scopes ?? ['openid', 'offline_access', 'profile', 'email'],
    // RFC 8628 device grant: off by default; `true` or `{ interval: seconds, slowDown: n }` (the
    // interval the device authorization answer names, and how many pending polls are answered
    // `slow_down` instead — oidc-provider itself never sends it).
    deviceFlow: i.deviceFlow
      ? { interval: i.deviceFlow.interval ?? null, slowDown: i.deviceFlow.slowDown ?? 0 }
      : null,
    dpop: i.dpop ?? null, // { nonce }: see dpop.mjs
    // Machine clients (see machine.mjs): the client credentials grant, and the names of the
    // issuers of this world whose tokens it takes as workload identities (RFC 7523 JWT-bearer).
    clientCredentials: i.clientCredentials ?? false,
    workloadIssuers: i.workloadIssuers ?? [],
  }));
  const names = new Set(issuers.map((i) => i.name));
  const mcpServers = (c.mcpServers ?? [{ name: 'demo' }]).map((m, n) => {
    const name = m.name ?? `mcp${n}`;
    const issuer = m.issuer ?? issuers[0].name;
    if (!names.has(issuer)) throw new Error(`mcp server ${name}: unknown issuer ${issuer}`);
    return {
      name,
      issuer,
      path: m.path ?? `/${name}/mcp`,
      scopes: m.scopes ?? ['mcp:tools'],
      challengeScope: m.challengeScope ?? true,
      challengeMetadata: m.challengeMetadata ?? true,
      faults: m.faults ?? [], // prm-resource-mismatch | broken-after-auth
      sdk: sdkOf(name, m.sdk),
      tokenHeader: (m.tokenHeader ?? 'authorization').toLowerCase(), // where the bearer token is read
      dpop: m.dpop ?? null, // { nonce, required }: DPoP-bound tokens only, see dpop.mjs
    };
  });
  return {
    stateDir: c.stateDir ?? null,
    adminPort: c.adminPort ?? 0,
    gatewayPort: c.gatewayPort ?? 0,
    tls: c.tls ?? null, // { cert, key, ca: PEM paths, host: name in URLs, bind: listen address }
    issuers,
    mcpServers,
    registries: normalizeRegistries(c.registries, mcpServers, names),
  };
}

// ---------------------------------------------------------------------------------------------
// Storage: one store per issuer, an in-memory map, mirrored to <stateDir>/<issuer>.store.json
// when a state dir is configured, so a restarted issuer (or world) keeps its clients and grants.

class Store {
  constructor(file) {
    this.file = file;
    this.data = {};
    if (file && fs.existsSync(file)) {
      try {
        this.data = JSON.parse(fs.readFileSync(file, 'utf8'));
      } catch (e) {
        log(`ignoring unreadable store ${file}: ${e.message}`);
      }
    }
  }

  save() {
    if (!this.file) return;
    const tmp = `${this.file}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(this.data));
    fs.renameSync(tmp, this.file);
  }

  model(name) {
    this.data[name] ??= {};
    return this.data[name];
  }

  adapterClass() {
    const store = this;
    return class FileAdapter {
      constructor(name) {
        this.name = name;
      }

      live(entry) {
        if (!entry) return undefined;
        if (entry.expiresAt && entry.expiresAt < Date.now()) return undefined;
        return entry;
      }

      async upsert(id, payload, expiresIn) {
        store.model(this.name)[id] = {
          payload,
          expiresAt: expiresIn ? Date.now() + expiresIn * 1000 : null,
        };
        store.save();
      }

      async find(id) {
        return this.live(store.model(this.name)[id])?.payload;
      }

      async findByUserCode(userCode) {
        return Object.values(store.model(this.name)).map((e) => this.live(e)?.payload)
          .find((p) => p?.userCode === userCode);
      }

      async findByUid(uid) {
        return Object.values(store.model(this.name)).map((e) => this.live(e)?.payload)
          .find((p) => p?.uid === uid);
      }

      async consume(id) {
        const e = store.model(this.name)[id];
        if (e) {
          e.payload.consumed = Math.floor(Date.now() / 1000);
          store.save();
        }
      }

      async destroy(id) {
        delete store.model(this.name)[id];
        store.save();
      }

      async revokeByGrantId(grantId) {
        for (const model of Object.values(store.data)) {
          for (const [id, e] of Object.entries(model)) {
            if (e.payload?.grantId === grantId) delete model[id];
          }
        }
        store.save();
      }
    };
  }
}

async function loadKeys(stateDir, name) {
  const file = stateDir ? path.join(stateDir, `${name}.keys.json`) : null;
  if (file && fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8'));
  const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
  const jwk = await jose.exportJWK(privateKey);
  jwk.kid = `${name}-${crypto.randomBytes(6).toString('hex')}`;
  jwk.alg = 'RS256';
  jwk.use = 'sig';
  const jwks = { keys: [jwk] };
  if (file) fs.writeFileSync(file, JSON.stringify(jwks));
  return jwks;
}

// ---------------------------------------------------------------------------------------------
// Request log (the admin API's counters are computed from it)

class RequestLog {
  constructor() {
    this.entries = [];
  }

  // Returns the stored entry (fields added to it later show in the log).
  add(e) {
    const stored = { at: Date.now(), ...e };
    this.entries.push(stored);
    return stored;
  }

  reset() {
    this.entries = [];
  }
}

// ---------------------------------------------------------------------------------------------
// Free ports and servers

function listen(server, port) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, HOST, () => {
      server.off('error', reject);
      resolve(server.address().port);
    });
  });
}

async function freePort() {
  const s = http.createServer();
  const port = await listen(s, 0);
  await new Promise((r) => s.close(r));
  return port;
}

function sendJson(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(text);
}

async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

// ---------------------------------------------------------------------------------------------
// Issuers

class Issuer {
  constructor(cfg, world) {
    this.cfg = cfg;
    this.world = world;
    this.log = new RequestLog();
    this.server = null;
    this.running = false;
  }

  get base() {
    return origin(this.port);
  }

  get issuer() {
    return `${this.base}${this.cfg.path}`;
  }

  get registrationEndpoint() {
    return `${this.issuer}/reg`;
  }

  // Resources (MCP servers) this issuer mints tokens for.
  // What this issuer mints tokens for: its MCP servers and the registries it protects.
  resources() {
    return [...this.world.mcp, ...this.world.registries].filter((m) => m.cfg.issuer === this.cfg.name);
  }

  async init() {
    const { cfg } = this;
    this.port = cfg.port || (await freePort());
    const file = this.world.cfg.stateDir
      ? path.join(this.world.cfg.stateDir, `${cfg.name}.store.json`)
      : null;
    this.store = new Store(file);
    this.jwks = await loadKeys(this.world.cfg.stateDir, cfg.name);
    await machineClientKeys(cfg.clients);
    this.provider = this.buildProvider();
  }

  buildProvider() {
    const { cfg } = this;
    const issuer = this;
    const rotate = cfg.rotateRefreshToken;
    const provider = new Provider(this.issuer, {
      adapter: this.store.adapterClass(),
      jwks: this.jwks,
      clients: cfg.clients,
      cookies: { keys: ['lanyard-test-world-cookie-key'] },
      // The MCP servers' scopes are known scopes too, so a client may name them when it
      // registers (mcp-remote does; Keycloak accepts realm scopes there).
      scopes: [...new Set([...cfg.scopes, ...this.resources().flatMap((m) => m.cfg.scopes)])],
      pkce: { required: () => true },
      ttl: {
        AccessToken: cfg.accessTokenTtl,
        RefreshToken: cfg.refreshTokenTtl,
        Grant: 14 * 24 * 3600,
        Session: 14 * 24 * 3600,
        Interaction: 3600,
        AuthorizationCode: 60,
      },
      // Like Keycloak: a refresh token whenever the client may use the grant, whatever the prompt.
      issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
      rotateRefreshToken: () => rotate,
      features: {
        devInteractions: { enabled: true },
        registration: {
          enabled: cfg.dcr !== 'absent',
          initialAccessToken: false,
        },
        registrationManagement: {
          enabled: cfg.dcr !== 'absent' && cfg.registrationManagement === true,
          rotateRegistrationAccessToken: cfg.rotateRegistrationToken,
        },
        revocation: { enabled: cfg.revocation },
        clientCredentials: { enabled: cfg.clientCredentials },
        deviceFlow: { enabled: Boolean(cfg.deviceFlow) },
        dPoP: issuerDpop(cfg.dpop),
        introspection: { enabled: cfg.introspection },
        resourceIndicators: {
          enabled: cfg.resourceIndicators,
          defaultResource: async () => undefined,
          useGrantedResource: async () => true,
          getResourceServerInfo: async (_ctx, resourceIndicator) => {
            const workload = workloadAudience(issuer, resourceIndicator);
            if (workload) return workload;
            const m = issuer.resources().find((r) => r.resource === resourceIndicator);
            if (!m) throw new oidcErrors.InvalidTarget(`unknown resource ${resourceIndicator}`);
            return {
              scope: m.cfg.scopes.join(' '),
              audience: m.resource,
              accessTokenTTL: cfg.accessTokenTtl,
              accessTokenFormat: 'jwt',
              jwt: { sign: { alg: 'RS256' } },
            };
          },
        },
      },
    });
    provider.proxy = false;
    if (cfg.workloadIssuers.length) registerWorkloadGrant(issuer, provider);

    if (cfg.lenientLoopbackPaths) {
      const lenient = new Set(cfg.clients.map((c) => c.client_id));
      const original = provider.Client.prototype.redirectUriAllowed;
      provider.Client.prototype.redirectUriAllowed = function redirectUriAllowed(value) {
        if (lenient.has(this.clientId)) {
          try {
            const u = new URL(value);
            if (u.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname)) {
              return true;
            }
          } catch {
            return false;
          }
        }
        return original.call(this, value);
      };
    }

    // Record every request the provider handles; rewrite metadata for the faulty variants.
    let slowDownsLeft = cfg.deviceFlow?.slowDown ?? 0;
    provider.use(async (ctx, next) => {
      await next();
      const route = ctx.oidc?.route ?? 'other';
      const params = ctx.oidc?.params ?? {};
      if (route === 'device_authorization' && ctx.status === 200 && cfg.deviceFlow?.interval) {
        ctx.body = { ...ctx.body, interval: cfg.deviceFlow.interval };
      }
      if (
        route === 'token'
        && params.grant_type === 'urn:ietf:params:oauth:grant-type:device_code'
        && ctx.body?.error === 'authorization_pending'
        && slowDownsLeft > 0
      ) {
        slowDownsLeft -= 1;
        ctx.body = { error: 'slow_down', error_description: 'polling too fast (forced by the test world)' };
      }
      const entry = {
        route,
        method: ctx.method,
        path: ctx.path,
        status: ctx.status,
      };
      if (route === 'token') {
        entry.grant_type = params.grant_type;
        entry.resource = params.resource;
        entry.scope = params.scope;
        entry.client_id = ctx.oidc?.client?.clientId;
        entry.dpop = Boolean(ctx.get('dpop')); // a DPoP proof came with it (RFC 9449 §5)
        entry.token_type = ctx.body?.token_type;
        entry.at = Date.now();
        // Which refresh token was presented (a fingerprint, never the token): two refresh
        // grants with one fingerprint are two refreshes of the same token generation.
        if (typeof params.assertion === 'string') entry.assertion_sha = sha16(params.assertion);
        if (params.grant_type === 'refresh_token' && typeof params.refresh_token === 'string') {
          entry.refresh_token_sha = crypto.createHash('sha256').update(params.refresh_token).digest('hex').slice(0, 16);
        }
        if (ctx.status >= 400 && ctx.body && typeof ctx.body === 'object') entry.error = ctx.body.error;
      }
      if (route === 'authorization') {
        entry.query = ctx.query;
      }
      if (route === 'registration' && ctx.body && typeof ctx.body === 'object') {
        entry.client_id = ctx.body.client_id;
        // RFC 7591 only (no RFC 7592 at all): the registration answer names no management
        // endpoint and no registration access token.
        if (cfg.registrationManagement === 'none' && ctx.method === 'POST') {
          const { registration_client_uri: _u, registration_access_token: _t, ...rest } = ctx.body;
          ctx.body = rest;
        }
      }
      if (route === 'device_authorization') {
        entry.resource = params.resource;
        entry.scope = params.scope;
        entry.client_id = ctx.oidc?.client?.clientId;
      }
      if (route === 'revocation') {
        entry.token_type_hint = params.token_type_hint;
      }
      issuer.log.add(entry);
      if (route === 'discovery' && ctx.body && typeof ctx.body === 'object') {
        if (cfg.faults.includes('issuer-mismatch')) {
          ctx.body = { ...ctx.body, issuer: `${issuer.base}/someone-else` };
        }
        if (cfg.faults.includes('no-s256')) {
          ctx.body = { ...ctx.body, code_challenge_methods_supported: ['plain'] };
        }
        if (cfg.faults.includes('machine-only')) {
          const {
            authorization_endpoint: _a, code_challenge_methods_supported: _c, ...rest
          } = ctx.body;
          const viaBrowser = ['authorization_code', 'implicit'];
          ctx.body = {
            ...rest,
            response_types_supported: [],
            grant_types_supported: (rest.grant_types_supported ?? []).filter((g) => !viaBrowser.includes(g)),
          };
        }
      }
    });
    return provider;
  }

  handler() {
    const callback = this.provider.callback();
    const { cfg } = this;
    return async (req, res) => {
      const url = new URL(req.url, this.base);
      // DCR disabled the way Keycloak's Trusted Hosts policy does it.
      if (cfg.dcr === 'forbidden' && req.method === 'POST' && url.pathname === `${cfg.path}/reg`) {
        await readBody(req);
        this.log.add({ route: 'registration', method: 'POST', path: url.pathname, status: 403 });
        sendJson(res, 403, KEYCLOAK_TRUSTED_HOSTS_403);
        return;
      }
      const refusesBasic = (cfg.faults.includes('refuse-basic') && url.pathname.endsWith('/device/auth'))
        || (cfg.faults.some((f) => f.startsWith('refuse-basic')) && url.pathname.endsWith('/token'));
      if (refusesBasic && req.method === 'POST' && /^basic /i.test(req.headers.authorization ?? '')) {
        await readBody(req);
        const route = url.pathname.endsWith('/token') ? 'token' : 'device_authorization';
        this.log.add({ route, method: 'POST', path: url.pathname, status: 401, error: 'invalid_client', basic: true });
        sendJson(res, 401, { error: 'invalid_client', error_description: 'client authentication by the form only' });
        return;
      }
      // RFC 8414 metadata, when configured, mirrors the OIDC discovery document.
      const rfc8414 = `/.well-known/oauth-authorization-server${cfg.path}`;
      if (cfg.rfc8414 && req.method === 'GET' && url.pathname === rfc8414) {
        const r = await fetch(`${this.issuer}/.well-known/openid-configuration`);
        sendJson(res, r.status, await r.json());
        return;
      }
      if (cfg.path) {
        if (url.pathname !== cfg.path && !url.pathname.startsWith(`${cfg.path}/`)) {
          this.log.add({ route: 'not_found', method: req.method, path: url.pathname, status: 404 });
          sendJson(res, 404, { error: 'not_found' });
          return;
        }
        req.originalUrl = req.url;
        req.url = req.url.slice(cfg.path.length) || '/';
      }
      callback(req, res);
    };
  }

  async start() {
    if (this.running) return;
    this.server = publicServer(this.handler());
    await listen(this.server, this.port);
    this.running = true;
    log(`issuer ${this.cfg.name} at ${this.issuer}`);
  }

  async stop() {
    if (!this.running) return;
    this.running = false;
    const s = this.server;
    await new Promise((r) => {
      s.close(r);
      s.closeAllConnections();
    });
  }

  clients() {
    const out = [];
    for (const [id, e] of Object.entries(this.store.model('Client'))) {
      out.push({ client_id: id, ...e.payload });
    }
    return out;
  }

  deleteClient(id) {
    const existed = Boolean(this.store.model('Client')[id]);
    delete this.store.model('Client')[id];
    // The registration access token goes with it.
    for (const [tid, e] of Object.entries(this.store.model('RegistrationAccessToken'))) {
      if (e.payload?.clientId === id) delete this.store.model('RegistrationAccessToken')[tid];
    }
    this.store.save();
    return existed;
  }

  // Revoke every grant (and so every refresh and opaque access token) this issuer has issued.
  revokeAll() {
    let n = 0;
    for (const model of ['Grant', 'RefreshToken', 'AccessToken', 'AuthorizationCode', 'Session']) {
      n += Object.keys(this.store.model(model)).length;
      this.store.data[model] = {};
    }
    this.store.save();
    return n;
  }

  counts() {
    const c = {
      token: {},
      token_errors: {},
      registration: 0,
      registration_read: 0,
      registration_update: 0,
      registration_delete: 0,
      revocation: 0,
      authorization: 0,
      discovery: 0,
      jwks: 0,
      total: 0,
      routes: {},
    };
    for (const e of this.log.entries) {
      c.total += 1;
      c.routes[e.route] = (c.routes[e.route] ?? 0) + 1;
      switch (e.route) {
        case 'token':
          c.token[e.grant_type ?? 'unknown'] = (c.token[e.grant_type ?? 'unknown'] ?? 0) + 1;
          if (e.error) c.token_errors[e.error] = (c.token_errors[e.error] ?? 0) + 1;
          break;
        case 'registration': if (e.method === 'POST') c.registration += 1; break;
        case 'client': c.registration_read += 1; break;
        case 'client_update': c.registration_update += 1; break;
        case 'client_delete': c.registration_delete += 1; break;
        case 'revocation': c.revocation += 1; break;
        case 'authorization': c.authorization += 1; break;
        case 'discovery': c.discovery += 1; break;
        case 'jwks': c.jwks += 1; break;
        default: break;
      }
    }
    return c;
  }

  describe() {
    return {
      name: this.cfg.name,
      issuer: this.issuer,
      port: this.port,
      running: this.running,
      discovery: `${this.issuer}/.well-known/openid-configuration`,
      authorization_endpoint: `${this.issuer}/auth`,
      token_endpoint: `${this.issuer}/token`,
      registration_endpoint: this.cfg.dcr === 'absent' ? null : this.registrationEndpoint,
      revocation_endpoint: this.cfg.revocation ? `${this.issuer}/token/revocation` : null,
      jwks_uri: `${this.issuer}/jwks`,
      dcr: this.cfg.dcr,
      clients: this.cfg.clients.map((c) => c.client_id),
      faults: this.cfg.faults,
    };
  }
}

// ---------------------------------------------------------------------------------------------
// MCP servers (all on one "gateway" port, each at its own path)

class McpResource {
  constructor(cfg, world) {
    this.cfg = cfg;
    this.world = world;
    this.log = new RequestLog();
    this.dpop = cfg.dpop ? new ResourceDpop(cfg.dpop) : null;
  }

  get issuer() {
    return this.world.issuers.find((i) => i.cfg.name === this.cfg.issuer);
  }

  get resource() {
    return `${this.world.gatewayBase}${this.cfg.path}`;
  }

  get prmUrl() {
    return `${this.world.gatewayBase}/.well-known/oauth-protected-resource${this.cfg.path}`;
  }

  prm() {
    const resource = this.cfg.faults.includes('prm-resource-mismatch')
      ? `${this.world.gatewayBase}/not-this-server/mcp`
      : this.resource;
    return {
      resource,
      authorization_servers: [this.issuer.issuer],
      scopes_supported: this.cfg.scopes,
      bearer_methods_supported: ['header'],
      resource_name: `Test world MCP server ${this.cfg.name}`,
      ...this.dpop?.prm(),
    };
  }

  challenge(extra = '') {
    const parts = ['Bearer realm="mcp"'];
    if (this.cfg.challengeMetadata) parts.push(`resource_metadata="${this.prmUrl}"`);
    if (this.cfg.challengeScope) parts.push(`scope="${this.cfg.scopes.join(' ')}"`);
    if (extra) parts.push(extra);
    return parts.join(', ');
  }

  jwksFor() {
    const iss = this.issuer;
    if (!this.jwksSet || this.jwksIssuer !== iss.issuer) {
      this.jwksSet = jose.createRemoteJWKSet(new URL(`${iss.issuer}/jwks`));
      this.jwksIssuer = iss.issuer;
    }
    return this.jwksSet;
  }

  async authenticate(req) {
    if (this.dpop) return this.dpop.authenticate(req, new URL(req.url, this.world.gatewayBase).href, this);
    const h = req.headers[this.cfg.tokenHeader] ?? '';
    const m = /^Bearer\s+(.+)$/i.exec(h);
    if (!m) return { ok: false, status: 401, why: 'no token', header: this.challenge() };
    try {
      const { payload } = await jose.jwtVerify(m[1], this.jwksFor(), {
        issuer: this.issuer.issuer,
        audience: this.resource,
      });
      const granted = new Set(String(payload.scope ?? '').split(' ').filter(Boolean));
      const missing = this.cfg.scopes.filter((s) => !granted.has(s));
      if (missing.length) {
        return {
          ok: false,
          status: 403,
          why: `missing scope ${missing.join(' ')}`,
          header: this.challenge('error="insufficient_scope"'),
        };
      }
      return { ok: true, payload };
    } catch (e) {
      return {
        ok: false,
        status: 401,
        why: `invalid token: ${e.code ?? e.message}`,
        header: this.challenge(`error="invalid_token", error_description="${String(e.code ?? 'invalid').replace(/"/g, '')}"`),
      };
    }
  }

  buildServer() {
    const server = new McpServer({ name: `lanyard-test-world-${this.cfg.name}`, version: '1.0.0' });
    server.registerTool(
      'echo',
      {
        description: 'Echoes the given text back.',
        inputSchema: { text: z.string().optional() },
      },
      async ({ text }) => ({ content: [{ type: 'text', text: text ?? '' }] }),
    );
    return server;
  }

  // SDK v2, modern-only: one handler for the server's lifetime, a fresh McpServer per request.
  // `legacy: 'reject'` answers the 2025 lifecycle (`initialize`, claim-less requests) with the
  // unsupported-protocol-version error instead of serving it statelessly.
  v2Handler() {
    this.v2 ??= createMcpHandler(
      () => {
        const server = new McpServerV2({ name: `lanyard-test-world-${this.cfg.name}`, version: '1.0.0' });
        server.registerTool(
          'echo',
          {
            description: 'Echoes the given text back.',
            inputSchema: { text: z.string().optional() },
          },
          async ({ text }) => ({ content: [{ type: 'text', text: text ?? '' }] }),
        );
        return server;
      },
      {
        legacy: 'reject',
        onerror: (e) => log(`mcp ${this.cfg.name} (sdk v2): ${e.message}`),
      },
    );
    return this.v2;
  }

  // Serves one request with the v2 handler (web-standard Request/Response) on node:http.
  async handleV2(req, res, raw, payload) {
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) {
      if (Array.isArray(v)) v.forEach((x) => headers.append(k, x));
      else if (v !== undefined) headers.set(k, v);
    }
    const hasBody = !['GET', 'HEAD'].includes(req.method);
    const request = new Request(`${this.world.gatewayBase}${req.url}`, {
      method: req.method,
      headers,
      body: hasBody ? raw : undefined,
    });
    const authInfo = {
      token: /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? '',
      clientId: String(payload.client_id ?? ''),
      scopes: String(payload.scope ?? '').split(' ').filter(Boolean),
      expiresAt: payload.exp,
      resource: new URL(this.resource),
    };
    const response = await this.v2Handler().fetch(request, { authInfo });
    res.writeHead(response.status, Object.fromEntries(response.headers.entries()));
    if (!response.body) {
      res.end();
      return;
    }
    const reader = response.body.getReader();
    res.on('close', () => reader.cancel().catch(() => {}));
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      res.write(value);
    }
    res.end();
  }

  async handle(req, res) {
    const raw = await readBody(req);
    let body;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = undefined;
    }
    const messages = Array.isArray(body) ? body : [body];
    const methods = messages.map((b) => b?.method);
    const auth = await this.authenticate(req);
    const entry = { method: req.method, rpc: methods.filter(Boolean), status: auth.ok ? 200 : auth.status };
    // What the client said about the protocol: the headers, and the per-request `_meta` version
    // (2026-07-28); `answer` is the HTTP status the MCP server itself gave (set when it is sent).
    const h = (name) => req.headers[name] ?? null;
    entry.protocol_version = h('mcp-protocol-version');
    entry.mcp_method = h('mcp-method');
    entry.mcp_name = h('mcp-name');
    entry.session = h('mcp-session-id');
    entry.meta_versions = messages
      .map((b) => b?.params?._meta?.['io.modelcontextprotocol/protocolVersion'])
      .filter(Boolean);
    entry.meta_clients = messages
      .map((b) => b?.params?._meta?.['io.modelcontextprotocol/clientInfo']?.name)
      .filter(Boolean);
    if (!auth.ok) {
      entry.why = auth.why;
      this.log.add(entry);
      sendJson(res, auth.status, { error: auth.status === 401 ? 'unauthorized' : 'insufficient_scope', error_description: auth.why }, {
        'www-authenticate': auth.header,
        ...auth.extraHeaders,
      });
      return;
    }
    entry.sub = auth.payload.sub;
    entry.client_id = auth.payload.client_id;
    if (auth.jkt) entry.jkt = auth.jkt; // the key the DPoP-bound token is bound to
    const stored = this.log.add(entry);
    res.on('finish', () => {
      stored.answer = res.statusCode;
    });
    if (req.method !== 'POST') {
      sendJson(res, 405, { jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed.' }, id: null }, { allow: 'POST' });
      return;
    }
    if (this.cfg.faults.includes('broken-after-auth')) {
      // A server that signs in fine and then fails every call (a backend down behind the gateway).
      sendJson(res, 500, { jsonrpc: '2.0', error: { code: -32603, message: 'backend unavailable' }, id: null });
      return;
    }
    if (this.cfg.sdk === 'v2') {
      await this.handleV2(req, res, raw, auth.payload);
      return;
    }
    const server = this.buildServer();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      transport.close().catch(() => {});
      server.close().catch(() => {});
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  }

  counts() {
    const c = {
      requests: 0,
      authorized: 0,
      unauthorized: 0,
      forbidden: 0,
      prm: 0,
      rpc: {},
      protocol_versions: {},
    };
    for (const e of this.log.entries) {
      if (e.prm) {
        c.prm += 1;
        continue;
      }
      c.requests += 1;
      if (e.status === 401) c.unauthorized += 1;
      else if (e.status === 403) c.forbidden += 1;
      else c.authorized += 1;
      for (const m of e.rpc) c.rpc[m] = (c.rpc[m] ?? 0) + 1;
      const v = e.protocol_version ?? 'none';
      c.protocol_versions[v] = (c.protocol_versions[v] ?? 0) + 1;
    }
    return c;
  }

  describe() {
    return {
      name: this.cfg.name,
      url: this.resource,
      resource: this.resource,
      resource_metadata: this.prmUrl,
      issuer: this.issuer.issuer,
      issuer_name: this.cfg.issuer,
      scopes: this.cfg.scopes,
      faults: this.cfg.faults,
      sdk: this.cfg.sdk,
      // What the server serves: v2 is modern-only (`legacy: 'reject'`).
      protocol_versions: this.cfg.sdk === 'v2' ? ['2026-07-28'] : [...V1_VERSIONS],
    };
  }
}

// ---------------------------------------------------------------------------------------------
// The world

class World {
  constructor(cfg) {
    this.cfg = cfg;
    this.issuers = cfg.issuers.map((i) => new Issuer(i, this));
    this.mcp = cfg.mcpServers.map((m) => new McpResource(m, this));
    const helpers = { publicServer, origin, listen, sendJson, RequestLog, jose };
    this.registries = cfg.registries.map((r) => new Registry(r, this, helpers));
  }

  get gatewayBase() {
    return origin(this.gatewayPort);
  }

  async start() {
    if (this.cfg.stateDir) fs.mkdirSync(this.cfg.stateDir, { recursive: true });
    this.gatewayPort = this.cfg.gatewayPort || (await freePort());
    for (const r of this.registries) await r.start();
    for (const i of this.issuers) await i.init();
    for (const i of this.issuers) await i.start();
    this.gateway = publicServer((req, res) => this.gatewayHandler(req, res).catch((e) => {
      log(`gateway error: ${e.stack}`);
      if (!res.headersSent) sendJson(res, 500, { error: 'server_error' });
    }));
    await listen(this.gateway, this.gatewayPort);
    this.admin = http.createServer((req, res) => this.adminHandler(req, res).catch((e) => {
      log(`admin error: ${e.stack}`);
      if (!res.headersSent) sendJson(res, 500, { error: String(e.message) });
    }));
    this.adminPort = await listen(this.admin, this.cfg.adminPort);
  }

  async gatewayHandler(req, res) {
    const url = new URL(req.url, this.gatewayBase);
    const wk = '/.well-known/oauth-protected-resource';
    if (url.pathname === wk || url.pathname.startsWith(`${wk}/`)) {
      const rest = url.pathname.slice(wk.length);
      // Path-aware first; the root document describes the first server.
      const m = rest ? this.mcp.find((x) => x.cfg.path === rest) : this.mcp[0];
      if (!m) {
        sendJson(res, 404, { error: 'not_found' });
        return;
      }
      m.log.add({ method: req.method, rpc: [], status: 200, prm: true });
      sendJson(res, 200, m.prm());
      return;
    }
    const m = this.mcp.find((x) => x.cfg.path === url.pathname);
    if (!m) {
      sendJson(res, 404, { error: 'not_found' });
      return;
    }
    await m.handle(req, res);
  }

  describe() {
    return {
      admin: `http://${HOST}:${this.adminPort}`,
      gateway: this.gatewayBase,
      browser: path.join(HERE, 'browser.mjs'),
      pid: process.pid,
      stateDir: this.cfg.stateDir,
      issuers: Object.fromEntries(this.issuers.map((i) => [i.cfg.name, i.describe()])),
      mcpServers: Object.fromEntries(this.mcp.map((m) => [m.cfg.name, m.describe()])),
      registries: Object.fromEntries(this.registries.map((r) => [r.cfg.name, r.describe()])),
    };
  }

  counts() {
    return {
      issuers: Object.fromEntries(this.issuers.map((i) => [i.cfg.name, i.counts()])),
      mcpServers: Object.fromEntries(this.mcp.map((m) => [m.cfg.name, m.counts()])),
    };
  }

  // Admin API, JSON over plain HTTP:
  //   GET  /                         describe()
  //   GET  /counts                   request counters (see counts())
  //   GET  /log                      the raw request logs
  //   POST /reset                    zero every counter
  //   POST /issuers/NAME/stop|start|restart
  //   GET  /issuers/NAME/clients     the dynamically registered and static clients in the store
  //   POST /issuers/NAME/clients/ID/delete   delete a client behind the client's back (an admin prune)
  //   POST /issuers/NAME/revoke-all  revoke every grant, refresh token and opaque access token
  //   POST /registries/NAME/servers  {"servers": [...]}: the MCP servers registry NAME lists from now on
  //   POST /shutdown                 exit the process
  async adminHandler(req, res) {
    const url = new URL(req.url, `http://${HOST}`);
    const parts = url.pathname.split('/').filter(Boolean);
    if (req.method === 'GET' && parts.length === 0) return sendJson(res, 200, this.describe());
    if (req.method === 'GET' && url.pathname === '/counts') return sendJson(res, 200, this.counts());
    if (req.method === 'GET' && url.pathname === '/log') {
      return sendJson(res, 200, {
        issuers: Object.fromEntries(this.issuers.map((i) => [i.cfg.name, i.log.entries])),
        mcpServers: Object.fromEntries(this.mcp.map((m) => [m.cfg.name, m.log.entries])),
        registries: Object.fromEntries(this.registries.map((r) => [r.cfg.name, r.log.entries])),
      });
    }
    if (req.method === 'POST' && url.pathname === '/reset') {
      for (const x of [...this.issuers, ...this.mcp, ...this.registries]) x.log.reset();
      return sendJson(res, 200, { ok: true });
    }
    if (req.method === 'POST' && url.pathname === '/shutdown') {
      sendJson(res, 200, { ok: true });
      setTimeout(() => process.exit(0), 10);
      return undefined;
    }
    if (req.method === 'POST' && parts[0] === 'registries' && parts[2] === 'servers') {
      const reg = this.registries.find((r) => r.cfg.name === parts[1]);
      if (!reg) return sendJson(res, 404, { error: `no registry ${parts[1]}` });
      const body = JSON.parse((await readBody(req)) || '{}');
      return sendJson(res, 200, reg.setServers(body.servers ?? []));
    }
    if (parts[0] === 'issuers' && parts[1]) {
      const iss = this.issuers.find((i) => i.cfg.name === parts[1]);
      if (!iss) return sendJson(res, 404, { error: `no issuer ${parts[1]}` });
      const action = parts.slice(2).join('/');
      if (req.method === 'POST' && action === 'stop') {
        await iss.stop();
        return sendJson(res, 200, iss.describe());
      }
      if (req.method === 'POST' && action === 'start') {
        await iss.start();
        return sendJson(res, 200, iss.describe());
      }
      if (req.method === 'POST' && action === 'restart') {
        await iss.stop();
        await iss.start();
        return sendJson(res, 200, iss.describe());
      }
      if (req.method === 'GET' && action === 'clients') return sendJson(res, 200, iss.clients());
      if (req.method === 'POST' && parts[2] === 'clients' && parts[4] === 'delete') {
        return sendJson(res, 200, { deleted: iss.deleteClient(decodeURIComponent(parts[3])) });
      }
      if (req.method === 'POST' && action === 'revoke-all') {
        return sendJson(res, 200, { revoked: iss.revokeAll() });
      }
    }
    return sendJson(res, 404, { error: 'unknown admin route' });
  }
}

async function main() {
  const cfg = readConfig(process.argv.slice(2));
  if (cfg.tls) {
    TLS = {
      cert: fs.readFileSync(cfg.tls.cert),
      key: fs.readFileSync(cfg.tls.key),
      host: cfg.tls.host ?? HOST,
    };
    HOST = cfg.tls.bind ?? HOST;
  }
  const world = new World(cfg);
  await world.start();
  process.stdout.write(`${JSON.stringify(world.describe())}\n`);
  const bye = () => process.exit(0);
  process.on('SIGTERM', bye);
  process.on('SIGINT', bye);
  // Die with the parent: when stdin is a pipe and closes, the test that started us is gone.
  if (process.env.WORLD_EXIT_ON_STDIN_EOF === '1') {
    process.stdin.on('end', bye);
    process.stdin.on('close', bye);
    process.stdin.resume();
  }
}

main().catch((e) => {
  process.stderr.write(`[world] failed to start: ${e.stack ?? e}\n`);
  process.exit(1);
});
