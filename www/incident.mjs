// An incident read from a session's events: its turns, every action (the
// agent's tool calls and the power buttons pressed in it) with when it ran,
// how long and how it ended, and the policy decisions; and the Markdown
// summary an operator files afterwards. Pure functions, no DOM.

import { toolArgument } from './tool-chip.mjs';
import { callOutcome, layerWords } from './outcome.mjs';
import { formatDuration, parseTime } from './format.mjs';
import { reveal } from './reveal.mjs';

// How a call ended: 'ok' | 'finding' | 'error' | 'denied' | 'running' |
// 'unknown'. A call's source is 'model' or 'button' (who pressed it in
// identity); insertedBy names the policy that ran it first.
export function buildIncident(events) {
  const incident = { start: NaN, end: NaN, turns: [], calls: [], policies: [] };
  const calls = new Map();
  const presses = new Map();
  const denied = new Set();
  let turn = null;
  const closeTurn = (t, outcome) => {
    if (!turn) return;
    turn.end = t;
    turn.outcome = turn.outcome || outcome;
    for (const c of turn.calls) {
      if (c.outcome === 'running') {
        c.outcome = 'unknown';
        c.end = t;
      }
    }
    turn = null;
  };
  const pressOf = (callId) => presses.get(String(callId).replace(/\.first\d+$/, ''));
  for (const ev of events) {
    const t = parseTime(ev.ts);
    // The incident is what was asked and done: the session's own opening
    // event (which may come long before the first prompt) is not part of it.
    if (Number.isFinite(t) && ev.kind !== 'session') {
      if (!(t >= incident.start)) incident.start = t;
      if (!(t <= incident.end)) incident.end = t;
    }
    switch (ev.kind) {
      case 'user':
        closeTurn(t, 'unknown');
        turn = { start: t, end: NaN, prompt: String(ev.text ?? ''), identity: ev.identity || '', calls: [], findings: '', outcome: '' };
        incident.turns.push(turn);
        break;
      case 'button':
        presses.set(ev.call_id, ev);
        break;
      case 'tool': {
        const press = pressOf(ev.call_id);
        const call = {
          callId: ev.call_id, name: String(ev.name || 'tool'), arg: toolArgument(ev.input),
          mutating: ev.mutating === true, start: t, end: NaN, durationMs: NaN, outcome: 'running', exit: '', layer: '',
          source: press ? 'button' : String(ev.source || 'model'), identity: String((press || ev).identity || ''),
          insertedBy: typeof ev.inserted_by === 'string' ? ev.inserted_by : '', override: press?.call_id === ev.call_id && press?.override === true,
        };
        calls.set(ev.call_id, call);
        incident.calls.push(call);
        // A press belongs to no turn: a turn's end does not make it lost.
        if (turn && !press) turn.calls.push(call);
        break;
      }
      case 'tool_result': {
        const call = calls.get(ev.call_id);
        if (!call) break;
        const o = callOutcome(ev);
        call.durationMs = Number.isFinite(o.durationMs) ? o.durationMs : Number(ev.duration_ms);
        call.end = Number.isFinite(call.durationMs) && Number.isFinite(call.start) ? call.start + call.durationMs : t;
        call.outcome = call.outcome === 'denied' || denied.has(ev.call_id) ? 'denied' : o.state;
        call.exit = o.exit;
        call.layer = o.layer;
        break;
      }
      case 'policy':
        // A call a policy refused ends as denied, not as a failure (the
        // gate decides before the call is shown).
        if (ev.verdict === 'deny') denied.add(ev.call_id);
        incident.policies.push({
          at: t, tool: ev.tool || '', verb: pressOf(ev.call_id)?.verb || '', policy: ev.policy || '',
          verdict: ev.verdict || '', reason: ev.reason || '', identity: ev.identity || '',
        });
        break;
      case 'confirm_result': {
        // Declined (or timed out) at its confirm, the call ends as denied,
        // as search has it; the call itself is shown after its answer.
        if (ev.approved === true) break;
        denied.add(ev.call_id);
        const call = calls.get(ev.call_id);
        if (call) call.outcome = 'denied';
        break;
      }
      case 'result':
        if (turn) {
          turn.findings = typeof ev.result === 'string' ? ev.result : '';
          turn.outcome = ev.is_error ? 'error' : 'ok';
        }
        break;
      case 'cancelled':
        if (turn) turn.outcome = 'cancelled';
        break;
      case 'interrupted':
        if (turn) turn.outcome = 'interrupted';
        closeTurn(t, 'interrupted');
        // The restart ended every action that was still running.
        for (const c of incident.calls) {
          if (c.outcome === 'running') {
            c.outcome = 'unknown';
            c.end = t;
          }
        }
        break;
      case 'turn_end':
        closeTurn(t, 'ok');
        break;
      default:
        break;
    }
  }
  return incident;
}

// How a call ended, in words: "ok, exit 0", "finding: no banner", "error".
export function outcomeWords(c) {
  const state = c.outcome === 'finding' ? 'finding' : c.outcome;
  const how = c.layer && c.outcome !== 'ok' ? layerWords(c.layer) : '';
  return [how ? `${state}: ${how}` : state, c.exit].filter(Boolean).join(', ');
}

