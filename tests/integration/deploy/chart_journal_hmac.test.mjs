// The journals' HMAC key in the chart (issue 16, item 1): off by default;
// with secrets.journalHmac the key comes from the same Secret as the SSH key,
// mounted as a file (never an environment value) that
// BREAKGLASS_JOURNAL_HMAC_KEY_PATH names, whichever way the Secret is made.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CI_DIR, only, render, templateError } from '../../lib/helm.mjs';

const KEY_PATH = '/secrets/breakglass/journal_hmac_key';
const podOf = (objects) => only(objects, 'Deployment').spec.template.spec;
const envOf = (objects) => Object.fromEntries(podOf(objects).containers[0].env.map((e) => [e.name, e.value ?? e.valueFrom]));
const secretItems = (objects) => podOf(objects).volumes.find((v) => v.name === 'secrets').secret.items;

describe('the journals\' HMAC key', () => {
  test('off by default: no key mounted, no setting', () => {
    const objects = render({ files: ['minimal-values.yaml'] });
    assert.equal(envOf(objects).BREAKGLASS_JOURNAL_HMAC_KEY_PATH, undefined);
    assert.deepEqual(secretItems(objects).map((i) => i.path), ['private_key', 'known_hosts']);
  });

  test('with secrets.journalHmac: a file from the Secret, named by the setting, never in the environment', () => {
    const objects = render({ files: ['minimal-values.yaml'], sets: { 'secrets.journalHmac': true } });
    assert.equal(envOf(objects).BREAKGLASS_JOURNAL_HMAC_KEY_PATH, KEY_PATH);
    assert.deepEqual(secretItems(objects).at(-1), { key: 'journal_hmac_key', path: 'journal_hmac_key' });
    for (const e of podOf(objects).containers[0].env) assert.ok(!/HMAC_KEY$/.test(e.name), `${e.name} carries the key`);
  });

  test('a Secret from values carries it, and asks for it by name when it is missing', () => {
    const sets = { 'secrets.journalHmac': true, 'secrets.values.journalHmacKey': 'a'.repeat(64) };
    const secret = only(render({ files: ['chart-secret-values.yaml'], sets }), 'Secret');
    assert.equal(Buffer.from(secret.data.journal_hmac_key, 'base64').toString(), 'a'.repeat(64));
    assert.match(templateError({ files: ['chart-secret-values.yaml'], sets: { 'secrets.journalHmac': true } }),
      /secrets\.values\.journalHmacKey: give the journals' HMAC key/);
  });

  test('an ExternalSecret reads it from the store too', () => {
    const sets = {
      'secrets.journalHmac': true,
      'secrets.externalSecret.remoteRefs.journalHmacKey.key': 'claude-breakglass/journal',
      'secrets.externalSecret.remoteRefs.journalHmacKey.property': 'hmac_key',
    };
    const es = only(render({ files: [join(CI_DIR, 'owner-values.yaml')], sets, namespace: 'default' }), 'ExternalSecret');
    assert.deepEqual(es.spec.data.at(-1), { secretKey: 'journal_hmac_key', remoteRef: { key: 'claude-breakglass/journal', property: 'hmac_key' } });
    assert.match(templateError({ files: [join(CI_DIR, 'owner-values.yaml')], sets: { 'secrets.journalHmac': true }, namespace: 'default' }),
      /secrets\.externalSecret\.remoteRefs\.journalHmacKey\.key: give the store path/);
  });
});
