// The container image, built once by scripts/image.sh from the tracked
// files, run by real podman the way the chart runs it: read-only root, uid
// and gid 65532, every capability dropped, no-new-privileges, a tmpfs for
// the data, and the SSH key and known_hosts mounted 0440 root:65532 as a
// Secret with fsGroup is. On the host network it reaches the lab's devvm
// and Proxmox host (network namespaces) and the mock model (loopback).
//
// Slow (the build): ctest runs it alone, in the plain pass only (label
// "image"; scripts/test.sh leaves it out of the sanitizer pass). Skipped
// only when podman cannot run at all. Runs as root (podman and the lab).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { API_KEY, startModel } from '../../lib/agent-stack.mjs';
import { configMapMount } from '../../lib/configmap.mjs';
import { fetchJson } from '../../lib/daemon.mjs';
import { startLab } from '../../lib/lab.mjs';
import { LAB_SUMMARY_PREFIX, labResponder } from '../../lib/mock-lab.mjs';
import { waitFor } from '../../lib/page.mjs';
import { PODMAN_GLOBAL, PODMAN_ULIMITS, podman, podmanUnavailable } from '../../lib/podman.mjs';
import { runAsync } from '../../lib/run-async.mjs';
import { openStream } from '../../lib/sse-client.mjs';
import { cycleReachesQm, journalRecordsUnder, recordsCycleDone } from '../../lib/verb-outcome.mjs';

const SOURCE = process.env.BREAKGLASS_SOURCE_DIR;
const UID = 65532;
const BEARER = crypto.randomBytes(16).toString('hex');
const AUTH = { authorization: `Bearer ${BEARER}` };
// A cold build downloads both bases (~150 MB) and compiles on 2 cores:
// about 2 minutes here; ctest's limit for the whole file is 20 minutes.
const BUILD_LIMIT_MS = 12 * 60 * 1000;
const START_LIMIT_MS = 30000;
const DRILL_LIMIT_MS = 120000;
const RELOAD_LIMIT_MS = 15000;
// podman stop's grace: long enough for a wedged cycle in the lab.
const STOP_GRACE_S = 60;
// The lab's cycle of a wedged VM takes seconds; a clean stop well under the grace.
const CYCLE_LIMIT_MS = 90000;
const FORENSICS_HEADER = '=== breakglass-pve forensics: VM 102';
const MAX_IMAGE_BYTES = 64 * 1000 * 1000;
const UNTRACKED = `untracked-${crypto.randomBytes(3).toString('hex')}.txt`;

const skip = podmanUnavailable();
const dir = fs.mkdtempSync(join(tmpdir(), 'image-test-'));
const containers = new Set();
let image; // {ref, bytes}
let lab;
let mock;
let ca;

