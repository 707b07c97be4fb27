// An MCP registry for the test world, after the official OpenAPI of modelcontextprotocol/registry
// (docs/reference/api/openapi.yaml, 2025-12-01): `GET /v0.1/servers` answers a `ServerList`
// (`servers[]` of `ServerResponse` = `server` (server.json) + `_meta`, `metadata.nextCursor`,
// `metadata.count`), paginated by an opaque `cursor` and `limit`. Each registry listens on its
// own port (the list lives at the origin's root, as gateways serve it).
//
// Its entries: one per MCP server of the world (a streamable-http remote; the first also has an
// older version the registry marks isLatest=false), plus an entry with only stdio packages and a
// broken entry (a remote URL that is not a URL). With `issuer`, the registry is a protected
// resource of that issuer: 401 + WWW-Authenticate, Protected Resource Metadata at
// /.well-known/oauth-protected-resource/v0.1/servers, JWT access tokens with aud = its list URL.

export function normalizeRegistries(list, mcpServers, issuerNames) {
  return (list ?? []).map((r, n) => {
    const name = r.name ?? `registry${n}`;
    if (r.issuer && !issuerNames.has(r.issuer)) throw new Error(`registry ${name}: unknown issuer ${r.issuer}`);
    return {
      name,
      port: r.port ?? 0,
      issuer: r.issuer ?? null, // protected by this issuer when set
      scopes: r.scopes ?? ['registry:read'],
      pageSize: r.pageSize ?? 2,
      servers: r.servers ?? mcpServers.map((m) => m.name),
      stdioOnly: r.stdioOnly ?? true,
      broken: r.broken ?? true,
      meta: r.meta ?? {}, // extra `_meta` per server name, e.g. {"demo": {"dev.lanyard/oauth": {...}}}
    };
  });
}

export class Registry {
  // `h`: the world's helpers (publicServer, origin, listen, sendJson, RequestLog, jose).
  constructor(cfg, world, h) {
    this.cfg = cfg;
    this.world = world;
    this.h = h;
    this.log = new h.RequestLog();
  }

  get issuer() {
    return this.cfg.issuer ? this.world.issuers.find((i) => i.cfg.name === this.cfg.issuer) : null;
  }

  get base() {
    return this.h.origin(this.port);
  }

  // The protected resource (what tokens are minted for), as the issuer's resources() reads it.
  get resource() {
    return `${this.base}/v0.1/servers`;
  }

  get prmUrl() {
    return `${this.base}/.well-known/oauth-protected-resource/v0.1/servers`;
  }

  async start() {
    this.server = this.h.publicServer((req, res) => this.handle(req, res).catch((e) => {
      process.stderr.write(`[world] registry ${this.cfg.name} error: ${e.stack}\n`);
      if (!res.headersSent) this.h.sendJson(res, 500, { error: 'server_error' });
    }));
    this.port = await this.h.listen(this.server, this.cfg.port);
  }

  entries() {
    const now = '2026-01-01T00:00:00Z';
    const official = (isLatest) => ({
      'io.modelcontextprotocol.registry/official': {
        status: 'active', publishedAt: now, updatedAt: now, isLatest,
      },
    });
    const out = [];
    this.cfg.servers.forEach((name, i) => {
      const m = this.world.mcp.find((x) => x.cfg.name === name);
      if (!m) throw new Error(`registry ${this.cfg.name}: unknown mcp server ${name}`);
      const server = {
        $schema: 'https://static.modelcontextprotocol.io/schemas/2025-12-01/server.schema.json',
        name: `dev.lanyard.world/${name}`,
        title: `World ${name}`,
        description: `Test world MCP server ${name} (tool echo)`,
        version: '1.1.0',
        remotes: [{ type: 'streamable-http', url: m.resource }],
      };
      const extra = this.cfg.meta[name];
      if (i === 0) {
        out.push({ server: { ...server, version: '1.0.0' }, _meta: official(false) });
      }
      out.push({ server, _meta: { ...official(true), ...(extra ?? {}) } });
    });
    if (this.cfg.stdioOnly) {
      out.push({
        server: {
          name: 'dev.lanyard.world/local-files',
          description: 'Files on this machine (stdio only)',
          version: '0.3.0',
          packages: [{
            registryType: 'npm',
            identifier: '@lanyard-world/files',
            version: '0.3.0',
            transport: { type: 'stdio' },
          }],
        },
        _meta: official(true),
      });
    }
    if (this.cfg.broken) {
      out.push({
        server: {
          name: 'dev.lanyard.world/broken',
          description: 'A remote whose URL is not a URL',
          version: '1.0.0',
          remotes: [{ type: 'streamable-http', url: 'not a url' }],
        },
        _meta: official(true),
      });
    }
    return out;
  }

