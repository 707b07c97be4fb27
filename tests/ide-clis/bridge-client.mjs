// A stdio MCP client on the official TypeScript SDK (the test world's copy) that talks to
// `lanyard bridge NAME`: lists the tools, calls `echo`, prints one JSON line per step.
// With --twice it waits for a line on stdin, then calls `echo` again in the same session
// (the test lets the access token expire in between: the bridge must refresh on 401).
//
//   node bridge-client.mjs /abs/lanyard NAME [--twice]
import { createInterface } from 'node:readline';
import { Client } from '../world/node_modules/@modelcontextprotocol/sdk/dist/esm/client/index.js';
import { StdioClientTransport } from '../world/node_modules/@modelcontextprotocol/sdk/dist/esm/client/stdio.js';

const [lanyard, name, ...flags] = process.argv.slice(2);
const say = (o) => process.stdout.write(JSON.stringify(o) + '\n');

const transport = new StdioClientTransport({
  command: lanyard,
  args: ['bridge', name],
  env: process.env,
  stderr: 'inherit',
});
const client = new Client({ name: 'lanyard-e2e-stdio-client', version: '1.0.0' });
await client.connect(transport);
say({ step: 'connected', server: client.getServerVersion() });
const tools = await client.listTools();
say({ step: 'tools', names: tools.tools.map((t) => t.name) });
const first = await client.callTool({ name: 'echo', arguments: { text: 'through the bridge' } });
say({ step: 'call', n: 1, result: first });
if (flags.includes('--twice')) {
  const rl = createInterface({ input: process.stdin });
  await new Promise((resolve) => rl.once('line', resolve));
  rl.close();
  const second = await client.callTool({ name: 'echo', arguments: { text: 'after a refresh' } });
  say({ step: 'call', n: 2, result: second });
}
await client.close();
say({ step: 'closed' });
