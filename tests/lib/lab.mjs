// The lab's hosts: real OpenSSH sshd processes playing the devvm (user
// `breakglass`, passwordless sudo) and the Proxmox host (root, whose only
// key runs the real breakglass-pve against tests/lab/fake-qm for VM 102).
// The fake VM's state is the devvm's: qm stop kills the devvm's sshd, qm
// start starts a fresh one, and a wedged VM is a SIGSTOPped sshd.
//
// Each host gets its own network namespace (198.18.0.0/15 addresses) when
// `ip netns add` works, else a port on 127.0.0.1. Runs as root.
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEVVM_USER, acquireDevvmAccount, releaseDevvmAccount } from './lab-accounts.mjs';
import { createLabNet, deleteLabNet } from './lab-net.mjs';
import { killSshd, sshdPid, sshdTree, startSshd, thawSshd, wedgeSshd } from './lab-sshd.mjs';
import { hasOption, processesWhere } from './processes.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SOURCE_DIR = process.env.BREAKGLASS_SOURCE_DIR || path.resolve(HERE, '../..');
const FAKE_QM = path.join(SOURCE_DIR, 'tests', 'lab', 'fake-qm');
// fake-qm is CommonJS without an extension; under the repository's
// package.json ("type": "module") `node fake-qm` would load it as ESM.
const FAKE_QM_ARGV = [process.execPath, '-e', 'require(process.argv[1])', '--', FAKE_QM];
const LAB_SSHD = path.join(HERE, 'lab-sshd.mjs');
const VMID = '102';
const PVE_USER = 'root';
const ROOT_BASHRC = '/root/.bashrc';
const PVE_HOOK_LIMIT_MS = 30000;

// breakglass-pve's limits in the lab: short, so a wedged cycle takes seconds.
const PVE_SETTINGS = {
  vmid: VMID,
  step_timeout_seconds: '2',
  stop_wait_seconds: '2',
  lock_wait_seconds: '10',
  verb_timeout_seconds: '60',
  diskstats_interval_ms: '50',
};
const FAKE_QM_DELAYS = {
  FAKE_QM_QMP_DELAY_MS: '100',
  FAKE_QM_RESET_DELAY_MS: '300',
  FAKE_QM_MONITOR_DELAY_MS: '300',
};

const liveLabs = new Set();
process.on('exit', () => {
  for (const lab of liveLabs) stopLab(lab);
});

function pveBinPath() {
  if (process.env.BREAKGLASS_PVE_BIN) return process.env.BREAKGLASS_PVE_BIN;
  const sibling = process.env.BREAKGLASS_BIN && path.join(path.dirname(process.env.BREAKGLASS_BIN), 'breakglass-pve');
  return sibling && fs.existsSync(sibling) ? sibling : path.join(SOURCE_DIR, 'build', 'breakglass-pve');
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr.trim() || r.error}`);
  return r.stdout;
}

// Paths go into sh scripts and authorized_keys options between quotes.
function plainPath(p) {
  const abs = path.resolve(p);
  if (!/^\/[A-Za-z0-9._/+-]*$/.test(abs)) throw new Error(`lab: unsupported characters in path ${abs}`);
  return abs;
}

function keygen(file, comment) {
  run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
  return fs.readFileSync(`${file}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
}

async function freeLoopbackPort() {
  const server = net.createServer();
  await new Promise((resolve, reject) => server.listen(0, '127.0.0.1', resolve).on('error', reject));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function sshdConfig(h, user) {
  return [
    `ListenAddress ${h.addr}`, `Port ${h.port}`, `HostKey ${h.hostKey}`, `PidFile ${h.pidFile}`,
    `AuthorizedKeysFile ${h.authorizedKeys}`, `AllowUsers ${user}`, 'PermitRootLogin prohibit-password',
    'StrictModes no', 'UsePAM no', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no',
    'PrintMotd no', 'PrintLastLog no', 'LogLevel VERBOSE', '',
  ].join('\n');
}

const knownHostsName = (h) => (h.port === 22 ? h.addr : `[${h.addr}]:${h.port}`);

function readOr(file, fallback) {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return fallback;
  }
}

// Every dummy QEMU of this fake VM, found by its cmdline: one may outlive
// the pid file that named it.
function dummyQemuPids(stateDir) {
  return processesWhere((argv) => hasOption(argv, '-fake-state', stateDir));
}

