#!/usr/bin/env node
// Issue 5's benchmark, in one run against the local test world:
//   connect: `lanyard connect gw --ide claude` on a 20 MB ~/.claude.json (many projects, long
//            histories), wall time and bytes written, side by side with the real Claude Code CLI
//            doing the same job (`claude mcp add-json -s user`, then `claude mcp remove`);
//   watcher: from an external change (a stale static token written into Cursor's file) to the
//            repaired file, with `lanyard ides --watch` running.
// Prints medians and the ratio, then a JSON line. Run it with bench/ides (private keychain).
//   BENCH_RUNS=5, BENCH_CLAUDE_MB=20, LANYARD_BIN (default target/debug/lanyard)

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';

import { LANYARD, ROOT, freshHome, median, startWorld, userEnv } from './common.mjs';

const RUNS = Number(process.env.BENCH_RUNS || 5);
const MB = Number(process.env.BENCH_CLAUDE_MB || 20);
const CLAUDE = path.join(ROOT, 'tests', 'ide-clis', 'node_modules', '.bin', 'claude');
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'lanyard-bench-ides-'));


const home = freshHome(TMP, 'home');
const env = userEnv(home);

function run(cmd, args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${path.basename(cmd)} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return ms;
}

/// A ~N MB .claude.json in JSON.stringify(…, null, 2) style, as Claude Code writes it.
function bigClaudeJson(mb) {
  const projects = {};
  let i = 0;
  const history = Array.from({ length: 40 }, (_, k) => ({ display: `prompt ${k}: refactor the ünïcödé parser — "quoted" \\ path`, pastedContents: {} }));
  while (JSON.stringify(projects).length < mb * 1024 * 1024 * 0.75) {
    projects[`/home/dev/src/project-${i}`] = {
      allowedTools: ['Bash(cargo test:*)', 'Edit'], history, mcpContextUris: [], mcpServers: {},
      enabledMcpjsonServers: [], hasTrustDialogAccepted: true, lastCost: 0.41, lastSessionId: `s-${i}`,
      futureUnknownKey: { nested: [1, 2.5, null, true] },
    };
    i += 1;
  }
  return JSON.stringify({ numStartups: 212, theme: 'dark', mcpServers: {}, projects, userID: 'x'.repeat(64) }, null, 2);
}


async function watcherReaction(file, token) {
  const w = spawn(LANYARD, ['ides', '--watch'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise((resolve) => readline.createInterface({ input: w.stderr }).once('line', resolve));
  const times = [];
  try {
    for (let i = 0; i < RUNS; i += 1) {
      const good = fs.readFileSync(file, 'utf8');
      const t0 = process.hrtime.bigint();
      fs.writeFileSync(file, good.replace(token, `stale-${i}`));
      for (;;) {
        if (fs.readFileSync(file, 'utf8').includes(token)) break;
        await new Promise((r) => setTimeout(r, 2));
      }
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  } finally {
    w.kill();
  }
  return times;
}

async function main() {
  for (const f of [LANYARD, CLAUDE]) if (!fs.existsSync(f)) throw new Error(`${f} is missing (cargo build -p lanyard-cli; scripts/setup.d/25-ide-clis.sh)`);
  const { child, world } = await startWorld(TMP, { issuers: [{ name: 'idp', accessTokenTtl: 3600 }] });
  try {
    run(LANYARD, ['add', world.mcpServers.demo.url, '--name', 'gw']);
    const file = path.join(home, '.claude', '.claude.json');
    const big = bigClaudeJson(MB);
    fs.writeFileSync(file, big, { mode: 0o600 });
    const entry = JSON.stringify({ type: 'http', url: world.mcpServers.demo.url, headersHelper: `${LANYARD} token gw --claude-headers` });
    const rows = { lanyard: [], claude: [], lanyardBytes: 0, claudeBytes: 0 };
    for (let i = 0; i < RUNS; i += 1) {
      rows.lanyard.push(run(LANYARD, ['connect', 'gw', '--ide', 'claude', '--no-validate']));
      rows.lanyardBytes = fs.statSync(file).size;
      run(LANYARD, ['disconnect', 'gw']);
      if (fs.readFileSync(file, 'utf8') !== big) throw new Error('lanyard connect+disconnect was not byte-identical');
      rows.claude.push(run(CLAUDE, ['mcp', 'add-json', '-s', 'user', 'gw2', entry]));
      rows.claudeBytes = fs.statSync(file).size;
      run(CLAUDE, ['mcp', 'remove', '-s', 'user', 'gw2']);
      fs.writeFileSync(file, big);
      process.stderr.write(`connect run ${i + 1}/${RUNS} done\n`);
    }
    // Watcher: a static token in Cursor's file.
    run(LANYARD, ['connect', 'gw', '--ide', 'cursor', '--mode', 'static']);
    const token = spawnSync(LANYARD, ['token', 'gw'], { env, encoding: 'utf8' }).stdout.trim();
    const reaction = await watcherReaction(path.join(home, '.cursor', 'mcp.json'), token);

    const mb = (n) => (n / 1024 / 1024).toFixed(1);
    const l = median(rows.lanyard);
    const c = median(rows.claude);
    console.log(`~/.claude.json: ${mb(big.length)} MB`);
    console.log(`connect (lanyard connect --ide claude): median ${l.toFixed(0)} ms, writes ${mb(rows.lanyardBytes)} MB (one temp file, renamed)`);
    console.log(`peer (claude mcp add-json -s user):     median ${c.toFixed(0)} ms, file afterwards ${mb(rows.claudeBytes)} MB`);
    console.log(`ratio lanyard/claude: ${(l / c).toFixed(2)}`);
    console.log(`watcher: external change → repaired file, median ${median(reaction).toFixed(0)} ms (runs: ${reaction.map((x) => x.toFixed(0)).join(', ')})`);
    console.log(JSON.stringify({ claudeJsonBytes: big.length, lanyardConnectMs: l, claudeAddJsonMs: c, ratio: l / c, lanyardBytesWritten: rows.lanyardBytes, watcherReactionMs: median(reaction) }));
  } finally {
    child.kill();
    fs.rmSync(TMP, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e.message);
  process.exit(1);
});
