// Tests of the test harness helpers (tests/lib: sse-client, raw-http,
// daemon) against small local servers and a stand-in daemon, so a failure
// in a daemon test is not a failure of the harness.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fetchJson, startDaemon } from '../../lib/daemon.mjs';
import { parseResponses, rawRequest, slowRequest } from '../../lib/raw-http.mjs';
import { openStalledStream, openStream, SseParser } from '../../lib/sse-client.mjs';
import { SseParser as PageSseParser, SSE_MAX_BUFFER_CHARS, SseParserError } from '../../../www/sse.mjs';
import {
  argvOf, commandLine, descendants, hasOption, isRunning, processesWhere, processTable,
} from '../../lib/processes.mjs';
import { runAsync } from '../../lib/run-async.mjs';
import { forSuite } from '../../lib/suite.mjs';
import { scratchDir } from '../../lib/scratch.mjs';

const dir = scratchDir('harness-lib-test');

async function listen(server) {
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server.address().port;
}

describe('SseParser', () => {
  const STREAM = ': keepalive\r\nid: 7\r\nevent: turn\r\ndata: {"kind":"text","t":"ü✓"}\r\n\r\n'
    + 'data: line one\rdata: line two\r\r'
    + 'event: empty\n\n'
    + 'id: 9\nevent: done\ndata: {"kind":"done"}\n\n'
    + 'event: cut\ndata: {"never":"dispatched"}\n';
  const EXPECTED = [
    { id: '7', event: 'turn', data: { kind: 'text', t: 'ü✓' } },
    { id: null, event: 'message', data: 'line one\nline two' },
    { id: '9', event: 'done', data: { kind: 'done' } },
  ];

  test('gives the same events and comments at every split point', () => {
    for (let cut = 0; cut <= STREAM.length; cut++) {
      const events = [];
      let comments = 0;
      const p = new SseParser((e) => events.push(e), () => comments++);
      p.feed(STREAM.slice(0, cut));
      p.feed(STREAM.slice(cut));
      assert.deepEqual(events, EXPECTED, `split at ${cut}`);
      assert.equal(comments, 1);
    }
  });

  test('one character at a time', () => {
    const events = [];
    const p = new SseParser((e) => events.push(e));
    for (const ch of STREAM) p.feed(ch);
    assert.deepEqual(events, EXPECTED);
  });

  test('is the page parser: a leading BOM is dropped and an endless line throws', () => {
    const events = [];
    const p = new SseParser((e) => events.push(e));
    p.feed('\uFEFFid: 3\ndata: {"kind":"text"}\n\n');
    assert.deepEqual(events, [{ id: '3', event: 'message', data: { kind: 'text' } }]);
    assert.throws(() => p.feed(`data: ${'x'.repeat(SSE_MAX_BUFFER_CHARS)}`), SseParserError);
  });
});

// What www/sse.mjs gives beyond what the page uses, for the adapter above.
describe('www/sse.mjs', () => {
  test('reports comment text in order through onComment, and events without it as before', () => {
    const stream = ': one\ndata: a\n\n:two\n:\ndata: b\n\n';
    const comments = [];
    const withHook = new PageSseParser(SSE_MAX_BUFFER_CHARS, (text) => comments.push(text));
    const plain = new PageSseParser();
    assert.deepEqual(withHook.push(stream), plain.push(stream));
    assert.deepEqual(comments, [' one', 'two', '']);
  });

  test('gives each event its own id field beside the lasting lastEventId', () => {
    const p = new PageSseParser();
    const frames = p.push('id: 4\ndata: a\n\ndata: b\n\nid: 5\n\ndata: c\n\nid: x\0y\ndata: d\n\n');
    assert.deepEqual(frames, [
      { type: 'message', data: 'a', lastEventId: '4', id: '4' },
      { type: 'message', data: 'b', lastEventId: '4', id: null },
      // A block without data sets lastEventId but its id belongs to no event.
      { type: 'message', data: 'c', lastEventId: '5', id: null },
      // An id holding NUL is ignored, as EventSource does.
      { type: 'message', data: 'd', lastEventId: '5', id: null },
    ]);
  });
});

