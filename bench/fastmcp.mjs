#!/usr/bin/env node
// Issue 11's benchmark: a cold `lanyard add URL` against a stock FastMCP server (its built-in
// OAuth provider, DCR, tests/world/python) next to mcp-remote from an empty config dir against
// the same server in the same run, both through the scripted browser, to tools/list. Token
// requests are read from the server's own log (its admin API). Prints medians and the ratio,
// then one JSON line. Run it with bench/fastmcp (private keychain, installs what it needs).
//   BENCH_RUNS=5 (iterations), LANYARD_BIN (default target/debug/lanyard)

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

import { LANYARD, MCP_REMOTE, ROOT, freshHome, mcpRemoteListTools, median, userEnv } from './common.mjs';

const RUNS = Number(process.env.BENCH_RUNS || 5);
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'lanyard-bench-fastmcp-'));
const PY = path.join(ROOT, 'tests', 'world', 'python');

function startFastMcp() {
  const child = spawn(path.join(PY, '.venv', 'bin', 'python'), [path.join(PY, 'stack.py'), 'fastmcp', '--config', '{"accessTokenTtl":3600}'], {
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  return new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout }).once('line', (l) => resolve({ child, info: JSON.parse(l) }));
    child.once('exit', (c) => reject(new Error(`the FastMCP stack exited ${c}`)));
  });
}

async function tokenRequests(info) {
  const s = await (await fetch(`${info.admin}/state`)).json();
  return (s.token_requests ?? []).length;
}

async function timed(fn) {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function main() {
  if (!fs.existsSync(LANYARD)) throw new Error(`${LANYARD} is missing: cargo build -p lanyard-cli`);
  if (!fs.existsSync(MCP_REMOTE)) throw new Error('bench/node_modules is missing: (cd bench && npm ci)');
  const { child, info } = await startFastMcp();
  const rows = { lanyard: [], remote: [] };
  try {
    for (let i = 0; i < RUNS; i += 1) {
      const lh = freshHome(TMP, 'lanyard');
      const before = await tokenRequests(info);
      const ms = await timed(async () => {
        const r = spawnSync(LANYARD, ['add', info.url, '--name', 'fast'], { env: userEnv(lh), encoding: 'utf8' });
        if (r.status !== 0) throw new Error(`lanyard add failed (${r.status}):\n${r.stderr}`);
      });
      rows.lanyard.push({ ms, token: (await tokenRequests(info)) - before });
      const rh = freshHome(TMP, 'remote');
      const before2 = await tokenRequests(info);
      const ms2 = await timed(() => mcpRemoteListTools(info.url, userEnv(rh)));
      rows.remote.push({ ms: ms2, token: (await tokenRequests(info)) - before2 });
      process.stderr.write(`run ${i + 1}/${RUNS} done\n`);
    }
  } finally {
    child.kill();
  }
  const sum = (k) => ({
    median_ms: Math.round(median(rows[k].map((r) => r.ms)) * 10) / 10,
    token_requests: median(rows[k].map((r) => r.token)),
  });
  const out = { runs: RUNS, server: info.implementation, lanyard_add_cold: sum('lanyard'), mcp_remote_cold: sum('remote') };
  out.cold_ratio = Math.round((out.lanyard_add_cold.median_ms / out.mcp_remote_cold.median_ms) * 100) / 100;
  console.log(`medians of ${RUNS} runs against ${info.implementation} (same machine, same server)`);
  console.log(`lanyard add (cold, to tools/list)   ${out.lanyard_add_cold.median_ms} ms   token requests ${out.lanyard_add_cold.token_requests}`);
  console.log(`mcp-remote cold (to tools/list)     ${out.mcp_remote_cold.median_ms} ms   token requests ${out.mcp_remote_cold.token_requests}`);
  console.log(`cold ratio lanyard/mcp-remote: ${out.cold_ratio} (target <= 0.5)`);
  console.log(JSON.stringify(out));
  fs.rmSync(TMP, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(`bench failed: ${e.stack ?? e}`);
  process.exit(1);
});
