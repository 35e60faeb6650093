// Secrets stay put (DESIGN.md invariants 4 and 10), against the real lab:
// the devvm prints the API key, the bearer token, the OAuth token and the
// SSH private key (a file cat'ed, whole, as its base64, and split across
// two output chunks), the OAuth token as base64 and hex wrap it (base64,
// xxd -p, basenc --base16), and the model's own text carries the API key split
// across text deltas. None of them reaches the model's requests, the
// daemon's log, the journal or the SSE stream; nor a power button's answer,
// when the Proxmox host prints one; nor a tool script, which could carry
// one past every exit in another form. Runs as root (the lab does).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { API_KEY, BEARER, makeScriptsDir, startStack, toolSource } from '../../lib/agent-stack.mjs';
import { startLab } from '../../lib/lab.mjs';

const dir = fs.mkdtempSync(join(tmpdir(), 'lab-secrets-test-'));
// As long as a real one: its base64 and hex are longer than a wrapped line.
const OAUTH_TOKEN = `sk-ant-oat01-${crypto.randomBytes(48).toString('hex')}`;
const TURN_LIMIT_MS = 60000;
let lab, st, pem, files;

before(async () => {
  lab = await startLab();
  pem = fs.readFileSync(lab.keyPath, 'utf8');
  // Files the devvm's user can read, as an operator's notes might be.
  const stem = join(tmpdir(), `bg-secrets-${crypto.randomBytes(6).toString('hex')}`);
  const half = Math.floor(pem.length / 2);
  files = {
    tokens: `${stem}-tokens`, key: `${stem}-key`, first: `${stem}-first`, second: `${stem}-second`,
  };
  fs.writeFileSync(files.tokens, `ANTHROPIC_API_KEY=${API_KEY}\nAPI_BEARER_TOKEN=${BEARER}\nCLAUDE_CODE_OAUTH_TOKEN=${OAUTH_TOKEN}\n`);
  fs.writeFileSync(files.key, pem);
  fs.writeFileSync(files.first, pem.slice(0, half));
  fs.writeFileSync(files.second, pem.slice(half));
  for (const f of Object.values(files)) fs.chmodSync(f, 0o644);
  st = await startStack(join(dir, 'stack'), {
    scripts: 'shipped', env: { ...lab.env(), CLAUDE_CODE_OAUTH_TOKEN: OAUTH_TOKEN },
  });
});
after(async () => {
  await st?.close();
  lab?.stop();
  for (const f of Object.values(files ?? {})) fs.rmSync(f, { force: true });
  fs.rmSync(dir, { recursive: true, force: true });
});

// Runs of 24 characters of the OAuth token's base64 (at each of the three
// offsets it may start at: only the characters that carry its bits alone)
// and hex (either case).
function encodedRuns(secret) {
  const runs = [];
  const take = (form, first, end) => {
    for (let at = first; at + 24 <= end; at += 12) runs.push(form.slice(at, at + 24));
  };
  for (let offset = 0; offset < 3; offset++) {
    const form = Buffer.concat([Buffer.alloc(offset, 'x'), Buffer.from(secret)]).toString('base64');
    take(form, Math.floor((offset * 8 + 5) / 6), Math.floor(((offset + secret.length) * 8) / 6));
  }
  const hex = Buffer.from(secret).toString('hex');
  for (const form of [hex, hex.toUpperCase()]) take(form, 0, form.length);
  return runs;
}

function secretsIn(text) {
  const keyLines = pem.split('\n').filter((l) => l && !l.startsWith('-----'));
  const b64 = Buffer.from(pem).toString('base64');
  const forms = [API_KEY, BEARER, OAUTH_TOKEN, pem.trimEnd(), b64, ...keyLines,
    ...b64.match(/.{1,76}/g).filter((l) => l.length >= 16)];
  const found = [];
  for (const s of forms) {
    if (text.includes(s) || text.includes(JSON.stringify(s).slice(1, -1))) found.push(s.slice(0, 16));
  }
  // Wrapped output, raw or inside JSON strings, with its line breaks out.
  const unwrapped = text.replace(/\\r|\\n|\r|\n/g, '');
  for (const run of encodedRuns(OAUTH_TOKEN)) if (unwrapped.includes(run)) found.push(`encoded ${run}`);
  return found;
}

