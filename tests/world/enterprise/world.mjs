#!/usr/bin/env node
// The enterprise test world (enterprise-managed authorization, SEP-990 / ID-JAG):
//
// - a company IdP: oidc-provider (the world's pinned 9.x) with OpenID Connect sign-in, DCR,
//   refresh tokens, RFC 7009 revocation, and the RFC 8693 token exchange that issues ID-JAGs
//   (`registerGrantType`), signed with the provider's own keys (its JWKS is what the
//   authorization servers trust);
// - one authorization server per enterprise MCP server, each its own oidc-provider that takes
//   the RFC 7523 JWT bearer grant (`registerGrantType`): the ID-JAG's signature is checked
//   against the IdP's JWKS, its typ, iss, aud (this issuer), exp, resource (this server) and
//   client_id (the authenticated client); access tokens are the provider's own JWTs;
// - MCP servers on the official TypeScript SDK (stateless Streamable HTTP, tool `echo`), each
//   behind its authorization server; one more ("plain") behind the IdP itself, whose metadata
//   lists no JWT bearer grant — a server that must be signed in to the normal way;
// - an admin API: GET / (the JSON line), GET /log, POST /issuers/NAME/revoke-all.
//
//   node tests/world/enterprise/world.mjs [--config '<json>']
//
// Config (every field optional):
//   { "idTokenTtl": 3600, "accessTokenTtl": 300, "idpRefreshTokenTtl": 1800,
//     "servers": ["alpha", "beta"] }   // the enterprise MCP servers, each with its own AS
// Prints ONE JSON line on stdout, then serves until killed (or its stdin closes when
// WORLD_EXIT_ON_STDIN_EOF=1). Loopback only.

import http from 'node:http';
import crypto from 'node:crypto';

import Provider, { errors as oidcErrors } from 'oidc-provider';
import * as jose from 'jose';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

const HOST = '127.0.0.1';
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const ID_JAG = 'urn:ietf:params:oauth:token-type:id-jag';
const ID_TOKEN = 'urn:ietf:params:oauth:token-type:id_token';
// The client Lanyard has at every enterprise authorization server: the IdP names it in the
// ID-JAGs it issues for them (the IdP keeps that mapping, as the draft's §6 describes).
const XAA_CLIENT = 'lanyard-xaa';

console.info = console.error;
const log = (...a) => process.stderr.write(`[enterprise] ${a.join(' ')}\n`);

function readConfig() {
  const i = process.argv.indexOf('--config');
  const raw = i !== -1 ? process.argv[i + 1] : process.env.WORLD_CONFIG ?? '{}';
  const c = JSON.parse(raw || '{}');
  return {
    idTokenTtl: c.idTokenTtl ?? 3600,
    accessTokenTtl: c.accessTokenTtl ?? 300,
    idpRefreshTokenTtl: c.idpRefreshTokenTtl ?? 1800,
    servers: c.servers ?? ['alpha', 'beta'],
  };
}

function listen(server, port = 0) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, HOST, () => resolve(server.address().port));
  });
}

async function freePort() {
  const s = http.createServer();
  const p = await listen(s);
  await new Promise((r) => s.close(r));
  return p;
}

