// podman for the image test, with the flags Debian 12's podman needs on
// this kind of host (scripts/image.sh uses the same): the vfs storage,
// cgroupfs, runc (crun fails on the host's cgroup layout), and ulimits the
// host accepts for containers.
import { spawnSync } from 'node:child_process';

export const PODMAN_GLOBAL = ['--storage-driver', 'vfs', '--cgroup-manager=cgroupfs', '--runtime', 'runc'];
export const PODMAN_ULIMITS = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024'];
const PODMAN_CALL_MS = 120000;

/** Runs podman ...args; {status, stdout, stderr}. Throws on a failure unless allowFail. */
export function podman(args, { allowFail = false, timeoutMs = PODMAN_CALL_MS } = {}) {
  const r = spawnSync('podman', [...PODMAN_GLOBAL, ...args], { encoding: 'utf8', timeout: timeoutMs });
  const out = { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  if (!allowFail && r.status !== 0) {
    throw new Error(`podman ${args.join(' ')}: ${r.error?.message ?? `exit ${r.status}`}: ${out.stderr.trim()}`);
  }
  return out;
}

/** Why podman cannot run here (a sentence), or null when it can. */
export function podmanUnavailable() {
  const r = spawnSync('podman', [...PODMAN_GLOBAL, 'info', '--format', '{{.Host.OCIRuntime.Name}}'],
    { encoding: 'utf8', timeout: PODMAN_CALL_MS });
  if (r.error?.code === 'ENOENT') return 'podman is not installed (scripts/setup.sh installs it)';
  if (r.status !== 0) return `podman info failed: ${(r.stderr || String(r.error)).trim()}`;
  return null;
}
