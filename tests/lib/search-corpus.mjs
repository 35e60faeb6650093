// Session journals for search, and search done the slow way: the
// generated corpus of the search property test and bench/search.sh, and a
// brute-force scan of the JSONL that applies docs/journal.md ("Search")
// rule by rule, with no index, to compare the daemon's answers with.
import fs from 'node:fs';
import { join } from 'node:path';
import { prng } from './prng.mjs';

export const VOCABULARY = ['docker', 'systemctl', 'restart', 'nginx', 'disk', 'full', 'memory', 'oom',
  'kernel', 'panic', 'stall', 'qemu', 'virtio', 'scsi', 'journalctl', 'failed', 'unit', 'postgres',
  'backup', 'cron', 'throttle', 'iothread', 'sshd', 'banner', 'timeout', 'swap', 'load', 'uptime',
  'df', 'inode', 'var', 'log', 'tmp', 'cleanup', 'reboot', 'forensics', 'cycle', 'reset', 'status',
  'gitlab', 'runner', 'build', 'cache', 'npm', 'node', 'python', 'vm', '102', 'devvm', 'proxmox',
  'Ünïcödé', 'naïve', 'café', 'x86_64', 'eth0', 'dns', 'resolv', 'conf', 'apt', 'upgrade'];
const TOOLS = ['devvm_shell', 'devvm_probe', 'pve', 'wait_for_devvm', 'runbook'];
export const VERBS = ['status', 'forensics', 'reset', 'stop', 'start', 'cycle'];
const POLICIES = ['forensics_first', 'rate_limit', 'one_at_a_time', 'confirm_destructive'];
const DAY_MS = 86400000;
export const CORPUS_START_MS = Date.UTC(2026, 0, 1);
export const CORPUS_DAYS = 180;

/** A random source with the helpers the corpus and the queries share. */
export function randomness(seed) {
  const r = prng(seed);
  const pick = (list) => list[Math.floor(r() * list.length)];
  const words = (n) => Array.from({ length: n }, () => pick(VOCABULARY)).join(pick([' ', ' ', ', ', '\n', '/', '.']));
  return { r, pick, words };
}

/**
 * The journal lines of one session of about `events` events: prompts, the
 * agent's calls and button presses (tool, policy, tool_output, tool_result
 * events and the tool_call record), results.
 */
export function sessionJournal(seed, events) {
  const g = randomness(seed);
  let ts = CORPUS_START_MS + Math.floor(g.r() * CORPUS_DAYS) * DAY_MS + Math.floor(g.r() * DAY_MS);
  let id = 0;
  const lines = [];
  const stamp = () => new Date(ts).toISOString();
  const event = (kind, fields) => {
    ts += 1 + Math.floor(g.r() * 20000);
    lines.push(JSON.stringify({ ts: stamp(), kind: 'event', event: { kind, ...fields, id: ++id, ts: stamp() } }));
  };
  event('session', { session_id: `s${seed}`, session_kind: g.r() < 0.1 ? 'operator' : 'chat' });
  let call = 0;
  while (id < events) {
    event('user', { text: `${g.words(3 + Math.floor(g.r() * 8))}?`, identity: 'bearer' });
    for (let c = 0, calls = Math.floor(g.r() * 5); c < calls && id < events; c++) {
      const callId = `toolu_${seed}_${++call}`;
      const button = g.r() < 0.15;
      const tool = button ? 'pve' : g.pick(TOOLS);
      const input = tool === 'pve' ? { verb: g.pick(VERBS) }
        : tool === 'devvm_shell' ? { command: `sudo ${g.words(1 + Math.floor(g.r() * 4))}`, timeout_s: 60 }
          : tool === 'runbook' ? { action: 'grep', pattern: g.words(1) } : {};
      if (button) event('button', { call_id: callId, verb: input.verb, identity: 'bearer', override: false });
      const denied = g.r() < 0.15;
      if (g.r() < 0.3 || denied) {
        event('policy', { call_id: callId, tool, policy: g.pick(POLICIES), verdict: denied ? 'deny' : 'confirm', reason: g.words(4) });
      }
      event('tool', { call_id: callId, name: tool, input, mutating: tool === 'pve' && !['status', 'forensics'].includes(input.verb), identity: 'bearer', source: button ? 'button' : 'model' });
      if (!denied) event('tool_output', { call_id: callId, text: g.words(6) });
      const isError = denied || g.r() < 0.25;
      const content = denied ? `refused by policy: ${g.words(3)}` : `exit status ${isError ? 1 : 0}, 0.2 s\n--- stdout ---\n${g.words(5 + Math.floor(g.r() * 30))}\n`;
      event('tool_result', { call_id: callId, is_error: isError, content, duration_ms: Math.floor(g.r() * 5000) });
      if (g.r() < 0.9) {
        ts += 1;
        lines.push(JSON.stringify({ ts: stamp(), kind: 'tool_call', call_id: callId, name: tool, input, identity: 'bearer', source: button ? 'button' : 'model', mutating: false, decisions: [], decision: denied ? 'deny' : 'allow', result: { is_error: isError, content } }));
      }
    }
    event('text_delta', { text: g.words(4) });
    event('result', { result: g.words(5 + Math.floor(g.r() * 10)), is_error: g.r() < 0.1, duration_ms: 1000 });
    event('turn_end', {});
  }
  return `${lines.join('\n')}\n`;
}

