#!/usr/bin/env node
// Refresh under load (issue 18), against the test world on loopback, in a throwaway HOME and the
// private keychain of scripts/with-keyring. Two modes:
//
//   --soak  (scripts/suites/40-refresh-soak.sh): servers on two issuers with rotating refresh
//           tokens (short and longer access-token lifetimes), `lanyard daemon` running, bursts
//           of concurrent `lanyard token` callers, an issuer outage, `kill -9` of the daemon and
//           of `tools`/`call`/`bridge`/`token` while refreshes are due. Reports lost grants,
//           refused tokens, refresh grants per token generation (from the world's /log) and
//           latency percentiles; exits 1 on any lost grant or double refresh. Bounded:
//           SOAK_SECS (default 100) of load plus setup and checks.
//   --burst (bench/refresh-burst): burst latency p50/p99 of `lanyard token` with 15 s and
//           3-minute tokens next to a single caller. Prints figures, asserts nothing on time.
//
// Env: LANYARD_BIN (default target/debug/lanyard), SOAK_SECS, SOAK_BURST (callers per burst).

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { LANYARD, admin, freshHome, startWorld, userEnv } from './common.mjs';

const MODE = process.argv.includes('--burst') ? 'burst' : 'soak';
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), `lanyard-${MODE}-`));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pick = (xs) => xs[Math.floor(Math.random() * xs.length)];

/// Run `lanyard ARGS` as a child; resolves to {code, signal, stdout, stderr, ms}. `killAfterMs`:
/// SIGKILL it then (as an assistant's hard timeout would). `stdin`: text written to it.
function run(env, args, { killAfterMs, stdin } = {}) {
  return new Promise((resolve) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(LANYARD, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.on('error', () => {});
    if (stdin) child.stdin.write(stdin);
    else child.stdin.end();
    let timer;
    if (killAfterMs !== undefined) timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (stdin) child.stdin.destroy();
      resolve({ code, signal, stdout, stderr, ms: Number(process.hrtime.bigint() - t0) / 1e6 });
    });
  });
}

function percentile(xs, p) {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}
const fmt = (x) => (Number.isFinite(x) ? `${x.toFixed(0)} ms` : 'n/a');
const pct = (xs) => `p50 ${fmt(percentile(xs, 50))}, p99 ${fmt(percentile(xs, 99))}, max ${fmt(Math.max(...xs))} (n=${xs.length})`;

/// Refresh-token grants per token generation, from the world's /log: a generation (one refresh
/// token) presented twice is a double refresh; so is a refresh of a token younger than half its
/// life (`ttls`: access-token lifetime per issuer, s), counted from the last token grant for the
/// same resource (1.2 s of slack: Lanyard counts a token's age in whole seconds).
function generations(log, ttls = {}) {
  const per = new Map();
  const early = [];
  for (const [issuer, entries] of Object.entries(log.issuers ?? {})) {
    const last = new Map();
    for (const e of entries) {
      if (e.route !== 'token') continue;
      const resource = JSON.stringify(e.resource ?? '');
      if (e.grant_type === 'refresh_token') {
        const key = `${issuer}:${e.refresh_token_sha ?? '?'}`;
        per.set(key, (per.get(key) ?? 0) + 1);
        const prev = last.get(resource);
        const half = (ttls[issuer] ?? 0) * 500;
        if (prev !== undefined && e.at !== undefined && half > 0 && e.at - prev < half - 1200) {
          early.push(`${issuer} ${resource}: refreshed ${((e.at - prev) / 1000).toFixed(1)} s after the last token`);
        }
      }
      if (e.status === 200 && e.at !== undefined) last.set(resource, e.at);
    }
  }
  const hist = {};
  for (const n of per.values()) hist[n] = (hist[n] ?? 0) + 1;
  const doubles = [...per.entries()].filter(([, n]) => n > 1);
  return { generations: per.size, hist, doubles, early };
}

/// A world and a signed-in user with `servers` = [{name, issuer}].
async function setUp(issuers, servers) {
  const { child, world } = await startWorld(
    TMP,
    { issuers, mcpServers: servers.map((s) => ({ name: s.name, issuer: s.issuer })) },
    path.join(TMP, 'world.log'),
  );
  const home = freshHome(TMP, 'user');
  const env = userEnv(home);
  for (const s of servers) {
    const r = await run(env, ['add', world.mcpServers[s.name].url, '--name', s.name]);
    if (r.code !== 0) throw new Error(`lanyard add ${s.name} failed:\n${r.stdout}${r.stderr}`);
  }
  return { child, world, env };
}

