// GET /metrics, parsed as Prometheus parses it: behind the /api credentials
// on the main port and alone, without them, on BREAKGLASS_METRICS_LISTEN;
// its counters move as turns, refused calls, reloads and model errors
// happen. And the JSON log: whole lines, the request's id on the lines of
// each request and in its answer, and no secret even when the model API
// echoes the key back. (The power buttons and the SSH layers are counted
// against the real lab: lab_observability.test.mjs.)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { API_KEY, AUTH, BEARER, startStack, toolSource, turnEvents, writePolicy } from '../../lib/agent-stack.mjs';
import { fetchJson } from '../../lib/daemon.mjs';
import { histogram, moved, scrape, value } from '../../lib/prometheus.mjs';
import { rawRequest } from '../../lib/raw-http.mjs';
import { scratchDir } from '../../lib/scratch.mjs';

const dir = scratchDir('daemon-metrics-test');

const RELOAD_WAIT_MS = 10000;
const GAUGE_WAIT_MS = 5000;
const GAUGE_POLL_MS = 50;

// Logs after its handler was resumed by a timer: outside the action's own steps.
const NAP_THEN_LOG = toolSource('nap_then_log', 'Sleeps, then logs.',
  ['ctx.sleep(10)', 'ctx.log("after the nap")', 'return "done"']);

// The log lines from index `from` on, each parsed (a line that is not JSON fails).
function jsonLines(daemon, from = 0) {
  return daemon.log.slice(from).map((line) => {
    try {
      return JSON.parse(line);
    } catch {
      assert.fail(`a log line that is not JSON: ${line}`);
    }
  });
}

// SIGHUP (the folder's watcher may have asked first), then the reload's log line.
async function reload(st, line = / reloaded \(/) {
  const from = st.daemon.log.length;
  st.daemon.proc.kill('SIGHUP');
  await st.daemon.waitForLog(line, RELOAD_WAIT_MS, from);
}

async function waitForGauge(url, name, want) {
  const deadline = Date.now() + GAUGE_WAIT_MS;
  for (;;) {
    const v = value(await scrape(url, AUTH), name);
    if (v === want || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, GAUGE_POLL_MS));
  }
}

