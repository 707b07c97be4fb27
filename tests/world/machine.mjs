// Machine clients in the test world (Lanyard issue 14): no person, no browser.
//
// - Client credentials (SEP-1046): an issuer with `"clientCredentials": true` enables
//   oidc-provider's own grant; its pre-registered `clients` may be confidential
//   (`client_secret_basic`) or use `private_key_jwt`: a client with `"privateKeyFile": PATH` gets
//   a fresh ES256 key pair, the private key written to PATH (PKCS#8 PEM), the public one
//   registered as the client's `jwks`.
// - Workload identity federation (SEP-1933): an issuer with `"clientCredentials": true` acts as
//   the workload platform (a Kubernetes API server, a CI's OIDC issuer): its client credentials
//   grant with `resource` = the token endpoint of an issuer that trusts it mints the workload
//   token (a JWT, aud = that token endpoint, sub = the workload's client id). An issuer with
//   `"workloadIssuers": ["platform"]` takes such tokens with the RFC 7523 JWT-bearer grant,
//   checked against the platform's JWKS fetched from its jwks endpoint, and issues an access
//   token for the `resource` asked (as its client credentials tokens are: a JWT for the MCP server).

import crypto from 'node:crypto';
import fs from 'node:fs';

import { errors as oidcErrors } from 'oidc-provider';
import * as jose from 'jose';

export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

export function sha16(s) {
  return crypto.createHash('sha256').update(s).digest('hex').slice(0, 16);
}

// Clients with `privateKeyFile`: a new key pair each start, the private half written for Lanyard.
export async function machineClientKeys(clients) {
  for (const c of clients) {
    if (!c.privateKeyFile) continue;
    const { privateKey, publicKey } = await jose.generateKeyPair('ES256', { extractable: true });
    fs.writeFileSync(c.privateKeyFile, await jose.exportPKCS8(privateKey), { mode: 0o600 });
    const jwk = await jose.exportJWK(publicKey);
    jwk.kid = c.keyId ?? `${c.client_id}-key`;
    jwk.alg = 'ES256';
    jwk.use = 'sig';
    delete c.privateKeyFile;
    delete c.keyId;
    c.jwks = { keys: [jwk] };
    c.token_endpoint_auth_method = 'private_key_jwt';
    c.token_endpoint_auth_signing_alg = 'ES256';
  }
}

// The resource server a platform issuer mints workload tokens for: the token endpoint of an
// issuer of this world that trusts it (aud = that token endpoint, as SEP-1933 asks).
export function workloadAudience(platform, resourceIndicator) {
  const trusting = platform.world.issuers.find(
    (i) => i.cfg.workloadIssuers.includes(platform.cfg.name) && `${i.issuer}/token` === resourceIndicator,
  );
  if (!trusting) return null;
  return {
    scope: 'workload',
    audience: resourceIndicator,
    accessTokenTTL: platform.cfg.accessTokenTtl,
    accessTokenFormat: 'jwt',
    jwt: { sign: { alg: 'RS256' } },
  };
}

// The JWT-bearer grant of an issuer that trusts its `workloadIssuers`.
export function registerWorkloadGrant(issuer, provider) {
  const keySets = new Map();
  const jwksOf = (url) => {
    if (!keySets.has(url)) keySets.set(url, jose.createRemoteJWKSet(new URL(`${url}/jwks`)));
    return keySets.get(url);
  };
  async function workloadGrant(ctx) {
    const { params, client } = ctx.oidc;
    let claimed;
    try {
      claimed = jose.decodeJwt(params.assertion);
    } catch {
      throw new oidcErrors.InvalidGrant('the assertion is not a JWT');
    }
    const platform = issuer.world.issuers.find(
      (i) => issuer.cfg.workloadIssuers.includes(i.cfg.name) && i.issuer === claimed.iss,
    );
    if (!platform) throw new oidcErrors.InvalidGrant(`untrusted workload issuer ${claimed.iss}`);
    let workload;
    try {
      ({ payload: workload } = await jose.jwtVerify(params.assertion, jwksOf(platform.issuer), {
        issuer: platform.issuer,
        audience: [`${issuer.issuer}/token`, issuer.issuer],
      }));
    } catch (e) {
      throw new oidcErrors.InvalidGrant(`workload token refused: ${e.code ?? e.message}`);
    }
    const m = issuer.resources().find((r) => r.resource === params.resource);
    if (!m) throw new oidcErrors.InvalidTarget(`unknown resource ${params.resource}`);
    const resourceServer = new provider.ResourceServer(m.resource, {
      scope: m.cfg.scopes.join(' '),
      audience: m.resource,
      accessTokenTTL: issuer.cfg.accessTokenTtl,
      accessTokenFormat: 'jwt',
      jwt: { sign: { alg: 'RS256' } },
    });
    const requested = String(params.scope ?? '').split(' ').filter(Boolean);
    const refused = requested.filter((s) => !resourceServer.scopes.has(s));
    if (refused.length) throw new oidcErrors.InvalidScope(`scope not granted: ${refused.join(' ')}`);
    const token = new provider.ClientCredentials({ client, scope: requested.join(' ') || undefined });
    token.resourceServer = resourceServer;
    ctx.oidc.entity('ClientCredentials', token);
    const value = await token.save();
    ctx.body = {
      access_token: value,
      token_type: 'Bearer',
      expires_in: token.expiration,
      ...(token.scope ? { scope: token.scope } : {}),
    };
  }
  provider.registerGrantType(JWT_BEARER, workloadGrant, ['assertion', 'scope', 'resource'], ['resource']);
}
