// charts/breakglass lints strictly, renders, and every object it renders is
// a valid Kubernetes object, offline: helm lint --strict and helm template
// with the default values and with each file in charts/breakglass/ci/, then
// every object through the API schemas (unknown fields included). The
// defaults alone must fail: the devvm has no default address.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CHART, CI_DIR, helm, lint, only, parseManifests, render, template } from '../../lib/helm.mjs';
import { validateObject } from '../../lib/k8s-schema.mjs';
import { scratchDir } from '../../lib/scratch.mjs';

const CI_FILES = readdirSync(CI_DIR).filter((f) => f.endsWith('.yaml')).sort();
// The owner's values create the namespace: Helm's record lives elsewhere.
const namespaceFor = (file) => (file === 'owner-values.yaml' ? 'default' : 'breakglass');

const root = scratchDir('chart-lint-test');

async function problemsOf(objects) {
  const problems = [];
  for (const o of objects) {
    for (const p of await validateObject(o)) problems.push(`${o.kind} ${o.metadata.name}: ${p}`);
  }
  return problems;
}

describe('helm lint --strict', () => {
  test('the default values alone fail, naming the devvm address', () => {
    const r = lint();
    assert.notEqual(r.status, 0, r.output);
    assert.match(r.output, /targets\.devvm: host is required/);
  });

  test('ci/ holds the owner values and the cases the chart supports', () => {
    for (const f of ['minimal-values.yaml', 'owner-values.yaml', 'chart-secret-values.yaml', 'operator-scripts-values.yaml']) {
      assert.ok(CI_FILES.includes(f), `${f} missing from ${CI_DIR}`);
    }
  });

  for (const file of CI_FILES) {
    test(`passes with ci/${file}`, () => {
      const r = lint({ files: [file] });
      assert.equal(r.status, 0, r.output);
      assert.doesNotMatch(r.output, /\[(WARNING|ERROR)\]/);
    });
  }
});

describe('helm template', () => {
  for (const file of CI_FILES) {
    test(`ci/${file} renders objects the Kubernetes API schemas accept`, async () => {
      const objects = render({ files: [file], namespace: namespaceFor(file) });
      assert.ok(objects.some((o) => o.kind === 'Deployment'), 'no Deployment rendered');
      for (const o of objects) assert.ok(o.apiVersion && o.kind && o.metadata?.name, JSON.stringify(o).slice(0, 200));
      assert.deepEqual(await problemsOf(objects), []);
    });
  }

  test('the validation refuses a misspelt field, a wrong type and a bad enum value', async () => {
    const objects = render({ files: ['owner-values.yaml'], namespace: 'default' });
    const deployment = structuredClone(only(objects, 'Deployment'));
    deployment.spec.template.spec.containers[0].imagePullPolcy = 'Always';
    deployment.spec.replicas = '1';
    const policy = structuredClone(only(objects, 'NetworkPolicy'));
    policy.spec.egress[0].ports[0].protocol = 'ICMP';
    const es = structuredClone(only(objects, 'ExternalSecret'));
    es.spec.data[0].remoteRef.propety = 'private_key';
    const problems = await problemsOf([deployment, policy, es]);
    assert.ok(problems.some((p) => p.includes('/spec/template/spec/containers/0/imagePullPolcy is not a field')), problems.join('\n'));
    assert.ok(problems.some((p) => p.includes('/spec/replicas must be integer')), problems.join('\n'));
    assert.ok(problems.some((p) => p.includes('/spec/egress/0/ports/0/protocol must be one of ["SCTP","TCP","UDP"]')), problems.join('\n'));
    assert.ok(problems.some((p) => p.includes('/spec/data/0/remoteRef must NOT have additional properties: propety')), problems.join('\n'));
  });
});

describe('helm package', () => {
  test('the packaged chart carries the scripts and runbooks the links point at, and renders the same', () => {
    const r = helm(['package', CHART, '--destination', root]);
    assert.equal(r.status, 0, r.stderr);
    const tgz = join(root, readdirSync(root).find((f) => f.endsWith('.tgz')));
    const listing = spawnSync('tar', ['-tzf', tgz], { encoding: 'utf8' }).stdout.split('\n');
    assert.ok(listing.includes('breakglass/files/lua/prompt.lua'), listing.join('\n'));
    assert.ok(listing.includes('breakglass/files/runbooks/devvm-hang-2026-06-11.md'), listing.join('\n'));
    assert.ok(listing.includes('breakglass/values.schema.json'));
    for (const suffix of ['-scripts', '-runbooks']) {
      const fromDir = only(parseManifests(template({ files: ['minimal-values.yaml'] })), 'ConfigMap', suffix);
      const fromPackage = only(parseManifests(template({ files: ['minimal-values.yaml'], chart: tgz })), 'ConfigMap', suffix);
      assert.deepEqual(fromPackage.data, fromDir.data);
    }
  });
});