describe('metrics and the JSON log', () => {
  let st;
  let scraper; // the metrics listener's URL
  let metricsUrl; // the main port's /metrics
  before(async () => {
    st = await startStack(join(dir, 'main'), {
      env: { BREAKGLASS_METRICS_LISTEN: '127.0.0.1:0', BREAKGLASS_LOG_FORMAT: 'json' },
    });
    const [, host, port] = await st.daemon.waitForLog(/metrics on (\S+):(\d+)/);
    scraper = `http://${host}:${port}`;
    metricsUrl = `${st.daemon.url}/metrics`;
  });
  after(() => st?.close());

  test('the metrics listener answers /metrics without credentials, and nothing else', async () => {
    const families = await scrape(`${scraper}/metrics`);
    assert.equal(value(families, 'breakglass_scripts_loaded'), 1);
    assert.ok(value(families, 'process_resident_memory_bytes') > 1024 * 1024);
    assert.ok(value(families, 'process_open_fds') > 3);
    const start = value(families, 'process_start_time_seconds');
    assert.ok(Math.abs(start - Date.now() / 1000) < 600, `start time ${start}`);
    assert.equal(value(families, 'breakglass_build_info', { version: '0.1.0' }), 1);
    for (const path of ['/api/sessions', '/health', '/readyz', '/', '/index.html', '/metrics/']) {
      const r = await fetchJson(`${scraper}${path}`, { headers: AUTH });
      assert.equal(r.status, 404, `${path}: ${r.text}`);
    }
    const scraperPort = Number(new URL(scraper).port);
    const post = await rawRequest(scraperPort, 'POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n');
    assert.equal(post.status, 405, post.raw.slice(0, 200));
    assert.equal(post.headers.allow, 'GET, HEAD');
    // Nothing here takes a body, so none is read (the main port's rule).
    const body = await rawRequest(scraperPort, 'POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 1048576\r\n\r\n',
      { waitForClose: true });
    assert.equal(body.status, 413, body.raw.slice(0, 200));
    assert.equal(body.closed, true);
  });

  test('the main port\'s /metrics needs the credentials /api needs', async () => {
    const r = await fetchJson(metricsUrl);
    assert.equal(r.status, 401);
    assert.equal(r.headers['www-authenticate'], 'Bearer');
    const wrong = await fetchJson(metricsUrl, { headers: { authorization: 'Bearer nope' } });
    assert.equal(wrong.status, 401);
    const families = await scrape(metricsUrl, AUTH);
    assert.ok(families.breakglass_turns_started_total);
    assert.ok(value(families, 'breakglass_http_responses_total', { code: '401' }) >= 2);
  });

  test('counters move as a turn with a tool call, a reload, a refused call and a broken edit happen', async () => {
    const before = await scrape(metricsUrl, AUTH);
    const { stream } = await st.startTurn([
      { toolUses: [{ name: 'echo', input: { text: 'hi' } }] },
      { text: 'Echoed.' },
    ]);
    assert.equal(await waitForGauge(metricsUrl, 'breakglass_sse_clients', 1), 1);
    const events = await turnEvents(stream);
    assert.equal(events.at(-2).is_error, false);
    await stream.close();
    const mid = await scrape(metricsUrl, AUTH);
    assert.equal(moved(before, mid, 'breakglass_turns_started_total'), 1);
    assert.equal(moved(before, mid, 'breakglass_turns_ended_total', { outcome: 'ok' }), 1);
    assert.equal(moved(before, mid, 'breakglass_model_calls_total', { outcome: 'ok' }), 2);
    assert.equal(histogram(mid, 'breakglass_model_call_duration_seconds').count -
      histogram(before, 'breakglass_model_call_duration_seconds').count, 2);
    assert.ok(moved(before, mid, 'breakglass_model_tokens_total', { type: 'output' }) > 0);
    assert.ok(moved(before, mid, 'breakglass_model_tokens_total', { type: 'input' }) +
      moved(before, mid, 'breakglass_model_tokens_total', { type: 'cache_creation' }) > 0);
    assert.equal(moved(before, mid, 'breakglass_tool_calls_total', { tool: 'echo', source: 'agent', outcome: 'ok' }), 1);
    assert.ok(moved(before, mid, 'breakglass_sse_bytes_sent_total') > 0);
    assert.ok(moved(before, mid, 'breakglass_journal_bytes_written_total') > 0);
    assert.ok(histogram(mid, 'breakglass_journal_flush_duration_seconds').count >
      histogram(before, 'breakglass_journal_flush_duration_seconds').count, 'the intent was flushed');
    assert.equal(await waitForGauge(metricsUrl, 'breakglass_sse_clients', 0), 0);

    // A policy edit that refuses echo: a reload, then a refused call.
    const policy = writePolicy(join(dir, 'main', 'scripts'), 'deny_echo', 'no echo while we look',
      'if call.tool == "echo" then return {deny = "echo is off"} end');
    await reload(st);
    const refused = await st.startTurn([
      { toolUses: [{ name: 'echo', input: { text: 'again' } }] },
      { text: 'Refused, then.' },
    ]);
    const refusedEvents = await turnEvents(refused.stream);
    await refused.stream.close();
    assert.match(refusedEvents.find((e) => e.kind === 'tool_result').content, /^refused by policy deny_echo/);
    const late = await scrape(metricsUrl, AUTH);
    assert.equal(moved(mid, late, 'breakglass_script_reloads_total', { outcome: 'ok' }), 1);
    assert.equal(moved(mid, late, 'breakglass_tool_calls_total', { tool: 'echo', source: 'agent', outcome: 'refused' }), 1);
    assert.equal(moved(mid, late, 'breakglass_policy_decisions_total', { policy: 'deny_echo', decision: 'deny' }), 1);
    assert.equal(moved(mid, late, 'breakglass_turns_ended_total', { outcome: 'ok' }), 1);

    // A broken edit: the reload fails, the last good set serves on.
    writeFileSync(policy, 'return {');
    await reload(st, /did not reload \(/);
    const broken = await scrape(metricsUrl, AUTH);
    assert.equal(moved(late, broken, 'breakglass_script_reloads_total', { outcome: 'error' }), 1);
    assert.equal(value(broken, 'breakglass_scripts_loaded'), 1);
    assert.ok(value(broken, 'breakglass_scripts_age_seconds') >= 0);
    rmSync(policy);
    await reload(st);
  });

  test('a model that answers 401 quoting the key: counted by type, and the key reaches no log line', async () => {
    const before = await scrape(metricsUrl, AUTH);
    const logFrom = st.daemon.log.length;
    const { stream, events } = await st.runTurn([
      { status: 429, headers: { 'retry-after-ms': '10' } },
      { status: 401, message: `invalid x-api-key: ${API_KEY}`, headers: { 'request-id': API_KEY } },
    ]);
    await stream.close();
    assert.equal(events.at(-2).is_error, true);
    const after = await scrape(metricsUrl, AUTH);
    assert.equal(moved(before, after, 'breakglass_model_retries_total', { reason: 'rate_limit_error' }), 1);
    assert.equal(moved(before, after, 'breakglass_model_calls_total', { outcome: 'authentication_error' }), 1);
    assert.equal(moved(before, after, 'breakglass_turns_ended_total', { outcome: 'error' }), 1);
    // stderr and the sockets are read apart: wait for the line itself.
    await st.daemon.waitForLog(/model call failed \(authentication_error/, 5000, logFrom);
    const lines = jsonLines(st.daemon, logFrom);
    const failed = lines.find((l) => /^model call failed \(authentication_error, HTTP 401/.test(l.msg));
    assert.ok(failed, 'the failure is logged');
    assert.match(failed.msg, /request-id \[redacted\]\): invalid x-api-key: \[redacted\]$/);
    assert.equal(typeof failed.session, 'string', 'the model call logs in its session');
    assert.equal(failed.identity, 'bearer');
    for (const line of st.daemon.log) {
      assert.ok(!line.includes(API_KEY), `the API key in a log line: ${line}`);
      assert.ok(!line.includes(BEARER), `the bearer token in a log line: ${line}`);
    }
  });

  test('every answer carries X-Request-Id, and the lines of each request carry it', async () => {
    const logFrom = st.daemon.log.length;
    const given = 'trace-1f2e3d.4c:5b_6a';
    const created = await fetchJson(`${st.daemon.url}/api/session`,
      { method: 'POST', headers: { ...AUTH, 'x-request-id': given }, body: {} });
    assert.equal(created.status, 200);
    assert.equal(created.headers['x-request-id'], given, 'a sane id from the proxy is kept');

    const ids = new Set();
    for (const bad of ['', 'has space', 'quote"d', 'x'.repeat(65), 'slash/not-ok']) {
      const headers = bad === '' ? AUTH : { ...AUTH, 'x-request-id': bad };
      const r = await fetchJson(`${st.daemon.url}/api/sessions`, { headers });
      assert.equal(r.status, 200);
      assert.match(r.headers['x-request-id'], /^[0-9a-f]{32}$/, `made for ${JSON.stringify(bad)}`);
      ids.add(r.headers['x-request-id']);
    }
    assert.equal(ids.size, 5, 'each request its own id');

    const answers = await Promise.all([
      fetchJson(`${st.daemon.url}/health`),
      fetchJson(`${st.daemon.url}/readyz`),
      fetchJson(`${st.daemon.url}/index.html`),
      fetchJson(`${st.daemon.url}/no-such-file`),
      fetchJson(`${st.daemon.url}/api/sessions`),
      fetchJson(`${scraper}/metrics`),
    ]);
    for (const r of answers) assert.match(r.headers['x-request-id'], /^[0-9a-f]{32}$/);
    assert.equal(answers[5].status, 200);
    assert.equal(answers[4].status, 401);
    const bad = await rawRequest(new URL(st.daemon.url).port, 'GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n');
    assert.equal(bad.status, 400);
    assert.match(bad.headers['x-request-id'], /^[0-9a-f]{32}$/, 'even a request that did not parse');

    // stderr and the sockets are read apart: wait for the last lines.
    for (const r of [answers[4], bad]) await st.daemon.waitForLog(new RegExp(r.headers['x-request-id']), 5000, logFrom);
    const lines = jsonLines(st.daemon, logFrom);
    const ofGiven = lines.filter((l) => l.request_id === given);
    assert.deepEqual(ofGiven.map((l) => l.msg.replace(/[0-9a-f]{32}/, 'ID').replace(/\d+ ms/, 'N ms')),
      ['session ID created by bearer', 'http: POST /api/session 200 (N ms)']);
    for (const l of ofGiven) assert.equal(l.identity, 'bearer');
    for (const id of ids) {
      const access = lines.filter((l) => l.request_id === id);
      assert.equal(access.length, 1, `one line for ${id}`);
      assert.match(access[0].msg, /^http: GET \/api\/sessions 200 \(\d+ ms\)$/);
    }
    const unauthenticated = lines.find((l) => l.request_id === answers[4].headers['x-request-id']);
    assert.match(unauthenticated.msg, /^http: GET \/api\/sessions 401 /);
    assert.equal(unauthenticated.identity, undefined);
    // The page's files, the probes and the scrapes are not news at info.
    for (const r of answers.slice(0, 4)) {
      assert.ok(!lines.some((l) => l.request_id === r.headers['x-request-id']));
    }
    assert.ok(lines.some((l) => l.request_id === bad.headers['x-request-id'] && /^http: 400 for /.test(l.msg)));
  });

  test('under a burst of requests every line is still one whole JSON object, each with its own id', async () => {
    const BURST = 200;
    const logFrom = st.daemon.log.length;
    const answers = await Promise.all(Array.from({ length: BURST }, (_, i) =>
      fetchJson(`${st.daemon.url}/api/sessions`, { headers: { ...AUTH, 'x-request-id': `burst-${i}` } })));
    for (const [i, r] of answers.entries()) assert.equal(r.headers['x-request-id'], `burst-${i}`);
    await Promise.all(answers.map((_, i) => st.daemon.waitForLog(new RegExp(`"request_id":"burst-${i}"`), 10000, logFrom)));
    const lines = jsonLines(st.daemon, logFrom);
    const ids = lines.map((l) => l.request_id).filter((id) => id?.startsWith('burst-'));
    assert.equal(ids.length, BURST);
    assert.equal(new Set(ids).size, BURST);
  });

  test('a tool call\'s lines name its session, call and caller, before and after its handler waits', async () => {
    writeFileSync(join(dir, 'main', 'scripts', 'tools', 'nap_then_log.lua'), NAP_THEN_LOG);
    await reload(st);
    const logFrom = st.daemon.log.length;
    const { id, stream, events } = await st.runTurn([
      { toolUses: [{ name: 'misc', input: { mode: 'log' } }, { name: 'nap_then_log', input: {} }] },
      { text: 'Said.' },
    ], { prompt: 'Say something.' });
    await stream.close();
    const calls = events.filter((e) => e.kind === 'tool').map((e) => e.call_id);
    await st.daemon.waitForLog(/after the nap/, 5000, logFrom);
    const lines = jsonLines(st.daemon, logFrom).filter((l) => l.msg.startsWith('lua '));
    assert.equal(lines.length, 2, JSON.stringify(lines));
    lines.forEach((l, i) => {
      assert.equal(l.session, id);
      assert.equal(l.call_id, calls[i]);
      assert.equal(l.identity, 'bearer');
    });
    assert.match(lines[1].msg, /after the nap/);
  });
});

test('a metrics address already in use: exit 1 naming BREAKGLASS_METRICS_LISTEN, everything closed on the way out', async () => {
  const taken = net.createServer();
  await new Promise((r) => taken.listen(0, '127.0.0.1', r));
  try {
    const env = { PATH: process.env.PATH, ASAN_OPTIONS: process.env.ASAN_OPTIONS ?? '', BREAKGLASS_LISTEN: '127.0.0.1:0',
      BREAKGLASS_DATA_DIR: join(dir, 'taken'), BREAKGLASS_METRICS_LISTEN: `127.0.0.1:${taken.address().port}` };
    const r = spawnSync(process.env.BREAKGLASS_BIN, ['serve'], { env, encoding: 'utf8', timeout: 20000 });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /BREAKGLASS_METRICS_LISTEN: cannot listen on 127\.0\.0\.1:\d+: address already in use/);
    assert.doesNotMatch(r.stderr, /listening on|Sanitizer|runtime error:/);
  } finally {
    await new Promise((r) => taken.close(r));
  }
});