async function soak() {
  const SECS = Number(process.env.SOAK_SECS || 100);
  const BURST = Number(process.env.SOAK_BURST || 10);
  const issuers = [
    { name: 'short', accessTokenTtl: 12, rotateRefreshToken: true },
    { name: 'long', accessTokenTtl: 60, rotateRefreshToken: true },
  ];
  const servers = [];
  for (let i = 0; i < 8; i += 1) servers.push({ name: `s${i}`, issuer: i % 2 ? 'long' : 'short' });
  const { child, world, env } = await setUp(issuers, servers);
  await admin(world, '/reset', 'POST').catch(() => {});
  const lat = { short: [], long: [] };
  const failures = [];
  const kills = { token: 0, tools: 0, call: 0, bridge: 0, daemon: 0 };
  let calls = 0;
  let mixedBursts = 0;

  const startDaemon = () => spawn(LANYARD, ['daemon'], { env, stdio: ['ignore', 'ignore', 'ignore'] });
  let daemon = startDaemon();
  const t0 = Date.now();
  const elapsed = () => (Date.now() - t0) / 1000;
  let outage = 'before';

  const bursts = (async () => {
    while (elapsed() < SECS) {
      const s = pick(servers);
      const rs = await Promise.all(Array.from({ length: BURST }, () => run(env, ['token', s.name])));
      for (const r of rs) {
        calls += 1;
        if (r.code === 0) lat[s.issuer].push(r.ms);
        else if (!(outage === 'during' && s.issuer === 'short')) failures.push(`token ${s.name}: ${r.stderr.trim()}`);
      }
      const tokens = new Set(rs.filter((r) => r.code === 0).map((r) => r.stdout.trim()));
      // Callers that read the keychain just before a refresh was stored get the previous token,
      // still valid: not a failure (a double refresh is, and is counted from the IdP's log).
      if (tokens.size > 1) mixedBursts += 1;
      await sleep(2000);
    }
  })();

  const killers = (async () => {
    const bridgeInput =
      JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'soak', version: '0' } } }) +
      '\n' +
      JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) +
      '\n' +
      JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' }) +
      '\n';
    while (elapsed() < SECS) {
      const s = pick(servers);
      const kind = pick(['token', 'tools', 'call', 'bridge']);
      const args = {
        token: ['token', s.name],
        tools: ['tools', s.name],
        call: ['call', s.name, 'echo', '--args', '{"text":"soak"}'],
        bridge: ['bridge', s.name],
      }[kind];
      const r = await run(env, args, { killAfterMs: 5 + Math.random() * 60, stdin: kind === 'bridge' ? bridgeInput : undefined });
      calls += 1;
      if (r.signal === 'SIGKILL') kills[kind] += 1;
      await sleep(300 + Math.random() * 700);
    }
  })();

  const users = (async () => {
    // Whole commands, not killed: their tokens must be accepted.
    while (elapsed() < SECS) {
      const s = pick(servers);
      const r = await run(env, pick([['tools', s.name], ['call', s.name, 'echo', '--args', '{"text":"x"}']]));
      calls += 1;
      if (r.code !== 0 && !(outage === 'during' && s.issuer === 'short')) failures.push(`${s.name}: ${r.stderr.trim()}`);
      await sleep(1500);
    }
  })();

  const chaos = (async () => {
    await sleep((SECS / 3) * 1000);
    daemon.kill('SIGKILL');
    kills.daemon += 1;
    await sleep(1000);
    daemon = startDaemon();
    await sleep((SECS / 6) * 1000);
    outage = 'during';
    await admin(world, '/issuers/short/stop', 'POST');
    await sleep(8000);
    await admin(world, '/issuers/short/start', 'POST');
    await sleep(2000);
    outage = 'after';
    await sleep((SECS / 6) * 1000);
    daemon.kill('SIGKILL');
    kills.daemon += 1;
    await sleep(500);
    daemon = startDaemon();
  })();

  await Promise.all([bursts, killers, users, chaos]);
  daemon.kill('SIGTERM');
  await sleep(3000); // detached refresh children finish

  // Every grant still works: a token the server accepts, without a new sign-in.
  const lost = [];
  for (const s of servers) {
    const r = await run(env, ['tools', s.name]);
    if (r.code !== 0) lost.push(`${s.name}: ${r.stderr.trim()}`);
  }
  const counts = await admin(world, '/counts');
  const log = await admin(world, '/log');
  child.kill('SIGTERM');
  const gens = generations(log, Object.fromEntries(issuers.map((i) => [i.name, i.accessTokenTtl])));
  const invalidGrant = Object.values(counts.issuers ?? {}).reduce((n, i) => n + (i.token_errors?.invalid_grant ?? 0), 0);
  const authorizations = Object.values(counts.issuers ?? {}).reduce((n, i) => n + (i.authorization ?? 0), 0);
  const refused = Object.values(counts.mcpServers ?? counts.servers ?? {}).reduce((n, s) => n + (s.unauthorized ?? 0), 0);

  console.log(`refresh soak: ${SECS} s, ${servers.length} servers (12 s and 60 s tokens, rotating refresh tokens), ${calls} commands`);
  console.log(`  kill -9: ${Object.entries(kills).map(([k, n]) => `${k} ${n}`).join(', ')}; issuer outage 8 s`);
  console.log(`  lost grants: ${lost.length}; invalid_grant at the IdPs: ${invalidGrant}; sign-ins during the soak: ${authorizations}`);
  console.log(`  refused tokens (401 at the MCP servers): ${refused}; bursts that spanned a refresh (old and new token handed out): ${mixedBursts}`);
  console.log(`  refresh grants per token generation: ${JSON.stringify(gens.hist)} over ${gens.generations} generations; double refreshes: ${gens.doubles.length}; refreshes before half the token's life: ${gens.early.length}`);
  console.log(`  lanyard token, 12 s tokens: ${pct(lat.short)}`);
  console.log(`  lanyard token, 60 s tokens: ${pct(lat.long)}`);
  if (failures.length) console.log(`  failed commands (${failures.length}):\n    ${failures.slice(0, 10).join('\n    ')}`);
  const bad =
    lost.length > 0 || invalidGrant > 0 || gens.doubles.length > 0 || gens.early.length > 0;
  for (const e of gens.early.slice(0, 10)) console.log(`  EARLY REFRESH ${e}`);
  for (const l of lost) console.log(`  LOST ${l}`);
  for (const [k, n] of gens.doubles) console.log(`  DOUBLE REFRESH ${k}: ${n} grants`);
  console.log(bad ? 'refresh soak FAILED' : 'refresh soak passed');
  fs.rmSync(TMP, { recursive: true, force: true });
  process.exit(bad ? 1 : 0);
}

