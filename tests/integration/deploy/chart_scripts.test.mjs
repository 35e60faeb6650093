// The scripts ConfigMap holds exactly the repository's lua/ (byte for byte,
// nothing more, nothing less), its items put the tree back, an edited
// script changes the ConfigMap but not the pod template (the daemon reloads
// it; a restart would cut a running turn), and the helm test pod runs
// `breakglass check` on the set as the kubelet lays it out.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { after, describe, test } from 'node:test';
import { SOURCE, copyChart, only, render, templateError } from '../../lib/helm.mjs';
import { scratchDir } from '../../lib/scratch.mjs';

const BIN = process.env.BREAKGLASS_BIN;
const LUA = join(SOURCE, 'lua');
const INHERITED_ENV = ['PATH', 'ASAN_OPTIONS', 'UBSAN_OPTIONS', 'LSAN_OPTIONS'];
const CHECK_TIMEOUT_MS = 30000;

const root = scratchDir('chart-scripts-test');
let dirs = 0;
const freshDir = (name) => join(root, `${name}-${dirs++}`);

/** Every file under dir: {relative path: bytes}. */
function filesUnder(dir, base = dir, out = {}) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) filesUnder(p, base, out);
    else out[relative(base, p)] = readFileSync(p);
  }
  return out;
}

/** The tree a pod sees: the ConfigMap's keys at the volume's item paths. */
function mountedTree(objects) {
  const cm = only(objects, 'ConfigMap', '-scripts');
  const volume = only(objects, 'Deployment').spec.template.spec.volumes.find((v) => v.name === 'scripts');
  assert.equal(volume.configMap.name, cm.metadata.name);
  const tree = {};
  for (const { key, path } of volume.configMap.items) {
    assert.ok(key in cm.data, `item ${key} is not in the ConfigMap`);
    tree[path] = Buffer.from(cm.data[key], 'utf8');
  }
  assert.equal(volume.configMap.items.length, Object.keys(cm.data).length, 'a ConfigMap key no item mounts');
  return tree;
}

/** What differs between the mounted tree and the files of lua: [] when equal. */
function differences(tree, lua) {
  const out = [];
  for (const p of Object.keys(lua)) {
    if (!(p in tree)) out.push(`${p}: in lua/, not in the ConfigMap`);
    else if (!tree[p].equals(lua[p])) out.push(`${p}: bytes differ`);
  }
  for (const p of Object.keys(tree)) if (!(p in lua)) out.push(`${p}: in the ConfigMap, not in lua/`);
  return out;
}

/** A copy of lua/ with files replaced (text), added, or removed (null). */
function editedLua(edits) {
  const dir = freshDir('lua');
  cpSync(LUA, dir, { recursive: true });
  for (const [p, text] of Object.entries(edits)) {
    if (text === null) rmSync(join(dir, p));
    else {
      mkdirSync(dirname(join(dir, p)), { recursive: true });
      writeFileSync(join(dir, p), text);
    }
  }
  return dir;
}

/** Lays tree out as the kubelet's atomic writer does: the files in a
 * timestamped folder, ..data linking to it, each top-level name linking
 * into ..data. */
function kubeletLayout(tree) {
  const dir = freshDir('mount');
  const stamp = '..2026_06_11_10_00_00.000000001';
  for (const [p, bytes] of Object.entries(tree)) {
    mkdirSync(dirname(join(dir, stamp, p)), { recursive: true });
    writeFileSync(join(dir, stamp, p), bytes);
  }
  symlinkSync(stamp, join(dir, '..data'));
  for (const top of new Set(Object.keys(tree).map((p) => p.split('/')[0]))) symlinkSync(join('..data', top), join(dir, top));
  return dir;
}

/** The Lua memory settings the chart gives the daemon. */
function luaEnvOf(objects) {
  const env = only(objects, 'Deployment').spec.template.spec.containers[0].env;
  return Object.fromEntries(env.filter((e) => e.name.startsWith('BREAKGLASS_LUA_')).map((e) => [e.name, e.value]));
}

function check(dir, extraEnv = {}) {
  const env = { ...extraEnv };
  for (const k of INHERITED_ENV) if (process.env[k] !== undefined) env[k] = process.env[k];
  const r = spawnSync(BIN, ['check', dir], { env, encoding: 'utf8', timeout: CHECK_TIMEOUT_MS });
  assert.equal(r.error, undefined, String(r.error));
  return r;
}