/** Writes n session journals of about `events` events into dir; their ids. */
export function writeCorpus(dir, n, events, seed = 1) {
  fs.mkdirSync(dir, { recursive: true });
  const ids = [];
  for (let i = 0; i < n; i++) {
    const id = (seed * 100000 + i).toString(16).padStart(32, '0');
    fs.writeFileSync(join(dir, `${id}.jsonl`), sessionJournal(seed * 100000 + i, events));
    ids.push(id);
  }
  return ids;
}

// --- the brute force --------------------------------------------------------

const PIECE_BYTES = 16 * 1024;
const WORD_BYTES = 64;
const isWordByte = (c) => c >= 0x80 || c === 0x5f || (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);

/** The words of a text as docs/journal.md defines them (byte strings). */
export function wordsOf(text) {
  const bytes = Buffer.from(text, 'utf8').subarray(0, PIECE_BYTES);
  const out = [];
  for (let i = 0; i < bytes.length;) {
    if (!isWordByte(bytes[i])) { i++; continue; }
    const start = i;
    while (i < bytes.length && isWordByte(bytes[i])) i++;
    const word = Buffer.from(bytes.subarray(start, Math.min(i, start + WORD_BYTES)));
    for (let k = 0; k < word.length; k++) if (word[k] >= 0x41 && word[k] <= 0x5a) word[k] += 32;
    out.push(word.toString('latin1'));
  }
  return out;
}

const timeOf = (ts) => (typeof ts === 'string' && /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(ts) ? Date.parse(ts) : NaN);

function stringsOf(v, out = []) {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) v.forEach((x) => stringsOf(x, out));
  else if (v && typeof v === 'object') Object.values(v).forEach((x) => stringsOf(x, out));
  return out;
}

/** The documents of one journal's text: [{kind, ts, tool, verb, outcome, words}]. */
export function documentsOf(text) {
  const docs = [];
  const calls = new Map();
  let lastId = 0;
  const add = (doc, value) => { if (typeof value === 'string') for (const w of wordsOf(value)) doc.words.add(w); };
  const callDoc = (callId, ts) => {
    if (!calls.has(callId)) {
      const doc = { kind: 'call', ts, tool: null, verb: null, outcome: 'unknown', final: false, words: new Set() };
      calls.set(callId, doc);
      docs.push(doc);
    }
    return calls.get(callId);
  };
  for (const line of text.split('\n')) {
    let rec;
    try { rec = JSON.parse(line); } catch { continue; }
    if (!rec || typeof rec !== 'object' || Array.isArray(rec) || typeof rec.kind !== 'string') continue;
    if (rec.kind === 'tool_call' && typeof rec.call_id === 'string') {
      const doc = callDoc(rec.call_id, timeOf(rec.ts));
      doc.outcome = rec.decision === 'deny' ? 'denied' : rec.result?.is_error === true ? 'error' : 'ok';
      doc.final = true;
      if (doc.tool === null) {
        if (typeof rec.name === 'string') doc.tool = rec.name;
        if (doc.verb === null && typeof rec.input?.verb === 'string') doc.verb = rec.input.verb;
        add(doc, rec.name);
        stringsOf(rec.input).forEach((s) => add(doc, s));
      }
      continue;
    }
    const ev = rec.kind === 'event' ? rec.event : null;
    if (!ev || typeof ev !== 'object' || Array.isArray(ev)) continue;
    if (!(Number.isInteger(ev.id) && ev.id > lastId)) continue;
    lastId = ev.id;
    const kind = 'kind' in ev ? ev.kind : ev.type;
    const ts = timeOf(ev.ts);
    if (kind === 'user' || kind === 'result') {
      const doc = { kind: kind === 'user' ? 'prompt' : 'result', ts, words: new Set() };
      add(doc, kind === 'user' ? ev.text : ev.result);
      docs.push(doc);
    } else if (['tool', 'button', 'policy', 'tool_result'].includes(kind) && typeof ev.call_id === 'string') {
      const doc = callDoc(ev.call_id, ts);
      if (kind === 'tool') {
        doc.ts = ts;
        if (doc.tool === null && typeof ev.name === 'string') doc.tool = ev.name;
        if (doc.verb === null && typeof ev.input?.verb === 'string') doc.verb = ev.input.verb;
        add(doc, ev.name);
        stringsOf(ev.input).forEach((s) => add(doc, s));
      } else if (kind === 'button') {
        if (doc.verb === null && typeof ev.verb === 'string') doc.verb = ev.verb;
        add(doc, ev.verb);
      } else if (kind === 'policy') {
        add(doc, ev.policy);
        add(doc, ev.verdict);
        add(doc, ev.reason);
      } else {
        if (!doc.final) doc.outcome = ev.is_error === true ? 'error' : 'ok';
        add(doc, ev.content);
      }
    }
  }
  return docs;
}

