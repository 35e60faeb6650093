// What the cluster sees of a drill (issue 10): the lab's devvm wedges and
// the lab model gets it back (probe, forensics, cycle, wait), then an
// operator presses a power button. With BREAKGLASS_LOG_FORMAT=json every
// line the daemon writes parses as JSON and holds no secret (the API key,
// the bearer token, the SSH key's bytes); the scraper's /metrics counts
// the power verbs by source, and the SSH connects by the layer they
// failed at. Runs as root (the lab does).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { API_KEY, AUTH, BEARER, startStack } from '../../lib/agent-stack.mjs';
import { fetchJson } from '../../lib/daemon.mjs';
import { startLab } from '../../lib/lab.mjs';
import { labResponder } from '../../lib/mock-lab.mjs';
import { moved, scrape, value } from '../../lib/prometheus.mjs';
import { scratchDir } from '../../lib/scratch.mjs';
import { forSuite } from '../../lib/suite.mjs';

const dir = scratchDir('lab-observability-test');

const CONNECT_TIMEOUT_S = 2;
const DRILL_LIMIT_MS = 120000;
const VERB_LIMIT_MS = 90000;

// The secrets the daemon holds: the environment's and the key file's
// bytes, whole and line by line (a line of base64 is the key too).
function secretsOf(env) {
  const key = fs.readFileSync(env.BREAKGLASS_KEY_PATH, 'utf8');
  const lines = key.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('-----'));
  assert.ok(lines.length > 0);
  return [API_KEY, BEARER, key, ...lines];
}

describe('a drill as the cluster sees it', () => {
  const lab = forSuite(() => startLab(), (l) => l.stop());

  test('JSON log lines only, no secret in them; power verbs, by source, and SSH failures, by layer, counted', async () => {
    const env = {
      ...lab.env(),
      BREAKGLASS_RUNBOOKS_DIR: join(process.env.BREAKGLASS_SOURCE_DIR, 'runbooks'),
      BREAKGLASS_SSH_CONNECT_TIMEOUT_SECONDS: String(CONNECT_TIMEOUT_S),
      BREAKGLASS_LOG_FORMAT: 'json',
      BREAKGLASS_LOG_LEVEL: 'debug',
      BREAKGLASS_METRICS_LISTEN: '127.0.0.1:0',
    };
    const st = await startStack(join(dir, 'drill'), { scripts: 'shipped', env });
    let calls = [];
    try {
      const [, host, port] = await st.daemon.waitForLog(/metrics on (\S+):(\d+)/);
      const scraper = `http://${host}:${port}/metrics`;
      const before = await scrape(scraper);

      lab.wedge();
      st.mock.setResponder(labResponder);
      const { stream, events } = await st.runTurn([], { prompt: 'The devvm does not answer. Get it back.', waitMs: DRILL_LIMIT_MS });
      await stream.close();
      assert.equal(events.at(-2).is_error, false, events.at(-2).result);
      calls = events.filter((e) => e.kind === 'tool');
      assert.deepEqual(lab.vmState(), { status: 'running', mode: 'normal' });

      const press = await fetchJson(`${st.daemon.url}/api/pve/status`,
        { method: 'POST', headers: AUTH, body: {}, timeoutMs: VERB_LIMIT_MS });
      assert.equal(press.status, 200, press.text);
      assert.match(press.headers['x-request-id'], /^[0-9a-f]{32}$/);

      const after = await scrape(scraper);
      const verb = (v, source) => moved(before, after, 'breakglass_power_verbs_total', { verb: v, source, outcome: 'ok' });
      assert.equal(verb('forensics', 'agent'), 1);
      assert.equal(verb('cycle', 'agent'), 1);
      assert.equal(verb('status', 'button'), 1);
      assert.equal(moved(before, after, 'breakglass_tool_calls_total', { tool: 'devvm_probe', source: 'agent', outcome: 'ok' }), 1);
      assert.equal(moved(before, after, 'breakglass_tool_calls_total', { tool: 'pve', source: 'button', outcome: 'ok' }), 1);
      assert.ok(moved(before, after, 'breakglass_ssh_connect_failures_total', { target: 'devvm', layer: 'no_banner' }) >= 1,
        'the probe of the wedged devvm stopped at the banner');
      assert.ok(moved(before, after, 'breakglass_ssh_connects_total', { target: 'pve' }) >= 1);
      assert.equal(value(after, 'breakglass_ssh_connect_failures_total', { target: 'pve', layer: 'no_banner' }), 0);
      assert.equal(moved(before, after, 'breakglass_turns_ended_total', { outcome: 'ok' }), 1);

      // The button's lines carry its request's id, its session and its call.
      const rid = press.headers['x-request-id'];
      await st.daemon.waitForLog(new RegExp(`"request_id":"${rid}"`));
      const mine = st.daemon.log.map((l) => JSON.parse(l)).filter((l) => l.request_id === rid);
      assert.ok(mine.some((l) => l.msg.startsWith('pve status asked by bearer: ') &&
        l.session === press.json.session_id && l.call_id === press.json.call_id), JSON.stringify(mine));
    } finally {
      lab.unwedge();
      await st.close();
    }

    const secrets = secretsOf(env);
    const records = st.daemon.log.map((line) => {
      try {
        return JSON.parse(line);
      } catch {
        return assert.fail(`not JSON: ${line}`);
      }
    });
    // Each call of the drill has its line, in its session, under its id.
    assert.ok(calls.length >= 4, JSON.stringify(calls));
    for (const c of calls) {
      const step = c.input?.verb ? `${c.name} ${c.input.verb}` : c.name;
      const line = records.find((r) => r.call_id === c.call_id && r.msg.startsWith(`${step} from agent: ok (`));
      assert.ok(line, `no line for ${step} ${c.call_id}`);
      assert.equal(line.identity, 'bearer');
    }
    for (const [i, line] of st.daemon.log.entries()) {
      const record = records[i];
      assert.match(record.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.ok(['debug', 'info', 'warn', 'error'].includes(record.level), line);
      assert.equal(typeof record.msg, 'string');
      for (const s of secrets) assert.ok(!line.includes(s), `a secret in a log line: ${line}`);
    }
  });
});
