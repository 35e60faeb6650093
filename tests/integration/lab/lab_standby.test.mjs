// Standby (core/ssh/ssh_transport.h, pve/standby.h): after a host's first
// command the daemon keeps a program waiting there for the next one, so
// that a power verb or a devvm command skips sshd's fork and exec. Against
// the lab's real sshd and the real breakglass-pve: the next verb and the
// next devvm command run in the program that was waiting, and what they do
// is what sshd's own exec would have done, byte for byte; a forced command
// that does not know standby is asked once and verbs go on as before;
// stopping the daemon leaves no waiting program behind. Runs as root.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AUTH, startStack } from '../../lib/agent-stack.mjs';
import { fetchJson } from '../../lib/daemon.mjs';
import { startLab } from '../../lib/lab.mjs';
import { argvOf } from '../../lib/processes.mjs';
import { scratchDir } from '../../lib/scratch.mjs';

const dir = scratchDir('lab-standby-test');

const VERB_LIMIT_MS = 60000;
const CONNECT_TIMEOUT_S = 2;
// The bound for a wedged devvm, as lab_tools holds it.
const WEDGED_LIMIT_MS = CONNECT_TIMEOUT_S * 1000 + 1000;
const TURN_LIMIT_MS = 60000;
const WAIT_MS = 10000;
const POLL_MS = 50;
const SHIPPED = () => join(process.env.BREAKGLASS_SOURCE_DIR, 'lua');
// The first line of the devvm's waiting shell (ssh_standby_shell.c).
const SHELL_STANDBY_MARK = 'IFS= read -r end || exit 0';

const press = (st, verb) => fetchJson(`${st.daemon.url}/api/pve/${verb}`,
  { method: 'POST', headers: AUTH, body: {}, timeoutMs: VERB_LIMIT_MS });

// The lab's processes (both sshd trees) whose command line passes `match`.
const labProcesses = (lab, match) => lab.pids().filter((pid) => {
  const argv = argvOf(pid);
  return argv.length > 0 && match(argv);
});
const isPve = (argv) => argv[0].endsWith('breakglass-pve');
const isShellStandby = (argv) => argv.some((a) => a.startsWith(SHELL_STANDBY_MARK));

