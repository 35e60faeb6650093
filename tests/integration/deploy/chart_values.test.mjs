// values.schema.json and the chart's own checks refuse bad values with a
// message that names the key; the schema is strict at every level, every
// key of values.yaml is documented and known to the schema.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { isMap, parseDocument } from 'yaml';
import { CHART, templateError } from '../../lib/helm.mjs';

const SCHEMA = JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8'));
const VALUES_DOC = parseDocument(readFileSync(join(CHART, 'values.yaml'), 'utf8'));

// Objects whose insides are Kubernetes' own types, checked after rendering
// (chart_lint) rather than restated here.
const KUBERNETES_TYPED = new Set([
  '/properties/global',
  '/properties/affinity/properties/nodeAffinity',
  '/properties/affinity/properties/podAffinity',
  '/properties/affinity/properties/podAntiAffinity',
]);

const minimal = ['minimal-values.yaml'];

describe('values.schema.json refuses', () => {
  test('a misspelt key, naming it and where it is', () => {
    const err = templateError({ files: minimal, sets: { 'persistence.sise': '5Gi' } });
    assert.match(err, /persistence: Additional property sise is not allowed/);
    const top = templateError({ files: minimal, sets: { priorityClass: 'tier-0-core' } });
    assert.match(top, /Additional property priorityClass is not allowed/);
  });

  test('a wrong type, naming the key and both types', () => {
    const err = templateError({ files: minimal, sets: { 'targets.devvm.port': 'twenty-two' } });
    assert.match(err, /targets\.devvm\.port: Invalid type\. Expected: integer, given: string/);
    const flag = templateError({ files: minimal, sets: { 'networkPolicy.enabled': 'yes' } });
    assert.match(flag, /networkPolicy\.enabled: Invalid type\. Expected: boolean, given: string/);
  });

  test('a missing devvm address, naming it', () => {
    const err = templateError({ sets: { 'secrets.existingSecret': 's' } });
    assert.match(err, /targets\.devvm\.host is required|targets\.devvm\.host: give the devvm's IPv4 address/);
  });

  test('a devvm or Proxmox address that is not an IPv4 literal', () => {
    const name = templateError({ files: minimal, sets: { 'targets.devvm.host': 'devvm.lan' } });
    assert.match(name, /targets\.devvm\.host: Does not match format 'ipv4'/);
    const pve = templateError({ files: minimal, sets: { 'targets.pve.host': '192.0.2.300' } });
    assert.match(pve, /targets\.pve\.host: Does not match format 'ipv4'/);
  });

  test('values outside their enums and ranges', () => {
    assert.match(templateError({ files: minimal, sets: { 'secrets.source': 'vault' } }),
      /secrets\.source: secrets\.source must be one of the following: "existingSecret", "externalSecret", "values"/);
    assert.match(templateError({ files: minimal, sets: { 'daemon.pveVerbTimeoutSeconds': 0 } }),
      /daemon\.pveVerbTimeoutSeconds: Must be greater than or equal to 1/);
    assert.match(templateError({ files: minimal, sets: { 'daemon.sshStandby': 'off' } }),
      /daemon\.sshStandby: Invalid type\. Expected: boolean, given: string/);
    assert.match(templateError({ files: minimal, sets: { 'resources.memory': 'lots' } }),
      /resources\.memory: Does not match pattern/);
  });
});

describe('the chart refuses', () => {
  test('creating the namespace Helm keeps its own record in', () => {
    const err = templateError({ files: ['owner-values.yaml'], namespace: 'claude-breakglass' });
    assert.match(err, /namespace\.create: helm keeps the release record in "claude-breakglass"/);
  });

  test('creating a namespace without a name', () => {
    assert.match(templateError({ files: minimal, sets: { 'namespace.create': true } }),
      /namespace\.name: name the namespace the chart creates/);
  });

  test('each Secret source without what it needs', () => {
    assert.match(templateError({ sets: { 'targets.devvm.host': '192.0.2.10' } }),
      /secrets\.existingSecret: name the Secret/);
    assert.match(templateError({ files: minimal, sets: { 'secrets.source': 'externalSecret' } }),
      /secrets\.externalSecret\.storeRef\.name: name the SecretStore or ClusterSecretStore/);
    assert.match(templateError({ files: minimal, sets: { 'secrets.source': 'values' } }),
      /secrets\.values\.privateKey: give the SSH private key/);
  });

  test('extraEnv setting a variable the chart sets', () => {
    const err = templateError({ files: minimal, sets: { 'extraEnv[0].name': 'BREAKGLASS_LOG_FORMAT', 'extraEnv[0].value': 'plain' } });
    assert.match(err, /extraEnv: BREAKGLASS_LOG_FORMAT is set by the chart/);
  });

  test('a Lua budget over half the pod\'s memory, naming both', () => {
    const err = templateError({ files: minimal, sets: { 'daemon.luaMemoryTotalMiB': 200, 'resources.memory': '256Mi' } });
    assert.match(err, /daemon\.luaMemoryTotalMiB: 200 MiB is more than half of resources\.memory \(256Mi\)/);
    assert.match(templateError({ files: minimal, sets: { 'daemon.luaMemoryTotalMiB': 600, 'resources.memory': '1Gi' } }), /600 MiB is more than half of resources\.memory \(1Gi\)/);
    assert.match(templateError({ files: minimal, sets: { 'resources.memory': '268435456' } }), /resources\.memory: give it in Mi or Gi/);
  });

  test('an Ingress without a host', () => {
    assert.match(templateError({ files: minimal, sets: { 'ingress.enabled': true } }), /ingress\.host: give the page's host name/);
  });
});

/** JSON pointers of object schemas that accept keys nobody declared. */
function looseObjects(node, path, out = []) {
  if (Array.isArray(node)) {
    node.forEach((n, i) => looseObjects(n, `${path}/${i}`, out));
    return out;
  }
  if (node === null || typeof node !== 'object') return out;
  const isObject = node.type === 'object' || (Array.isArray(node.type) && node.type.includes('object'));
  if (isObject && !KUBERNETES_TYPED.has(path)) {
    const extra = node.additionalProperties;
    // false, or a schema for every value of a map (labels, annotations).
    if (extra === undefined || extra === true) out.push(path);
  }
  for (const [k, v] of Object.entries(node)) looseObjects(v, `${path}/${k}`, out);
  return out;
}

const definition = (node) => (node?.$ref ? SCHEMA.definitions[node.$ref.split('/').pop()] : node);

/** Every setting of values.yaml: {path, schema, commented}. A key whose
 * schema declares properties is a section and is walked into; any other key
 * (a value, a list, a map such as labels) is a setting. The yaml parser
 * gives a comment above a map's first key to the map itself. */
function settings(map, schema, path = '', out = []) {
  map.items.forEach((pair, i) => {
    const p = path ? `${path}.${pair.key.value}` : pair.key.value;
    const sub = definition(schema?.properties?.[pair.key.value]);
    const commented = Boolean(pair.key.commentBefore || pair.value?.comment || (i === 0 && map.commentBefore));
    if (sub?.properties && isMap(pair.value)) settings(pair.value, sub, p, out);
    else out.push({ path: p, schema: sub, commented });
  });
  return out;
}

const SETTINGS = settings(VALUES_DOC.contents, SCHEMA);

describe('the values files', () => {
  test('the schema sets additionalProperties at every object level', () => {
    assert.deepEqual(looseObjects(SCHEMA, ''), []);
  });

  test('every key in values.yaml is known to the schema', () => {
    assert.deepEqual(SETTINGS.filter((v) => v.schema === undefined).map((v) => v.path), []);
  });

  test('every setting in values.yaml carries a comment', () => {
    assert.ok(SETTINGS.length > 50, `only ${SETTINGS.length} settings found`);
    assert.deepEqual(SETTINGS.filter((v) => !v.commented).map((v) => v.path), []);
  });
});
