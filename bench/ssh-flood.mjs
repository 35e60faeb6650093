// A flood of output through the daemon, on stdout and on stderr side by
// side: devvm_shell runs `head -c N /dev/zero | tr '\0' e` with one stream
// or the other redirected, on a fresh exec channel (no standby shell, as
// BREAKGLASS_SSH_STANDBY=off), in the lab (a real OpenSSH sshd in a network
// namespace). The time is from the mock model's last byte of the tool call
// to the next model request arriving with its result; the baseline is the
// same command with OpenSSH over a ControlMaster, its output discarded.
// Stderr once read at about 2.5 MB/s in half the runs (a stream's EOF
// waited for a keepalive's reply), so the slowest run is shown too.
import { startLab } from '../tests/lib/lab.mjs';
import { scratchDir } from '../tests/lib/scratch.mjs';
import { controlMaster, timingShell } from './lib/openssh.mjs';
import { median, quantile } from './lib/stats.mjs';
import { startBench } from './lib/stack.mjs';

const STREAMS = ['stdout', 'stderr'];

/** The flood on one stream and a line on the other, as the red team ran it. */
const floodCommand = (stream, bytes) => (stream === 'stdout'
  ? `head -c ${bytes} /dev/zero | tr '\\0' e; echo done >&2`
  : `head -c ${bytes} /dev/zero | tr '\\0' e >&2; echo done`);

/** MB/s of each run: the median and the slowest. */
const summary = (bytes, msList) => {
  const rates = msList.map((ms) => bytes / 1000 / ms);
  return { p50: median(rates), slowest: quantile(rates, 0), n: rates.length };
};

export async function measureSshFlood({ bin, model, rounds, bytes }) {
  const dir = scratchDir('bg-bench-flood');
  const lab = await startLab();
  const shell = timingShell();
  let master = null;
  let b;
  try {
    b = await startBench({ bin, env: { ...model.env, ...lab.env(), BREAKGLASS_SSH_STANDBY: 'off' } });
    master = controlMaster(lab, lab.devvm, dir, 'devvm');
    let command = null;
    model.mock.setResponder((body) => {
      const last = body.messages.at(-1);
      const answered = Array.isArray(last.content) && last.content.some((c) => c.type === 'tool_result');
      return answered ? { text: 'done' } : { toolUses: [{ name: 'devvm_shell', input: { command, timeout_s: 300 } }] };
    });
    // A session of its own each: a session keeps at most 64 MiB of events
    // (SESSION_MAX_EVENT_BYTES), which eight floods' live output fill; the
    // ninth prompt is refused (503, "this session is full").
    const daemon = async (stream) => {
      command = floodCommand(stream, bytes);
      const id = await b.newSession();
      const viewer = await b.viewer(id);
      const first = model.mock.requests.length;
      const end = viewer.waitFor('turn_end');
      await b.prompt(id, `flood ${stream}`);
      await end.finally(() => viewer.close());
      const [ask, next] = [model.mock.requests[first], model.mock.requests[first + 1]];
      if (!next || !ask.endedAt) throw new Error(`${stream} flood: the model was not asked again`);
      const result = next.body.messages.at(-1).content.find((c) => c.type === 'tool_result');
      if (!/^exit status 0,/.test(result.content)) throw new Error(`${stream} flood: ${result.content.slice(0, 200)}`);
      return next.arrivedAt - ask.endedAt;
    };
    const openssh = async (stream) => {
      const r = await shell.time(master.argv(floodCommand(stream, bytes)));
      if (r.status !== 0) throw new Error(`ssh -S, ${stream} flood: exit ${r.status}`);
      return r.ms;
    };
    const out = { stdout: [], stderr: [], stdoutMaster: [], stderrMaster: [] };
    for (let i = 0; i < rounds; i++) {
      // Each round starts with the other stream, so neither is always first.
      for (const stream of i % 2 ? [...STREAMS].reverse() : STREAMS) {
        out[stream].push(await daemon(stream));
        out[`${stream}Master`].push(await openssh(stream));
      }
    }
    return { bytes, ...Object.fromEntries(Object.entries(out).map(([k, ms]) => [k, summary(bytes, ms)])) };
  } finally {
    shell.close();
    master?.close();
    await b?.stop();
    lab.stop();
  }
}
