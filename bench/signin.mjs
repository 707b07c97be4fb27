#!/usr/bin/env node
// Issue 2's benchmark, side by side in one run against the same test world:
//   cold: `lanyard add URL` (discovery → DCR → sign-in with the scripted browser → first tools/list)
//         vs mcp-remote (npm, pinned) from an empty config dir through initialize + tools/list;
//   warm: `lanyard tools NAME` vs mcp-remote with its saved tokens, initialize + tools/list.
// HTTP requests are counted at the IdP and the MCP server for each. Prints medians and ratios
// (and a JSON line at the end). Run it with bench/run (which provides the private keychain).
//   BENCH_RUNS=5 (iterations), LANYARD_BIN (default target/debug/lanyard)

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const RUNS = Number(process.env.BENCH_RUNS || 5);
const LANYARD = process.env.LANYARD_BIN || path.join(ROOT, 'target', 'debug', 'lanyard');
const MCP_REMOTE = path.join(HERE, 'node_modules', 'mcp-remote', 'dist', 'proxy.js');
const BROWSER = path.join(ROOT, 'tests', 'world', 'browser.mjs');
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'lanyard-bench-'));

function startWorld() {
  const config = {
    stateDir: path.join(TMP, 'world'),
    issuers: [{ name: 'idp', accessTokenTtl: 3600 }],
    mcpServers: [{ name: 'demo' }],
  };
  const child = spawn(process.execPath, [path.join(ROOT, 'tests', 'world', 'world.mjs'), '--config', JSON.stringify(config)], {
    stdio: ['ignore', 'pipe', 'ignore'],
    env: { ...process.env, NODE_NO_WARNINGS: '1' },
  });
  return new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout }).once('line', (l) => resolve({ child, world: JSON.parse(l) }));
    child.once('exit', (c) => reject(new Error(`world exited ${c}`)));
  });
}

async function admin(world, route, method = 'GET') {
  const r = await fetch(`${world.admin}${route}`, { method });
  return r.json();
}

function freshHome(label) {
  const home = fs.mkdtempSync(path.join(TMP, `${label}-`));
  for (const d of ['.config', '.local/share', '.local/state', '.cache', '.claude', '.codex', '.mcp-auth']) {
    fs.mkdirSync(path.join(home, d), { recursive: true });
  }
  return home;
}

function userEnv(home) {
  return {
    PATH: process.env.PATH,
    HOME: home,
    LANG: 'C.UTF-8',
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_DATA_HOME: path.join(home, '.local/share'),
    XDG_STATE_HOME: path.join(home, '.local/state'),
    XDG_CACHE_HOME: path.join(home, '.cache'),
    CLAUDE_CONFIG_DIR: path.join(home, '.claude'),
    CODEX_HOME: path.join(home, '.codex'),
    MCP_REMOTE_CONFIG_DIR: path.join(home, '.mcp-auth'),
    DBUS_SESSION_BUS_ADDRESS: process.env.DBUS_SESSION_BUS_ADDRESS ?? '',
    BROWSER,
    NODE_NO_WARNINGS: '1',
  };
}

function lanyard(home, args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(LANYARD, args, { env: userEnv(home), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`lanyard ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return ms;
}

async function mcpRemote(home, url) {
  const t0 = process.hrtime.bigint();
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [MCP_REMOTE, url, '--allow-http'],
    env: userEnv(home),
    stderr: 'pipe',
  });
  let log = '';
  transport.stderr?.on('data', (d) => {
    log += d;
  });
  const client = new Client({ name: 'bench', version: '0' });
  try {
    await client.connect(transport);
    const tools = await client.listTools();
    if (!tools.tools.some((t) => t.name === 'echo')) throw new Error('no echo tool');
  } catch (e) {
    throw new Error(`mcp-remote failed: ${e.message}\n${log.slice(-3000)}`);
  } finally {
    await client.close().catch(() => {});
  }
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function requests(counts) {
  const idp = counts.issuers.idp;
  const mcp = counts.mcpServers.demo;
  return { idp: idp.total, mcp: mcp.requests + mcp.prm };
}

async function measure(world, fn) {
  await admin(world, '/reset', 'POST');
  const ms = await fn();
  return { ms, ...requests(await admin(world, '/counts')) };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function main() {
  if (!fs.existsSync(LANYARD)) throw new Error(`${LANYARD} is missing: cargo build -p lanyard-cli`);
  if (!fs.existsSync(MCP_REMOTE)) throw new Error('bench/node_modules is missing: (cd bench && npm ci)');
  const { child, world } = await startWorld();
  const url = world.mcpServers.demo.url;
  const rows = { lanyardCold: [], remoteCold: [], lanyardWarm: [], remoteWarm: [] };
  try {
    for (let i = 0; i < RUNS; i += 1) {
      const lh = freshHome('lanyard');
      rows.lanyardCold.push(await measure(world, async () => lanyard(lh, ['add', url, '--name', 'demo'])));
      rows.lanyardWarm.push(await measure(world, async () => lanyard(lh, ['tools', 'demo'])));
      const rh = freshHome('remote');
      rows.remoteCold.push(await measure(world, () => mcpRemote(rh, url)));
      rows.remoteWarm.push(await measure(world, () => mcpRemote(rh, url)));
      process.stderr.write(`run ${i + 1}/${RUNS} done\n`);
    }
  } finally {
    child.kill();
  }
  const summary = {};
  for (const [k, v] of Object.entries(rows)) {
    summary[k] = {
      median_ms: Math.round(median(v.map((r) => r.ms)) * 10) / 10,
      idp_requests: median(v.map((r) => r.idp)),
      mcp_requests: median(v.map((r) => r.mcp)),
    };
  }
  const ratio = (a, b) => Math.round((summary[a].median_ms / summary[b].median_ms) * 100) / 100;
  const out = {
    runs: RUNS,
    ...summary,
    cold_ratio: ratio('lanyardCold', 'remoteCold'),
    warm_ratio: ratio('lanyardWarm', 'remoteWarm'),
    targets: { cold_ratio: 0.5, warm_ratio: 0.1 },
  };
  const line = (label, k) => `${label.padEnd(34)} ${String(summary[k].median_ms).padStart(9)} ms   IdP ${String(summary[k].idp_requests).padStart(3)}   MCP ${String(summary[k].mcp_requests).padStart(3)}`;
  console.log(`medians of ${RUNS} runs (same machine, same test world)`);
  console.log(line('lanyard add (cold, to tools/list)', 'lanyardCold'));
  console.log(line('mcp-remote cold (to tools/list)', 'remoteCold'));
  console.log(line('lanyard tools (warm)', 'lanyardWarm'));
  console.log(line('mcp-remote warm (to tools/list)', 'remoteWarm'));
  console.log(`cold ratio lanyard/mcp-remote: ${out.cold_ratio} (target <= 0.5)`);
  console.log(`warm ratio lanyard/mcp-remote: ${out.warm_ratio} (target <= 0.1)`);
  console.log(JSON.stringify(out));
  fs.rmSync(TMP, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(`bench failed: ${e.stack ?? e}`);
  process.exit(1);
});