async function burst() {
  const ROUNDS = Number(process.env.BENCH_ROUNDS || 12);
  const BURST = Number(process.env.SOAK_BURST || 10);
  const out = [];
  for (const [label, ttl] of [['15 s tokens', 15], ['3-minute tokens', 180]]) {
    const { child, world, env } = await setUp([{ name: 'idp', accessTokenTtl: ttl, rotateRefreshToken: true }], [{ name: 'demo', issuer: 'idp' }]);
    const single = [];
    const burstMs = [];
    const deadline = Date.now() + Math.max(ROUNDS * 2500, 30000);
    // Rounds spread over at least one refresh (15 s tokens refresh every 7.5 s).
    for (let i = 0; i < ROUNDS && Date.now() < deadline; i += 1) {
      single.push((await run(env, ['token', 'demo'])).ms);
      const rs = await Promise.all(Array.from({ length: BURST }, () => run(env, ['token', 'demo'])));
      for (const r of rs) if (r.code === 0) burstMs.push(r.ms);
      await sleep(ttl === 15 ? 1500 : 500);
    }
    const log = await admin(world, '/log');
    child.kill('SIGTERM');
    const gens = generations(log, { idp: ttl });
    out.push({ label, single, burstMs, doubles: gens.doubles.length + gens.early.length, refreshes: Object.values(log.issuers ?? {}).flat().filter((e) => e.grant_type === 'refresh_token').length });
  }
  console.log(`lanyard token latency (${LANYARD}), bursts of ${Number(process.env.SOAK_BURST || 10)} concurrent callers:`);
  for (const o of out) {
    console.log(`  ${o.label}: burst ${pct(o.burstMs)}; single caller ${pct(o.single)}; refreshes ${o.refreshes}, double ${o.doubles}`);
  }
  console.log(JSON.stringify(out.map((o) => ({ label: o.label, burst_p50: percentile(o.burstMs, 50), burst_p99: percentile(o.burstMs, 99), single_p50: percentile(o.single, 50), single_p99: percentile(o.single, 99), refreshes: o.refreshes, doubles: o.doubles }))));
  fs.rmSync(TMP, { recursive: true, force: true });
}

await (MODE === 'burst' ? burst() : soak());