after(async () => {
  for (const name of containers) podman(['rm', '-f', '-t', '0', name], { allowFail: true });
  lab?.stop();
  await mock?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

// The image's reference and size from image.sh's last line.
async function buildImage(env = {}) {
  const r = await runAsync('nice', [join(SOURCE, 'scripts', 'image.sh')],
    { cwd: SOURCE, env: { ...process.env, ...env }, timeoutMs: BUILD_LIMIT_MS });
  const last = r.stdout.trim().split('\n').at(-1) ?? '';
  return { ...r, last };
}

// The Secret as kubelet mounts it with fsGroup 65532: root's files, group
// 65532, mode 0440, in a folder the group may enter.
function secretDir(name, files) {
  const d = join(dir, name);
  fs.mkdirSync(d, { mode: 0o750 });
  for (const [file, from] of Object.entries(files)) {
    fs.copyFileSync(from, join(d, file));
    fs.chownSync(join(d, file), 0, UID);
    fs.chmodSync(join(d, file), 0o440);
  }
  fs.chownSync(d, 0, UID);
  fs.chmodSync(d, 0o750);
  return d;
}

/**
 * Starts the image as the chart would and resolves once it listens:
 * {name, url, logs(), pid}. data: a host folder for /data, else a tmpfs.
 */
async function runContainer(tag, { data, scripts, env = {} } = {}) {
  const name = `bg-image-test-${tag}-${crypto.randomBytes(3).toString('hex')}`;
  const secrets = secretDir(`secrets-${tag}`, { key: lab.keyPath, known_hosts: lab.knownHostsPath });
  const labEnv = { ...lab.env(), BREAKGLASS_KEY_PATH: '/secrets/key', BREAKGLASS_KNOWN_HOSTS: '/secrets/known_hosts' };
  const settings = {
    ...labEnv,
    API_BEARER_TOKEN: BEARER,
    ANTHROPIC_API_KEY: API_KEY,
    ANTHROPIC_BASE_URL: mock.url,
    BREAKGLASS_CA_FILE: '/etc/breakglass/ca.crt',
    // The host's network: the port is the kernel's pick, read from the log.
    BREAKGLASS_LISTEN: '127.0.0.1:0',
    // As the lab drill: a frozen sshd fails its connect before the probe's own limit.
    BREAKGLASS_SSH_CONNECT_TIMEOUT_SECONDS: '2',
    ...env,
  };
  const args = ['run', '--detach', '--name', name, '--network=host', '--log-driver', 'k8s-file',
    '--read-only', '--user', `${UID}:${UID}`, '--cap-drop=ALL', '--security-opt', 'no-new-privileges',
    ...PODMAN_ULIMITS,
    ...(data ? ['--volume', `${data}:/data`] : ['--tmpfs', '/data']),
    '--volume', `${secrets}:/secrets:ro`, '--volume', `${ca.caCert}:/etc/breakglass/ca.crt:ro`,
    ...(scripts ? ['--volume', `${scripts}:/config:ro`, '--env', 'BREAKGLASS_SCRIPTS_DIR=/config'] : []),
    ...Object.entries(settings).flatMap(([k, v]) => ['--env', `${k}=${v}`]),
    image.ref];
  podman(args);
  containers.add(name);
  const logs = () => podman(['logs', name], { allowFail: true });
  const text = () => { const l = logs(); return l.stdout + l.stderr; };
  let port;
  await waitFor(`${name} to listen`, () => {
    const m = /listening on 127\.0\.0\.1:(\d+)/.exec(text());
    if (m) port = Number(m[1]);
    else if (podman(['inspect', '--format', '{{.State.Running}}', name]).stdout.trim() !== 'true') {
      throw new Error(`${name} exited before listening:\n${text()}`);
    }
    return Boolean(m);
  }, START_LIMIT_MS);
  const pid = Number(podman(['inspect', '--format', '{{.State.Pid}}', name]).stdout.trim());
  return { name, url: `http://127.0.0.1:${port}`, logs: text, pid };
}

const state = (name, field) => podman(['inspect', '--format', `{{.State.${field}}}`, name]).stdout.trim();

const cycleOnHost = () => cycleReachesQm(lab, CYCLE_LIMIT_MS);

describe('the container image', { skip: skip ? `podman cannot run here: ${skip}` : false }, () => {
  before(async () => {
    // image.sh builds from tracked files only: an untracked file must not get in.
    const untracked = join(SOURCE, 'www', UNTRACKED);
    fs.writeFileSync(untracked, 'not tracked by git\n');
    let built;
    try {
      built = await buildImage();
    } finally {
      fs.rmSync(untracked, { force: true });
    }
    assert.equal(built.status, 0, `scripts/image.sh failed:\n${built.stderr.slice(-4000)}`);
    const m = /^(localhost\/breakglass:[\d.]+) [\d.]+ MB \((\d+) bytes\)$/.exec(built.last);
    assert.ok(m, `image.sh's last line: ${built.last}`);
    image = { ref: m[1], bytes: Number(m[2]) };
    console.log(`# image.sh: ${built.last}, in ${(built.ms / 1000).toFixed(0)} s`);
    lab = await startLab();
    ({ pki: ca, mock } = await startModel(dir));
    fs.chmodSync(ca.caCert, 0o644);
  });

  test('it carries the version, the labels, the user, the entrypoint and the defaults the chart relies on', () => {
    const version = /project\(breakglass VERSION ([\d.]+)/.exec(fs.readFileSync(join(SOURCE, 'CMakeLists.txt'), 'utf8'))[1];
    assert.equal(image.ref, `localhost/breakglass:${version}`);
    assert.ok(image.bytes < MAX_IMAGE_BYTES, `the image is ${image.bytes} bytes`);
    const config = JSON.parse(podman(['image', 'inspect', '--format', '{{json .Config}}', image.ref]).stdout);
    assert.equal(config.User, `${UID}:${UID}`);
    assert.deepEqual(config.Entrypoint, ['/usr/local/bin/breakglass']);
    assert.deepEqual(config.Cmd, ['serve']);
    for (const kv of ['BREAKGLASS_LISTEN=0.0.0.0:8080', 'BREAKGLASS_SCRIPTS_DIR=/usr/share/breakglass/lua',
      'BREAKGLASS_WWW_DIR=/usr/share/breakglass/www', 'BREAKGLASS_DATA_DIR=/data']) {
      assert.ok(config.Env.includes(kv), `${kv} in ${config.Env}`);
    }
    const labels = config.Labels;
    assert.equal(labels['org.opencontainers.image.title'], 'breakglass');
    assert.equal(labels['org.opencontainers.image.version'], version);
    const head = spawnSync('git', ['-C', SOURCE, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).stdout.trim();
    assert.match(labels['org.opencontainers.image.revision'], new RegExp(`^${head}(-dirty)?$`));
    for (const k of ['description', 'source', 'licenses', 'base.name']) {
      assert.ok(labels[`org.opencontainers.image.${k}`], `label org.opencontainers.image.${k}`);
    }
  });

  test('its binary is hardened; it holds no shell, nothing but breakglass runs in it, nothing untracked got in', () => {
    const name = `bg-image-test-files-${crypto.randomBytes(3).toString('hex')}`;
    podman(['create', '--name', name, image.ref]);
    containers.add(name);
    const bin = join(dir, 'breakglass');
    podman(['cp', `${name}:/usr/local/bin/breakglass`, bin]);
    const check = spawnSync(join(SOURCE, 'scripts', 'check-hardening.sh'), [bin], { encoding: 'utf8' });
    assert.equal(check.status, 0, check.stderr);
    const tree = join(dir, 'rootfs.tar');
    podman(['export', '--output', tree, name]);
    const files = spawnSync('tar', ['-tf', tree], { encoding: 'utf8', maxBuffer: 64 << 20 }).stdout.split('\n');
    const executables = files.filter((f) => /^(usr\/)?s?bin\/./.test(f));
    assert.deepEqual(executables, [], 'no programs besides /usr/local/bin/breakglass');
    for (const f of ['usr/local/bin/breakglass', 'usr/share/breakglass/www/index.html', 'usr/share/breakglass/lua/prompt.lua',
      'etc/ssl/certs/ca-certificates.crt', 'var/lib/dpkg/status', 'etc/os-release']) {
      assert.ok(files.includes(f), `${f} in the image`);
    }
    assert.ok(!files.includes(`usr/share/breakglass/www/${UNTRACKED}`), 'an untracked file got into the image');
    const sh = podman(['run', '--rm', ...PODMAN_ULIMITS, '--network=none', '--entrypoint', '/bin/sh', image.ref, '-c', 'true'],
      { allowFail: true });
    assert.notEqual(sh.status, 0, 'the image has no /bin/sh');
  });

  test('with nothing but API_BEARER_TOKEN it serves its own page and scripts on 0.0.0.0:8080, and stops at once', async () => {
    const name = `bg-image-test-defaults-${crypto.randomBytes(3).toString('hex')}`;
    // A network of its own (loopback only): 8080 of the host may be taken.
    podman(['run', '--detach', '--name', name, '--network=none', '--log-driver', 'k8s-file', ...PODMAN_ULIMITS,
      '--env', `API_BEARER_TOKEN=${BEARER}`, image.ref]);
    containers.add(name);
    const logs = () => { const l = podman(['logs', name], { allowFail: true }); return l.stdout + l.stderr; };
    await waitFor('the daemon to listen', () => /listening on 0\.0\.0\.0:8080/.test(logs()), START_LIMIT_MS);
    // Its scripts load and its journal folder is writable: the one warning
    // is the missing model credential.
    const complaints = logs().split('\n').filter((l) => / (warn|error) /.test(l));
    assert.deepEqual(complaints.map((l) => l.replace(/^\S+ /, '')),
      ['warn no model credential: prompts will be refused; the power-verb buttons still work']);
    const t0 = Date.now();
    podman(['stop', '--time', String(STOP_GRACE_S), name]);
    assert.ok(Date.now() - t0 < 5000, `stopped after ${Date.now() - t0} ms`);
    assert.equal(state(name, 'ExitCode'), '0', logs());
  });

  test('a base that lacks a library the binary needs fails the build, naming the library', async () => {
    const base = JSON.parse(podman(['image', 'inspect', '--format', '{{json .Config.Labels}}', image.ref]).stdout)[
      'org.opencontainers.image.base.name'];
    const name = `bg-image-test-base-${crypto.randomBytes(3).toString('hex')}`;
    podman(['create', '--name', name, base, '/none']);
    containers.add(name);
    const tar = join(dir, 'base.tar');
    podman(['export', '--output', tar, name]);
    const jansson = spawnSync('tar', ['-tf', tar], { encoding: 'utf8' }).stdout.split('\n')
      .filter((f) => /libjansson\.so/.test(f));
    assert.ok(jansson.length > 0);
    assert.equal(spawnSync('tar', ['--delete', '-f', tar, ...jansson]).status, 0);
    const broken = `localhost/breakglass-image-test-base:${crypto.randomBytes(3).toString('hex')}`;
    podman(['import', '--quiet', tar, broken]);
    const out = `localhost/breakglass-image-test-nolib-${crypto.randomBytes(3).toString('hex')}`;
    try {
      const r = await buildImage({ BREAKGLASS_IMAGE_BASE: broken, BREAKGLASS_IMAGE_NAME: out });
      assert.notEqual(r.status, 0, 'the build must fail');
      assert.match(r.stderr, /libjansson\.so\.4: cannot open shared object file/);
      assert.equal(podman(['image', 'exists', `${out}:${image.ref.split(':')[1]}`], { allowFail: true }).status, 1);
    } finally {
      podman(['rmi', '-f', broken], { allowFail: true });
    }
  });

  describe('running as the chart runs it', () => {
    let ctr;
    let mount;
    let publish;
    before(async () => {
      mount = join(dir, 'configmap');
      publish = configMapMount(mount, join(SOURCE, 'lua'));
      ctr = await runContainer('main', { scripts: mount });
    });

    test('it runs as 65532:65532 with no capabilities and no new privileges', () => {
      const status = fs.readFileSync(`/proc/${ctr.pid}/status`, 'utf8');
      assert.match(status, new RegExp(`^Uid:\\t${UID}\\t${UID}\\t${UID}\\t${UID}$`, 'm'));
      assert.match(status, new RegExp(`^Gid:\\t${UID}\\t${UID}\\t${UID}\\t${UID}$`, 'm'));
      assert.match(status, /^CapEff:\t0000000000000000$/m);
      assert.match(status, /^CapBnd:\t0000000000000000$/m);
      assert.match(status, /^NoNewPrivs:\t1$/m);
      assert.equal(state(ctr.name, 'Running'), 'true');
      assert.equal(podman(['inspect', '--format', '{{.HostConfig.ReadonlyRootfs}}', ctr.name]).stdout.trim(), 'true');
      // The Secret's files as fsGroup leaves them: not the daemon's, only its group's.
      const key = fs.statSync(join(dir, 'secrets-main', 'key'));
      assert.deepEqual([key.uid, key.gid, key.mode & 0o777], [0, UID, 0o440]);
    });

    test('/health, /readyz and the page answer', async () => {
      const health = await fetchJson(`${ctr.url}/health`);
      assert.equal(health.status, 200, health.text);
      const ready = await fetchJson(`${ctr.url}/readyz`);
      assert.equal(ready.status, 200, ready.text);
      assert.equal(ready.json.ready, true);
      assert.equal(ready.json.degraded, false, ready.text);
      assert.ok(ready.json.tools.includes('pve'), ready.text);
      const page = await fetchJson(`${ctr.url}/`);
      assert.equal(page.status, 200);
      assert.match(page.text, /<html/i);
    });

    // Needs the daemon's /metrics route (issue 10, item 3), merged apart.
    test('/metrics answers with the bearer token, and only with it', async () => {
      assert.equal((await fetchJson(`${ctr.url}/metrics`)).status, 401);
      const metrics = await fetchJson(`${ctr.url}/metrics`, { headers: AUTH });
      assert.equal(metrics.status, 200, `GET /metrics: ${metrics.text}`);
      assert.match(metrics.text, /^breakglass_/m);
    });

    test('one drill turn of the lab model reaches the devvm and the Proxmox host from inside it', async () => {
      lab.wedge();
      try {
        mock.setResponder(labResponder);
        const created = await fetchJson(`${ctr.url}/api/session`, { method: 'POST', headers: AUTH, body: {} });
        assert.equal(created.status, 200, created.text);
        const id = created.json.session_id;
        const stream = await openStream(`${ctr.url}/api/session/${id}/stream`, { headers: AUTH });
        try {
          await stream.waitFor((e) => e.event === 'caught-up');
          const r = await fetchJson(`${ctr.url}/api/session/${id}/prompt`,
            { method: 'POST', headers: AUTH, body: { prompt: 'The devvm does not answer. Get it back.' } });
          assert.equal(r.status, 200, r.text);
          await stream.waitFor((e) => e.data?.kind === 'turn_end', DRILL_LIMIT_MS);
        } finally {
          await stream.close();
        }
        const events = stream.events.map((e) => e.data);
        const tools = events.filter((e) => e?.kind === 'tool' && !e.inserted_by);
        // The lab model reads the example runbook before it cycles; the image
        // has no runbooks folder (the chart mounts one), which the tool says.
        assert.deepEqual(tools.map((e) => (e.input?.verb ? `${e.name} ${e.input.verb}` : e.name)),
          ['devvm_probe', 'runbook', 'pve forensics', 'pve cycle', 'wait_for_devvm']);
        const [probe, runbook, forensics, cycle, wait] = tools.map((t) =>
          events.find((e) => e?.kind === 'tool_result' && e.call_id === t.call_id));
        assert.equal(runbook.is_error, true);
        assert.match(runbook.content, /BREAKGLASS_RUNBOOKS_DIR/);
        for (const res of [probe, forensics, cycle, wait]) assert.equal(res.is_error, false, res.content);
        assert.equal(JSON.parse(probe.content).layer, 'no_banner');
        assert.ok(forensics.content.includes(FORENSICS_HEADER), forensics.content.slice(0, 300));
        assert.match(cycle.content, /^pve cycle: exit 0, /);
        assert.match(wait.content, /^the devvm answered after /);
        const result = events.find((e) => e?.kind === 'result');
        assert.ok(result.result.startsWith(LAB_SUMMARY_PREFIX), result.result);
        assert.deepEqual(lab.vmState(), { status: 'running', mode: 'normal' });
      } finally {
        lab.unwedge();
      }
    });

    test('a ConfigMap ..data swap of the scripts is picked up without a restart', async () => {
      const before = (await fetchJson(`${ctr.url}/readyz`)).json;
      assert.ok(!before.tools.includes('echo'));
      const next = join(dir, 'lua-next');
      fs.cpSync(join(SOURCE, 'lua'), next, { recursive: true });
      fs.copyFileSync(join(SOURCE, 'tests', 'fixtures', 'lua', 'good', 'tools', 'a_echo.lua'), join(next, 'tools', 'echo.lua'));
      publish(next);
      let now;
      await waitFor('the new set to load', async () => {
        now = (await fetchJson(`${ctr.url}/readyz`)).json;
        return now.scripts_loaded_ms > before.scripts_loaded_ms;
      }, RELOAD_LIMIT_MS);
      assert.equal(now.degraded, false, JSON.stringify(now));
      assert.deepEqual(now.tools.toSorted(), [...before.tools, 'echo'].toSorted());
      assert.equal(Number(state(ctr.name, 'Pid')), ctr.pid, 'the same process serves the new set');
    });
  });

  test('podman stop during a running cycle lets the verb finish, records it, and exits 0 within the grace period', async () => {
    const data = join(dir, 'data-stop');
    fs.mkdirSync(data, { mode: 0o700 });
    fs.chownSync(data, UID, UID);
    const ctr = await runContainer('stop', { data });
    lab.wedge();
    try {
      const button = (verb) => fetchJson(`${ctr.url}/api/pve/${verb}`,
        { method: 'POST', headers: AUTH, body: {}, timeoutMs: CYCLE_LIMIT_MS });
      assert.equal((await button('forensics')).status, 200);
      const onHost = cycleOnHost();
      const cycle = button('cycle');
      await onHost;
      const t0 = Date.now();
      const stop = runAsync('podman', [...PODMAN_GLOBAL, 'stop', '--time', String(STOP_GRACE_S), ctr.name],
        { timeoutMs: (STOP_GRACE_S + 30) * 1000 });
      const answer = await cycle;
      assert.equal(answer.status, 200, answer.text);
      assert.equal(answer.json.exit_code, 0);
      assert.equal((await stop).status, 0);
      const took = Date.now() - t0;
      assert.ok(took < STOP_GRACE_S * 1000, `stopped after ${took} ms`);
      assert.equal(state(ctr.name, 'ExitCode'), '0', ctr.logs());
      const logs = ctr.logs();
      assert.match(logs, /SIGTERM: shutting down/);
      assert.match(logs, /waiting for 1 power verb on the Proxmox host to end/);
      assert.match(logs, /pve cycle asked by bearer: .*exit 0/);
      assert.match(logs, / stopped\n/);
      assert.ok(journalRecordsUnder(data).some(recordsCycleDone), 'the journal holds the outcome');
      assert.deepEqual(lab.vmState(), { status: 'running', mode: 'normal' });
    } finally {
      lab.unwedge();
    }
  });
});