async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(res, status, body, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

async function keys(name) {
  const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
  const jwk = await jose.exportJWK(privateKey);
  Object.assign(jwk, { kid: `${name}-${crypto.randomBytes(4).toString('hex')}`, alg: 'RS256', use: 'sig' });
  const { d, p, q, dp, dq, qi, ...pub } = jwk;
  return { jwks: { keys: [jwk] }, publicJwks: { keys: [pub] }, signingKey: await jose.importJWK(jwk, 'RS256'), kid: jwk.kid };
}

// Accounts: any login name is a user `name@corp.example`.
const findAccount = async (_ctx, id) => ({
  accountId: id,
  claims: async () => ({ sub: id, email: `${id}@corp.example`, email_verified: true }),
});

// Every token request of a provider, for the admin API's log.
function recordTokens(provider, name, entries) {
  provider.use(async (ctx, next) => {
    await next();
    const route = ctx.oidc?.route;
    if (!['token', 'revocation', 'authorization', 'registration'].includes(route)) return;
    const params = ctx.oidc?.params ?? {};
    const e = { issuer: name, route, status: ctx.status, at: Date.now() };
    if (route === 'token') {
      e.grant_type = params.grant_type;
      e.client_id = ctx.oidc?.client?.clientId;
      e.audience = params.audience;
      e.resource = params.resource;
      e.requested_token_type = params.requested_token_type;
      if (ctx.status >= 400 && ctx.body && typeof ctx.body === 'object') {
        e.error = ctx.body.error;
        e.error_description = ctx.body.error_description;
      }
    }
    if (route === 'revocation') e.token_type_hint = params.token_type_hint;
    entries.push(e);
  });
}

// ---------------------------------------------------------------------------------------------

class Idp {
  constructor(cfg, world) {
    this.cfg = cfg;
    this.world = world;
    // Per account: ID tokens issued before this instant are refused (revoke-all).
    this.revokedBefore = new Map();
  }

  async init() {
    this.port = await freePort();
    this.issuer = `http://${HOST}:${this.port}`;
    this.keys = await keys('idp');
    const idp = this;
    const provider = new Provider(this.issuer, {
      jwks: this.keys.jwks,
      findAccount,
      claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: [] },
      conformIdTokenClaims: false,
      cookies: { keys: ['lanyard-enterprise-world'] },
      scopes: ['openid', 'offline_access', 'email', 'profile', 'mcp:tools'],
      pkce: { required: () => true },
      ttl: {
        IdToken: this.cfg.idTokenTtl,
        AccessToken: this.cfg.accessTokenTtl,
        RefreshToken: this.cfg.idpRefreshTokenTtl,
        Grant: 14 * 24 * 3600,
        Session: 14 * 24 * 3600,
        Interaction: 3600,
        AuthorizationCode: 60,
      },
      issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
      rotateRefreshToken: () => true,
      features: {
        devInteractions: { enabled: true },
        registration: { enabled: true, initialAccessToken: false },
        registrationManagement: { enabled: true },
        revocation: { enabled: true },
        // The "plain" MCP server's tokens (a gateway whose AS is the IdP itself).
        resourceIndicators: {
          enabled: true,
          defaultResource: async () => undefined,
          useGrantedResource: async () => true,
          getResourceServerInfo: async (_ctx, resource) => {
            if (resource !== idp.world.plain.resource) throw new oidcErrors.InvalidTarget(`unknown resource ${resource}`);
            return { scope: 'mcp:tools', audience: resource, accessTokenTTL: idp.cfg.accessTokenTtl, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } };
          },
        },
      },
    });
    provider.proxy = false;
    // Any loopback redirect (RFC 8252 §7.3: the port varies) for every client.
    const original = provider.Client.prototype.redirectUriAllowed;
    provider.Client.prototype.redirectUriAllowed = function redirectUriAllowed(value) {
      try {
        const u = new URL(value);
        if (u.protocol === 'http:' && ['127.0.0.1', 'localhost'].includes(u.hostname)) return true;
      } catch {
        return false;
      }
      return original.call(this, value);
    };
    provider.registerGrantType(
      TOKEN_EXCHANGE,
      (ctx) => idp.tokenExchange(ctx),
      ['audience', 'resource', 'scope', 'subject_token', 'subject_token_type', 'requested_token_type', 'actor_token', 'actor_token_type'],
    );
    recordTokens(provider, 'idp', this.world.entries);
    this.provider = provider;
  }

  refuse(ctx, error, description) {
    ctx.status = 400;
    ctx.body = { error, error_description: description };
  }

  // RFC 8693 with the ID-JAG profile: the subject token must be an ID token this IdP issued to
  // the authenticated client; the audience one of the authorization servers that trust it.
  async tokenExchange(ctx) {
    const p = ctx.oidc.params;
    const client = ctx.oidc.client;
    if (p.requested_token_type !== ID_JAG) return this.refuse(ctx, 'invalid_request', `requested_token_type must be ${ID_JAG}`);
    if (p.subject_token_type !== ID_TOKEN) return this.refuse(ctx, 'invalid_request', `subject_token_type must be ${ID_TOKEN}`);
    if (!p.subject_token || !p.audience) return this.refuse(ctx, 'invalid_request', 'subject_token and audience are required');
    let claims;
    try {
      ({ payload: claims } = await jose.jwtVerify(p.subject_token, jose.createLocalJWKSet(this.keys.publicJwks), {
        issuer: this.issuer,
        audience: client.clientId,
      }));
    } catch (e) {
      return this.refuse(ctx, 'invalid_grant', `subject_token: ${e.code ?? e.message}`);
    }
    const revoked = this.revokedBefore.get(claims.sub);
    if (revoked && claims.iat * 1000 < revoked) return this.refuse(ctx, 'invalid_grant', 'the sign-in was revoked');
    const as = this.world.authServers.find((a) => a.issuer === p.audience);
    if (!as) return this.refuse(ctx, 'invalid_target', `this IdP issues no ID-JAG for ${p.audience}`);
    if (p.resource && p.resource !== as.mcp.resource) return this.refuse(ctx, 'invalid_target', `${p.audience} does not serve ${p.resource}`);
    const scope = (p.scope ?? '').split(' ').filter((s) => as.mcp.scopes.includes(s)).join(' ') || as.mcp.scopes.join(' ');
    const now = Math.floor(Date.now() / 1000);
    const jag = await new jose.SignJWT({
      client_id: XAA_CLIENT,
      resource: as.mcp.resource,
      scope,
      email: claims.email,
      auth_time: claims.auth_time,
    })
      .setProtectedHeader({ alg: 'RS256', typ: 'oauth-id-jag+jwt', kid: this.keys.kid })
      .setIssuer(this.issuer)
      .setSubject(claims.sub)
      .setAudience(as.issuer)
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .setJti(crypto.randomUUID())
      .sign(this.keys.signingKey);
    ctx.body = { access_token: jag, issued_token_type: ID_JAG, token_type: 'N_A', expires_in: 300, scope };
  }
}