// Who asked for a call: the agent, a button and who pressed it, or a
// policy that ran it first.
export function callSource(c) {
  const who = c.identity === 'bearer' ? 'token holder' : c.identity;
  if (c.insertedBy) return `run first by policy ${c.insertedBy}`;
  if (c.source === 'button') return `button${who ? `, ${who}` : ''}${c.override ? ', override' : ''}`;
  return 'agent';
}

const utc = (ms) => (Number.isFinite(ms) ? new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '?');
const clockUtc = (ms) => (Number.isFinite(ms) ? new Date(ms).toISOString().slice(11, 19) : '?');

// Inline code that holds any backticks: a longer fence around it.
function code(text) {
  const s = reveal(text).replace(/\s*\n\s*/g, ' ');
  if (s === '') return '';
  const longest = Math.max(0, ...(s.match(/`+/g) || []).map((m) => m.length));
  const fence = '`'.repeat(longest + 1);
  const pad = s.startsWith('`') || s.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${s}${pad}${fence}`;
}

// Cells, code and quotes name their hidden characters: a bidi override
// pasted into a ticket must not reorder what it reads.
const cell = (text) => reveal(text).replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
const quote = (text) => reveal(text).trim().split('\n').map((l) => `> ${l}`.trimEnd()).join('\n');
const took = (ms) => formatDuration(ms) || '–';

// session: an entry of GET api/sessions ({id, title, status, ...}).
export function incidentMarkdown(session, incident) {
  const s = session || {};
  const lines = [`# Incident: ${cell(s.title || 'untitled session')}`, ''];
  lines.push(`- Session: ${code(s.id || '?')}`);
  lines.push(`- From ${utc(incident.start)} to ${utc(incident.end)} (${took(incident.end - incident.start)}); every time here is UTC`);
  if (s.status) lines.push(`- Status: ${s.status}`);
  const mutating = incident.calls.filter((c) => c.mutating).length;
  const buttons = incident.calls.filter((c) => c.source === 'button' && !c.insertedBy).length;
  lines.push(`- Actions: ${incident.calls.length} tool calls, ${mutating} mutating, ${buttons} from the power buttons`);
  const u = s.usage;
  if (u && typeof u === 'object') lines.push(`- Tokens: ${u.input_tokens ?? 0} in, ${u.output_tokens ?? 0} out`);
  lines.push('', '## What was asked', '');
  incident.turns.forEach((t, i) => {
    lines.push(`${i + 1}. ${clockUtc(t.start)} UTC${t.identity ? ` (${cell(t.identity)})` : ''}: ${cell(t.prompt)}`);
  });
  lines.push('', '## What was found', '');
  const found = incident.turns.filter((t) => t.findings.trim());
  if (!found.length) lines.push('No conclusion was recorded.');
  for (const t of found) lines.push(`After the prompt at ${clockUtc(t.start)} UTC:`, '', quote(t.findings), '');
  const findings = incident.calls.filter((c) => c.outcome === 'finding');
  if (findings.length) {
    lines.push('Findings of the actions:', '');
    for (const c of findings) lines.push(`- ${clockUtc(c.start)} ${[c.name, code(c.arg)].filter(Boolean).map(cell).join(' ')}: ${cell(outcomeWords(c))}`);
    lines.push('');
  }
  lines.push('', '## What was done', '');
  if (!incident.calls.length) {
    lines.push('No tool ran.');
  } else {
    lines.push('| Time (UTC) | Tool | Command or verb | By | Took | Outcome |', '|---|---|---|---|---|---|');
    for (const c of incident.calls) {
      lines.push(`| ${clockUtc(c.start)} | ${cell(c.name)}${c.mutating ? ' (mutating)' : ''} | ${cell(code(c.arg))} | ${cell(callSource(c))} | ${took(c.durationMs)} | ${cell(outcomeWords(c))} |`);
    }
  }
  if (incident.policies.length) {
    lines.push('', '## Policy decisions', '');
    for (const p of incident.policies) {
      const what = `${cell(p.tool)}${p.verb ? ` ${cell(p.verb)}` : ''}`;
      const who = p.identity === 'bearer' ? 'token holder' : p.identity;
      const verdict = p.verdict === 'override'
        ? `${cell(p.policy)} overridden by ${cell(who || 'the operator')}`
        : `${cell(p.verdict)} by ${cell(p.policy)}`;
      lines.push(`- ${clockUtc(p.at)} ${what}: ${verdict}${p.reason ? `: ${cell(p.reason)}` : ''}`);
    }
  }
  lines.push('', '## Timings', '');
  incident.turns.forEach((t, i) => {
    lines.push(`- Turn ${i + 1}: ${clockUtc(t.start)} to ${clockUtc(t.end)} (${took(t.end - t.start)}), ${t.calls.length} tool calls, ${t.outcome || 'running'}`);
  });
  return `${lines.join('\n')}\n`;
}