describe('openStream', () => {
  let server;
  let port;
  let lastEventIdSeen;
  before(async () => {
    server = http.createServer((req, res) => {
      lastEventIdSeen = req.headers['last-event-id'];
      if (req.url === '/denied') {
        res.writeHead(401, { 'content-type': 'application/json' });
        return res.end('{"error":"unauthenticated"}');
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': keepalive\n\n');
      res.write('id: 1\nevent: turn_start\ndata: {"kind":"turn_start"}\n\n');
      setTimeout(() => {
        res.write('id: 2\nevent: text\ndata: {"kind":"text","text":"hi"}\n\n');
        if (req.url === '/ends') res.end('id: 3\ndata: {"kind":"turn_end"}\n\n');
      }, 20);
    });
    port = await listen(server);
  });
  after(() => { server.closeAllConnections(); server.close(); });

  test('collects events and comments; waitFor and waitForType match by name or data.kind', async () => {
    const s = await openStream(`http://127.0.0.1:${port}/ends`, { lastEventId: 5, headers: { 'x-test': '1' } });
    assert.equal(s.status, 200);
    assert.equal(lastEventIdSeen, '5');
    const text = await s.waitForType('text');
    assert.equal(text.data.text, 'hi');
    const end = await s.waitFor((e) => e.data.kind === 'turn_end', 2000, 2);
    assert.equal(end.id, '3');
    await s.closed;
    assert.equal(s.comments, 1);
    assert.equal(s.lastEventId, '3');
    assert.deepEqual(s.events.map((e) => e.id), ['1', '2', '3']);
  });

  test('waitFor rejects with the events so far, on timeout and on close', async () => {
    const open = await openStream(`http://127.0.0.1:${port}/stays`);
    const err = await open.waitForType('never', 200).catch((e) => e);
    assert.match(err.message, /within 200 ms/);
    assert.match(err.message, /turn_start/);
    assert.equal(err.events[0].event, 'turn_start');
    await open.close();
    const ended = await openStream(`http://127.0.0.1:${port}/ends`);
    await assert.rejects(ended.waitForType('never', 5000), /closed/);
  });

  test('a non-200 answer keeps its body', async () => {
    const s = await openStream(`http://127.0.0.1:${port}/denied`);
    await s.closed;
    assert.equal(s.status, 401);
    assert.equal(s.body, '{"error":"unauthenticated"}');
    assert.equal(s.events.length, 0);
  });
});

describe('openStalledStream', () => {
  test('never reads, so the server backs up; drainUntilClosed sees the server drop it', async () => {
    const CHUNK = Buffer.alloc(64 * 1024, 'x');
    const NO_DRAIN_MS = 300;
    const MAX_WRITTEN_BYTES = 256 * 1024 * 1024; // far beyond any socket buffers
    let backedUp;
    const blocked = new Promise((resolve) => { backedUp = resolve; });
    // Writes until a drain fails to come: the reader has stopped reading.
    const server = http.createServer(async (req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let written = 0;
      while (written < MAX_WRITTEN_BYTES) {
        written += CHUNK.length;
        if (res.write(CHUNK)) continue;
        const drained = await new Promise((resolve) => {
          const t = setTimeout(resolve, NO_DRAIN_MS, false);
          res.once('drain', () => { clearTimeout(t); resolve(true); });
        });
        if (!drained) break;
      }
      backedUp({ res, written });
    });
    const port = await listen(server);
    const stalled = openStalledStream(`http://127.0.0.1:${port}/stream`, { 'x-test': '1' });
    const { res, written } = await blocked;
    assert.ok(written < MAX_WRITTEN_BYTES, 'the server stopped being able to write');
    res.destroy();
    const r = await stalled.drainUntilClosed(5000);
    assert.ok(r.bytesRead > 0);
    server.close();
  });

  test('drainUntilClosed rejects while the server keeps it open', async () => {
    const server = http.createServer((req, res) => { res.writeHead(200); res.write(': hi\n\n'); });
    const port = await listen(server);
    const stalled = openStalledStream(`http://127.0.0.1:${port}/`);
    await assert.rejects(stalled.drainUntilClosed(200), /still open/);
    await stalled.close();
    server.closeAllConnections();
    server.close();
  });
});

