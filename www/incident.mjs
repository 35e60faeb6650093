// An incident read from a session's events: its turns, every tool call
// with when it ran, how long and how it ended, and the policy decisions;
// and the Markdown summary an operator files afterwards. Pure functions,
// no DOM.

import { toolArgument, exitOf } from './transcript.mjs';
import { formatDuration, parseTime } from './format.mjs';

// How a call ended: 'ok' | 'error' | 'denied' | 'running' | 'unknown'.
export function buildIncident(events) {
  const incident = { start: NaN, end: NaN, turns: [], calls: [], policies: [] };
  const calls = new Map();
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
  for (const ev of events) {
    const t = parseTime(ev.ts);
    if (Number.isFinite(t)) {
      if (!(t >= incident.start)) incident.start = t;
      if (!(t <= incident.end)) incident.end = t;
    }
    switch (ev.kind) {
      case 'user':
        closeTurn(t, 'unknown');
        turn = { start: t, end: NaN, prompt: String(ev.text ?? ''), identity: ev.identity || '', calls: [], findings: '', outcome: '' };
        incident.turns.push(turn);
        break;
      case 'tool': {
        const call = {
          callId: ev.call_id, name: String(ev.name || 'tool'), arg: toolArgument(ev.input),
          mutating: ev.mutating === true, start: t, end: NaN, durationMs: NaN, outcome: 'running', exit: '',
        };
        calls.set(ev.call_id, call);
        incident.calls.push(call);
        if (turn) turn.calls.push(call);
        break;
      }
      case 'tool_result': {
        const call = calls.get(ev.call_id);
        if (!call) break;
        call.durationMs = Number(ev.duration_ms);
        call.end = Number.isFinite(call.durationMs) && Number.isFinite(call.start) ? call.start + call.durationMs : t;
        if (call.outcome !== 'denied') call.outcome = ev.is_error ? 'error' : 'ok';
        const content = typeof ev.content === 'string' ? ev.content : '';
        call.exit = exitOf(content)?.text || '';
        break;
      }
      case 'policy':
        incident.policies.push({ at: t, tool: ev.tool || '', policy: ev.policy || '', verdict: ev.verdict || '', reason: ev.reason || '' });
        break;
      case 'confirm_result': {
        const call = calls.get(ev.call_id);
        if (call && ev.approved !== true) call.outcome = 'denied';
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

const utc = (ms) => (Number.isFinite(ms) ? new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z') : '?');
const clockUtc = (ms) => (Number.isFinite(ms) ? new Date(ms).toISOString().slice(11, 19) : '?');

// Inline code that holds any backticks: a longer fence around it.
function code(text) {
  const s = String(text).replace(/\s*\n\s*/g, ' ');
  if (s === '') return '';
  const longest = Math.max(0, ...(s.match(/`+/g) || []).map((m) => m.length));
  const fence = '`'.repeat(longest + 1);
  const pad = s.startsWith('`') || s.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${s}${pad}${fence}`;
}

const cell = (text) => String(text).replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');
const quote = (text) => String(text).trim().split('\n').map((l) => `> ${l}`.trimEnd()).join('\n');
const took = (ms) => formatDuration(ms) || '–';

// session: an entry of GET api/sessions ({id, title, status, ...}).
export function incidentMarkdown(session, incident) {
  const s = session || {};
  const lines = [`# Incident: ${cell(s.title || 'untitled session')}`, ''];
  lines.push(`- Session: ${code(s.id || '?')}`);
  lines.push(`- From ${utc(incident.start)} to ${utc(incident.end)} (${took(incident.end - incident.start)})`);
  if (s.status) lines.push(`- Status: ${s.status}`);
  const mutating = incident.calls.filter((c) => c.mutating).length;
  lines.push(`- Actions: ${incident.calls.length} tool calls, ${mutating} mutating`);
  const u = s.usage;
  if (u && typeof u === 'object') lines.push(`- Tokens: ${u.input_tokens ?? 0} in, ${u.output_tokens ?? 0} out`);
  lines.push('', '## What was asked', '');
  incident.turns.forEach((t, i) => {
    lines.push(`${i + 1}. ${clockUtc(t.start)}${t.identity ? ` (${cell(t.identity)})` : ''}: ${cell(t.prompt)}`);
  });
  lines.push('', '## What was found', '');
  const found = incident.turns.filter((t) => t.findings.trim());
  if (!found.length) lines.push('No conclusion was recorded.');
  for (const t of found) lines.push(`After the prompt at ${clockUtc(t.start)}:`, '', quote(t.findings), '');
  lines.push('', '## What was done', '');
  if (!incident.calls.length) {
    lines.push('No tool ran.');
  } else {
    lines.push('| Time (UTC) | Tool | Command or verb | Took | Outcome |', '|---|---|---|---|---|');
    for (const c of incident.calls) {
      const outcome = [c.outcome, c.exit].filter(Boolean).join(', ');
      lines.push(`| ${clockUtc(c.start)} | ${cell(c.name)}${c.mutating ? ' (mutating)' : ''} | ${cell(code(c.arg))} | ${took(c.durationMs)} | ${cell(outcome)} |`);
    }
  }
  if (incident.policies.length) {
    lines.push('', '## Policy decisions', '');
    for (const p of incident.policies) {
      lines.push(`- ${clockUtc(p.at)} ${cell(p.tool)}: ${cell(p.verdict)} by ${cell(p.policy)}${p.reason ? `: ${cell(p.reason)}` : ''}`);
    }
  }
  lines.push('', '## Timings', '');
  incident.turns.forEach((t, i) => {
    lines.push(`- Turn ${i + 1}: ${clockUtc(t.start)} to ${clockUtc(t.end)} (${took(t.end - t.start)}), ${t.calls.length} tool calls, ${t.outcome || 'running'}`);
  });
  return `${lines.join('\n')}\n`;
}
