// Network namespaces for the lab's hosts: one per host, each joined to the
// root namespace by a veth pair, addressed from 198.18.0.0/15 (RFC 2544
// benchmarking space, never routed) and nothing else. A lab takes one /29:
// a /30 per host, .1/.5 on the host side and .2/.6 inside.
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';

const BENCH_BASE = (198 << 24) | (18 << 16); // 198.18.0.0
const BENCH_SLOTS = (1 << 17) / 8; // /29s in the /15
const SLOT_TRIES_MAX = 20;

function ip(args, { check = true } = {}) {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (check && r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim() || r.error}`);
  return r;
}

const dotted = (n) => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

// A /29 of which no address is on any interface of the root namespace
// (another lab's, most likely).
function freeSlot() {
  const used = ip(['-o', '-4', 'addr', 'show']).stdout;
  for (let i = 0; i < SLOT_TRIES_MAX; i++) {
    const base = (BENCH_BASE + 8 * crypto.randomInt(BENCH_SLOTS)) >>> 0;
    const taken = [...Array(8).keys()].some((k) => used.includes(` ${dotted(base + k)}/`));
    if (!taken) return base;
  }
  throw new Error('no free /29 in 198.18.0.0/15');
}

// Creates the namespaces bg-lab-<id>-devvm and -pve, or returns null when
// this machine does not let us add one. Throws on any later failure (after
// undoing what it made).
export function createLabNet(id) {
  const probe = ip(['netns', 'add', `bg-lab-${id}-devvm`], { check: false });
  if (probe.status !== 0) return null;
  const net = {
    id,
    hosts: {
      devvm: { ns: `bg-lab-${id}-devvm`, veth: `bgl${id}d` },
      pve: { ns: `bg-lab-${id}-pve`, veth: `bgl${id}p` },
    },
  };
  try {
    ip(['netns', 'add', net.hosts.pve.ns]);
    const base = freeSlot();
    Object.values(net.hosts).forEach((h, k) => {
      h.hostAddr = dotted(base + 4 * k + 1);
      h.addr = dotted(base + 4 * k + 2);
      ip(['link', 'add', h.veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', h.ns]);
      ip(['addr', 'add', `${h.hostAddr}/30`, 'dev', h.veth]);
      ip(['link', 'set', h.veth, 'up']);
      ip(['-n', h.ns, 'addr', 'add', `${h.addr}/30`, 'dev', 'eth0']);
      ip(['-n', h.ns, 'link', 'set', 'eth0', 'up']);
      ip(['-n', h.ns, 'link', 'set', 'lo', 'up']);
    });
  } catch (e) {
    deleteLabNet(net);
    throw e;
  }
  return net;
}

// Deletes the veths and namespaces; quiet about what is already gone.
export function deleteLabNet(net) {
  for (const h of Object.values(net.hosts)) {
    ip(['link', 'del', h.veth], { check: false });
    ip(['netns', 'del', h.ns], { check: false });
  }
}
