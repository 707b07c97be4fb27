// What the benchmark scripts share: the test world, a throwaway user, the admin API, medians,
// and mcp-remote's initialize + tools/list (the peer every benchmark compares against).

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

export const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, '..');
export const LANYARD = process.env.LANYARD_BIN || path.join(ROOT, 'target', 'debug', 'lanyard');
export const MCP_REMOTE = path.join(HERE, 'node_modules', 'mcp-remote', 'dist', 'proxy.js');
export const BROWSER = path.join(ROOT, 'tests', 'world', 'browser.mjs');

/// The test world (tests/world) with `config`, its state under `tmp`; resolves to {child, world}.
export function startWorld(tmp, config, logFile) {
  const child = spawn(
    process.execPath,
    [path.join(ROOT, 'tests', 'world', 'world.mjs'), '--config', JSON.stringify({ stateDir: path.join(tmp, 'world'), ...config })],
    {
      stdio: ['ignore', 'pipe', logFile ? fs.openSync(logFile, 'w') : 'ignore'],
      env: { ...process.env, NODE_NO_WARNINGS: '1' },
    },
  );
  return new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout }).once('line', (l) => resolve({ child, world: JSON.parse(l) }));
    child.once('exit', (c) => reject(new Error(`world exited ${c}`)));
  });
}

/// The world's admin API. Retried: while a spawnSync (hyperfine) blocks the event loop, the world
/// closes the idle keep-alive socket and the next fetch on it fails once.
export async function admin(world, route, method = 'GET') {
  for (let attempt = 0; ; attempt += 1) {
    try {
      const r = await fetch(`${world.admin}${route}`, { method });
      return await r.json();
    } catch (e) {
      if (attempt >= 2) throw e;
    }
  }
}

const USER_DIRS = ['.config', '.local/share', '.local/state', '.cache', '.claude', '.codex', '.cursor', '.mcp-auth'];

/// A throwaway user's HOME under `tmp`, with the folders the tools expect.
export function freshHome(tmp, label) {
  const home = fs.mkdtempSync(path.join(tmp, `${label}-`));
  for (const d of USER_DIRS) fs.mkdirSync(path.join(home, d), { recursive: true });
  return home;
}

/// The environment of that user: nothing of the real HOME reaches Lanyard, the IDE CLIs or mcp-remote.
export function userEnv(home) {
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

/// mcp-remote from spawn to initialize + tools/list (which must list `echo`).
export async function mcpRemoteListTools(url, env) {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [MCP_REMOTE, url, '--allow-http'],
    env,
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
}

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
