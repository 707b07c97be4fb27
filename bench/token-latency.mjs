#!/usr/bin/env node
// Issue 4 benchmark, one run, one machine, one test world:
//   1. `lanyard token NAME` with a fresh token (the headers helper, run on every IDE connection):
//      median wall time by hyperfine, beside mcp-remote's warm start (saved tokens, spawn →
//      initialize + tools/list) measured by hyperfine in the same run; IdP requests of each.
//   2. `lanyard daemon` with 1,000 servers registered: time to schedule them all, RSS, CPU and
//      context switches over an idle window (the one timer sleeps: expect ~0).
// Run through bench/token-latency (private keychain, pinned npm packages, build).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { HERE, LANYARD, admin, freshHome, startWorld, userEnv } from './common.mjs';

const TOKEN_RUNS = Number(process.env.BENCH_TOKEN_RUNS || 50);
const REMOTE_RUNS = Number(process.env.BENCH_REMOTE_RUNS || 10);
const SERVERS = Number(process.env.BENCH_SERVERS || 1000);
const IDLE_SECS = Number(process.env.BENCH_IDLE_SECS || 30);
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'lanyard-bench-token-'));





function run(cmd, args, env, input) {
  const r = spawnSync(cmd, args, { env, input, encoding: 'utf8', stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

function hyperfine(label, command, env, runs, warmup) {
  const out = path.join(TMP, `${label}.json`);
  run('hyperfine', ['-N', '--style', 'none', '--warmup', String(warmup), '--runs', String(runs), '--export-json', out, command], env);
  const r = JSON.parse(fs.readFileSync(out, 'utf8')).results[0];
  return { median_ms: Math.round(r.median * 10000) / 10, mean_ms: Math.round(r.mean * 10000) / 10, min_ms: Math.round(r.min * 10000) / 10, runs };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);

function procStats(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (k) => Number((status.match(new RegExp(`^${k}:\\s+(\\d+)`, 'm')) || [])[1] || 0);
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const parts = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return {
    rss_kib: field('VmRSS'),
    hwm_kib: field('VmHWM'),
    threads: field('Threads'),
    cpu_ticks: Number(parts[11]) + Number(parts[12]),
    ctxt: field('voluntary_ctxt_switches') + field('nonvoluntary_ctxt_switches'),
  };
}

// Context switches per thread (the engine's work happens on tokio and blocking threads).
function threadSwitches(pid) {
  const out = new Map();
  for (const t of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const s = fs.readFileSync(`/proc/${pid}/task/${t}/status`, 'utf8');
      let n = 0;
      for (const k of ['voluntary_ctxt_switches', 'nonvoluntary_ctxt_switches']) {
        n += Number((s.match(new RegExp(`^${k}:\\s+(\\d+)`, 'm')) || [])[1] || 0);
      }
      out.set(t, n);
    } catch {
      /* thread gone */
    }
  }
  return out;
}

// Switches between two samples: threads alive in both count their difference, new threads
// count all of theirs, threads that ended (idle blocking-pool threads retire after 10 s) count 1.
function switchesBetween(a, b) {
  let n = 0;
  for (const [t, v] of b) n += v - (a.get(t) ?? 0);
  for (const t of a.keys()) if (!b.has(t)) n += 1;
  return n;
}

async function main() {
  if (!fs.existsSync(LANYARD)) throw new Error(`${LANYARD} is missing: cargo build -p lanyard-cli`);
  const { child, world } = await startWorld(TMP, { issuers: [{ name: 'idp', accessTokenTtl: 3600 }], mcpServers: [{ name: 'demo' }] }, path.join(TMP, 'world.log'));
  const url = world.mcpServers.demo.url;
  const out = { lanyard_bin: LANYARD };
  let daemon;
  try {
    // 1. Token helper latency vs mcp-remote warm start.
    const lh = freshHome(TMP, 'lanyard');
    const lenv = userEnv(lh);
    run(LANYARD, ['add', url, '--name', 'demo'], lenv);
    await admin(world, '/reset', 'POST');
    out.lanyard_token = hyperfine('lanyard-token', `${LANYARD} token demo`, lenv, TOKEN_RUNS, 5);
    out.lanyard_token.idp_requests = (await admin(world, '/counts')).issuers.idp.total;

    const rh = freshHome(TMP, 'remote');
    const renv = userEnv(rh);
    run(process.execPath, [path.join(HERE, 'mcp-remote-client.mjs'), url], renv); // cold: signs in once
    await admin(world, '/reset', 'POST');
    out.mcp_remote_warm = hyperfine('mcp-remote-warm', `${process.execPath} ${path.join(HERE, 'mcp-remote-client.mjs')} ${url}`, renv, REMOTE_RUNS, 1);
    out.mcp_remote_warm.idp_requests = (await admin(world, '/counts')).issuers.idp.total;
    out.token_ratio = Math.round((out.lanyard_token.median_ms / out.mcp_remote_warm.median_ms) * 1000) / 1000;

    // 2. The daemon with SERVERS servers: clone the signed-in server in the state file and its
    //    token set in the keychain (one real grant; tokens live an hour, so the idle window has
    //    no refresh due).
    const stateDir = path.join(lh, '.config', 'lanyard');
    const stateFile = path.join(stateDir, 'state.json');
    const state = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
    const base = state.servers.find((s) => s.name === 'demo');
    const id = fs.readFileSync(path.join(stateDir, 'install-id'), 'utf8').trim();
    const service = `lanyard/${id}`;
    const tokens = run('secret-tool', ['lookup', 'service', service, 'username', 'tokens:demo'], lenv);
    const t0 = Date.now();
    for (let i = 1; i < SERVERS; i += 1) {
      const name = `s${String(i).padStart(4, '0')}`;
      state.servers.push({ ...base, name });
      run('secret-tool', ['store', '--label', `keyring:tokens:${name}@${service}`, 'service', service, 'username', `tokens:${name}`], lenv, tokens);
    }
    fs.writeFileSync(stateFile, JSON.stringify(state, null, 2));
    process.stderr.write(`seeded ${SERVERS} servers in ${Date.now() - t0} ms\n`);

    const started = process.hrtime.bigint();
    daemon = spawn(LANYARD, ['daemon'], { env: { ...lenv, LANYARD_LOG: 'warn' }, stdio: ['ignore', 'ignore', 'inherit'] });
    const statusFile = path.join(stateDir, 'daemon-status.json');
    for (;;) {
      await sleep(50);
      try {
        const s = JSON.parse(fs.readFileSync(statusFile, 'utf8'));
        if (s.pid === daemon.pid && Object.values(s.servers).filter((v) => v.state === 'fresh').length >= SERVERS) break;
      } catch {
        /* not yet */
      }
      if (daemon.exitCode !== null) throw new Error('daemon exited');
    }
    const readyMs = Number(process.hrtime.bigint() - started) / 1e6;
    await sleep(1000); // let the start-up settle (status file flush, watcher)
    const a = procStats(daemon.pid);
    const sa = threadSwitches(daemon.pid);
    await sleep(IDLE_SECS * 1000);
    const b = procStats(daemon.pid);
    const sb = threadSwitches(daemon.pid);
    out.daemon = {
      servers: SERVERS,
      ready_ms: Math.round(readyMs),
      rss_mib: Math.round((b.rss_kib / 1024) * 10) / 10,
      peak_rss_mib: Math.round((b.hwm_kib / 1024) * 10) / 10,
      threads: b.threads,
      idle_window_s: IDLE_SECS,
      idle_cpu_ms: Math.round(((b.cpu_ticks - a.cpu_ticks) * 1000) / CLK_TCK),
      idle_cpu_percent: Math.round(((b.cpu_ticks - a.cpu_ticks) / CLK_TCK / IDLE_SECS) * 100 * 1000) / 1000,
      idle_context_switches: switchesBetween(sa, sb),
    };
  } finally {
    if (daemon && daemon.exitCode === null) {
      daemon.kill('SIGTERM');
      await new Promise((r) => daemon.once('exit', r));
    }
    child.kill();
  }
  const t = out.lanyard_token;
  const m = out.mcp_remote_warm;
  console.log('same machine, same test world, one run');
  console.log(`lanyard token (fresh token)       median ${String(t.median_ms).padStart(8)} ms  (min ${t.min_ms}, ${t.runs} runs)  IdP requests ${t.idp_requests}`);
  console.log(`mcp-remote warm start             median ${String(m.median_ms).padStart(8)} ms  (min ${m.min_ms}, ${m.runs} runs)  IdP requests ${m.idp_requests}`);
  console.log(`ratio lanyard token / mcp-remote warm: ${out.token_ratio}   (target: lanyard token median < 15 ms)`);
  const d = out.daemon;
  console.log(`daemon, ${d.servers} servers: all scheduled in ${d.ready_ms} ms; RSS ${d.rss_mib} MiB (peak ${d.peak_rss_mib}); ${d.threads} threads`);
  console.log(`daemon idle ${d.idle_window_s} s: CPU ${d.idle_cpu_ms} ms (${d.idle_cpu_percent} %), ${d.idle_context_switches} context switches`);
  console.log(JSON.stringify(out));
  fs.rmSync(TMP, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(`bench failed: ${e.stack ?? e}`);
  try {
    console.error(fs.readFileSync(path.join(TMP, 'world.log'), 'utf8').slice(-3000));
  } catch {
    /* no log */
  }
  process.exit(1);
});
