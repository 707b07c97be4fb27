// DPoP (RFC 9449) in the test world, on both sides, with independent, well-known code:
// - issuers: oidc-provider's own `features.dPoP` (proof checks at the token endpoint, DPoP-bound
//   JWT access tokens with `cnf.jkt`, bound refresh tokens for public clients, and its nonces,
//   RFC 9449 §8, when `nonce` is set);
// - MCP servers: oauth4webapi's `validateJwtAccessToken` (RFC 9068 JWT access token + the RFC 9449
//   §4.3/§7 proof checks: `typ`, signature by the `jwk`, `htm`, `htu`, `iat`, `ath`, `cnf.jkt`),
//   plus what a resource server keeps itself: the `jti` of every proof seen (replay, §11.1) and
//   its own nonce (§9: 401 `WWW-Authenticate: DPoP error="use_dpop_nonce"` + `DPoP-Nonce`).
//
// Config: an issuer's `"dpop": { "nonce": true }`; an MCP server's
// `"dpop": { "nonce": true, "required": true }` (PRM `dpop_bound_access_tokens_required`,
// `dpop_signing_alg_values_supported`; the challenge's scheme is `DPoP`).

import crypto from 'node:crypto';

import * as jose from 'jose';
import * as oauth from 'oauth4webapi';

const ALGS = ['ES256'];

/** oidc-provider's `features.dPoP` for an issuer's config (its default: on, no nonce). */
export function issuerDpop(dpop) {
  if (!dpop) return { enabled: true };
  return {
    enabled: true,
    nonceSecret: crypto.randomBytes(32),
    requireNonce: () => Boolean(dpop.nonce),
  };
}

/** The resource server side of one MCP server. */
export class ResourceDpop {
  constructor(cfg) {
    this.cfg = cfg; // { nonce, required }
    this.jtis = new Set();
    this.nonce = cfg.nonce ? crypto.randomBytes(16).toString('base64url') : null;
  }

  prm() {
    return {
      dpop_signing_alg_values_supported: ALGS,
      ...(this.cfg.required !== false && { dpop_bound_access_tokens_required: true }),
    };
  }

  /** `WWW-Authenticate` of a refusal: the DPoP scheme with the server's usual parameters. */
  challenge(base, extra = '') {
    const params = base.replace(/^Bearer\s*/i, '');
    return [`DPoP algs="${ALGS.join(' ')}"`, params, extra].filter(Boolean).join(', ');
  }

  /**
   * Checks a request: `{ ok, payload }` or `{ ok: false, status, why, header, extraHeaders }`.
   * `url` is the request's public URL (what `htu` must name).
   */
  async authenticate(req, url, mcp) {
    const refuse = (why, error = 'invalid_token', extraHeaders = {}) => ({
      ok: false,
      status: 401,
      why,
      header: this.challenge(mcp.challenge(), `error="${error}", error_description="${why.replace(/"/g, '')}"`),
      extraHeaders,
    });
    const authorization = req.headers.authorization ?? '';
    if (!authorization) {
      return { ok: false, status: 401, why: 'no token', header: this.challenge(mcp.challenge()) };
    }
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) {
      if (Array.isArray(v)) v.forEach((x) => headers.append(k, x));
      else if (v !== undefined) headers.set(k, v);
    }
    const request = new Request(url, { method: req.method, headers });
    const as = { issuer: mcp.issuer.issuer, jwks_uri: `${mcp.issuer.issuer}/jwks` };
    let claims;
    try {
      claims = await oauth.validateJwtAccessToken(as, request, mcp.resource, {
        requireDPoP: true,
        signingAlgorithms: ['RS256', ...ALGS],
        [oauth.allowInsecureRequests]: true,
        // Expired means expired (oauth4webapi allows 30 s by default): the tests let tokens lapse.
        [oauth.clockTolerance]: 0,
      });
    } catch (e) {
      return refuse(`invalid token: ${e.message}`);
    }
    const proof = jose.decodeJwt(req.headers.dpop);
    if (this.jtis.has(proof.jti)) return refuse('DPoP proof replayed (jti seen before)', 'invalid_dpop_proof');
    this.jtis.add(proof.jti);
    if (this.nonce && proof.nonce !== this.nonce) {
      return refuse('DPoP nonce required', 'use_dpop_nonce', { 'dpop-nonce': this.nonce });
    }
    return { ok: true, payload: claims, jkt: claims.cnf?.jkt };
  }
}