// An enterprise authorization server: takes ID-JAGs from the IdP, for its one MCP server.
class AuthServer {
  constructor(name, world) {
    this.name = name;
    this.world = world;
  }

  async init(mcp) {
    this.mcp = mcp;
    this.port = await freePort();
    this.issuer = `http://${HOST}:${this.port}`;
    this.keys = await keys(this.name);
    const as = this;
    const provider = new Provider(this.issuer, {
      jwks: this.keys.jwks,
      findAccount,
      cookies: { keys: [`lanyard-enterprise-${this.name}`] },
      scopes: ['mcp:tools'],
      pkce: { required: () => true },
      clients: [{
        client_id: XAA_CLIENT,
        token_endpoint_auth_method: 'none',
        grant_types: [JWT_BEARER],
        response_types: [],
        redirect_uris: [],
      }],
      ttl: { AccessToken: this.world.cfg.accessTokenTtl, Grant: 3600 },
      features: {
        devInteractions: { enabled: false },
        resourceIndicators: {
          enabled: true,
          defaultResource: async () => as.mcp.resource,
          useGrantedResource: async () => true,
          getResourceServerInfo: async (_ctx, resource) => {
            if (resource !== as.mcp.resource) throw new oidcErrors.InvalidTarget(`unknown resource ${resource}`);
            return as.resourceServer();
          },
        },
      },
    });
    provider.proxy = false;
    provider.registerGrantType(JWT_BEARER, (ctx) => as.jwtBearer(ctx), ['assertion', 'scope', 'resource']);
    recordTokens(provider, this.name, this.world.entries);
    this.provider = provider;
  }

  resourceServer() {
    return {
      scope: this.mcp.scopes.join(' '),
      audience: this.mcp.resource,
      accessTokenTTL: this.world.cfg.accessTokenTtl,
      accessTokenFormat: 'jwt',
      jwt: { sign: { alg: 'RS256' } },
    };
  }

  refuse(ctx, error, description) {
    ctx.status = 400;
    ctx.body = { error, error_description: description };
  }

