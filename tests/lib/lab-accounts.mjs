// The devvm's `breakglass` user and its passwordless sudo. They are
// machine-wide, and labs in other processes may use them at the same time,
// so each lab registers itself under REGISTRY and the last one out removes
// what a lab created (never a user or file that was there before).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const DEVVM_USER = 'breakglass';
const REGISTRY = '/run/breakglass-lab';
const LABS = path.join(REGISTRY, 'labs');
const CREATED_USER = path.join(REGISTRY, 'created-user');
const CREATED_SUDOERS = path.join(REGISTRY, 'created-sudoers');
const SUDOERS = '/etc/sudoers.d/breakglass-lab';

function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr.trim() || r.error}`);
}

const userExists = () => spawnSync('id', ['-u', DEVVM_USER]).status === 0;

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function acquireDevvmAccount(labId) {
  fs.mkdirSync(LABS, { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(LABS, labId), `${process.pid}\n`);
  if (!userExists()) {
    // Another lab may add it between our check and useradd: exit 9.
    const r = spawnSync('useradd', ['-m', '-s', '/bin/bash', DEVVM_USER], { encoding: 'utf8' });
    if (r.status !== 0 && r.status !== 9) throw new Error(`useradd: ${r.stderr.trim()}`);
    if (r.status === 0) {
      fs.writeFileSync(CREATED_USER, '');
      // UsePAM no refuses a locked ('!') account; '*' is key-only.
      run('usermod', ['-p', '*', DEVVM_USER]);
    }
  }
  if (!fs.existsSync(SUDOERS)) {
    fs.mkdirSync(path.dirname(SUDOERS), { recursive: true, mode: 0o755 });
    fs.writeFileSync(SUDOERS, `${DEVVM_USER} ALL=(ALL:ALL) NOPASSWD: ALL\n`, { mode: 0o440 });
    fs.writeFileSync(CREATED_SUDOERS, '');
  }
}

// Labs whose process is gone (killed without cleanup) do not count.
function otherLiveLabs(labId) {
  let names = [];
  try {
    names = fs.readdirSync(LABS);
  } catch {
    return 0;
  }
  let live = 0;
  for (const name of names) {
    if (name === labId) continue;
    let pid = 0;
    try {
      pid = Number(fs.readFileSync(path.join(LABS, name), 'utf8'));
    } catch {
      continue; // released meanwhile
    }
    if (isAlive(pid)) live++;
    else fs.rmSync(path.join(LABS, name), { force: true });
  }
  return live;
}

export function releaseDevvmAccount(labId) {
  const others = otherLiveLabs(labId);
  fs.rmSync(path.join(LABS, labId), { force: true });
  if (others > 0) return;
  if (fs.existsSync(CREATED_SUDOERS)) {
    fs.rmSync(SUDOERS, { force: true });
    fs.rmSync(CREATED_SUDOERS);
  }
  if (fs.existsSync(CREATED_USER)) {
    spawnSync('userdel', ['-r', DEVVM_USER], { stdio: 'ignore' });
    fs.rmSync(CREATED_USER);
  }
}
