#!/usr/bin/env node
// A stdio MCP client on the official TypeScript SDK v2 (`@modelcontextprotocol/client`), pinned
// to the 2026-07-28 revision (`server/discover`, per-request `_meta`; no `initialize`, no
// fallback). It starts a stdio server command, lists the tools, calls `echo`, and prints one JSON
// line per step on stdout (like tests/ide-clis/bridge-client.mjs does for the 2025 SDK).
//
//   node stdio-client-v2.mjs [--auto] COMMAND [ARGS...]
//     --auto: negotiate (probe with server/discover, fall back to initialize) instead of pinning
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';

const argv = process.argv.slice(2);
const auto = argv[0] === '--auto';
const [command, ...args] = auto ? argv.slice(1) : argv;
const say = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);

const transport = new StdioClientTransport({ command, args, env: process.env, stderr: 'inherit' });
const client = new Client(
  { name: 'lanyard-e2e-stdio-client-v2', version: '2.0.0' },
  { versionNegotiation: { mode: auto ? 'auto' : { pin: '2026-07-28' } } },
);
await client.connect(transport);
say({ step: 'connected', server: client.getServerVersion(), protocolVersion: client.getNegotiatedProtocolVersion?.() ?? null });
const tools = await client.listTools();
say({ step: 'tools', names: tools.tools.map((t) => t.name) });
const result = await client.callTool({ name: 'echo', arguments: { text: 'modern through the bridge' } });
say({ step: 'call', result });
await client.close();
say({ step: 'closed' });