  // RFC 7523 with the ID-JAG profile (draft-ietf-oauth-identity-assertion-authz-grant §4.4).
  async jwtBearer(ctx) {
    const { assertion } = ctx.oidc.params;
    const client = ctx.oidc.client;
    if (!assertion) return this.refuse(ctx, 'invalid_request', 'assertion is required');
    let header;
    try {
      header = jose.decodeProtectedHeader(assertion);
    } catch {
      return this.refuse(ctx, 'invalid_grant', 'the assertion is not a JWT');
    }
    if (header.typ !== 'oauth-id-jag+jwt') return this.refuse(ctx, 'invalid_grant', `typ ${header.typ} is not oauth-id-jag+jwt`);
    const idp = this.world.idp;
    let claims;
    try {
      ({ payload: claims } = await jose.jwtVerify(assertion, jose.createRemoteJWKSet(new URL(`${idp.issuer}/jwks`)), {
        issuer: idp.issuer,
        audience: this.issuer,
        requiredClaims: ['exp', 'iat', 'jti', 'client_id'],
      }));
    } catch (e) {
      return this.refuse(ctx, 'invalid_grant', `ID-JAG: ${e.code ?? e.message}`);
    }
    if (claims.client_id !== client.clientId) return this.refuse(ctx, 'invalid_grant', `the ID-JAG is for client ${claims.client_id}, not ${client.clientId}`);
    if (claims.resource !== this.mcp.resource) return this.refuse(ctx, 'invalid_grant', `the ID-JAG is for ${claims.resource}, not ${this.mcp.resource}`);
    this.world.subjects.add(claims.sub);
    const scope = String(claims.scope ?? '').split(' ').filter((s) => this.mcp.scopes.includes(s)).join(' ');
    const grant = new this.provider.Grant({ accountId: claims.sub, clientId: client.clientId });
    grant.addResourceScope(this.mcp.resource, scope);
    const grantId = await grant.save();
    const token = new this.provider.AccessToken({
      accountId: claims.sub,
      client,
      grantId,
      gty: 'jwt_bearer',
      scope,
    });
    token.resourceServer = this.resourceServer();
    const value = await token.save();
    ctx.body = { access_token: value, token_type: 'Bearer', expires_in: token.expiration, scope };
  }
}

// An MCP server on the official TypeScript SDK behind one authorization server.
class Mcp {
  constructor(name, world) {
    this.name = name;
    this.world = world;
    this.path = `/${name}/mcp`;
    this.scopes = ['mcp:tools'];
    this.requests = [];
  }

  get resource() {
    return `${this.world.gatewayBase}${this.path}`;
  }

  get prmUrl() {
    return `${this.world.gatewayBase}/.well-known/oauth-protected-resource${this.path}`;
  }

  challenge(extra = '') {
    return [`Bearer resource_metadata="${this.prmUrl}"`, `scope="${this.scopes.join(' ')}"`, extra].filter(Boolean).join(', ');
  }

  async handle(req, res) {
    const raw = await readBody(req);
    const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
    let payload;
    try {
      if (!m) throw new Error('no token');
      ({ payload } = await jose.jwtVerify(m[1], jose.createRemoteJWKSet(new URL(`${this.as.issuer}/jwks`)), {
        issuer: this.as.issuer,
        audience: this.resource,
      }));
    } catch (e) {
      this.requests.push({ status: 401, why: e.code ?? e.message, at: Date.now() });
      sendJson(res, 401, { error: 'unauthorized' }, { 'www-authenticate': this.challenge(m ? 'error="invalid_token"' : '') });
      return;
    }
    this.requests.push({ status: 200, sub: payload.sub, client_id: payload.client_id, at: Date.now() });
    if (req.method !== 'POST') {
      sendJson(res, 405, { jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed.' }, id: null });
      return;
    }
    const server = new McpServer({ name: `lanyard-enterprise-${this.name}`, version: '1.0.0' });
    server.registerTool('echo', { description: 'Echoes the given text back.', inputSchema: { text: z.string().optional() } },
      async ({ text }) => ({ content: [{ type: 'text', text: text ?? '' }] }));
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      transport.close().catch(() => {});
      server.close().catch(() => {});
    });
    await server.connect(transport);
    await transport.handleRequest(req, res, raw ? JSON.parse(raw) : undefined);
  }
}

// ---------------------------------------------------------------------------------------------

class World {
  constructor(cfg) {
    this.cfg = cfg;
    this.entries = [];
    this.subjects = new Set();
  }

