// The probe tells the truth with the default settings: against a devvm
// whose sshd tree is frozen (TCP accepts, no banner) devvm_probe reports
// no_banner once the connect limit fires, and against a port whose SYNs are
// dropped it reports connect_timeout: the layer where the connection
// stopped, whichever limit fired, never "logged in but the guest is badly
// loaded". Its result is a finding the page can read (details.ok false,
// with the layer), not a success. Runs as root (the lab does).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startStack } from '../../lib/agent-stack.mjs';
import { startLab } from '../../lib/lab.mjs';
import { scratchDir } from '../../lib/scratch.mjs';

const dir = scratchDir('lab-probe-test');

// BREAKGLASS_SSH_CONNECT_TIMEOUT_SECONDS as shipped: the test sets none.
const DEFAULT_CONNECT_LIMIT_MS = 10000;
const ANSWER_SLACK_MS = 1000;
const TURN_LIMIT_MS = 60000;

function nft(ns, script) {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { input: script, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`nft in ${ns}: ${r.stderr}`);
}

describe('devvm_probe with the default connect limit', () => {
  let lab, st;
  before(async () => {
    lab = await startLab();
    st = await startStack(join(dir, 'stack'), {
      scripts: 'shipped', env: lab.env(),
    });
  });
  after(async () => {
    await st?.close();
    lab?.stop();
  });

  async function probe() {
    const { stream, events } = await st.runTurn([
      { toolUses: [{ name: 'devvm_probe', input: {} }] },
      { text: 'Probed.' },
    ], { prompt: 'Does the devvm answer?', waitMs: TURN_LIMIT_MS });
    await stream.close();
    return events.find((e) => e.kind === 'tool_result');
  }

  test('a frozen sshd is no_banner within the connect limit plus a second, and a finding', async () => {
    lab.wedge();
    try {
      const r = await probe();
      const found = JSON.parse(r.content);
      assert.equal(found.layer, 'no_banner', r.content);
      assert.equal(found.reachable, false);
      assert.match(found.meaning, /no SSH banner/);
      assert.ok(r.duration_ms <= DEFAULT_CONNECT_LIMIT_MS + ANSWER_SLACK_MS, `answered after ${r.duration_ms} ms`);
      assert.ok(r.duration_ms >= DEFAULT_CONNECT_LIMIT_MS - ANSWER_SLACK_MS, `answered after ${r.duration_ms} ms`);
      assert.equal(r.details.ok, false, 'the page shows a finding, not a success');
      assert.equal(r.details.layer, 'no_banner');
    } finally {
      lab.unwedge();
    }
  });

  test('dropped SYNs are connect_timeout within the connect limit plus a second', { skip: !process.getuid || process.getuid() !== 0 }, async (t) => {
    if (!lab.netns) {
      t.skip('no network namespaces here: nothing to drop SYNs in');
      return;
    }
    nft(lab.netns.devvm, `table inet bg_probe_test {
      chain input { type filter hook input priority 0; tcp dport ${lab.devvm.port} tcp flags syn drop; }
    }\n`);
    try {
      const r = await probe();
      const found = JSON.parse(r.content);
      assert.equal(found.layer, 'connect_timeout', r.content);
      assert.ok(r.duration_ms <= DEFAULT_CONNECT_LIMIT_MS + ANSWER_SLACK_MS, `answered after ${r.duration_ms} ms`);
      assert.equal(r.details.ok, false);
    } finally {
      nft(lab.netns.devvm, 'delete table inet bg_probe_test\n');
    }
  });

  test('a devvm that answers is a success', async () => {
    const r = await probe();
    const found = JSON.parse(r.content);
    assert.equal(found.layer, 'command_ran', r.content);
    assert.equal(r.details.ok, true);
  });
});