async function waitFor(what, predicate, limitMs = WAIT_MS) {
  const until = Date.now() + limitMs;
  for (;;) {
    const value = predicate();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

// The one process matching, once there is exactly one.
const theOne = (lab, match, what) => waitFor(what, () => {
  const pids = labProcesses(lab, match);
  return pids.length === 1 ? pids[0] : 0;
});

const pidsOfResults = (lab) => lab.pveLog().split('\n')
  .map((l) => /breakglass-pve\[(\d+)\] .* result outcome=/.exec(l)).filter(Boolean).map((m) => Number(m[1]));

const shell = (command) => ({ name: 'devvm_shell', input: { command } });

async function runShell(st, command) {
  const { stream, events } = await st.runTurn([{ toolUses: [shell(command)] }, { text: 'Done.' }], { waitMs: TURN_LIMIT_MS });
  await stream.close();
  const result = events.find((e) => e.kind === 'tool_result');
  assert.ok(result, JSON.stringify(events));
  return result;
}

describe('standby on the lab hosts', () => {
  let lab;
  let st;
  before(async () => {
    lab = await startLab();
    st = await startStack(join(dir, 'main'), {
      env: { ...lab.env(), BREAKGLASS_SCRIPTS_DIR: SHIPPED(), BREAKGLASS_SSH_CONNECT_TIMEOUT_SECONDS: String(CONNECT_TIMEOUT_S) },
    });
  });
  after(async () => {
    await st?.close();
    lab?.stop();
  });

  test('the next power verb runs in the breakglass-pve that was waiting for it', async () => {
    const first = await press(st, 'status');
    assert.equal(first.status, 200, first.text);
    const waiting = await theOne(lab, isPve, 'breakglass-pve waiting on the Proxmox host');
    for (const verb of ['status', 'forensics']) {
      const pid = verb === 'status' ? waiting : await theOne(lab, isPve, 'the next one waiting');
      const r = await press(st, verb);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.exit_code, 0, r.text);
      assert.equal(pidsOfResults(lab).at(-1), pid, `${verb} ran in the waiting process:\n${lab.pveLog()}`);
    }
    assert.match((await press(st, 'status')).json.stdout, /^status: running\n$/);
  });

  test('the next devvm command runs in the shell that was waiting, as sshd would run it', async () => {
    await runShell(st, 'true');
    const waiting = await theOne(lab, isShellStandby, 'a shell waiting on the devvm');
    // A line that looks like a frame's marker, quotes, backslashes, a
    // here-document and a trailing newline all arrive as written; stdin
    // is /dev/null (the tool's wrapper), as through sshd's exec.
    const command = "echo \"$$\"\ncat <<'END'\nbreakglass-standby-end-0\n a \\\\ b 'q' \"d\" $HOME\nEND\n"
      + "printf '%s|' \"$0\"; wc -c\n";
    const r = await runShell(st, command);
    assert.equal(r.is_error, false, r.content);
    const out = /--- stdout ---\n([\s\S]*)$/.exec(r.content)[1].split('\n');
    assert.deepEqual(out.slice(0, 3), [String(waiting), 'breakglass-standby-end-0', ` a \\\\ b 'q' "d" $HOME`]);
    assert.match(out[3], /^\S+\|0$/, 'the login shell runs it, and it reads an empty stdin');
    assert.equal(out.length, 5);
  });

  test('a command given to the waiting shell may be silent longer than the connect limit', async () => {
    await runShell(st, 'true');
    await theOne(lab, isShellStandby, 'a shell waiting on the devvm');
    // Nothing comes back for the command itself until it prints; sshd's
    // answer to the daemon's request after it tells a live server.
    const r = await runShell(st, `sleep ${CONNECT_TIMEOUT_S + 1}; echo done`);
    assert.equal(r.is_error, false, r.content);
    assert.match(r.content, /^exit status 0, .*\n--- stdout ---\ndone\n$/);
  });

  test('a devvm wedged under its waiting shell: the command given to it fails within the connect limit + 1 s', async () => {
    await runShell(st, 'true');
    await theOne(lab, isShellStandby, 'a shell waiting on the devvm');
    lab.wedge();
    try {
      // The command goes to the waiting shell, which cannot answer: the
      // daemon must still hear from sshd at once or fail the connection.
      const r = await runShell(st, 'uptime');
      assert.equal(r.is_error, true, r.content);
      assert.match(r.content, /no_banner/);
      assert.ok(r.duration_ms < WEDGED_LIMIT_MS, `devvm_shell took ${r.duration_ms} ms`);
    } finally {
      lab.unwedge();
    }
    const back = await runShell(st, 'echo back');
    assert.equal(back.is_error, false, back.content);
  });

  test('stopping the daemon leaves no waiting program on either host', async () => {
    await press(st, 'status');
    await runShell(st, 'true');
    await theOne(lab, isPve, 'breakglass-pve waiting');
    await theOne(lab, isShellStandby, 'a shell waiting');
    await st.close();
    st = null;
    await waitFor('no waiting program left', () => labProcesses(lab, (a) => isPve(a) || isShellStandby(a)).length === 0);
  });

  test('BREAKGLASS_SSH_STANDBY=off: nothing waits on either host, and commands run as before', async () => {
    const off = await startStack(join(dir, 'off'), {
      env: { ...lab.env(), BREAKGLASS_SCRIPTS_DIR: SHIPPED(), BREAKGLASS_SSH_STANDBY: 'off' },
    });
    try {
      for (let i = 0; i < 2; i++) {
        const r = await press(off, 'status');
        assert.equal(r.status, 200, r.text);
        assert.match(r.json.stdout, /^status: running\n$/);
        const sh = await runShell(off, 'echo "$$"');
        assert.equal(sh.is_error, false, sh.content);
      }
      // Long enough for a standby to have started after each command.
      await new Promise((resolve) => setTimeout(resolve, 500));
      assert.deepEqual(labProcesses(lab, (a) => isPve(a) || isShellStandby(a)), []);
    } finally {
      await off.close();
    }
  });
});

describe('a forced command that does not know standby', () => {
  let lab;
  let st;
  const asked = join(dir, 'standby-asked');
  before(async () => {
    // What an older breakglass-pve does with a command it does not know.
    const old = join(dir, 'old-pve');
    fs.writeFileSync(old, `#!/bin/sh
if [ "$SSH_ORIGINAL_COMMAND" = standby ]; then
  echo standby >> '${asked}'
  echo 'breakglass-pve: rejected: the command must be exactly one of status|...' >&2
  exit 2
fi
exec '${process.env.BREAKGLASS_PVE_BIN}' "$@"
`, { mode: 0o755 });
    fs.chmodSync(dir, 0o755);
    lab = await startLab({ pveBin: old });
    st = await startStack(join(dir, 'old'), { env: { ...lab.env(), BREAKGLASS_SCRIPTS_DIR: SHIPPED() } });
  });
  after(async () => {
    await st?.close();
    lab?.stop();
  });

  test('is asked once; every verb runs as before', async () => {
    for (let i = 0; i < 4; i++) {
      const r = await press(st, 'status');
      assert.equal(r.status, 200, r.text);
      assert.match(r.json.stdout, /^status: running\n$/);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    assert.equal(fs.readFileSync(asked, 'utf8'), 'standby\n');
  });
});
