// Turns against the mock model: how long from a prompt to its first text
// event, and what the daemon holds after many turns. A turn is a prompt,
// one streamed answer (~300 characters in text deltas) and its end.
import { performance } from 'node:perf_hooks';
import { memoryKib } from './lib/memory.mjs';
import { median, p99 } from './lib/stats.mjs';
import { startBench } from './lib/stack.mjs';

const ANSWER = 'The devvm answers pings but not SSH: sshd is likely wedged or the disk is full. '
  + 'I will check the journal for OOM kills, then look at df and the failed units, and only then '
  + 'consider a cycle of VM 102, after forensics. Nothing has been changed yet; all of this reads. ';

/** Runs turns in session id (watched by viewer): prompt → first text times (ms). */
async function runTurns(b, id, viewer, count) {
  const firstText = [];
  for (let i = 0; i < count; i++) {
    let first = null;
    const off = viewer.listen((data, at) => { if (first === null && data?.kind === 'text_delta') first = at; });
    const end = viewer.waitFor('turn_end');
    const t0 = performance.now();
    const r = await b.prompt(id, `turn ${i}: what is wrong with the devvm?`);
    if (r.status !== 200) throw new Error(`prompt: ${r.status} ${r.text}`);
    await end;
    off();
    if (first !== null) firstText.push(first - t0);
  }
  return firstText;
}

/** A session of messages/2 turns: prompt → first text, and RSS after. */
export async function measureLongSession({ bin, model, messages }) {
  model.mock.setResponder(() => ({ text: ANSWER }));
  const b = await startBench({ bin, env: model.env });
  try {
    const id = await b.newSession();
    const viewer = await b.viewer(id);
    const firstText = await runTurns(b, id, viewer, messages / 2);
    viewer.close();
    return { firstTextMs: median(firstText), firstTextP99: p99(firstText), memory: memoryKib(b.pid) };
  } finally {
    await b.stop();
  }
}

/**
 * Turns in sessions of perSession, the daemon keeping maxSessions (its
 * retention then deletes the oldest): RSS once the kept set is full and
 * again after all the turns. What is kept is the same size both times, so
 * the difference is what turns leave behind.
 */
export async function measureManyTurns({ bin, model, perSession, maxSessions, turns }) {
  model.mock.setResponder(() => ({ text: ANSWER }));
  const b = await startBench({ bin, env: { ...model.env, BREAKGLASS_MAX_SESSIONS: String(maxSessions) } });
  try {
    const full = perSession * maxSessions;
    let atFull = null;
    for (let done = 0; done < turns; done += perSession) {
      const id = await b.newSession();
      const viewer = await b.viewer(id);
      await runTurns(b, id, viewer, perSession);
      viewer.close();
      if (done + perSession === full) atFull = memoryKib(b.pid);
    }
    return { fullTurns: full, atFull, atEnd: memoryKib(b.pid) };
  } finally {
    await b.stop();
  }
}
