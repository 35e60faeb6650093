// OpenSSH as an operator runs it: each command a fresh `ssh` process,
// started by a shell, timed by the shell around it ($EPOCHREALTIME), so a
// figure holds what typing the command costs and no cost of Node's own
// process start. A ControlMaster is OpenSSH's own way to reuse one
// connection: `ssh -S socket` then opens only a channel on it.
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';

const quote = (s) => `'${String(s).replace(/'/g, "'\\''")}'`;

/** A bash that runs one command line at a time and answers its wall time (ms). */
export function timingShell() {
  const sh = spawn('bash', ['--noprofile', '--norc'], { stdio: ['pipe', 'pipe', 'inherit'] });
  let pending = '';
  const waiting = [];
  sh.stdout.setEncoding('utf8');
  sh.stdout.on('data', (text) => {
    pending += text;
    for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      const [t0, t1, status] = line.split(' ');
      waiting.shift()({ ms: (Number(t1) - Number(t0)) * 1000, status: Number(status) });
    }
  });
  return {
    /** Runs argv, its output discarded; resolves {ms, status}. */
    time: (argv) => new Promise((resolve) => {
      waiting.push(resolve);
      sh.stdin.write(`t0=$EPOCHREALTIME; ${argv.map(quote).join(' ')} </dev/null >/dev/null 2>&1; `
        + 's=$?; t1=$EPOCHREALTIME; echo "$t0 $t1 $s"\n');
    }),
    close: () => sh.stdin.end(),
  };
}

/** ssh options for a lab host: its key, pinned host key, no prompts. */
export function sshArgs(lab, host) {
  return ['-i', lab.keyPath, '-o', `UserKnownHostsFile=${lab.knownHostsPath}`, '-o', 'StrictHostKeyChecking=yes',
    '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR', '-p', String(host.port)];
}

/** A ControlMaster to host; argv(command) runs a command over it. */
export function controlMaster(lab, host, dir, name) {
  const socket = join(dir, `${name}.ctl`);
  const base = sshArgs(lab, host);
  const target = `${host.user}@${host.host}`;
  const up = spawnSync('ssh', [...base, '-M', '-S', socket, '-o', 'ControlPersist=yes', '-fN', target],
    { encoding: 'utf8', timeout: 30000 });
  if (up.status !== 0) throw new Error(`ssh ControlMaster to ${target}: ${up.stderr}`);
  return {
    argv: (command) => ['ssh', ...base, '-S', socket, '-o', 'ControlMaster=no', target, command],
    close: () => spawnSync('ssh', ['-S', socket, '-O', 'exit', target], { timeout: 10000 }),
  };
}

/** A fresh connection per command. */
export const freshArgv = (lab, host, command) => ['ssh', ...sshArgs(lab, host), `${host.user}@${host.host}`, command];
