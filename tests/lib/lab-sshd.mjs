// A lab host's sshd as a process tree: start it, freeze it (a wedged host),
// thaw it, kill it. Used by lab.mjs and, as a script, by the fake qm's
// start/stop hooks, which run on the lab's pve host:
//
//   node lab-sshd.mjs on-start SPEC   kill what is left, mode normal, start
//   node lab-sshd.mjs on-stop SPEC    kill the sshd and everything under it
//   node lab-sshd.mjs start SPEC      start it unless it runs
//
// A spec is {config, log, pidFile, netnsFile, binds, modeFile} (a JSON file
// for the script): netnsFile is the host's network namespace as an nsfs
// file seen from where this runs (null: loopback); binds are [source,
// target] bind mounts made in sshd's mount namespace before it hides /run.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { commandLine, descendants, isLive, processEntry, processTable } from './processes.mjs';

const SSHD = '/usr/sbin/sshd';
const START_WAIT_MS = 10000;
const KILL_WAIT_MS = 10000;
const POLL_MS = 20;
const FREEZE_ROUNDS_MAX = 50;
const FREEZE_WAIT_MS = 10000;

// The sshd command line of a lab host: a private mount namespace with its
// own /run (sshd needs /run/sshd), inside the host's network namespace.
export function sshdArgv({ config, log, netnsFile, binds = [] }) {
  const mounts = binds.map((_, k) => `mount --bind "\${${3 + 2 * k}}" "\${${4 + 2 * k}}" && `).join('');
  const script = `${mounts}mount -t tmpfs tmpfs /run && mkdir -m 755 /run/sshd && exec "$0" -D -f "$1" -E "$2"`;
  const inner = ['unshare', '-m', '--propagation', 'private', 'sh', '-c', script, SSHD, config, log, ...binds.flat()];
  return netnsFile ? ['nsenter', `--net=${netnsFile}`, ...inner] : inner;
}

function signal(pid, sig) {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

// The listening sshd started with this config, or 0. The pid file can be
// stale (SIGKILL leaves it), so the pid must still run our sshd.
export function sshdPid({ pidFile, config }) {
  let pid;
  try {
    pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
    const entry = processEntry(pid);
    // The listener rewrites its argv as one title: "sshd: /usr/sbin/sshd -D -f CFG ... [listener] ...".
    return pid > 0 && isLive(entry) && commandLine(pid).includes(` -f ${config} `) ? pid : 0;
  } catch {
    return 0;
  }
}

// Stops a process and everything below it, scanning again until no new
// process appears (a stopped process cannot fork). Returns their pids once
// every one of them is stopped (or gone): SIGSTOP takes effect when the
// kernel next schedules the process, which on a busy machine is not at
// once, and a caller that looks right away must find the host frozen.
export function freezeTree(root) {
  const stopped = new Set();
  for (let round = 0; round < FREEZE_ROUNDS_MAX; round++) {
    const table = processTable();
    if (!isLive(table.get(root))) break;
    const fresh = descendants(root, table).filter((pid) => !stopped.has(pid));
    if (fresh.length === 0) break;
    for (const pid of fresh) {
      signal(pid, 'SIGSTOP');
      stopped.add(pid);
    }
  }
  const pids = [...stopped];
  const until = Date.now() + FREEZE_WAIT_MS;
  for (;;) {
    const table = processTable();
    const running = pids.filter((pid) => isLive(table.get(pid)) && table.get(pid).state !== 'T');
    if (running.length === 0) return pids;
    if (Date.now() > until) throw new Error(`lab: processes ${running.join(' ')} not stopped ${FREEZE_WAIT_MS} ms after SIGSTOP`);
    sleepSync(POLL_MS);
  }
}

// The sshd and every process below it.
export function sshdTree(spec) {
  const pid = sshdPid(spec);
  return pid ? descendants(pid, processTable()) : [];
}

export function wedgeSshd(spec) {
  const pid = sshdPid(spec);
  return pid ? freezeTree(pid) : [];
}

export function thawSshd(spec) {
  for (const p of sshdTree(spec)) signal(p, 'SIGCONT');
}

// Blocks this thread for ms (killSshd is synchronous for its callers).
function sleepSync(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

// Freezes the tree first so that no child escapes by being reparented when
// its parent dies, then kills it all, and returns once every process of it
// has ended: a SIGKILLed process goes on for a moment until the kernel
// gets to it, and whoever asks right after must not find it there.
export function killSshd(spec) {
  const pid = sshdPid(spec);
  if (!pid) return;
  const tree = freezeTree(pid);
  for (const p of tree) signal(p, 'SIGKILL');
  const until = Date.now() + KILL_WAIT_MS;
  while (Date.now() < until) {
    const table = processTable();
    if (tree.every((p) => !isLive(table.get(p)))) return;
    sleepSync(POLL_MS);
  }
  throw new Error(`lab: sshd processes ${tree.join(' ')} still there ${KILL_WAIT_MS} ms after SIGKILL`);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Starts the sshd detached and resolves with its pid once it has written
// its pid file (sshd does that after binding its listeners).
export async function startSshd(spec) {
  fs.rmSync(spec.pidFile, { force: true });
  const argv = sshdArgv(spec);
  const child = spawn(argv[0], argv.slice(1), { detached: true, stdio: 'ignore' });
  let exited = null;
  child.on('exit', (code, sig) => { exited = `exit ${code ?? sig}`; });
  child.unref();
  const until = Date.now() + START_WAIT_MS;
  while (Date.now() < until && exited === null) {
    if (sshdPid(spec) === child.pid) return child.pid;
    await sleep(POLL_MS);
  }
  signal(child.pid, 'SIGKILL');
  const log = fs.existsSync(spec.log) ? fs.readFileSync(spec.log, 'utf8').slice(-2000) : '';
  throw new Error(`sshd -f ${spec.config} did not come up (${exited ?? 'timed out'}): ${log}`);
}

async function main([action, specFile]) {
  const spec = JSON.parse(fs.readFileSync(specFile, 'utf8'));
  if (action === 'on-stop') return killSshd(spec);
  if (action === 'start') return sshdPid(spec) || startSshd(spec);
  if (action !== 'on-start') throw new Error(`lab-sshd: unknown action ${action}`);
  // A fresh QEMU: the old sshd, frozen or not, goes with the old one.
  killSshd(spec);
  fs.writeFileSync(spec.modeFile, 'normal\n');
  await startSshd(spec);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  });
}
