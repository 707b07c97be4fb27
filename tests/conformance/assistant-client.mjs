// The client under test for the conformance scenarios: an assistant's stdio MCP session, spoken
// to `lanyard bridge` (`--url SERVER_URL`, or `NAME` after `lanyard add`) the way Cursor or
// Claude Code speak to `lanyard bridge NAME` — a 2025-11-25 `initialize` declaring elicitation,
// sampling and roots, then everything the server offers: every tool listed is called, every
// resource read, every prompt fetched. Server-to-client requests (elicitation with schema defaults, sampling, roots)
// are answered as a host would. What the suite judges is what Lanyard's bridge puts on the
// wire: the 2026-07-28 translation, headers, request state, SSE resumption, scope step-up.
//
// Usage: node assistant-client.mjs SERVER_URL   (LANYARD_BIN, MCP_CONFORMANCE_* from the suite)
// ASSISTANT_BRIDGE_NAME=NAME bridges a saved server instead (`lanyard bridge NAME`, after
// `lanyard add`): the auth scenarios' path.
// Exit code 0 only when the handshake and every listing worked, no request went unanswered or
// was refused by the bridge itself, and the bridge exited 0 once its input closed.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const url = process.argv[2];
if (!url) {
  console.error('usage: assistant-client.mjs SERVER_URL');
  process.exit(2);
}
const scenario = process.env.MCP_CONFORMANCE_SCENARIO ?? '';
const context = JSON.parse(process.env.MCP_CONFORMANCE_CONTEXT || '{}');
const asked = process.env.MCP_CONFORMANCE_PROTOCOL_VERSION;
// Assistants speak a 2025 revision today; a 2026-07-28 server is reached through the bridge.
const version = ['2025-11-25', '2025-06-18', '2025-03-26'].includes(asked) ? asked : '2025-11-25';
const REQUEST_TIMEOUT_MS = 30_000;

const log = (...a) => console.error('[assistant]', ...a);
const bridgeArgs = process.env.ASSISTANT_BRIDGE_NAME
  ? ['bridge', process.env.ASSISTANT_BRIDGE_NAME]
  : ['bridge', '--url', url];
const bridge = spawn(process.env.LANYARD_BIN, bridgeArgs, {
  stdio: ['pipe', 'pipe', 'inherit'],
});
const bridgeExit = new Promise((resolve) => bridge.on('exit', (code) => resolve(code ?? 1)));

let nextId = 1;
const waiting = new Map();
const failures = [];

function send(msg) {
  bridge.stdin.write(JSON.stringify(msg) + '\n');
}

function request(method, params) {
  const id = nextId++;
  send({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) });
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      waiting.delete(id);
      resolve({ error: { code: 0, message: `no answer to ${method} in ${REQUEST_TIMEOUT_MS} ms` } });
    }, REQUEST_TIMEOUT_MS);
    waiting.set(id, (m) => {
      clearTimeout(timer);
      resolve(m);
    });
  }).then((m) => {
    if (m.error) {
      log(`${method} failed:`, JSON.stringify(m.error));
      // A server may refuse what it does not implement (a scenario serving only tools/list);
      // what fails the run is the bridge's own errors, no answer at all, or a handshake or
      // listing that did not work.
      const own = m.error.code === 0 || /^Lanyard/.test(m.error.message ?? '');
      if (own || method === 'initialize' || method.endsWith('/list')) {
        failures.push(`${method}: ${m.error.message}`);
      }
    }
    return m.result;
  });
}

/// A value for a JSON Schema property: its default, else its first enum member, else one of
/// its type.
function sample(prop) {
  if (!prop || typeof prop !== 'object') return 'test';
  if ('default' in prop) return prop.default;
  if (Array.isArray(prop.enum) && prop.enum.length > 0) return prop.enum[0];
  const type = Array.isArray(prop.type) ? prop.type.find((t) => t !== 'null') : prop.type;
  switch (type) {
    case 'integer':
    case 'number':
      return prop.minimum ?? 1;
    case 'boolean':
      return true;
    case 'object':
      return {};
    case 'array':
      return [];
    default:
      return 'test';
  }
}

