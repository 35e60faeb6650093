// GET /api/targets against the lab: the devvm and the Proxmox host probed
// on connections of their own, each failure named by its layer (a wedged
// sshd: no_banner; a killed one: connect_refused), answers cached briefly
// and a probe shared by the requests that arrive while it runs; the model
// and unconfigured targets said plainly. Runs as root (the lab).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, fetchJson } from '../../lib/daemon.mjs';
import { startLab } from '../../lib/lab.mjs';

const TOKEN = 'targets-test-token-0123456789';
const AUTH = { authorization: `Bearer ${TOKEN}` };
// The daemon's SSH connect limit in this file: a wedged devvm is named
// after this long.
const CONNECT_LIMIT_S = 2;
// Generous: a probe ends within the connect limit plus 5 s.
const ANSWER_LIMIT_MS = 30000;
let lab, daemon;

before(async () => {
  lab = await startLab({ useNetns: false });
  daemon = await startDaemon({
    env: {
      API_BEARER_TOKEN: TOKEN, ANTHROPIC_API_KEY: undefined,
      BREAKGLASS_SSH_CONNECT_TIMEOUT_SECONDS: String(CONNECT_LIMIT_S), ...lab.env(),
    },
  });
});

after(async () => {
  await daemon?.stop();
  lab?.stop();
});

async function targets(d = daemon, query = '') {
  const r = await fetchJson(`${d.url}/api/targets${query}`, { headers: AUTH, timeoutMs: ANSWER_LIMIT_MS });
  assert.equal(r.status, 200, r.text);
  return r.json;
}

const probesLogged = (target) => daemon.log.filter((l) => l.includes(`targets: ${target} probe:`)).length;

test('needs auth like the rest of the API', async () => {
  const r = await fetchJson(`${daemon.url}/api/targets`);
  assert.equal(r.status, 401);
});

test('both hosts answer: ok with the time of each phase; the model is not configured', async () => {
  const t = await targets(daemon, '?refresh=1');
  assert.ok(Number.isFinite(Date.parse(t.checked_at)), t.checked_at);
  assert.equal(t.devvm.ok, true, JSON.stringify(t.devvm));
  assert.equal(t.devvm.layer, 'none');
  assert.equal(t.devvm.exit_status, 0);
  for (const k of ['connect_ms', 'handshake_ms', 'auth_ms', 'total_ms']) {
    assert.ok(Number.isInteger(t.devvm[k]) && t.devvm[k] >= 0, `${k}: ${t.devvm[k]}`);
  }
  assert.ok(t.devvm.total_ms >= t.devvm.auth_ms);
  assert.ok(Number.isFinite(Date.parse(t.devvm.checked_at)));
  // The forced command ran `status`: the host answers and says how VM 102 is.
  assert.equal(t.pve.ok, true, JSON.stringify(t.pve));
  assert.equal(t.pve.detail, 'status: running');
  assert.equal(t.pve.message, 'status: running');
  assert.ok(lab.qmCalls().includes('status 102'));
  assert.deepEqual(
    { configured: t.model.configured, ok: t.model.ok, layer: t.model.layer },
    { configured: false, ok: null, layer: 'not_configured' },
  );
  assert.match(t.model.message, /ANTHROPIC_API_KEY/);
});

test('answers are cached; ?refresh=1 probes again; concurrent requests share one probe', async () => {
  const first = await targets(daemon, '?refresh=1');
  const before = probesLogged('devvm');
  const cached = await targets();
  assert.equal(cached.devvm.checked_at, first.devvm.checked_at, 'served from the cache');
  assert.equal(probesLogged('devvm'), before, 'no new probe');

  const [a, b, c] = await Promise.all([targets(daemon, '?refresh=1'), targets(daemon, '?refresh=1'), targets()]);
  assert.notEqual(a.devvm.checked_at, first.devvm.checked_at, 'refresh probed again');
  assert.equal(a.devvm.checked_at, b.devvm.checked_at);
  assert.equal(a.devvm.checked_at, c.devvm.checked_at);
  assert.equal(probesLogged('devvm'), before + 1, 'one probe for three requests');
});

test('a wedged devvm is no_banner; the Proxmox host still answers', async () => {
  lab.wedge();
  try {
    const started = Date.now();
    const t = await targets(daemon, '?refresh=1');
    assert.equal(t.devvm.ok, false);
    assert.equal(t.devvm.layer, 'no_banner', JSON.stringify(t.devvm));
    assert.match(t.devvm.message, /no SSH banner/);
    assert.ok(Date.now() - started < ANSWER_LIMIT_MS);
    assert.equal(t.pve.ok, true);
  } finally {
    lab.unwedge();
  }
  const back = await targets(daemon, '?refresh=1');
  assert.equal(back.devvm.ok, true, JSON.stringify(back.devvm));
});

test('a killed sshd is connect_refused', async () => {
  lab.killDevvmSshd();
  try {
    const t = await targets(daemon, '?refresh=1');
    assert.equal(t.devvm.ok, false);
    assert.equal(t.devvm.layer, 'connect_refused', JSON.stringify(t.devvm));
  } finally {
    await lab.startDevvmSshd();
  }
  const back = await targets(daemon, '?refresh=1');
  assert.equal(back.devvm.ok, true, JSON.stringify(back.devvm));
});

test('with no SSH configuration every target says not configured, at once', async () => {
  const bare = await startDaemon({ env: { API_BEARER_TOKEN: TOKEN, ANTHROPIC_API_KEY: undefined } });
  try {
    const t = await targets(bare, '?refresh=1');
    for (const name of ['devvm', 'pve']) {
      assert.equal(t[name].configured, false);
      assert.equal(t[name].ok, false);
      assert.equal(t[name].layer, 'not_configured');
    }
    assert.match(t.devvm.message, /BREAKGLASS_DEVVM_HOST/);
    assert.match(t.pve.message, /BREAKGLASS_PVE_HOST/);
  } finally {
    await bare.stop();
  }
  // Hosts known but no key: SSH itself is what is missing.
  const keyless = await startDaemon({
    env: { API_BEARER_TOKEN: TOKEN, ANTHROPIC_API_KEY: undefined, ...lab.env(), BREAKGLASS_KEY_PATH: undefined, BREAKGLASS_KNOWN_HOSTS: undefined },
  });
  try {
    const t = await targets(keyless);
    assert.equal(t.devvm.layer, 'not_configured');
    assert.match(t.devvm.message, /BREAKGLASS_KEY_PATH/);
  } finally {
    await keyless.stop();
  }
});