  async start() {
    this.gatewayPort = await freePort();
    this.gatewayBase = `http://${HOST}:${this.gatewayPort}`;
    this.mcp = this.cfg.servers.map((n) => new Mcp(n, this));
    this.plain = new Mcp('plain', this);
    this.idp = new Idp(this.cfg, this);
    await this.idp.init();
    this.authServers = [];
    for (const m of this.mcp) {
      const as = new AuthServer(`as-${m.name}`, this);
      await as.init(m);
      m.as = as;
      this.authServers.push(as);
    }
    this.plain.as = this.idp;
    for (const p of [this.idp, ...this.authServers]) {
      p.server = http.createServer(p.provider.callback());
      await listen(p.server, p.port);
    }
    this.gateway = http.createServer((req, res) => this.route(req, res));
    await listen(this.gateway, this.gatewayPort);
    this.admin = http.createServer((req, res) => this.adminRoute(req, res));
    this.adminPort = await listen(this.admin);
  }

  async route(req, res) {
    const url = new URL(req.url, this.gatewayBase);
    for (const m of [...this.mcp, this.plain]) {
      if (url.pathname === `/.well-known/oauth-protected-resource${m.path}`) {
        sendJson(res, 200, { resource: m.resource, authorization_servers: [m.as.issuer], scopes_supported: m.scopes, bearer_methods_supported: ['header'] });
        return;
      }
      if (url.pathname === m.path) {
        await m.handle(req, res);
        return;
      }
    }
    sendJson(res, 404, { error: 'not_found' });
  }

  describe() {
    const mcp = {};
    for (const m of [...this.mcp, this.plain]) {
      mcp[m.name] = { url: m.resource, issuer: m.as.issuer, prm: m.prmUrl };
    }
    return {
      admin: `http://${HOST}:${this.adminPort}`,
      idp: { issuer: this.idp.issuer, jwks_uri: `${this.idp.issuer}/jwks` },
      authServers: Object.fromEntries(this.authServers.map((a) => [a.name, a.issuer])),
      mcpServers: mcp,
      xaaClient: XAA_CLIENT,
      pid: process.pid,
    };
  }

  async adminRoute(req, res) {
    const url = new URL(req.url, 'http://admin');
    await readBody(req);
    if (req.method === 'GET' && url.pathname === '/') return sendJson(res, 200, this.describe());
    if (req.method === 'GET' && url.pathname === '/log') {
      const mcp = Object.fromEntries([...this.mcp, this.plain].map((m) => [m.name, m.requests]));
      return sendJson(res, 200, { tokens: this.entries, mcp });
    }
    const revoke = /^\/issuers\/idp\/revoke-all$/.exec(url.pathname);
    if (req.method === 'POST' && revoke) {
      // End every IdP session: its grants (and their refresh tokens) destroyed, the ID tokens
      // issued so far refused by the token exchange.
      await revokeGrants(this.idp.provider);
      for (const sub of this.subjects) this.idp.revokedBefore.set(sub, Date.now() + 1000);
      return sendJson(res, 200, { ok: true });
    }
    if (req.method === 'POST' && url.pathname === '/shutdown') {
      sendJson(res, 200, { ok: true });
      process.exit(0);
    }
    sendJson(res, 404, { error: 'not_found' });
  }
}

// Every grant the IdP gave (recorded at each successful token request), destroyed through the
// provider's own models.
async function revokeGrants(provider) {
  for (const id of grantIds) {
    const grant = await provider.Grant.find(id);
    if (grant) await grant.destroy();
    for (const name of ['RefreshToken', 'AccessToken', 'AuthorizationCode']) {
      await provider[name].adapter.revokeByGrantId(id);
    }
  }
}

const grantIds = new Set();

const world = new World(readConfig());
await world.start();
world.idp.provider.on('grant.success', (ctx) => {
  const g = ctx.oidc?.entities?.Grant ?? ctx.oidc?.entities?.RefreshToken;
  if (g?.grantId) grantIds.add(g.grantId);
  const rt = ctx.oidc?.entities?.RefreshToken;
  if (rt?.grantId) grantIds.add(rt.grantId);
  const at = ctx.oidc?.entities?.AccessToken;
  if (at?.grantId) grantIds.add(at.grantId);
  const sub = ctx.oidc?.entities?.Account?.accountId ?? at?.accountId;
  if (sub) world.subjects.add(sub);
});
process.stdout.write(`${JSON.stringify(world.describe())}\n`);
log(`idp ${world.idp.issuer}; gateway ${world.gatewayBase}`);
if (process.env.WORLD_EXIT_ON_STDIN_EOF === '1') {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}
for (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => process.exit(0));
