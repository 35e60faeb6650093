// One command through the daemon against the same command with OpenSSH, to
// the same sshd and forced command in the lab (network namespaces, real
// OpenSSH sshd, the real breakglass-pve), interleaved so that a busy
// moment of the machine falls on all of them alike:
// - a power verb `status`: POST /api/pve/status on a kept-alive connection
//   (gate, intent flushed, the verb, the record, the answer) against `ssh
//   -S` over a ControlMaster and a fresh `ssh`;
// - `devvm_shell true` through the agent: from the mock model's last byte of
//   the tool call to the next model request arriving with its result (gate,
//   intent flushed, the command with the tool's wrapper, the record, the
//   next request over TLS) against `ssh -S devvm true` and a fresh `ssh`.
// The lab's fake qm is a Node program (a hundred milliseconds a start),
// which would time Node, not SSH: the host gets a qm that answers at once.
// setup 'exit' puts a forced command that just exits on the key instead of
// breakglass-pve, as issue 13 measured; like breakglass-pve, started as
// "standby" it first reads its verb from stdin (pve/standby.h).
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startLab } from '../tests/lib/lab.mjs';
import { scratchDir } from '../tests/lib/scratch.mjs';
import { controlMaster, freshArgv, timingShell } from './lib/openssh.mjs';
import { median, p99 } from './lib/stats.mjs';
import { startBench } from './lib/stack.mjs';

const TURNS_PER_SESSION = 10;
const WARMUP = 3;
const INSTANT_QM = '#!/bin/sh\necho "status: running"\n';
const EXIT_AFTER_VERB = '#!/bin/sh\n[ "$SSH_ORIGINAL_COMMAND" = standby ] && read -r verb\nexit 0\n';

const summary = (xs) => ({ p50: median(xs), p99: p99(xs), n: xs.length });

/** The model asks for devvm_shell true, then ends the turn when it has the result. */
function shellResponder(body) {
  const last = body.messages.at(-1);
  const answered = Array.isArray(last.content) && last.content.some((c) => c.type === 'tool_result');
  return answered ? { text: 'done' } : { toolUses: [{ name: 'devvm_shell', input: { command: 'true' } }] };
}

export async function measureSsh({ bin, pveBin, model, samples, setup }) {
  const dir = scratchDir('bg-bench-ssh');
  const exitBin = join(dir, 'exit-after-verb');
  writeFileSync(exitBin, EXIT_AFTER_VERB, { mode: 0o755 });
  chmodSync(dir, 0o755);
  const lab = await startLab({ pveBin: setup === 'exit' ? exitBin : pveBin });
  const shell = timingShell();
  const masters = [];
  let b;
  let session = null;
  try {
    writeFileSync(join(lab.dir, 'pve', 'qm'), INSTANT_QM, { mode: 0o755 });
    b = await startBench({ bin, env: { ...model.env, ...lab.env() } });
    masters.push(controlMaster(lab, lab.pve, dir, 'pve'), controlMaster(lab, lab.devvm, dir, 'devvm'));
    const [pveMaster, devvmMaster] = masters;
    model.mock.setResponder(shellResponder);
    let turns = 0;
    const daemonVerb = async () => {
      const r = await b.call('POST', '/api/pve/status');
      if (r.status !== 200) throw new Error(`POST /api/pve/status: ${r.status} ${r.text}`);
      return r.ms;
    };
    const daemonShell = async () => {
      if (!session || turns++ % TURNS_PER_SESSION === 0) {
        session?.viewer.close();
        const id = await b.newSession();
        session = { id, viewer: await b.viewer(id) };
      }
      const first = model.mock.requests.length;
      const end = session.viewer.waitFor('turn_end');
      await b.prompt(session.id, 'run true on the devvm');
      await end;
      const [ask, next] = [model.mock.requests[first], model.mock.requests[first + 1]];
      if (!next || !ask.endedAt) throw new Error('devvm_shell turn: the model was not asked again');
      return next.arrivedAt - ask.endedAt;
    };
    const openssh = (argv) => async () => {
      const r = await shell.time(argv);
      if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status}`);
      return r.ms;
    };
    const runs = {
      verb: daemonVerb,
      verbMaster: openssh(pveMaster.argv('status')),
      verbFresh: openssh(freshArgv(lab, lab.pve, 'status')),
      shell: daemonShell,
      shellMaster: openssh(devvmMaster.argv('true')),
      shellFresh: openssh(freshArgv(lab, lab.devvm, 'true')),
    };
    if (setup === 'exit') for (const k of ['shell', 'shellMaster', 'shellFresh']) delete runs[k];
    const names = Object.keys(runs);
    const out = Object.fromEntries(names.map((k) => [k, []]));
    for (let i = 0; i < WARMUP; i++) for (const k of names) await runs[k]();
    for (let i = 0; i < samples; i++) {
      // Each round starts with another of them, so none is always first.
      for (let k = 0; k < names.length; k++) {
        const name = names[(i + k) % names.length];
        out[name].push(await runs[name]());
      }
    }
    return Object.fromEntries(names.map((k) => [k, summary(out[k])]));
  } finally {
    session?.viewer.close();
    shell.close();
    for (const m of masters) m.close();
    await b?.stop();
    lab.stop();
  }
}
