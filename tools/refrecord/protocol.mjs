// Prints, as one JSON object on stdout, what the reference package declares
// about its gateway methods: the core method table (name, family, scope,
// since, flags) from method-scopes-*.mjs, and the JSON Schema of every
// params validator exported by the protocol module (validateXxx.schema).
//
//   node protocol.mjs <method-scopes-*.mjs> <protocol module .mjs>
import fs from 'node:fs';

const [specFile, protoFile] = process.argv.slice(2);

const src = fs.readFileSync(specFile, 'utf8');
const start = src.indexOf('const CORE_GATEWAY_METHOD_SPECS = [');
const end = src.indexOf('\n];\n', start);
if (start < 0 || end < 0) throw new Error('CORE_GATEWAY_METHOD_SPECS not found in ' + specFile);
const literal = src.slice(start + 'const CORE_GATEWAY_METHOD_SPECS = '.length, end + 3);
const rows = new Function('CONTROL_PLANE_WRITE', 'return ' + literal)({ controlPlaneWrite: true });
const specs = rows.map(([name, family, scope, since, policy]) => ({ name, family, scope, since, ...(policy || {}) }));

const proto = fs.readFileSync(protoFile, 'utf8');
const mod = await import(protoFile);
const exported = proto.slice(proto.lastIndexOf('export {'));
const validators = {};
for (const [, local, alias] of exported.matchAll(/(\w+) as (\w+)/g)) {
  const v = mod[alias];
  if (local.startsWith('validate') && typeof v === 'function' && v.schema) validators[local.slice('validate'.length)] = v.schema;
}
process.stdout.write(JSON.stringify({ specs, validators }));
