// README's first command: scripts/lab.sh brings up the lab's hosts, the mock
// model and the daemon, prints the page's address and the token, answers a
// power button with them, and on Ctrl-C (SIGINT to its process group)
// stops every process it started and removes what it made. The build is
// skipped: ctest built BREAKGLASS_BIN already. Runs as root (the lab does).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fetchJson, freePort } from '../../lib/daemon.mjs';
import { commandLine, descendants, isLive, processTable } from '../../lib/processes.mjs';

const SCRIPT = join(process.env.BREAKGLASS_SOURCE_DIR, 'scripts', 'lab.sh');
const UP_LIMIT_MS = 120000;
const STOP_LIMIT_MS = 60000;
const GONE_LIMIT_MS = 5000;
const VERB_LIMIT_MS = 30000;
const POLL_MS = 100;
const EXIT_ON_SIGINT = 130;

// The script's process tree, and whatever names its files (the lab's sshd
// processes and dummy QEMU, which the fake qm's hooks detach).
function labProcesses(rootPid, labDir) {
  const table = processTable();
  const found = new Set(descendants(rootPid, table));
  for (const [pid, entry] of table) if (isLive(entry) && commandLine(pid).includes(labDir)) found.add(pid);
  return [...found].filter((pid) => isLive(table.get(pid)));
}

const netnsList = () => spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout
  .split('\n').map((l) => l.split(' ')[0]).filter(Boolean);

// The promise's value, or null after limitMs.
async function within(promise, limitMs) {
  let timer;
  const late = new Promise((resolve) => { timer = setTimeout(resolve, limitMs, null); });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function waitUntil(what, predicate, limitMs) {
  const until = Date.now() + limitMs;
  while (!predicate()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

test('scripts/lab.sh prints the address and token, serves the lab, and Ctrl-C stops it all', { timeout: UP_LIMIT_MS + STOP_LIMIT_MS * 2 }, async () => {
  const port = await freePort();
  const env = { ...process.env, BREAKGLASS_LAB_SKIP_BUILD: '1', BREAKGLASS_LISTEN_PORT: String(port) };
  delete env.ANTHROPIC_API_KEY;
  const child = spawn('bash', [SCRIPT], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  let stopped = false;
  try {
    await waitUntil(`the lab's banner (stdout: ${out}; stderr: ${err})`,
      () => /^Ctrl-C stops the lab\.$/m.test(out) || child.exitCode !== null, UP_LIMIT_MS);
    assert.equal(child.exitCode, null, `lab.sh ended: ${err}`);
    const url = /^ {2}page: +(http:\/\/\S+)\//m.exec(out)?.[1];
    const token = /^ {2}token: +(\S+)$/m.exec(out)?.[1];
    const labDir = /^ {2}files: +(\/\S+)/m.exec(out)?.[1];
    assert.equal(url, `http://127.0.0.1:${port}`, out);
    assert.match(token, /^[0-9a-f]{32}$/);
    assert.ok(fs.existsSync(labDir), out);
    assert.match(out, /model: +the scripted mock model/);

    const ready = await fetchJson(`${url}/readyz`);
    assert.equal(ready.status, 200, ready.text);
    assert.equal(ready.json.ready, true);
    const auth = { authorization: `Bearer ${token}` };
    const refused = await fetchJson(`${url}/api/pve/status`, { method: 'POST', body: {} });
    assert.equal(refused.status, 401, 'the token is needed');
    const status = await fetchJson(`${url}/api/pve/status`, { method: 'POST', headers: auth, body: {}, timeoutMs: VERB_LIMIT_MS });
    assert.equal(status.status, 200, status.text);
    assert.equal(status.json.exit_code, 0);
    assert.equal(status.json.stdout, 'status: running\n');

    const started = labProcesses(child.pid, labDir);
    assert.ok(started.length >= 6, `lab.sh, its hosts, mock and daemon, two sshd, a QEMU: ${started}`);
    // Its own namespaces are the ones its processes run in: other tests'
    // labs may be making theirs meanwhile.
    const ownNetns = [...new Set(started.map((pid) => spawnSync('ip', ['netns', 'identify', String(pid)],
      { encoding: 'utf8' }).stdout.trim()).filter(Boolean))];

    process.kill(-child.pid, 'SIGINT');
    const how = await within(exited, STOP_LIMIT_MS);
    assert.deepEqual(how, { code: EXIT_ON_SIGINT, signal: null }, `lab.sh on SIGINT; stderr: ${err}`);
    stopped = true;
    await waitUntil('every process lab.sh started to end', () => labProcesses(child.pid, labDir).length === 0, GONE_LIMIT_MS)
      .catch((e) => assert.fail(`${e.message}: ${labProcesses(child.pid, labDir)}`));
    assert.equal(fs.existsSync(labDir), false, 'its files are removed');
    const netnsNow = netnsList();
    for (const n of ownNetns) assert.ok(!netnsNow.includes(n), `network namespace ${n} removed`);
    await assert.rejects(fetchJson(`${url}/readyz`, { timeoutMs: 2000 }), /ECONNREFUSED/);
  } finally {
    if (!stopped) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      await within(exited, STOP_LIMIT_MS);
    }
  }
});