  challenge() {
    return `Bearer realm="registry", resource_metadata="${this.prmUrl}", scope="${this.cfg.scopes.join(' ')}"`;
  }

  async authenticate(req) {
    const iss = this.issuer;
    if (!iss) return { ok: true };
    const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
    if (!m) return { ok: false, why: 'no token' };
    try {
      if (!this.jwks || this.jwksIssuer !== iss.issuer) {
        this.jwks = this.h.jose.createRemoteJWKSet(new URL(`${iss.issuer}/jwks`));
        this.jwksIssuer = iss.issuer;
      }
      const { payload } = await this.h.jose.jwtVerify(m[1], this.jwks, { issuer: iss.issuer, audience: this.resource });
      return { ok: true, payload };
    } catch (e) {
      return { ok: false, why: `invalid token: ${e.code ?? e.message}` };
    }
  }

  async handle(req, res) {
    const url = new URL(req.url, this.base);
    // Drain any body (a discovery POST) before answering.
    for await (const _ of req); // eslint-disable-line no-unused-vars
    if (url.pathname === '/.well-known/oauth-protected-resource/v0.1/servers' && this.issuer) {
      this.log.add({ method: req.method, path: url.pathname, prm: true, status: 200 });
      return this.h.sendJson(res, 200, {
        resource: this.resource,
        authorization_servers: [this.issuer.issuer],
        scopes_supported: this.cfg.scopes,
        bearer_methods_supported: ['header'],
        resource_name: `Test world registry ${this.cfg.name}`,
      });
    }
    if (url.pathname !== '/v0.1/servers') {
      this.log.add({ method: req.method, path: url.pathname, status: 404 });
      return this.h.sendJson(res, 404, { error: 'Not found' });
    }
    const auth = await this.authenticate(req);
    const entry = { method: req.method, path: url.pathname, cursor: url.searchParams.get('cursor') };
    if (!auth.ok) {
      this.log.add({ ...entry, status: 401, why: auth.why });
      return this.h.sendJson(res, 401, { error: 'unauthorized' }, { 'www-authenticate': this.challenge() });
    }
    if (req.method !== 'GET') {
      this.log.add({ ...entry, status: 405 });
      return this.h.sendJson(res, 405, { error: 'Method not allowed' }, { allow: 'GET' });
    }
    const all = this.entries().filter((e) => url.searchParams.get('version') !== 'latest'
      || e._meta['io.modelcontextprotocol.registry/official'].isLatest);
    let start = 0;
    const cursor = url.searchParams.get('cursor');
    if (cursor) {
      start = Number(Buffer.from(cursor, 'base64url').toString());
      if (!Number.isInteger(start) || start < 0 || start > all.length) {
        this.log.add({ ...entry, status: 400 });
        return this.h.sendJson(res, 400, { error: 'Invalid cursor' });
      }
    }
    const limit = Math.min(Number(url.searchParams.get('limit')) || this.cfg.pageSize, this.cfg.pageSize);
    const servers = all.slice(start, start + limit);
    const next = start + limit < all.length ? Buffer.from(String(start + limit)).toString('base64url') : undefined;
    this.log.add({ ...entry, status: 200, count: servers.length, sub: auth.payload?.sub });
    return this.h.sendJson(res, 200, { servers, metadata: { count: servers.length, ...(next ? { nextCursor: next } : {}) } });
  }

  // Admin: list these MCP servers from now on (a catalogue that changes under a watcher).
  setServers(names) {
    for (const n of names) {
      if (!this.world.mcp.some((m) => m.cfg.name === n)) throw new Error(`unknown mcp server ${n}`);
    }
    this.cfg.servers = names;
    return this.describe();
  }

  describe() {
    return {
      name: this.cfg.name,
      url: this.base,
      list: this.resource,
      protected: Boolean(this.issuer),
      issuer: this.issuer?.issuer ?? null,
      resource_metadata: this.issuer ? this.prmUrl : null,
      entries: this.entries().length,
    };
  }
}