/// An elicitation accepted with every field of its form: the schema's defaults (SEP-1034)
/// where it gives them.
function elicit(params) {
  const props = params?.requestedSchema?.properties ?? {};
  const content = {};
  for (const [name, prop] of Object.entries(props)) content[name] = sample(prop);
  return { action: 'accept', content };
}

function answerServer(m) {
  let result;
  switch (m.method) {
    case 'elicitation/create':
      result = elicit(m.params);
      break;
    case 'roots/list':
      result = { roots: [] };
      break;
    case 'sampling/createMessage':
      result = { role: 'assistant', content: { type: 'text', text: 'ok' }, model: 'conformance' };
      break;
    case 'ping':
      result = {};
      break;
    default:
      send({ jsonrpc: '2.0', id: m.id, error: { code: -32601, message: `Method not found: ${m.method}` } });
      return;
  }
  log(`answered ${m.method}`);
  send({ jsonrpc: '2.0', id: m.id, result });
}

createInterface({ input: bridge.stdout }).on('line', (line) => {
  if (!line.trim()) return;
  let m;
  try {
    m = JSON.parse(line);
  } catch {
    failures.push(`the bridge wrote a line that is not JSON: ${line.slice(0, 200)}`);
    return;
  }
  if (m.method !== undefined && m.id !== undefined) return answerServer(m);
  if (m.method !== undefined) return; // a notification
  const done = waiting.get(m.id);
  if (done) {
    waiting.delete(m.id);
    done(m);
  }
});

/// A tool's arguments: the scenario's own (from its context), the schema echo the JSON Schema
/// scenario asks for, else a sample of each required parameter.
function argumentsFor(tool, tools) {
  const given = (context.toolCalls ?? []).find((c) => c.name === tool.name);
  if (given) return given.arguments ?? {};
  if (tool.name === 'json_schema_echo') {
    const focal = tools.find((t) => t.name !== 'json_schema_echo');
    return { schema: focal?.inputSchema ?? {} };
  }
  const schema = tool.inputSchema ?? {};
  const args = {};
  for (const name of schema.required ?? []) args[name] = sample(schema.properties?.[name]);
  return args;
}

async function list(method, key) {
  const items = [];
  let cursor;
  for (let page = 0; page < 20; page++) {
    const r = await request(method, cursor ? { cursor } : {});
    items.push(...(r?.[key] ?? []));
    cursor = r?.nextCursor;
    if (!cursor) break;
  }
  return items;
}

async function session() {
  const init = await request('initialize', {
    protocolVersion: version,
    capabilities: { elicitation: {}, sampling: {}, roots: { listChanged: false } },
    clientInfo: { name: 'lanyard-conformance-assistant', version: '1.0.0' },
  });
  if (!init) return;
  log(`initialized: ${JSON.stringify(init.serverInfo)} ${init.protocolVersion}`);
  send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  const caps = init.capabilities ?? {};

  const tools = await list('tools/list', 'tools');
  log(`tools: ${tools.map((t) => t.name).join(', ') || '(none)'}`);
  if (caps.resources) {
    for (const r of await list('resources/list', 'resources')) {
      await request('resources/read', { uri: r.uri });
    }
  }
  if (caps.prompts) {
    for (const p of await list('prompts/list', 'prompts')) {
      const args = {};
      for (const a of p.arguments ?? []) if (a.required) args[a.name] = 'test';
      await request('prompts/get', { name: p.name, arguments: args });
    }
  }
  // Calls in list order, one at a time: the request-state scenario checks that an unrelated
  // call between two rounds carries nothing of the other's.
  for (const tool of tools) {
    const r = await request('tools/call', { name: tool.name, arguments: argumentsFor(tool, tools) });
    if (r) log(`${tool.name}: ${JSON.stringify(r.content ?? r).slice(0, 200)}`);
  }
}

log(`scenario ${scenario || '(none)'} at ${url}, asking for ${version}`);
await session();
bridge.stdin.end();
const timer = setTimeout(() => bridge.kill(), 10_000);
const code = await bridgeExit;
clearTimeout(timer);
if (code !== 0) failures.push(`lanyard bridge exited with ${code}`);
for (const f of failures) log('FAILED', f);
process.exit(failures.length === 0 ? 0 : 1);
