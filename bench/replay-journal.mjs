// Writes a session journal of N model tool calls (default 1,000) to stdout,
// shaped as the daemon writes one (docs/journal.md): each call has its
// `tool` and `tool_result` events and its `tool_call` record; every 25th
// call is a pve cycle before which forensics_first ran pve forensics (a
// `policy` event and the inserted call's events). Calls are a minute apart,
// so the shipped rate limits allow every cycle and replay against lua/
// finds nothing to report.
//
//   node bench/replay-journal.mjs [N] > journal.jsonl
const calls = Number(process.argv[2] ?? 1000);
const START_MS = Date.UTC(2026, 5, 11, 8, 0, 0);
const CALL_GAP_MS = 60 * 1000;
const CYCLE_EVERY = 25;
const IDENTITY = 'operator@example.test';
const COMMANDS = ['uptime', 'df -h', 'journalctl -p err -n 50', 'ps aux --sort=-%mem | head'];

let eventId = 0;
const iso = (ms) => new Date(ms).toISOString();
const out = [];
const write = (ms, kind, fields) => out.push(JSON.stringify({ ts: iso(ms), kind, ...fields }));
const event = (ms, type, fields) => write(ms, 'event', { event: { id: ++eventId, ts: iso(ms), type, ...fields } });

function ran(ms, callId, name, input, content, extra = {}) {
  event(ms, 'tool', { call_id: callId, name, input, mutating: false, identity: IDENTITY, ...extra });
  event(ms + 40, 'tool_result', { call_id: callId, is_error: false, content, duration_ms: 40 });
}

event(START_MS, 'user', { text: 'The devvm is wedged.', identity: IDENTITY });
for (let i = 0; i < calls; i++) {
  const ms = START_MS + (i + 1) * CALL_GAP_MS;
  const callId = `toolu_bench_${i}`;
  let name = 'devvm_shell';
  let input = { command: COMMANDS[i % COMMANDS.length] };
  let mutating = false;
  let decisions = [];
  if (i % CYCLE_EVERY === CYCLE_EVERY - 1) {
    name = 'pve';
    input = { verb: 'cycle' };
    mutating = true;
    const first = { tool: 'pve', input: { verb: 'forensics' } };
    decisions = [{ call_id: callId, tool: 'pve', policy: 'forensics_first', verdict: 'run_first',
      reason: 'no forensics capture in this session yet', run_first: first }];
    event(ms - 1000, 'policy', decisions[0]);
    ran(ms - 1000, `${callId}.first1`, 'pve', first.input, 'forensics saved', { inserted_by: 'forensics_first' });
  } else if (i % 5 === 4) {
    name = 'pve';
    input = { verb: 'status' };
  }
  const content = `${name} ${JSON.stringify(input)}: ok`;
  event(ms, 'tool', { call_id: callId, name, input, mutating, identity: IDENTITY });
  event(ms + 50, 'tool_result', { call_id: callId, is_error: false, content, duration_ms: 50 });
  write(ms + 50, 'tool_call', { call_id: callId, name, input, identity: IDENTITY, mutating, decisions,
    result: { is_error: false, content }, duration_ms: 50 });
}
process.stdout.write(`${out.join('\n')}\n`);
