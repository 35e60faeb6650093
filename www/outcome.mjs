// How an action ended, in the page's words, from the structured fields the
// daemon sends (a tool_result's is_error and details), never from a tool's
// text: an operator may reword a tool's result and the page must show the
// same thing. Pure functions, no DOM.

import { formatDuration } from './format.mjs';

// The layers of a connection (core/ssh/ssh_layer.h, core/model/model_probe.h),
// in the operator's words.
export const LAYER_WORDS = {
  none: 'up',
  command_ran: 'up',
  not_configured: 'not configured',
  unknown: 'unknown',
  connect_refused: 'refused',
  connect_timeout: 'timed out',
  no_banner: 'no banner',
  kex: 'key exchange failed',
  hostkey_unknown: 'host key unknown',
  hostkey_changed: 'host key changed',
  auth_refused: 'auth refused',
  channel: 'no session channel',
  command_timeout: 'command timed out',
  connection_lost: 'connection lost',
  cancelled: 'cancelled',
  dns: 'name not found',
  tls: 'TLS failed',
  timeout: 'no answer',
  not_found: 'not found',
  rate_limited: 'rate limited',
  overloaded: 'overloaded',
  api_error: 'API error',
  http: 'HTTP error',
  protocol: 'not the API',
};

// Own keys only: a layer named like a property of every object
// ("constructor") is words of its own, not that property.
export const layerWords = (layer) => (Object.hasOwn(LAYER_WORDS, layer) ? LAYER_WORDS[layer] : String(layer || 'unknown').replace(/_/g, ' '));

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

// A tool_result event as {state, layer, exit, durationMs, text}:
//   state: 'error' (is_error), 'finding' (details.ok === false: the call
//          worked and found something wrong, e.g. the devvm unreachable),
//          or 'ok';
//   layer: details.layer when it names a failure, else '';
//   exit:  'exit 0' / 'signal KILL' from details, else '';
//   words: how it ended ("found a problem: no banner");
//   headline: the words with the exit;
//   text:  the headline and how long it took.
export function callOutcome(event) {
  const d = isObject(event.details) ? event.details : {};
  let state = 'ok';
  if (event.is_error) state = 'error';
  else if (d.ok === false) state = 'finding';
  const layer = typeof d.layer === 'string' && !['none', 'command_ran', ''].includes(d.layer) ? d.layer : '';
  let exit = '';
  if (typeof d.exit_signal === 'string' && d.exit_signal) exit = `signal ${d.exit_signal}`;
  else if (Number.isInteger(d.exit_status)) exit = `exit ${d.exit_status}`;
  else if (Number.isInteger(d.exit_code)) exit = `exit ${d.exit_code}`;
  const durationMs = Number.isFinite(d.duration_ms) ? d.duration_ms : Number(event.duration_ms);
  const said = { ok: 'done', finding: 'found a problem', error: 'failed' }[state];
  const words = layer ? `${said}: ${layerWords(layer)}` : said;
  const headline = [words, exit].filter(Boolean).join(' · ');
  const took = formatDuration(durationMs);
  return { state, layer, exit, durationMs, words, headline, text: took ? `${headline} · ${took}` : headline };
}

// The last line of output that says something, cut for one line of UI.
export const LIVE_LINE_MAX_CHARS = 160;

export function lastLine(text) {
  const lines = String(text).split(/\r?\n/);
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i].trim();
    if (line) return line.length > LIVE_LINE_MAX_CHARS ? `${line.slice(0, LIVE_LINE_MAX_CHARS - 1)}…` : line;
  }
  return '';
}

// breakglass-pve's own result lines (docs/breakglass-pve.md): a step's
// "[qm <sub>: <how>]", a note "--- <note>", an error on stderr
// "breakglass-pve: <why>". What a verb did, in order, on one line:
// "stop timed out → SIGKILL → unlock ok → start ok". '' when the output
// holds none (status answers with qm's own line, taken as is).
const STEP = /^\[qm (\w+): (.*)\]$/;
const NOTE = /^--- (.*)$/;
const FAILURE = /^breakglass-pve: (.*)$/;
const FORENSICS_END = '=== end of forensics ===';

function stepWords(sub, how) {
  if (/^exit code 0\b/.test(how)) return `${sub} ok`;
  if (/^timed out\b/.test(how)) return `${sub} timed out`;
  const code = /^exit code (\d+)/.exec(how);
  if (code) return `${sub} failed (exit ${code[1]})`;
  return `${sub}: ${how}`;
}

function noteWords(note) {
  if (/^checked kill: sent SIGKILL\b/.test(note)) return 'SIGKILL';
  if (/^checked kill:/.test(note)) return note.replace(/^checked kill: /, 'no kill: ');
  return '';
}

export function pveSummary(verb, stdout, stderr = '') {
  const out = String(stdout || '');
  const steps = [];
  if (out.includes(FORENSICS_END) || out.startsWith('=== breakglass-pve forensics')) steps.push('forensics');
  const after = out.includes(FORENSICS_END) ? out.slice(out.lastIndexOf(FORENSICS_END)) : out;
  for (const raw of after.split('\n')) {
    const line = raw.trim();
    let m;
    if ((m = STEP.exec(line))) steps.push(stepWords(m[1], m[2]));
    else if ((m = NOTE.exec(line)) && noteWords(m[1])) steps.push(noteWords(m[1]));
  }
  for (const raw of String(stderr || '').split('\n')) {
    const m = FAILURE.exec(raw.trim());
    if (m) steps.push(m[1]);
  }
  if (verb === 'status' && steps.length === 0) return lastLine(out);
  if (verb === 'forensics' && steps.length === 1) return 'forensics captured';
  return steps.join(' → ');
}
