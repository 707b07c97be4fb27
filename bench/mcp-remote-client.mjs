#!/usr/bin/env node
// One MCP client session through mcp-remote (npm, pinned in bench/package.json): spawn the proxy,
// initialize + tools/list, exit. With saved tokens in MCP_REMOTE_CONFIG_DIR this is mcp-remote's
// warm start, the peer figure for `lanyard token` in bench/token-latency.
import { mcpRemoteListTools } from './common.mjs';

try {
  await mcpRemoteListTools(process.argv[2], process.env);
} catch (e) {
  console.error(e.message);
  process.exit(1);
}
process.exit(0);
