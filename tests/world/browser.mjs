#!/usr/bin/env node
// The scripted browser of the test world, usable as $BROWSER (the URL is the last argument).
//
// It follows the authorization URL with a cookie jar, fills the provider's login and consent forms,
// and follows the redirects to the loopback callback, then prints what it saw (one JSON line a step
// on stderr, and appended to $WORLD_BROWSER_LOG when set). Dependency-free; exits within
// $WORLD_BROWSER_TIMEOUT_MS (default 20000) whatever happens.
//
// WORLD_BROWSER_MODE:
//   approve        (default) log in, consent, deliver the code to the callback
//   deny           log in, then cancel at the consent screen (the callback gets error=access_denied)
//   never          open the authorization page and walk away (the callback is never called)
//   foreign-state  like approve, but deliver the callback with a different `state`
//   wrong-iss      like approve, but deliver the callback with a different `iss`
//   no-callback    like approve, but stop at the callback redirect without calling it (prints its URL)
// Given a device verification URL (RFC 8628 `verification_uri_complete`) instead, the same walk
// confirms the code, logs in and consents (or, with `deny`, cancels at the consent screen) and
// ends on the provider's closing page.
//                  and writes its whole address to $WORLD_BROWSER_CALLBACK_FILE when set (paste-back)
// WORLD_BROWSER_LOGIN: the user name to log in as (default "alice").
// WORLD_BROWSER_JAR: a file that keeps the cookie jar from one run to the next, as a real
//   browser keeps the identity provider's session (without it every run starts logged out).

import fs from 'node:fs';

const url = process.argv[process.argv.length - 1];
const mode = process.env.WORLD_BROWSER_MODE || 'approve';
const login = process.env.WORLD_BROWSER_LOGIN || 'alice';
const logFile = process.env.WORLD_BROWSER_LOG;
const timeoutMs = Number(process.env.WORLD_BROWSER_TIMEOUT_MS || 20000);

const deadline = setTimeout(() => {
  say({ step: 'timeout', after_ms: timeoutMs });
  process.exit(3);
}, timeoutMs);
deadline.unref();

function say(obj) {
  const line = JSON.stringify({ mode, ...obj });
  process.stderr.write(`[browser] ${line}\n`);
  if (logFile) {
    try {
      fs.appendFileSync(logFile, `${line}\n`);
    } catch {
      // The log is a convenience; never fail the flow for it.
    }
  }
}

// --- cookies (one jar a host:port; paths ignored, expired cookies removed) ----------------------
const jarFile = process.env.WORLD_BROWSER_JAR;
const jar = new Map();
if (jarFile && fs.existsSync(jarFile)) {
  for (const [host, cookies] of Object.entries(JSON.parse(fs.readFileSync(jarFile, 'utf8')))) {
    jar.set(host, new Map(Object.entries(cookies)));
  }
}

function saveJar() {
  if (!jarFile) return;
  const out = {};
  for (const [host, cookies] of jar) out[host] = Object.fromEntries(cookies);
  fs.writeFileSync(jarFile, JSON.stringify(out));
}

function storeCookies(origin, headers) {
  const list = headers.getSetCookie ? headers.getSetCookie() : [];
  const host = new URL(origin).host;
  const cookies = jar.get(host) ?? new Map();
  for (const sc of list) {
    const [pair, ...attrs] = sc.split(';');
    const eq = pair.indexOf('=');
    if (eq < 0) continue;
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    const expired = attrs.some((a) => {
      const [k, v] = a.split('=').map((s) => s?.trim());
      if (/^max-age$/i.test(k)) return Number(v) <= 0;
      if (/^expires$/i.test(k)) return Date.parse(v) < Date.now();
      return false;
    });
    if (expired || value === '') cookies.delete(name);
    else cookies.set(name, value);
  }
  jar.set(host, cookies);
  saveJar();
}