// Runs argv on the pve host (its mount and network namespaces), where the
// fake qm's hooks also run.
function runOnPve(lab, argv) {
  const pid = sshdPid(lab.pveSpec);
  if (!pid) return Promise.reject(new Error('lab: the pve sshd is not running'));
  const ns = lab.net ? ['-m', '-n'] : ['-m'];
  return new Promise((resolve, reject) => {
    const child = spawn('nsenter', ['-t', String(pid), ...ns, '--', ...argv], { stdio: ['ignore', 'ignore', 'pipe'] });
    const err = [];
    child.stderr.on('data', (d) => err.push(d));
    const limit = setTimeout(() => child.kill('SIGKILL'), PVE_HOOK_LIMIT_MS);
    child.on('error', reject);
    child.on('close', (code, sig) => {
      clearTimeout(limit);
      if (code === 0) resolve();
      else reject(new Error(`on pve: ${argv.join(' ')}: ${code ?? sig}: ${Buffer.concat(err)}`));
    });
  });
}

function writePve(lab, { pveSettings, fakeQmDelays, clientPub, bin }) {
  const d = path.join(lab.dir, 'pve');
  const state = path.join(d, 'qm-state');
  const [node, script, spec] = [process.execPath, LAB_SSHD, lab.devvmSpecFile].map(plainPath);
  const hook = (action) => `${node} ${script} ${action} ${spec}`;
  const fakeEnv = {
    FAKE_QM_STATE: state,
    FAKE_QM_PIDDIR: path.join(d, 'run'),
    FAKE_QM_ON_START: hook('on-start'),
    FAKE_QM_ON_STOP: hook('on-stop'),
    ...FAKE_QM_DELAYS,
    ...fakeQmDelays,
  };
  for (const v of Object.values(fakeEnv)) if (/['\n]/.test(v)) throw new Error(`lab: bad fake qm setting ${v}`);
  const qm = path.join(d, 'qm');
  // breakglass-pve runs qm with a scrubbed environment.
  fs.writeFileSync(qm, ['#!/bin/sh', ...Object.entries(fakeEnv).map(([k, v]) => `export ${k}='${v}'`),
    `exec ${FAKE_QM_ARGV.map((a) => `'${a}'`).join(' ')} "$@"`, ''].join('\n'), { mode: 0o755 });
  const init = spawnSync(FAKE_QM_ARGV[0], [...FAKE_QM_ARGV.slice(1), '--fake-init'], { env: fakeEnv, encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`fake-qm --fake-init: ${init.stderr}`);

  const settings = {
    ...PVE_SETTINGS, qm, log: path.join(d, 'breakglass-pve.log'), lock: path.join(d, 'breakglass-pve.lock'),
    pid_file_dir: fakeEnv.FAKE_QM_PIDDIR, ...pveSettings,
  };
  fs.writeFileSync(settings.lock, '', { mode: 0o600 });
  fs.writeFileSync(path.join(d, 'pve.conf'), Object.entries(settings).map(([k, v]) => `${k} = ${v}\n`).join(''), { mode: 0o600 });
  const from = lab.net ? `,from="${lab.net.hosts.pve.hostAddr}"` : '';
  fs.writeFileSync(lab.pve.authorizedKeys,
    `command="${bin} --config ${path.join(d, 'pve.conf')}",restrict${from} ${clientPub} breakglass-lab\n`);
  Object.assign(lab, { qmState: state, pveLogFile: settings.log, vmPidFile: path.join(fakeEnv.FAKE_QM_PIDDIR, `${VMID}.pid`) });
}

async function setUpHosts(lab, opts) {
  const { dir } = lab;
  const bin = plainPath(opts.pveBin ?? pveBinPath());
  if (!fs.existsSync(bin)) throw new Error(`lab: no breakglass-pve at ${bin}`);
  const clientPub = keygen(lab.keyPath, 'breakglass-lab');
  for (const [name, h] of [['devvm', lab.devvm], ['pve', lab.pve]]) {
    // sshd reads authorized_keys as the user: the devvm's user must get there.
    fs.mkdirSync(path.join(dir, name), { mode: 0o711 });
    Object.assign(h, {
      hostKey: path.join(dir, name, 'ssh_host_ed25519_key'),
      pidFile: path.join(dir, name, 'sshd.pid'),
      authorizedKeys: path.join(dir, name, 'authorized_keys'),
      config: path.join(dir, name, 'sshd_config'),
      log: path.join(dir, name, 'sshd.log'),
    });
    h.hostPub = keygen(h.hostKey, `lab-${name}`);
    if (lab.net) Object.assign(h, { addr: lab.net.hosts[name].addr, port: 22 });
    else Object.assign(h, { addr: '127.0.0.1', port: await freeLoopbackPort() });
    fs.writeFileSync(h.config, sshdConfig(h, name === 'devvm' ? DEVVM_USER : PVE_USER));
  }
  fs.writeFileSync(lab.devvm.authorizedKeys, `${clientPub} breakglass-lab\n`, { mode: 0o644 });
  fs.writeFileSync(lab.knownHostsPath, [lab.devvm, lab.pve].map((h) => `${knownHostsName(h)} ${h.hostPub}\n`).join(''));

  // The hooks run on the pve host, where /run (and /run/netns with it) is
  // hidden: its sshd's mount namespace gets the devvm's namespace bound here.
  const devvmNetns = path.join(dir, 'devvm', 'netns');
  if (lab.net) fs.writeFileSync(devvmNetns, '');
  // The lab's Proxmox root is this machine's root, and bash reads ~/.bashrc
  // for every command sshd runs: a developer's shell setup there (pyenv,
  // say) would run before each forced command, which a real host's root
  // does not do. The pve sshd sees an empty one.
  const pveBinds = lab.net ? [[`/run/netns/${lab.net.hosts.devvm.ns}`, devvmNetns]] : [];
  if (fs.existsSync(ROOT_BASHRC)) {
    const empty = path.join(dir, 'pve', 'bashrc');
    fs.writeFileSync(empty, '');
    pveBinds.push([empty, ROOT_BASHRC]);
  }
  lab.pveSpec = {
    config: lab.pve.config, log: lab.pve.log, pidFile: lab.pve.pidFile,
    netnsFile: lab.net ? `/run/netns/${lab.net.hosts.pve.ns}` : null,
    binds: pveBinds,
  };
  lab.devvmSpecFile = path.join(dir, 'devvm', 'spec.json');
  writePve(lab, { ...opts, clientPub, bin });
  lab.devvmSpec = {
    config: lab.devvm.config, log: lab.devvm.log, pidFile: lab.devvm.pidFile,
    netnsFile: lab.net ? devvmNetns : null, binds: [], modeFile: path.join(lab.qmState, 'mode'),
  };
  fs.writeFileSync(lab.devvmSpecFile, JSON.stringify(lab.devvmSpec));

  await startSshd(lab.pveSpec);
  await runOnPve(lab, [path.join(dir, 'pve', 'qm'), 'start', VMID]);
  // fake-qm ignores how its hooks end: check that the devvm came up.
  if (!sshdPid(lab.devvmSpec)) throw new Error(`lab: the devvm's sshd did not start: ${readOr(lab.devvm.log, '(no log)')}`);
  fs.writeFileSync(path.join(lab.qmState, 'calls.log'), '');
}

function stopLab(lab) {
  if (lab.stopped) return;
  lab.stopped = true;
  liveLabs.delete(lab);
  // Everything below is cleaned up even when an sshd would not die.
  const problems = [];
  for (const spec of [lab.devvmSpec, lab.pveSpec]) {
    try {
      if (spec) killSshd(spec);
    } catch (e) {
      problems.push(e);
    }
  }
  for (const pid of lab.qmState ? dummyQemuPids(lab.qmState) : []) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  if (lab.net) deleteLabNet(lab.net);
  releaseDevvmAccount(lab.id);
  if (lab.ownDir) fs.rmSync(lab.dir, { recursive: true, force: true });
  if (problems.length) throw problems[0];
}

/**
 * Starts the lab. Options: dir (default: a fresh temporary folder, removed
 * by stop()), wedgeable (false: wedge() refuses), useNetns ('auto', true or
 * false), pveSettings (breakglass-pve config keys), fakeQmDelays (FAKE_QM_*
 * delays), pveBin. Resolves once both hosts answer and VM 102 runs.
 */
export async function startLab({ dir, wedgeable = true, useNetns = 'auto', pveSettings = {}, fakeQmDelays = {}, pveBin } = {}) {
  const id = crypto.randomBytes(3).toString('hex');
  const lab = { id, ownDir: !dir, stopped: false, devvm: {}, pve: {} };
  lab.dir = plainPath(dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'bg-lab-')));
  fs.mkdirSync(lab.dir, { recursive: true });
  fs.chmodSync(lab.dir, 0o711);
  lab.keyPath = path.join(lab.dir, 'breakglass_key');
  lab.knownHostsPath = path.join(lab.dir, 'known_hosts');
  liveLabs.add(lab);
  try {
    acquireDevvmAccount(id);
    if (useNetns) {
      lab.net = createLabNet(id);
      if (!lab.net && useNetns !== 'auto') throw new Error('lab: `ip netns add` is not permitted here');
    }
    await setUpHosts(lab, { pveSettings, fakeQmDelays, pveBin });
  } catch (e) {
    stopLab(lab);
    throw e;
  }
  const host = (h, user) => ({ host: h.addr, port: h.port, user });
  const requireWedgeable = () => {
    if (!wedgeable) throw new Error('lab: started with wedgeable: false');
  };
  return {
    dir: lab.dir,
    netns: lab.net ? { devvm: lab.net.hosts.devvm.ns, pve: lab.net.hosts.pve.ns } : null,
    devvm: host(lab.devvm, DEVVM_USER),
    pve: host(lab.pve, PVE_USER),
    keyPath: lab.keyPath,
    knownHostsPath: lab.knownHostsPath,
    env: () => ({
      BREAKGLASS_DEVVM_HOST: lab.devvm.addr,
      BREAKGLASS_DEVVM_PORT: String(lab.devvm.port),
      BREAKGLASS_DEVVM_USER: DEVVM_USER,
      BREAKGLASS_PVE_HOST: lab.pve.addr,
      BREAKGLASS_PVE_PORT: String(lab.pve.port),
      BREAKGLASS_PVE_USER: PVE_USER,
      BREAKGLASS_KEY_PATH: lab.keyPath,
      BREAKGLASS_KNOWN_HOSTS: lab.knownHostsPath,
    }),
    // The VM wedges: QMP stops answering and every devvm sshd process stops
    // (TCP still accepts; no banner).
    wedge: () => {
      requireWedgeable();
      fs.writeFileSync(lab.devvmSpec.modeFile, 'wedged\n');
      return wedgeSshd(lab.devvmSpec);
    },
    unwedge: () => {
      fs.writeFileSync(lab.devvmSpec.modeFile, 'normal\n');
      thawSshd(lab.devvmSpec);
    },
    // The Proxmox host's sshd stops (TCP accepts, no banner): the host
    // is unreachable while VM 102 goes on as it was.
    freezePve: () => wedgeSshd(lab.pveSpec),
    thawPve: () => thawSshd(lab.pveSpec),
    killDevvmSshd: () => killSshd(lab.devvmSpec),
    startDevvmSshd: () => runOnPve(lab, [process.execPath, LAB_SSHD, 'start', lab.devvmSpecFile]),
    devvmSshdPid: () => sshdPid(lab.devvmSpec),
    vmState: () => {
      const pid = Number(readOr(lab.vmPidFile, '0').trim());
      const running = pid > 0 && dummyQemuPids(lab.qmState).includes(pid);
      return { status: running ? 'running' : 'stopped', mode: readOr(lab.devvmSpec.modeFile, 'normal\n').trim() };
    },
    // Every process the lab runs: both sshd trees and the dummy QEMU.
    pids: () => [...sshdTree(lab.devvmSpec), ...sshdTree(lab.pveSpec), ...dummyQemuPids(lab.qmState)],
    qmCalls: () => readOr(path.join(lab.qmState, 'calls.log'), '').split('\n').filter(Boolean)
      .map((l) => l.slice(l.indexOf(' ') + 1)),
    pveLog: () => readOr(lab.pveLogFile, ''),
    // The fake VM's config, `key: value` lines that qm config prints.
    qmConfigFile: path.join(lab.qmState, 'config'),
    stop: () => stopLab(lab),
  };
}
