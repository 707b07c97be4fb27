#!/usr/bin/env node
// One MCP client session through mcp-remote (npm, pinned in bench/package.json): spawn the proxy,
// initialize + tools/list, exit. With saved tokens in MCP_REMOTE_CONFIG_DIR this is mcp-remote's
// warm start, the peer figure for `lanyard token` in bench/token-latency.sh.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const url = process.argv[2];
const transport = new StdioClientTransport({
  command: process.execPath,
  args: [path.join(HERE, 'node_modules', 'mcp-remote', 'dist', 'proxy.js'), url, '--allow-http'],
  env: process.env,
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
  console.error(`mcp-remote failed: ${e.message}\n${log.slice(-3000)}`);
  process.exit(1);
} finally {
  await client.close().catch(() => {});
}
process.exit(0);
