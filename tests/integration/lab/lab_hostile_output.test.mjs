// What a broken or hostile devvm prints, through the real daemon, the
// scripted mock model, the shipped devvm_shell and the lab's real sshd:
// bytes that are not text, characters cut by every bound on what is kept,
// a flood on stderr with stdout silent, a command that closes its output
// and runs on, death by a signal. Each ends bounded, with a clear result,
// and the daemon answers others meanwhile. Runs as root (the lab does).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { assertHealthWithin, startStack, toolSource, watchHealth } from '../../lib/agent-stack.mjs';
import { startLab } from '../../lib/lab.mjs';
import { scratchDir } from '../../lib/scratch.mjs';

const dir = scratchDir('lab-hostile-output');
const TURN_MS = 120000;
const shell = (command, extra = {}) => ({ name: 'devvm_shell', input: { command, ...extra } });

// The shipped scripts, plus a tool that asks for all the transport keeps
// of stdout (ctx.ssh with no max_bytes: 1 MiB, head and tail) and returns
// what is around its cut.
const SEAM_TOOL = toolSource('seam_ssh', 'Runs a command on the devvm; returns its stdout around the cut.', [
  'local r = ctx.ssh("devvm", input.command)',
  'local at = r.stdout:find("\\n[breakglass:", 1, true)',
  'if not at then return nil, "no cut in " .. #r.stdout .. " bytes" end',
  'return r.stdout:sub(at - 60, at + 90)',
], { schema: '{type = "object", required = {"command"}, properties = {command = {type = "string"}}}', mutating: false });

function scriptsWithSeamTool(to) {
  cpSync(join(process.env.BREAKGLASS_SOURCE_DIR, 'lua'), to, { recursive: true });
  writeFileSync(join(to, 'tools', 'seam_ssh.lua'), SEAM_TOOL);
  return to;
}

// 1.3 MB of '€' (3 bytes each) after 0, 1 or 2 bytes of ASCII: each
// head/tail seam falls inside a character at some offset.
const EUROS = 433333;
const euroFlood = (pad) => `printf '%.${pad}s' ab; yes '€' | tr -d '\\n' | head -c ${EUROS * 3}`;

async function runTools(st, uses) {
  const { stream, events } = await st.runTurn([{ toolUses: uses }, { text: 'Done.' }], { waitMs: TURN_MS });
  await stream.close();
  return {
    results: events.filter((e) => e.kind === 'tool_result'),
    outputs: events.filter((e) => e.kind === 'tool_output'),
  };
}

describe('hostile output from the lab devvm', () => {
  let lab;
  let st;
  before(async () => {
    lab = await startLab();
    st = await startStack(join(dir, 'stack'), { scripts: scriptsWithSeamTool(join(dir, 'scripts')), env: lab.env() });
  });
  after(async () => {
    await st?.close();
    lab?.stop();
  });

  test('a character cut by the model\'s bound is dropped whole, never shown as U+FFFD', async () => {
    // devvm_shell gives the model 64 KiB, head and tail.
    const { results } = await runTools(st, [0, 1, 2].map((pad) => shell(euroFlood(pad))));
    assert.equal(results.length, 3);
    for (const r of results) {
      assert.equal(r.is_error, false, r.content.slice(0, 200));
      const stdout = r.content.slice(r.content.indexOf('--- stdout ---\n') + 15);
      assert.ok(!stdout.includes('\uFFFD'), `U+FFFD at ${stdout.indexOf('\uFFFD')} of the model's copy`);
      const text = stdout.replace(/\n\[breakglass: \d+ bytes cut here\]\n/, '').replace(/^a?b?|\n$/g, '');
      assert.match(text, /^€+$/, 'only whole characters on either side of the marker');
    }
  });

  test('a character cut by the transport\'s bound is dropped whole, never shown as U+FFFD', async () => {
    const uses = [0, 1, 2].map((pad) => ({ name: 'seam_ssh', input: { command: euroFlood(pad) } }));
    const { results } = await runTools(st, uses);
    assert.equal(results.length, 3);
    for (const r of results) {
      assert.equal(r.is_error, false, r.content);
      assert.match(r.content, /^€+\n\[breakglass: \d+ bytes cut here\]\n€+$/, JSON.stringify(r.content));
    }
  });

  test('bytes that are not text, terminal escapes, a death by signal and an exit status past 255 each give a plain result', async () => {
    const { results, outputs } = await runTools(st, [
      shell("printf 'a\\0b\\300\\257c\\377\\355\\240\\200d\\033[2J\\033]0;t\\007e'"),
      shell('echo x; kill -KILL 0'),
      shell('exit 300'),
    ]);
    // Overlong, stray and surrogate bytes are each U+FFFD; NUL and the
    // escapes are characters the page shows as text.
    const shown = 'a\0b\uFFFD\uFFFDc\uFFFD\uFFFD\uFFFD\uFFFDd\x1b[2J\x1b]0;t\x07e';
    assert.equal(results[0].content.replace(/^exit status 0, \d+\.\d{3} s\n/, ''), `--- stdout ---\n${shown}\n`);
    assert.equal(outputs.filter((o) => o.call_id === results[0].call_id).map((o) => o.text).join(''), shown);
    assert.match(results[1].content, /^killed by signal KILL, /);
    assert.equal(results[1].details.exit_signal, 'KILL');
    assert.equal(results[1].details.ok, false);
    assert.match(results[2].content, /^exit status 44, /);
  });

  test('stderr flooding with stdout silent, and one endless line, end bounded while the daemon answers others', async () => {
    const health = watchHealth(st);
    const { results } = await runTools(st, [
      shell('head -c 4000000 /dev/zero | tr "\\0" e >&2; echo done'),
      shell('yes | tr -d "\\n"', { timeout_s: 2 }),
    ]);
    const answers = await health.stop();
    assert.match(results[0].content, /^exit status 0, .*\n--- stdout ---\ndone\n--- stderr ---\ne+\n\[breakglass: \d+ bytes cut here\]\ne+\n$/);
    assert.ok(results[0].content.length < 70 * 1024, `${results[0].content.length} characters`);
    assert.equal(results[1].is_error, true);
    assert.match(results[1].content, /^timed out after 2\.\d s; the command was stopped\. Output so far:\n--- stdout ---\ny+\n\[breakglass: \d+ bytes cut here\]\ny+\n$/);
    assertHealthWithin(answers, 1000, 'during the flood');
  });

  test('a devvm whose host key changes between two connections is refused on the second, with the new fingerprint', async () => {
    const first = await runTools(st, [shell('echo pinned')]);
    assert.equal(first.results[0].is_error, false, first.results[0].content);
    const key = join(lab.dir, 'devvm', 'ssh_host_ed25519_key');
    lab.killDevvmSshd();
    rmSync(key);
    rmSync(`${key}.pub`);
    spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    const fingerprint = /SHA256:[A-Za-z0-9+/]+/.exec(spawnSync('ssh-keygen', ['-l', '-f', `${key}.pub`], { encoding: 'utf8' }).stdout)[0];
    await lab.startDevvmSshd();
    const { results } = await runTools(st, [shell('echo impostor'), { name: 'devvm_probe', input: {} }]);
    assert.equal(results[0].is_error, true, results[0].content);
    assert.equal(JSON.parse(results[1].content).reachable, false, 'the probe finds the devvm unreachable');
    for (const r of results) {
      assert.match(r.content, /hostkey_changed/);
      assert.ok(r.content.includes(fingerprint), `${fingerprint} in: ${r.content}`);
      assert.ok(!r.content.includes('impostor\n'), 'the command did not run');
    }
  });
});
