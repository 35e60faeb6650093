// An SSH server that is not one: a loopback socket that sends a banner and
// then nothing, an endless banner line, endless lines before any banner, a
// byte every 200 ms, garbage, or a packet length of 2 GiB. devvm_shell
// ends each within the connect limit (plus a second), with a clear layer,
// and the daemon answers others meanwhile.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { assertHealthWithin, startStack, watchHealth } from '../../lib/agent-stack.mjs';
import { scratchDir } from '../../lib/scratch.mjs';

const CONNECT_TIMEOUT_S = 2;
const LIMIT_MS = CONNECT_TIMEOUT_S * 1000 + 1000;
const dir = scratchDir('bg-ssh-hostile');
let behave = () => {};
const server = net.createServer((socket) => {
  socket.on('error', () => {});
  behave(socket);
});
let st;

// Writes make() every ms milliseconds until the client goes.
function every(socket, ms, make) {
  const timer = setInterval(() => socket.write(make()), ms);
  socket.on('close', () => clearInterval(timer));
}

const BANNER = 'SSH-2.0-OpenSSH_9.2\r\n';
const SERVERS = {
  'a banner, then silence': (s) => s.write(BANNER),
  'a banner line that never ends': (s) => every(s, 10, () => 'x'.repeat(1000)),
  'lines before the banner, without end': (s) => every(s, 5, () => 'hello there\r\n'),
  'a banner, then a byte every 200 ms': (s) => {
    s.write(BANNER);
    every(s, 200, () => '\0');
  },
  'a banner, then 100 kB of 0xff': (s) => s.write(Buffer.concat([Buffer.from(BANNER), Buffer.alloc(100000, 0xff)])),
  'a banner, then a packet of 2 GiB announced': (s) => {
    const packet = Buffer.alloc(64);
    packet.writeUInt32BE(0x7fffffff, 0);
    s.write(Buffer.concat([Buffer.from(BANNER), packet]));
  },
};

before(async () => {
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const key = join(dir, 'key');
  spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  const pub = readFileSync(`${key}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
  writeFileSync(join(dir, 'known_hosts'), `[127.0.0.1]:${server.address().port} ${pub}\n`);
  st = await startStack(join(dir, 'stack'), {
    scripts: 'shipped',
    env: {
      BREAKGLASS_DEVVM_HOST: '127.0.0.1',
      BREAKGLASS_DEVVM_PORT: String(server.address().port),
      BREAKGLASS_DEVVM_USER: 'breakglass',
      BREAKGLASS_KEY_PATH: key,
      BREAKGLASS_KNOWN_HOSTS: join(dir, 'known_hosts'),
      BREAKGLASS_SSH_CONNECT_TIMEOUT_SECONDS: String(CONNECT_TIMEOUT_S),
      BREAKGLASS_SSH_STANDBY: 'off',
    },
  });
});

after(async () => {
  await st?.close();
  server.close();
});

for (const [name, serve] of Object.entries(SERVERS)) {
  test(`${name}: devvm_shell fails within the connect limit, naming the layer`, async () => {
    behave = serve;
    const health = watchHealth(st);
    const { stream, events } = await st.runTurn([{ toolUses: [{ name: 'devvm_shell', input: { command: 'uptime' } }] }, { text: 'Done.' }], { waitMs: LIMIT_MS * 5 });
    await stream.close();
    const answers = await health.stop();
    const result = events.find((e) => e.kind === 'tool_result');
    assert.equal(result.is_error, true);
    assert.match(result.content, /^the devvm did not run the command \((kex|no_banner)\): devvm \(127\.0\.0\.1:\d+\): /);
    assert.ok(result.duration_ms < LIMIT_MS, `took ${result.duration_ms} ms`);
    assertHealthWithin(answers, 1000, 'meanwhile');
  });
}
