#!/usr/bin/env node
// Issue 2's benchmark, side by side in one run against the same test world:
//   cold: `lanyard add URL` (discovery → DCR → sign-in with the scripted browser → first tools/list)
//         vs mcp-remote (npm, pinned) from an empty config dir through initialize + tools/list;
//   warm: `lanyard tools NAME` vs mcp-remote with its saved tokens, initialize + tools/list.
// HTTP requests are counted at the IdP and the MCP server for each. Prints medians and ratios
// (and a JSON line at the end). Run it with bench/signin (which provides the private keychain).
//   BENCH_RUNS=5 (iterations), LANYARD_BIN (default target/debug/lanyard)

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { LANYARD, MCP_REMOTE, admin, freshHome, mcpRemoteListTools, median, startWorld, userEnv } from './common.mjs';

const RUNS = Number(process.env.BENCH_RUNS || 5);
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'lanyard-bench-'));





function lanyard(home, args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(LANYARD, args, { env: userEnv(home), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`lanyard ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return ms;
}

async function mcpRemote(home, url) {
  const t0 = process.hrtime.bigint();
  await mcpRemoteListTools(url, userEnv(home));
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


async function main() {
  if (!fs.existsSync(LANYARD)) throw new Error(`${LANYARD} is missing: cargo build -p lanyard-cli`);
  if (!fs.existsSync(MCP_REMOTE)) throw new Error('bench/node_modules is missing: (cd bench && npm ci)');
  const { child, world } = await startWorld(TMP, { issuers: [{ name: 'idp', accessTokenTtl: 3600 }], mcpServers: [{ name: 'demo' }] });
  const url = world.mcpServers.demo.url;
  const rows = { lanyardCold: [], remoteCold: [], lanyardWarm: [], remoteWarm: [] };
  try {
    for (let i = 0; i < RUNS; i += 1) {
      const lh = freshHome(TMP, 'lanyard');
      rows.lanyardCold.push(await measure(world, async () => lanyard(lh, ['add', url, '--name', 'demo'])));
      rows.lanyardWarm.push(await measure(world, async () => lanyard(lh, ['tools', 'demo'])));
      const rh = freshHome(TMP, 'remote');
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
