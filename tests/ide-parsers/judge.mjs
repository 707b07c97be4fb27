#!/usr/bin/env node
// Judges one entry of a config file Lanyard wrote, with each assistant's own parsing code and
// published schema where they exist (none of these assistants ships a CLI that could):
//
//   node judge.mjs ASSISTANT FILE NAME      ASSISTANT: vscode | zed | windsurf | claude-desktop
//
// - vscode: VS Code's own JSONC parser (vs/base/common/json) and its mcp.json schema
//   (mcpServerSchema from vs/workbench/contrib/mcp/common/mcpConfiguration), both as VS Code
//   1.128.1 ships them (@codingame/monaco-vscode-api 36.2.7), validated by Ajv.
// - zed: the JSONC parser VS Code publishes (jsonc-parser; Zed's own is serde_json_lenient, which
//   also takes comments and trailing commas) and zed-context-server.schema.json, transcribed from
//   Zed's serde types; the variant serde would pick is reported.
// - windsurf, claude-desktop: strict JSON.parse (Claude Desktop ignores a file with a trailing
//   comma), then VS Code's importer of those very files (claudeConfigToServerDefinition, which
//   VS Code runs on claude_desktop_config.json and ~/.codeium/windsurf/mcp_config.json).
//
// Prints one JSON object {ok, errors, entry, ...}; exits 0 only when ok.
import { readFileSync } from 'node:fs';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import * as jsonc from 'jsonc-parser';

const [assistant, file, name] = process.argv.slice(2);
const text = readFileSync(file, 'utf8');
const out = { assistant, file, ok: false, errors: [] };
const done = () => {
  out.ok = out.errors.length === 0;
  process.stdout.write(`${JSON.stringify(out)}\n`);
  process.exit(out.ok ? 0 : 1);
};
const ajv = () => {
  const a = new Ajv({ strict: false, allErrors: true });
  addFormats(a);
  return a;
};

if (assistant === 'vscode') {
  const json = await import('@codingame/monaco-vscode-api/vscode/vs/base/common/json');
  const { mcpServerSchema } = await import(
    '@codingame/monaco-vscode-api/vscode/vs/workbench/contrib/mcp/common/mcpConfiguration'
  );
  const parseErrors = [];
  const doc = json.parse(text, parseErrors, { allowTrailingComma: true });
  for (const e of parseErrors) out.errors.push(`parse error ${e.error} at offset ${e.offset}`);
  // VS Code names its schemas with the draft-04 `id`; Ajv wants `$id`.
  const { id, ...schema } = mcpServerSchema;
  const validate = ajv().compile({ $id: id, ...schema });
  if (!validate(doc)) {
    for (const e of validate.errors) out.errors.push(`${e.instancePath} ${e.message} ${JSON.stringify(e.params)}`);
  }
  out.entry = doc?.servers?.[name];
} else if (assistant === 'zed') {
  const parseErrors = [];
  const doc = jsonc.parse(text, parseErrors, { allowTrailingComma: true, disallowComments: false });
  for (const e of parseErrors) out.errors.push(`parse error ${jsonc.printParseErrorCode(e.error)} at offset ${e.offset}`);
  out.entry = doc?.context_servers?.[name];
  const schema = JSON.parse(readFileSync(new URL('./zed-context-server.schema.json', import.meta.url), 'utf8'));
  const a = ajv();
  a.addSchema(schema, 'zed');
  // serde's untagged enum takes the first variant that fits, in declaration order.
  for (const variant of ['stdio', 'http', 'extension']) {
    if (a.validate(`zed#/definitions/${variant}`, out.entry)) {
      out.variant = variant;
      break;
    }
  }
  if (!out.variant) out.errors.push(`context_servers.${name} fits none of Zed's variants`);
} else if (assistant === 'windsurf' || assistant === 'claude-desktop') {
  let doc;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    out.errors.push(`not strict JSON: ${e.message}`);
    done();
  }
  out.entry = doc?.mcpServers?.[name];
  const { VSBuffer } = await import('@codingame/monaco-vscode-api/vscode/vs/base/common/buffer');
  const { claudeConfigToServerDefinition } = await import(
    '@codingame/monaco-vscode-mcp-service-override/vscode/vs/workbench/contrib/mcp/common/discovery/nativeMcpDiscoveryAdapters'
  );
  const defs = (await claudeConfigToServerDefinition('judge', VSBuffer.fromString(text))) ?? [];
  const def = defs.find((d) => d.label === name);
  out.vscode_import = def ? def.launch : null;
} else {
  out.errors.push(`unknown assistant ${assistant}`);
}
if (out.entry === undefined) out.errors.push(`no entry named ${name}`);
done();
