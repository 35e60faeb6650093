// The runbooks ConfigMap (issue 16, item 3): the chart's second ConfigMap
// holds exactly the repository's runbooks/ (byte for byte), is mounted as a
// folder for the runbook tool with BREAKGLASS_RUNBOOKS_DIR pointing at it,
// can be an operator's own or switched off, and refuses at render what the
// tool would never read.
import assert from 'node:assert/strict';
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { SOURCE, copyChart, only, render, templateError } from '../../lib/helm.mjs';
import { scratchDir } from '../../lib/scratch.mjs';

const RUNBOOKS = join(SOURCE, 'runbooks');
const MOUNT = '/etc/breakglass/runbooks';

const root = scratchDir('chart-runbooks-test');
let dirs = 0;
const freshDir = (name) => join(root, `${name}-${dirs++}`);

const podOf = (objects) => only(objects, 'Deployment').spec.template.spec;
const envOf = (objects) => Object.fromEntries(podOf(objects).containers[0].env.map((e) => [e.name, e.value]));

/** A copy of runbooks/ with files added (text) or removed (null). */
function editedRunbooks(edits) {
  const dir = freshDir('runbooks');
  cpSync(RUNBOOKS, dir, { recursive: true });
  for (const [name, text] of Object.entries(edits)) {
    if (text === null) rmSync(join(dir, name));
    else writeFileSync(join(dir, name), text);
  }
  return dir;
}

const shipped = render({ files: ['minimal-values.yaml'] });

describe('the runbooks ConfigMap', () => {
  test("holds exactly the repository's runbooks/, byte for byte, one key a file", () => {
    const cm = only(shipped, 'ConfigMap', '-runbooks');
    const want = Object.fromEntries(readdirSync(RUNBOOKS).map((f) => [f, readFileSync(join(RUNBOOKS, f), 'utf8')]));
    assert.ok('devvm-hang-2026-06-11.md' in want, 'the example runbook ships');
    assert.deepEqual(cm.data, want);
    assert.equal(cm.metadata.labels['app.kubernetes.io/component'], 'runbooks');
  });

  test('is mounted read-only as a folder (never subPath) where BREAKGLASS_RUNBOOKS_DIR points', () => {
    const pod = podOf(shipped);
    const volume = pod.volumes.find((v) => v.name === 'runbooks');
    assert.deepEqual(volume, { name: 'runbooks', configMap: { name: only(shipped, 'ConfigMap', '-runbooks').metadata.name } });
    assert.deepEqual(pod.containers[0].volumeMounts.filter((m) => m.name === 'runbooks'),
      [{ name: 'runbooks', mountPath: MOUNT, readOnly: true }]);
    assert.equal(envOf(shipped).BREAKGLASS_RUNBOOKS_DIR, MOUNT);
  });

  test('an edited runbook changes the ConfigMap and leaves the pod template alone', () => {
    const chart = copyChart(freshDir('edited'), undefined, editedRunbooks({ 'disk-full.md': '# Disk full\n' }));
    const after = render({ files: ['minimal-values.yaml'], chart });
    assert.equal(only(after, 'ConfigMap', '-runbooks').data['disk-full.md'], '# Disk full\n');
    assert.deepEqual(only(after, 'Deployment').spec.template, only(shipped, 'Deployment').spec.template);
  });

  test('a file the tool would not read, or more than a ConfigMap holds, stops the render', () => {
    const binary = copyChart(freshDir('binary'), undefined, editedRunbooks({ 'dump.bin': 'x' }));
    assert.match(templateError({ files: ['minimal-values.yaml'], chart: binary }),
      /runbooks: "dump.bin" is not a Markdown or text file/);
    const big = copyChart(freshDir('big'), undefined, editedRunbooks({ 'huge.md': 'x'.repeat(1000001) }));
    assert.match(templateError({ files: ['minimal-values.yaml'], chart: big }),
      /runbooks: runbooks\/ holds \d+ bytes; a ConfigMap holds at most 1 MiB/);
  });
});

describe('runbooks of the operator, or none', () => {
  test('runbooks.existingConfigMap: the chart renders none, and mounts the one named', () => {
    const objects = render({ files: ['minimal-values.yaml'], sets: { 'runbooks.existingConfigMap': 'owner-runbooks' } });
    assert.equal(objects.filter((o) => o.kind === 'ConfigMap' && o.metadata.name.endsWith('-runbooks')).length, 0);
    assert.equal(podOf(objects).volumes.find((v) => v.name === 'runbooks').configMap.name, 'owner-runbooks');
    assert.equal(envOf(objects).BREAKGLASS_RUNBOOKS_DIR, MOUNT);
  });

  test('runbooks.enabled false: no ConfigMap, no mount, no setting (the tool says none are configured)', () => {
    const objects = render({ files: ['minimal-values.yaml'], sets: { 'runbooks.enabled': false } });
    assert.equal(objects.filter((o) => o.kind === 'ConfigMap' && o.metadata.name.endsWith('-runbooks')).length, 0);
    assert.equal(podOf(objects).volumes.find((v) => v.name === 'runbooks'), undefined);
    assert.equal(podOf(objects).containers[0].volumeMounts.find((m) => m.name === 'runbooks'), undefined);
    assert.equal(envOf(objects).BREAKGLASS_RUNBOOKS_DIR, undefined);
  });

  test('the values schema refuses what it does not know', () => {
    assert.match(templateError({ files: ['minimal-values.yaml'], sets: { 'runbooks.dir': '/x' } }), /additional propert/i);
    assert.match(templateError({ files: ['minimal-values.yaml'], sets: { 'runbooks.enabled': 'yes' } }), /runbooks\.enabled|boolean/i);
  });
});