const shipped = render({ files: ['minimal-values.yaml'] });

describe('the scripts ConfigMap', () => {
  test("holds exactly the repository's lua/, byte for byte, at the same paths", () => {
    const lua = filesUnder(LUA);
    assert.ok(Object.keys(lua).some((p) => p.startsWith('tools/')) && Object.keys(lua).some((p) => p.startsWith('policy/')));
    assert.deepEqual(differences(mountedTree(shipped), lua), []);
  });

  test('keys are the paths with "/" written as "."', () => {
    const cm = only(shipped, 'ConfigMap', '-scripts');
    assert.ok('prompt.lua' in cm.data);
    assert.ok('tools.devvm_shell.lua' in cm.data);
    assert.ok('policy.forensics_first.lua' in cm.data);
    for (const key of Object.keys(cm.data)) assert.match(key, /^[-._a-zA-Z0-9]+$/);
  });

  test('the comparison catches a file added, removed or changed without the chart following', () => {
    const lua = filesUnder(LUA);
    const stale = copyChart(freshDir('stale'), editedLua({
      'tools/devvm_probe.lua': null,
      'policy/lib/shell_words.lua': 'return {}\n',
      'prompt.lua': `${readFileSync(join(LUA, 'prompt.lua'), 'utf8')}-- stale copy\n`,
    }));
    const problems = differences(mountedTree(render({ files: ['minimal-values.yaml'], chart: stale })), lua);
    assert.deepEqual(problems.sort(), [
      'policy/lib/shell_words.lua: in the ConfigMap, not in lua/',
      'prompt.lua: bytes differ',
      'tools/devvm_probe.lua: in lua/, not in the ConfigMap',
    ]);
  });

  test('a nested folder (policy/lib/) is mounted at its path', () => {
    const chart = copyChart(freshDir('nested'), editedLua({ 'policy/lib/shell_words.lua': 'return {}\n' }));
    const tree = mountedTree(render({ files: ['minimal-values.yaml'], chart }));
    assert.equal(tree['policy/lib/shell_words.lua'].toString(), 'return {}\n');
    const cm = only(render({ files: ['minimal-values.yaml'], chart }), 'ConfigMap', '-scripts');
    assert.ok('policy.lib.shell_words.lua' in cm.data);
  });

  test('an edited script changes the ConfigMap and leaves the pod template alone', () => {
    const edited = copyChart(freshDir('edited'), editedLua({
      'tools/pve.lua': `${readFileSync(join(LUA, 'tools/pve.lua'), 'utf8')}-- edited\n`,
    }));
    const after = render({ files: ['minimal-values.yaml'], chart: edited });
    assert.notDeepEqual(only(after, 'ConfigMap', '-scripts').data, only(shipped, 'ConfigMap', '-scripts').data);
    assert.deepEqual(only(after, 'Deployment').spec.template, only(shipped, 'Deployment').spec.template);
  });

  test('two paths with one key, or a path no key can hold, stop the render with their names', () => {
    const clash = copyChart(freshDir('clash'), editedLua({ 'tools.pve.lua': 'return {}\n' }));
    assert.match(templateError({ files: ['minimal-values.yaml'], chart: clash }),
      /scripts: "tools.pve.lua" and "tools\/pve.lua" both become the ConfigMap key "tools.pve.lua"/);
    const spaced = copyChart(freshDir('spaced'), editedLua({ 'tools/my tool.lua': 'return {}\n' }));
    assert.match(templateError({ files: ['minimal-values.yaml'], chart: spaced }),
      /scripts: "tools\/my tool.lua" cannot be a ConfigMap key/);
  });
});