describe('raw-http', () => {
  let server;
  let port;
  before(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/chunked') {
        res.write('ab');
        return res.end('cd');
      }
      if (req.url === '/close') res.setHeader('connection', 'close');
      res.end(`path ${req.url}`);
    });
    port = await listen(server);
  });
  after(() => { server.closeAllConnections(); server.close(); });

  test('reads pipelined responses with Content-Length and chunked bodies', async () => {
    const req = (path) => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;
    const r = await rawRequest(port, req('/a') + req('/chunked') + req('/b'), { responses: 3 });
    assert.deepEqual(r.responses.map((x) => [x.status, x.body, x.complete]), [[200, 'path /a', true], [200, 'abcd', true], [200, 'path /b', true]]);
    assert.equal(r.timedOut, false);
    assert.equal(r.closed, false);
  });

  test('waitForClose reports the server closing; a silent server times out', async () => {
    const closing = await rawRequest(port, 'GET /close HTTP/1.1\r\nHost: x\r\n\r\n', { waitForClose: true });
    assert.equal(closing.status, 200);
    assert.equal(closing.closed, true);
    const silent = await rawRequest(port, 'GET /partial HTTP/1.1\r\n', { timeoutMs: 200 });
    assert.equal(silent.timedOut, true);
    assert.equal(silent.status, null);
  });

  test('parseResponses marks a cut body incomplete and reads to close without a length', () => {
    const cut = parseResponses(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'), false);
    assert.deepEqual(cut.map((x) => [x.body, x.complete]), [['abc', false]]);
    const toClose = parseResponses(Buffer.from('HTTP/1.1 200 OK\r\n\r\nall of it'), true);
    assert.deepEqual(toClose.map((x) => [x.body, x.complete]), [['all of it', true]]);
  });

  test('slowRequest trickles bytes until the server gives up', async () => {
    const LIMIT = 5;
    const trap = net.createServer((sock) => {
      let got = 0;
      sock.on('data', (b) => {
        got += b.length;
        if (got >= LIMIT) sock.end('HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      });
    });
    const trapPort = await listen(trap);
    const r = await slowRequest(trapPort, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', 20, { timeoutMs: 5000 });
    assert.ok(r.bytesSent >= LIMIT && r.bytesSent < LIMIT + 3, `sent ${r.bytesSent}`);
    assert.equal(r.response.status, 408);
    assert.ok(r.closedAfterMs >= (LIMIT - 1) * 20 * 0.9);
    trap.close();
  });
});

describe('startDaemon', () => {
  // A stand-in for the daemon: the same listening line, /env shows its environment.
  function fakeDaemon(name, body) {
    const path = join(dir, name);
    writeFileSync(path, `#!${process.execPath}\n${body}\n`);
    chmodSync(path, 0o755);
    return path;
  }
  const serving = fakeDaemon('serving', `
    const http = require('node:http');
    const [host, port] = process.env.BREAKGLASS_LISTEN.split(':');
    const s = http.createServer((req, res) => res.end(JSON.stringify({ args: process.argv.slice(2), env: process.env })));
    s.listen(Number(port), host, () => { console.log('some stdout'); console.error('listening on ' + host + ':' + s.address().port); });
    process.on('SIGTERM', () => { console.error('bye'); process.exit(${'3'}); });`);

  test('starts, reports the port, passes a clean environment, and stops', async () => {
    process.env.SHOULD_NOT_LEAK = 'secret';
    const d = await startDaemon({ bin: serving, env: { EXTRA: 'yes', BREAKGLASS_WWW_DIR: undefined }, args: ['--flag'] });
    delete process.env.SHOULD_NOT_LEAK;
    const r = await fetchJson(`${d.url}/env`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.args, ['serve', '--flag']);
    assert.equal(r.json.env.EXTRA, 'yes');
    assert.equal(r.json.env.BREAKGLASS_DATA_DIR, d.dataDir);
    assert.equal(r.json.env.SHOULD_NOT_LEAK, undefined);
    assert.equal(r.json.env.BREAKGLASS_WWW_DIR, undefined);
    assert.ok(d.log.includes('some stdout'));
    assert.deepEqual(await d.stop(), { code: 3, signal: null });
    await d.waitForLog(/^bye$/, 1000);
  });

  test('stop falls back to SIGKILL; kill9 kills', async () => {
    const stubborn = fakeDaemon('stubborn', `
      const http = require('node:http');
      const s = http.createServer().listen(0, '127.0.0.1', () => console.error('listening on 127.0.0.1:' + s.address().port));
      process.on('SIGTERM', () => console.error('ignoring SIGTERM'));`);
    const d = await startDaemon({ bin: stubborn, dataDir: dir });
    assert.deepEqual(await d.stop('SIGTERM', 300), { code: null, signal: 'SIGKILL' });
    assert.ok(d.log.includes('ignoring SIGTERM'));
    const e = await startDaemon({ bin: stubborn, dataDir: dir });
    assert.deepEqual(await e.kill9(), { code: null, signal: 'SIGKILL' });
  });

  test('stop rejects when the output holds a sanitizer report, the last lines included', async () => {
    const leaky = fakeDaemon('leaky', `
      const http = require('node:http');
      const s = http.createServer().listen(0, '127.0.0.1', () => console.error('listening on 127.0.0.1:' + s.address().port));
      process.on('SIGTERM', () => {
        console.error('==1==ERROR: LeakSanitizer: detected memory leaks');
        console.error('Direct leak of 64 byte(s) in 1 object(s) allocated from:');
        process.exit(23);
      });`);
    const d = await startDaemon({ bin: leaky, dataDir: dir });
    assert.equal(d.sanitizerReport(), null);
    await assert.rejects(d.stop(), /sanitizer reported a bug:\n==1==ERROR: LeakSanitizer[\s\S]*Direct leak of 64/);
    const ub = fakeDaemon('ub', `
      console.error('listening on 127.0.0.1:1');
      console.error('core/x.c:7:9: runtime error: signed integer overflow');
      setInterval(() => {}, 1000);`);
    const e = await startDaemon({ bin: ub, dataDir: dir });
    await e.waitForLog(/runtime error/, 1000);
    assert.match(e.sanitizerReport(), /runtime error: signed integer overflow/);
    await assert.rejects(e.stop(), /runtime error/);
  });

  test('a daemon that exits before listening rejects with its log', async () => {
    const broken = fakeDaemon('broken', `console.error('config: BREAKGLASS_MODEL is empty'); process.exit(2);`);
    await assert.rejects(startDaemon({ bin: broken, dataDir: dir }), /exited[\s\S]*BREAKGLASS_MODEL is empty/);
  });

  test('fetchJson sends JSON bodies and keeps non-JSON text', async () => {
    const server = http.createServer((req, res) => {
      let text = '';
      req.on('data', (c) => { text += c; });
      req.on('end', () => res.end(req.method === 'POST' ? `${req.headers['content-type']} ${text}` : '{"ok":true}'));
    });
    const port = await listen(server);
    const posted = await fetchJson(`http://127.0.0.1:${port}/`, { method: 'POST', body: { a: 1 } });
    assert.equal(posted.text, 'application/json {"a":1}');
    assert.equal(posted.json, null);
    assert.deepEqual((await fetchJson(`http://127.0.0.1:${port}/`)).json, { ok: true });
    server.close();
  });

  const lib = (name) => new URL(`../../lib/${name}`, import.meta.url).href;

  // A test file's process that makes every kind of folder the harness
  // makes, with TMPDIR its own: what is left there at its exit leaked.
  test('scratchDir, startDaemon and launchBrowser leave nothing behind at exit', async () => {
    const tmp = join(dir, 'tmp');
    mkdirSync(tmp);
    const child = join(dir, 'makes-folders.mjs');
    writeFileSync(child, `
      import { writeFileSync } from 'node:fs';
      import { scratchDir } from '${lib('scratch.mjs')}';
      import { startDaemon } from '${lib('daemon.mjs')}';
      import { launchBrowser } from '${lib('page.mjs')}';
      writeFileSync(scratchDir('kept-till-exit') + '/file', 'x');
      const d = await startDaemon({ bin: ${JSON.stringify(serving)} });
      await d.stop();
      const browser = await launchBrowser();
      await browser.close();
      console.log(d.dataDir);`);
    const r = await runAsync(process.execPath, [child], { env: { ...process.env, TMPDIR: tmp }, timeoutMs: 60000 });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.trim().startsWith(tmp), r.stdout);
    assert.deepEqual(readdirSync(tmp), []);
  });

  /**
   * Runs the module text body as a process with TMPDIR its own, sends it
   * signal once it prints "ready", and resolves with runAsync's result and
   * what is left in its TMPDIR.
   */
  async function signalled(name, body, signal) {
    const tmp = join(dir, `tmp-${name}`);
    mkdirSync(tmp);
    const child = join(dir, `${name}.mjs`);
    writeFileSync(child, body);
    const r = await runAsync(process.execPath, [child], {
      env: { ...process.env, TMPDIR: tmp },
      timeoutMs: 60000,
      onSpawn: (c) => c.stdout.on('data', (d) => { if (String(d).includes('ready')) c.kill(signal); }),
    });
    return { ...r, left: readdirSync(tmp) };
  }

  // ^C, or a run stopped from outside, while a daemon runs: the folders go
  // as at exit, and the status says which signal ended the process.
  for (const [signal, status] of [['SIGINT', 130], ['SIGTERM', 143]]) {
    test(`${signal} ends a process with its scratch folders and daemon gone, status ${status}`, async () => {
      const r = await signalled(`ended-by-${signal}`, `
        import { writeFileSync } from 'node:fs';
        import { scratchDir } from '${lib('scratch.mjs')}';
        import { startDaemon } from '${lib('daemon.mjs')}';
        writeFileSync(scratchDir('kept-till-exit') + '/file', 'x');
        const d = await startDaemon({ bin: ${JSON.stringify(serving)} });
        console.log('ready', d.proc.pid);
        setInterval(() => {}, 1 << 30);`, signal);
      assert.deepEqual([r.code, r.signal], [status, null], r.stderr);
      assert.deepEqual(r.left, []);
      // SIGKILLed by daemon.mjs's exit hook; gone once reaped.
      const daemon = Number(/ready (\d+)/.exec(r.stdout)[1]);
      for (const until = Date.now() + 5000; isRunning(daemon) && Date.now() < until;) {
        await new Promise((res) => setTimeout(res, 20));
      }
      assert.equal(isRunning(daemon), false, `the daemon ${daemon} still runs`);
    });
  }

  test('a process with its own SIGTERM handler ends as that handler says, and its folders still go', async () => {
    const r = await signalled('own-handler', `
      import { writeFileSync } from 'node:fs';
      import { scratchDir } from '${lib('scratch.mjs')}';
      writeFileSync(scratchDir('kept-till-exit') + '/file', 'x');
      process.on('SIGTERM', () => {
        console.log('closing first');
        setTimeout(() => process.exit(7), 100);
      });
      console.log('ready');
      setInterval(() => {}, 1 << 30);`, 'SIGTERM');
    assert.deepEqual([r.code, r.signal], [7, null], r.stderr);
    assert.match(r.stdout, /closing first/);
    assert.deepEqual(r.left, []);
  });
});

describe('runAsync', () => {
  test('gives the exit code, both outputs decoded as asked, the time and the pid', async () => {
    const r = await runAsync('/bin/sh', ['-c', 'printf "a\\377"; printf err >&2; exit 3'],
      { timeoutMs: 10000, encoding: 'latin1' });
    assert.deepEqual({ code: r.code, signal: r.signal, status: r.status, stdout: r.stdout, stderr: r.stderr },
      { code: 3, signal: null, status: 3, stdout: 'a\xff', stderr: 'err' });
    assert.ok(r.pid > 0 && r.ms >= 0);
  });

  test('kills the child past timeoutMs; onSpawn sees it and feeds its stdin', async () => {
    const slow = await runAsync('/bin/sleep', ['30'], { timeoutMs: 200 });
    assert.deepEqual([slow.code, slow.signal, slow.status], [null, 'SIGKILL', 'SIGKILL']);
    const fed = await runAsync('/bin/cat', [], { stdio: 'pipe', timeoutMs: 10000, onSpawn: (c) => c.stdin.end('fed') });
    assert.equal(fed.stdout, 'fed');
  });

  test('refuses to run without a time limit, which would kill the child at once', () => {
    assert.throws(() => runAsync('/bin/true', []), /runAsync \/bin\/true: timeoutMs must be a positive number/);
    assert.throws(() => runAsync('/bin/true', [], { timeoutMs: 0 }), TypeError);
  });
});

describe('processes', () => {
  test('a shell and its sleep: the tree, their command lines, found by them, and neither running once killed', async () => {
    const mark = `harness-${process.pid}`;
    let child;
    const run = runAsync('/bin/sh', ['-c', `sleep 30 & wait # ${mark}`],
      { timeoutMs: 10000, onSpawn: (c) => { child = c; } });
    let tree = [];
    for (const until = Date.now() + 5000; tree.length < 2 && Date.now() < until;) {
      await new Promise((r) => setTimeout(r, 20));
      tree = descendants(child.pid, processTable());
    }
    assert.equal(tree.length, 2, `the shell and its sleep: ${tree}`);
    assert.ok(commandLine(tree[0]).includes(mark));
    assert.equal(commandLine(tree[1]), 'sleep 30 ');
    assert.deepEqual(argvOf(tree[1]), ['sleep', '30']);
    assert.deepEqual(processesWhere((argv) => hasOption(argv, '-c', `sleep 30 & wait # ${mark}`)), [tree[0]]);
    assert.ok(tree.every(isRunning));
    process.kill(tree[1], 'SIGKILL');
    await run;
    assert.ok(!tree.some(isRunning));
    assert.equal(commandLine(tree[0]), '');
    assert.deepEqual(argvOf(tree[0]), []);
  });
});

describe('forSuite', () => {
  const seen = [];
  const early = forSuite(async () => ({ name: 'started later', close() {} }));
  // Read while node:test collects the block, before any hook has run.
  const readEarly = (() => { try { return early.name; } catch (e) { return e.message; } })();

  describe('a block with a fixture', () => {
    const fixture = forSuite(async () => {
      seen.push('start');
      return { name: 'the fixture', greet(who) { return `${this.name} greets ${who}`; } };
    }, (f) => { seen.push(`stop ${f.name}`); });

    test('forwards reads and calls to what start() resolved to, started once', () => {
      assert.equal(fixture.name, 'the fixture');
      assert.equal(fixture.greet('you'), 'the fixture greets you');
      assert.deepEqual(seen, ['start']);
    });
  });

  test('stops the fixture once its block is done; a read before start throws', () => {
    assert.deepEqual(seen, ['start', 'stop the fixture']);
    assert.match(readEarly, /read \.name of a suite's fixture before its before\(\) hook started it/);
  });
});
