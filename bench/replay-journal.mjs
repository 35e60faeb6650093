// Session journals of N model tool calls each, written as the daemon
// writes them (docs/journal.md): per call the assistant's tool_use message,
// the `tool` event, the flushed `intent`, the output, the `tool_result`
// event, the `tool_call` record (with the moments its gate decided and it
// finished) and the user's tool_result message. Calls are devvm_shell
// commands and pve status; every 25th is a pve cycle before which
// forensics_first had the runtime run pve forensics (a `policy` event, the
// inserted call with its own records, and a second gate round). Calls are a
// minute apart and sessions follow one another, so the shipped rate limits
// allow every cycle and replay against lua/ finds nothing to report.
//
//   node bench/replay-journal.mjs [N] > journal.jsonl
//   node bench/replay-journal.mjs N --sessions M --out DIR   (DIR/<id>.jsonl)
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const START_MS = Date.UTC(2026, 5, 11, 8, 0, 0);
const CALL_GAP_MS = 60 * 1000;
const CYCLE_EVERY = 25;
const FORENSICS_LEAD_MS = 40;
const IDENTITY = 'operator@example.test';
const COMMANDS = ['uptime', 'df -h', 'journalctl -p err -n 50', 'ps aux --sort=-%mem | head'];
const FORENSICS_REASON = 'no forensics capture in this session since the last mutating call and '
  + 'within the last 10 minutes; capturing one first';

let seq = 0; // the daemon's moment counter: one for all sessions

function session(id, calls, startMs) {
  const out = [];
  let eventId = 0;
  let messageIndex = 0;
  const iso = (ms) => new Date(ms).toISOString();
  const write = (ms, kind, fields) => out.push(JSON.stringify({ ts: iso(ms), kind, ...fields }));
  const event = (ms, kind, fields) => write(ms, 'event', { event: { kind, ...fields, id: ++eventId, ts: iso(ms) } });
  const message = (ms, role, content) => write(ms, 'message', { index: messageIndex++, message: { role, content } });
  const moment = (ms) => [ms, ++seq];

  // One action: shown, intent flushed, run, recorded (action.c's order).
  function act(ms, durationMs, callId, name, input, mutating, extra) {
    const { decisions = [], decided = [], insertedBy = null } = extra;
    const content = `${name} ${JSON.stringify(input)}: ok`;
    const call = { call_id: callId, name, input, identity: IDENTITY, source: 'model', mutating };
    event(ms, 'tool', { ...call, inserted_by: insertedBy });
    write(ms, 'intent', insertedBy ? { ...call, inserted_by: insertedBy } : call);
    event(ms + durationMs, 'tool_output', { call_id: callId, text: `${content}\n` });
    event(ms + durationMs, 'tool_result', { call_id: callId, is_error: false, content, duration_ms: durationMs });
    const record = {
      ...call, decisions, decision: 'allow', result: { is_error: false, content }, duration_ms: durationMs,
      started_ms: ms, decided, finished: moment(ms + durationMs),
    };
    if (insertedBy) record.inserted_by = insertedBy;
    write(ms + durationMs, 'tool_call', record);
    return content;
  }

  event(startMs, 'session', { session_id: id, session_kind: 'chat' });
  event(startMs, 'user', { text: 'The devvm is wedged.', identity: IDENTITY });
  message(startMs, 'user', [{ type: 'text', text: 'The devvm is wedged.' }]);
  for (let i = 0; i < calls; i++) {
    const ms = startMs + (i + 1) * CALL_GAP_MS;
    const callId = `toolu_bench_${i}`;
    let name = 'devvm_shell';
    let input = { command: COMMANDS[i % COMMANDS.length] };
    if (i % CYCLE_EVERY === CYCLE_EVERY - 1) {
      name = 'pve';
      input = { verb: 'cycle' };
    } else if (i % 5 === 4) {
      name = 'pve';
      input = { verb: 'status' };
    }
    message(ms, 'assistant', [{ type: 'tool_use', id: callId, name, input }]);
    let content;
    if (input.verb === 'cycle') {
      const asked = ms - FORENSICS_LEAD_MS;
      const decision = { call_id: callId, tool: 'pve', policy: 'forensics_first', verdict: 'run_first',
        reason: FORENSICS_REASON, run_first: { tool: 'pve', input: { verb: 'forensics' } } };
      const first = moment(asked);
      event(asked, 'policy', decision);
      act(asked, FORENSICS_LEAD_MS, `${callId}.first1`, 'pve', { verb: 'forensics' }, false, { insertedBy: 'forensics_first' });
      content = act(ms, 50, callId, name, input, true,
        { decisions: [decision], decided: [first, moment(ms)] });
      content = `[breakglass: pve forensics ran first for policy forensics_first: ok.]\n${content}`;
    } else {
      content = act(ms, 50, callId, name, input, false, { decided: [moment(ms)] });
    }
    message(ms + 50, 'user', [{ type: 'tool_result', tool_use_id: callId, content }]);
  }
  return `${out.join('\n')}\n`;
}

const calls = Number(process.argv[2] ?? 1000);
const at = (flag) => process.argv.indexOf(flag);
if (at('--sessions') > 0) {
  const sessions = Number(process.argv[at('--sessions') + 1]);
  const dir = process.argv[at('--out') + 1];
  mkdirSync(dir, { recursive: true });
  for (let k = 0; k < sessions; k++) {
    const id = (k + 1).toString(16).padStart(32, '0');
    const startMs = START_MS + k * (calls + 2) * CALL_GAP_MS;
    writeFileSync(join(dir, `${id}.jsonl`), session(id, calls, startMs));
  }
} else {
  process.stdout.write(session('b3'.padEnd(32, '0'), calls, START_MS));
}