describe("an operator's ConfigMap (scripts.existingConfigMap)", () => {
  const objects = render({ files: ['operator-scripts-values.yaml'] });

  test('the chart renders none, and mounts the one named', () => {
    assert.equal(objects.filter((o) => o.kind === 'ConfigMap' && o.metadata.name.endsWith('-scripts')).length, 0);
    const volume = only(objects, 'Deployment').spec.template.spec.volumes.find((v) => v.name === 'scripts');
    assert.equal(volume.configMap.name, 'breakglass-scripts-operators');
  });

  test('scripts.files gives the tree, keys by the same rule', () => {
    const volume = only(objects, 'Deployment').spec.template.spec.volumes.find((v) => v.name === 'scripts');
    assert.ok(volume.configMap.items.some((i) => i.key === 'policy.lib.shell_words.lua' && i.path === 'policy/lib/shell_words.lua'));
    assert.equal(volume.configMap.items.length, 10);
  });

  test("without scripts.files, the same files as the chart's lua/", () => {
    const objs = render({ files: ['minimal-values.yaml'], sets: { 'scripts.existingConfigMap': 'mine' } });
    const items = only(objs, 'Deployment').spec.template.spec.volumes.find((v) => v.name === 'scripts').configMap.items;
    assert.deepEqual(items.map((i) => i.path).sort(), Object.keys(filesUnder(LUA)).sort());
  });

  test('scripts.files without existingConfigMap is refused', () => {
    assert.match(templateError({ files: ['minimal-values.yaml'], sets: { 'scripts.files[0]': 'prompt.lua' } }),
      /scripts\.files lists the files of an operator's ConfigMap: set scripts\.existingConfigMap too/);
  });
});

describe('helm test', () => {
  const hook = only(shipped, 'Pod', '-check-scripts');
  const deployment = only(shipped, 'Deployment').spec.template.spec;

  test('the hook pod is a helm test that runs breakglass check on the mounted scripts', () => {
    assert.equal(hook.metadata.annotations['helm.sh/hook'], 'test');
    assert.equal(hook.spec.restartPolicy, 'Never');
    const [c] = hook.spec.containers;
    assert.equal(c.image, deployment.containers[0].image);
    assert.deepEqual(c.args, ['check', '/etc/breakglass/scripts']);
    assert.deepEqual(c.volumeMounts, [{ name: 'scripts', mountPath: '/etc/breakglass/scripts', readOnly: true }]);
    assert.deepEqual(hook.spec.volumes, deployment.volumes.filter((v) => v.name === 'scripts'));
  });

  test('it runs as the daemon does, and outside its selector', () => {
    assert.deepEqual(hook.spec.securityContext, deployment.securityContext);
    assert.deepEqual(hook.spec.containers[0].securityContext, deployment.containers[0].securityContext);
    assert.equal(hook.spec.automountServiceAccountToken, false);
    const selector = only(shipped, 'Deployment').spec.selector.matchLabels;
    assert.ok(Object.entries(selector).some(([k, v]) => hook.metadata.labels[k] !== v),
      'the Deployment would adopt the test pod');
  });

  test('breakglass check passes on the shipped set laid out as the kubelet mounts it, with the chart\'s Lua budget', { skip: !BIN && 'BREAKGLASS_BIN is not set' }, () => {
    const lua = luaEnvOf(shipped);
    assert.deepEqual(Object.keys(lua).sort(), ['BREAKGLASS_LUA_MEMORY_MB', 'BREAKGLASS_LUA_MEMORY_TOTAL_MB']);
    const r = check(kubeletLayout(mountedTree(shipped)), lua);
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });

  test('a per-file Lua cap the budget cannot hold for the shipped set is refused by check', { skip: !BIN && 'BREAKGLASS_BIN is not set' }, () => {
    const greedy = render({ files: ['minimal-values.yaml'], sets: { 'daemon.luaMemoryMiB': 32 } });
    const r = check(kubeletLayout(mountedTree(greedy)), luaEnvOf(greedy));
    assert.notEqual(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /BREAKGLASS_LUA_MEMORY_MB=32 .*BREAKGLASS_LUA_MEMORY_TOTAL_MB=96/);
  });

  test('and fails, naming file and line, on a broken set', { skip: !BIN && 'BREAKGLASS_BIN is not set' }, () => {
    const broken = copyChart(freshDir('broken'), editedLua({ 'tools/pve.lua': 'return {\n  name = "pve",\n  oops(\n' }));
    const r = check(kubeletLayout(mountedTree(render({ files: ['minimal-values.yaml'], chart: broken }))));
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /tools\/pve\.lua:\d+:/);
  });
});