/** Whether a document matches {q, tool, verb, outcome, since, until} (times in ms). */
export function matches(doc, query) {
  for (const w of new Set(wordsOf(query.q ?? ''))) if (!doc.words.has(w)) return false;
  const call = doc.kind === 'call';
  if (query.tool !== undefined && (!call || doc.tool !== query.tool)) return false;
  if (query.verb !== undefined && (!call || doc.verb !== query.verb)) return false;
  if (query.outcome !== undefined && (!call || doc.outcome !== query.outcome)) return false;
  if (query.sinceMs !== undefined && !(doc.ts >= query.sinceMs)) return false;
  if (query.untilMs !== undefined && !(doc.ts <= query.untilMs)) return false;
  return true;
}

/** The sessions of dir whose journals hold a matching document, sorted. */
export function bruteForce(dir, query) {
  const found = [];
  for (const f of fs.readdirSync(dir)) {
    if (!/^[0-9a-f]{32}\.jsonl$/.test(f)) continue;
    const docs = documentsOf(fs.readFileSync(join(dir, f), 'utf8'));
    if (docs.some((d) => matches(d, query))) found.push(f.slice(0, 32));
  }
  return found.sort();
}

/** A random query: {params (as sent), q, tool, ..., sinceMs, untilMs}. */
export function randomQuery(g) {
  const query = { params: {} };
  const set = (name, value) => { query.params[name] = String(value); };
  if (g.r() < 0.8) {
    const n = 1 + Math.floor(g.r() * 3);
    query.q = Array.from({ length: n }, () => {
      const w = g.pick(VOCABULARY);
      return g.r() < 0.2 ? w.toUpperCase() : w;
    }).join(g.pick([' ', ' ', '-', ', ']));
    set('q', query.q);
  }
  if (g.r() < 0.3) set('tool', query.tool = g.pick([...TOOLS, 'nope']));
  if (g.r() < 0.25) set('verb', query.verb = g.pick(VERBS));
  if (g.r() < 0.3) set('outcome', query.outcome = g.pick(['ok', 'error', 'denied', 'unknown']));
  if (g.r() < 0.3) {
    const day = CORPUS_START_MS + Math.floor(g.r() * CORPUS_DAYS) * DAY_MS;
    if (g.r() < 0.5) {
      set('since', new Date(day).toISOString().slice(0, 10));
      query.sinceMs = day;
    } else {
      set('since', day + 3600000);
      query.sinceMs = day + 3600000;
    }
  }
  if (g.r() < 0.3) {
    const day = CORPUS_START_MS + Math.floor(g.r() * CORPUS_DAYS) * DAY_MS;
    if (g.r() < 0.5) {
      set('until', new Date(day).toISOString().slice(0, 10));
      query.untilMs = day + DAY_MS - 1;
    } else {
      const t = new Date(day + 43200000).toISOString();
      set('until', t);
      query.untilMs = day + 43200000;
    }
  }
  return query;
}