test('what the devvm prints and what the model writes: no secret in the requests, the log, the journal or the stream', async () => {
  const { id, stream, events } = await st.runTurn([
    { toolUses: [
      { name: 'devvm_shell', input: { command: `cat ${files.tokens} ${files.key}` } },
      { name: 'devvm_shell', input: { command: `base64 ${files.key}; base64 -w0 ${files.key}` } },
      { name: 'devvm_shell', input: { command: `cat ${files.first}; sleep 0.5; cat ${files.second}` } },
      { name: 'devvm_shell', input: { command: `base64 ${files.tokens}; xxd -p ${files.tokens}; basenc --base16 ${files.tokens}` } },
    ] },
    // The API key split across deltas that arrive in separate reads.
    { text: `The file holds the key ${API_KEY} and nothing else.`, deltaChars: 3, eventDelayMs: 20 },
  ], { prompt: 'What is in those files?', waitMs: TURN_LIMIT_MS });
  await stream.close();
  const results = events.filter((e) => e.kind === 'tool_result');
  assert.equal(results.length, 4);
  for (const r of results) {
    assert.equal(r.is_error, false, r.content);
    assert.match(r.content, /\[redacted\]/);
  }
  const split = events.filter((e) => e.kind === 'tool_output' && e.call_id === results[2].call_id);
  assert.ok(split.length >= 2, 'the key came in more than one chunk');

  const requests = st.mock.requests.map((r) => JSON.stringify(r.body)).join('\n');
  assert.deepEqual(secretsIn(requests), [], 'the model never sees a secret');
  assert.match(requests, /\[redacted\]/, 'it sees the mark');
  assert.deepEqual(secretsIn(JSON.stringify(events)), [], 'the stream never carries one');
  const journal = fs.readFileSync(join(st.daemon.dataDir, 'sessions', `${id}.jsonl`), 'utf8');
  assert.deepEqual(secretsIn(journal), [], 'the journal never holds one');
  assert.deepEqual(secretsIn(st.daemon.log.join('\n')), [], 'the log never holds one');
  const deltas = events.filter((e) => e.kind === 'text_delta').map((e) => e.text).join('');
  assert.ok(deltas.includes('[redacted]'), deltas);
});

test('a power button\'s answer: what the Proxmox host printed comes redacted, as in its events', async () => {
  // The VM's description quotes the tokens; forensics prints `qm config`.
  const config = fs.readFileSync(lab.qmConfigFile, 'utf8');
  fs.writeFileSync(lab.qmConfigFile, `${config}description: ${API_KEY} ${BEARER} ${OAUTH_TOKEN}\n`);
  try {
    const r = await st.post('/api/pve/forensics');
    assert.equal(r.status, 200, r.text);
    assert.match(r.json.stdout, /description: \[redacted\] \[redacted\] \[redacted\]/);
    assert.deepEqual(secretsIn(r.text), [], 'the answer never carries one');
    const journal = fs.readFileSync(join(st.daemon.dataDir, 'sessions', `${r.json.session_id}.jsonl`), 'utf8');
    assert.deepEqual(secretsIn(journal), [], 'nor the journal');
  } finally {
    fs.writeFileSync(lab.qmConfigFile, config);
  }
});

// An operator's tool that turns what the devvm printed into another form
// (reversed here; hex or base64 would do as well) would carry a secret past
// the redactor at every exit: the script must get the output redacted.
const REVERSING_TOOL = toolSource('reversed_cat', 'Prints a devvm file backwards.', [
  'local r = ctx.ssh("devvm", "cat " .. input.path)',
  'return {stdout = r.stdout:reverse(), stderr = r.stderr:reverse()}',
], { schema: '{type = "object", required = {"path"}, properties = {path = {type = "string"}}}', mutating: false });

test('a tool script gets the devvm\'s output redacted, so no other form of a secret gets out', async () => {
  const scripts = makeScriptsDir(join(dir, 'reversing-scripts'));
  fs.writeFileSync(join(scripts, 'tools', 'reversed_cat.lua'), REVERSING_TOOL);
  const rst = await startStack(join(dir, 'reversing'), {
    scripts, env: { ...lab.env(), CLAUDE_CODE_OAUTH_TOKEN: OAUTH_TOKEN },
  });
  try {
    const { stream, events } = await rst.runTurn([
      { toolUses: [{ name: 'reversed_cat', input: { path: files.tokens } },
        { name: 'reversed_cat', input: { path: files.key } }] },
      { text: 'Read backwards.' },
    ], { prompt: 'Show me those files backwards.', waitMs: TURN_LIMIT_MS });
    await stream.close();
    const results = events.filter((e) => e.kind === 'tool_result');
    assert.equal(results.length, 2);
    const reversed = (s) => [...s].reverse().join('');
    for (const r of results) {
      assert.equal(r.is_error, false, r.content);
      assert.ok(r.content.includes(reversed('[redacted]')), r.content);
    }
    const requests = rst.mock.requests.map((r) => JSON.stringify(r.body)).join('\n');
    assert.deepEqual(secretsIn(reversed(requests)), [], 'the model never sees a secret backwards');
  } finally {
    await rst.close();
  }
});