function cookieHeader(target) {
  const cookies = jar.get(new URL(target).host);
  if (!cookies || cookies.size === 0) return {};
  return { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') };
}

async function go(target, init = {}) {
  const res = await fetch(target, {
    redirect: 'manual',
    ...init,
    headers: { ...(init.headers ?? {}), ...cookieHeader(target), accept: 'text/html,*/*' },
  });
  storeCookies(target, res.headers);
  return res;
}

// --- tiny HTML form reading -------------------------------------------------------------------
function decodeEntities(s) {
  return s.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&#x2F;/gi, '/')
    .replace(/&lt;/g, '<').replace(/&gt;/g, '>');
}

function attr(tag, name) {
  const m = new RegExp(`${name}\\s*=\\s*("([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i').exec(tag);
  if (!m) return undefined;
  return decodeEntities(m[2] ?? m[3] ?? m[4] ?? '');
}

function forms(html) {
  const out = [];
  const re = /<form\b([^>]*)>([\s\S]*?)<\/form>/gi;
  let m;
  while ((m = re.exec(html))) {
    const inputs = [];
    const ire = /<input\b[^>]*>/gi;
    let im;
    while ((im = ire.exec(m[2]))) {
      inputs.push({ name: attr(im[0], 'name'), value: attr(im[0], 'value') ?? '', type: attr(im[0], 'type') });
    }
    out.push({ action: attr(m[1], 'action') ?? '', method: (attr(m[1], 'method') ?? 'get').toLowerCase(), inputs });
  }
  return out;
}

function links(html) {
  const out = [];
  const re = /<a\b[^>]*href\s*=\s*("([^"]*)"|'([^']*)')[^>]*>/gi;
  let m;
  while ((m = re.exec(html))) out.push(decodeEntities(m[2] ?? m[3]));
  return out;
}

function title(html) {
  const m = /<title>([\s\S]*?)<\/title>/i.exec(html);
  return m ? m[1].trim() : undefined;
}

function text(html, max = 400) {
  return html.replace(/<style[\s\S]*?<\/style>/gi, '').replace(/<script[\s\S]*?<\/script>/gi, '')
    .replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim().slice(0, max);
}

// --- the walk ---------------------------------------------------------------------------------
async function main() {
  if (!/^https?:\/\//.test(url)) {
    say({ step: 'error', error: `not a URL: ${url}` });
    return 2;
  }
  const start = new URL(url);
  const redirectUri = start.searchParams.get('redirect_uri');
  say({ step: 'open', url, redirect_uri: redirectUri });

  const isCallback = (loc) => {
    if (!redirectUri) return false;
    const a = new URL(loc);
    const b = new URL(redirectUri);
    return a.origin === b.origin && a.pathname === b.pathname;
  };

  let target = url;
  let init = {};
  let denied = false;
  for (let hop = 0; hop < 30; hop += 1) {
    if (isCallback(target)) {
      const cb = new URL(target);
      if (mode === 'foreign-state') cb.searchParams.set('state', `foreign-${Math.random().toString(36).slice(2)}`);
      if (mode === 'wrong-iss') cb.searchParams.set('iss', 'http://127.0.0.1:1/not-the-issuer');
      const params = Object.fromEntries(cb.searchParams);
      if (params.code) params.code = '<redacted>';
      say({ step: 'callback', url: `${cb.origin}${cb.pathname}`, params });
      if (mode === 'no-callback') {
        // What a user would copy from the address bar of the page that could not load.
        if (process.env.WORLD_BROWSER_CALLBACK_FILE) fs.writeFileSync(process.env.WORLD_BROWSER_CALLBACK_FILE, cb.href);
        return 0;
      }
      const res = await fetch(cb, { redirect: 'manual' });
      const body = await res.text();
      say({ step: 'callback-response', status: res.status, title: title(body), text: text(body) });
      return 0;
    }
    const res = await go(target, init);
    init = {};
    if (res.status >= 300 && res.status < 400) {
      const loc = new URL(res.headers.get('location'), target).href;
      say({ step: 'redirect', status: res.status, to: loc.replace(/code=[^&]+/, 'code=<redacted>') });
      target = loc;
      continue;
    }
    const html = await res.text();
    const fs0 = forms(html);
    say({ step: 'page', status: res.status, url: target, title: title(html), text: text(html) });
    if (mode === 'never') return 0;
    if (res.status >= 400) return 1;
    // The device verification page (RFC 8628): no redirect to a callback; the walk ends on
    // the provider's last page (success, or the notice after a denial).
    if (!redirectUri && (fs0.length === 0 || denied)) {
      say({ step: 'done' });
      return 0;
    }
    const loginForm = fs0.find((f) => f.inputs.some((i) => i.name === 'login'));
    const consentForm = fs0.find((f) => f.inputs.some((i) => i.name === 'prompt' && i.value === 'consent'));
    let form;
    const fields = new URLSearchParams();
    if (loginForm) {
      form = loginForm;
      for (const i of form.inputs) {
        if (!i.name) continue;
        if (i.name === 'login') fields.set('login', login);
        else if (i.name === 'password') fields.set('password', 'any-password');
        else fields.set(i.name, i.value);
      }
      say({ step: 'login', as: login });
    } else if (consentForm) {
      if (mode === 'deny') {
        const abort = links(html).find((l) => /\/abort$/.test(l));
        if (!abort) {
          say({ step: 'error', error: 'no cancel link on the consent page' });
          return 1;
        }
        say({ step: 'deny' });
        denied = true;
        target = new URL(abort, target).href;
        continue;
      }
      form = consentForm;
      for (const i of form.inputs) if (i.name) fields.set(i.name, i.value);
      say({ step: 'consent' });
    } else if (fs0.length === 1) {
      // e.g. a form_post or an auto-submitting page: submit it as it is.
      form = fs0[0];
      for (const i of form.inputs) if (i.name) fields.set(i.name, i.value);
      say({ step: 'submit', action: form.action });
    } else {
      say({ step: 'error', error: 'page has nothing to do' });
      return 1;
    }
    target = new URL(form.action || target, target).href;
    if (form.method === 'post') {
      init = {
        method: 'POST',
        body: fields.toString(),
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      };
    } else {
      const u = new URL(target);
      for (const [k, v] of fields) u.searchParams.set(k, v);
      target = u.href;
    }
  }
  say({ step: 'error', error: 'too many hops' });
  return 1;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    say({ step: 'error', error: String(e?.message ?? e), cause: String(e?.cause?.code ?? e?.cause ?? '') });
    process.exit(1);
  },
);
