// A property test of confirm_destructive.lua through the binary: 1,000
// generated spellings of destructive commands (quoting, escaping, $'...',
// absolute paths, prefixes such as sudo / env / nice / timeout / xargs,
// wrappers such as bash -c / sh -c / su -c / ssh / watch, pipelines, lists
// and control structures, nested up to three deep, redirections and tee)
// must all ask, and of 1,000 generated everyday diagnostics at most 1% may;
// 1,000 lines of shell syntax glued at random must never make it fail.
// A few lines at the parser's bounds (8 KiB, deep nesting, thousands of
// words) must ask too, under the default Lua limits, rather than fail.
//
// Each set is written as a session journal of devvm_shell calls recorded as
// allowed, and `breakglass replay --json` walks it through the shipped
// policies with the fake tools: the same gate the daemon runs, one policy
// entry (with its own limits) per call, 2,000 calls in about a second.
//
// The spellings come from a seeded PRNG: DESTRUCTIVE_PROPERTY_SEED=<n>
// replays a run; a failure names the seed and the lines.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { prng } from '../../lib/prng.mjs';
import { makePolicyScripts } from '../../fixtures/lua/policy_fake_tools/scripts.mjs';
import { scratchDir } from '../../lib/scratch.mjs';

const dir = scratchDir('destructive-property-test');

const CASES = 1000;
const MAX_NESTING = 3;
const MAX_EVERYDAY_ASKING = CASES / 100;
// devvm_shell's input schema.
const MAX_COMMAND_CHARS = 8192;
const REPLAY_TIMEOUT_MS = 120000;
const SEED = Number(process.env.DESTRUCTIVE_PROPERTY_SEED ?? Math.floor(Math.random() * 2 ** 31));

// --- destructive spellings ---------------------------------------------------

// Commands that must ask whatever their spelling.
const CORES = [
  ['reboot'], ['poweroff'], ['halt', '-p'], ['shutdown', '-r', 'now'], ['systemctl', 'reboot'],
  ['systemctl', '--force', 'poweroff'], ['systemctl', 'start', 'reboot.target'],
  ['systemctl', 'isolate', 'rescue.target'], ['loginctl', 'reboot'], ['telinit', '6'], ['init', '0'],
  ['kill', '-9', '1'], ['kill', '-KILL', '1'], ['kill', '--', '-1'], ['pkill', '-9', 'sshd'],
  ['killall', 'systemd'], ['rm', '-rf', '/'], ['rm', '-rf', '//'], ['rm', '-rf', '/.'],
  ['rm', '-fr', '/*'], ['rm', '-r', '-f', '--no-preserve-root', '/'], ['rm', '-rf', '/etc'],
  ['rm', '-rf', '/usr/lib'], ['rm', '-rf', '/home/breakglass/.ssh'], ['rm', '-Rf', '/var/lib'],
  ['mke2fs', '/dev/vdb'], ['mkfs.ext4', '/dev/vda1'], ['mkfs', '-t', 'xfs', '/dev/sdb'],
  ['wipefs', '-a', '/dev/sda'], ['dd', 'if=/dev/zero', 'of=/dev/vda', 'bs=1M'],
  ['shred', '-n1', '/dev/nvme0n1'], ['mkswap', '/dev/vdc'], ['fdisk', '/dev/vda'],
  ['sgdisk', '-Z', '/dev/sda'], ['systemctl', 'stop', 'ssh'], ['systemctl', 'disable', '--now', 'sshd'],
  ['chmod', '-R', '000', '/'], ['chown', '-R', 'nobody', '/etc'], ['mv', '/etc', '/etc.old'],
  ['userdel', 'breakglass'], ['crontab', '-r'], ['ip', 'link', 'set', 'eth0', 'down'],
  ['cp', '/dev/zero', '/dev/sda'], ['iptables', '-P', 'INPUT', 'DROP'], ['rmmod', 'virtio_net'],
  ['systemctl', 'kill', 'init.scope'], ['pkill', '-P', '1'], ['ln', '-sf', '/dev/vda', '/tmp/disk'],
];
// Files that a redirection, tee or dd must not write.
const TARGETS = ['/proc/sysrq-trigger', '/dev/vda', '/dev/sda', '/dev/nvme0n1', '/dev/mapper/vg-root',
  '/etc/passwd', '/sys/power/state', '/etc/sudoers', '/root/.ssh/authorized_keys'];
// Words put before a command.
const PREFIXES = [
  ['sudo'], ['sudo', '-u', 'root'], ['sudo', '-E'], ['sudo', '--'], ['sudo', '-n', '-H'], ['env'],
  ['env', 'FOO=1'], ['env', '-i'], ['nice'], ['nice', '-n', '5'], ['nohup'], ['timeout', '10'],
  ['timeout', '-s', 'KILL', '5'], ['stdbuf', '-oL'], ['ionice', '-c3'], ['command'], ['time'],
  ['setsid'], ['doas'], ['chroot', '/'], ['taskset', '-c', '0'], ['flock', '/tmp/l'],
  ['xargs'], ['busybox'], ['exec'], ['chrt', '-o', '0'], ['systemd-run'], ['setpriv', '--reuid=0'],
  ['numactl', '-N', '0'], ['unbuffer'], ['faketime', '2020-01-01'], ['sg', 'root'],
];
const SBIN = ['/sbin/', '/usr/sbin/', '/bin/', '/usr/bin/'];

const pick = (rand, list) => list[Math.floor(rand() * list.length)];
const singleQuoted = (s) => `'${s.replace(/'/g, "'\\''")}'`;
const doubleQuoted = (s) => `"${s.replace(/[\\"$`]/g, '\\$&')}"`;
const ansiQuoted = (s) => `$'${[...s].map((c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join('')}'`;

/** One piece of a word, spelled one of several ways bash reads alike. */
function spellPiece(rand, piece) {
  const r = rand();
  if (r < 0.3) return piece.replace(/[^\w/.=:,+@%-]/g, '\\$&');
  if (r < 0.45) return singleQuoted(piece);
  if (r < 0.6) return doubleQuoted(piece);
  if (r < 0.7) return ansiQuoted(piece);
  if (r < 0.8) return piece.replace(/\w/g, (c) => (rand() < 0.3 ? `\\${c}` : c)).replace(/[^\w/.=:,+@%\\-]/g, '\\$&');
  return `${singleQuoted('')}${piece.replace(/[^\w/.=:,+@%-]/g, '\\$&')}`;
}

/** A word spelled in one to three pieces; globs stay unquoted. */
function spellWord(rand, word) {
  if (/[*?[]/.test(word) || word === '') return word;
  const n = 1 + Math.floor(rand() * Math.min(3, word.length));
  const cuts = [0];
  for (let k = 1; k < n; k++) cuts.push(1 + Math.floor(rand() * (word.length - 1)));
  cuts.push(word.length);
  cuts.sort((a, b) => a - b);
  return cuts.slice(1).map((end, k) => spellPiece(rand, word.slice(cuts[k], end))).join('');
}

const blank = (rand) => pick(rand, [' ', ' ', ' ', '  ', '\t']);

/** A simple command from words: maybe a folder before the name, maybe prefixes. */
function simple(rand, words) {
  const w = [...words];
  if (rand() < 0.25 && !w[0].includes('/')) w[0] = pick(rand, SBIN) + w[0];
  let all = w.map((x) => spellWord(rand, x));
  const prefixes = Math.floor(rand() * 3);
  for (let k = 0; k < prefixes; k++) all = [...pick(rand, PREFIXES).map((x) => spellWord(rand, x)), ...all];
  // An assignment for the shell only comes first, and unquoted: quoted,
  // bash runs it as a command name (and env takes it either way).
  if (rand() < 0.15) all = ['FOO=bar', ...all];
  return all.join(blank(rand));
}

/** A line whose danger is one command, a redirection, tee or dd. */
function destructiveLine(rand) {
  const r = rand();
  if (r < 0.6) return simple(rand, pick(rand, CORES));
  const target = pick(rand, TARGETS);
  const t = spellWord(rand, target);
  if (r < 0.72) return pick(rand, [`${simple(rand, ['echo', 'b'])} > ${t}`, `${simple(rand, ['echo', 'b'])} >>${t}`,
    `>${t} ${simple(rand, ['echo', 'b'])}`, `${simple(rand, ['printf', 'c'])} 1>${t}`, `${simple(rand, ['echo', 'o'])} &> ${t}`]);
  if (r < 0.88) return `${simple(rand, ['echo', 'b'])} | ${simple(rand, pick(rand, [['tee', target], ['tee', '-a', target]]))}`;
  return `cat /dev/zero | ${simple(rand, ['dd', `of=${target}`])}`;
}

/** line inside a wrapper or structure; the inner line still runs. */
function wrapLine(rand, line) {
  const quote = rand() < 0.5 ? singleQuoted : doubleQuoted;
  return pick(rand, [
    () => `bash -c ${quote(line)}`, () => `sh -c ${quote(line)}`, () => `su -c ${quote(line)}`,
    () => `sudo bash -c ${quote(line)}`, () => `su - root -c ${quote(line)}`, () => `sudo sh -c ${quote(line)}`,
    () => `dash -c ${quote(line)}`, () => `bash -lc ${quote(line)}`, () => `ssh localhost ${quote(line)}`,
    () => `flock /tmp/l -c ${quote(line)}`, () => `watch -n 60 ${quote(line)}`, () => `sudo -i -- sh -c ${quote(line)}`,
    () => `if true; then ${line}; fi`, () => `if false; then :; else ${line}; fi`,
    () => `while true; do ${line}; break; done`, () => `for i in 1; do ${line}; done`,
    () => `case x in x) ${line};; esac`, () => `{ ${line}; }`, () => `( ${line} )`, () => `true && ${line}`,
    () => `false || ${line}`, () => `uptime; ${line}`, () => `${line} &`, () => `${line}\necho done`,
    () => `( ${line} ) | cat`, () => `! ${line}`, () => `x=$( ${line} )`, () => `echo \`${line}\``,
    () => `eval ${quote(line)}`, () => `trap ${quote(line)} EXIT`,
  ])();
}

function destructive(rand) {
  let line = destructiveLine(rand);
  const depth = Math.floor(rand() * (MAX_NESTING + 1));
  for (let k = 0; k < depth; k++) line = wrapLine(rand, line);
  return line;
}

// --- everyday diagnostics ------------------------------------------------------

const SERVICES = ['nginx', 'ssh', 'docker', 'postgresql', 'systemd-journald', 'cron', 'containerd'];
const UNITS = ['minute', 'hour', 'hours', 'day', 'days'];
const LOGS = ['/var/log/syslog', '/var/log/kern.log', '/var/log/auth.log', '/var/log/dpkg.log'];

function everydayCommand(rand) {
  const n = () => 1 + Math.floor(rand() * 200);
  const svc = pick(rand, SERVICES);
  const log = pick(rand, LOGS);
  return pick(rand, [
    () => `journalctl -u ${svc} --since "${n()} ${pick(rand, UNITS)} ago"${rand() < 0.5 ? ' --no-pager' : ''}${rand() < 0.5 ? ` | tail -n ${n()}` : ''}`,
    () => `journalctl -p err -b${rand() < 0.5 ? ' -1' : ''} --no-pager | tail -n ${n()}`,
    () => `df -h${rand() < 0.5 ? ' /' : ''}`, () => `df -i`, () => `systemctl status ${svc}${rand() < 0.5 ? ' --no-pager' : ''}`,
    () => `systemctl is-active ${svc}`, () => 'systemctl --failed', () => `dmesg${rand() < 0.5 ? ' -T' : ''} | tail -n ${n()}`,
    () => `ps aux | grep ${svc}`, () => `ps aux --sort=-%mem | head -n ${n()}`, () => `cat /proc/${pick(rand, ['meminfo', 'loadavg', 'cpuinfo', 'mounts', 'pressure/memory'])}`,
    () => 'free -m', () => 'uptime', () => `ip addr${rand() < 0.5 ? ' show eth0' : ''}`, () => 'ip route', () => 'ss -tlnp',
    () => `top -bn1 | head${rand() < 0.5 ? ` -n ${n()}` : ''}`, () => `ls -la /var/log${rand() < 0.5 ? '/journal' : ''}`,
    () => `grep -r error ${log} | tail`, () => `grep -i -c "out of memory" ${log}`, () => `du -sh /var/*${rand() < 0.5 ? ' 2>/dev/null' : ''}${rand() < 0.5 ? ' | sort -h' : ''}`,
    () => `iostat${rand() < 0.5 ? ' -x 1 3' : ''}`, () => 'cat /etc/os-release', () => 'vmstat 1 5', () => 'lsblk',
    () => `tail -n ${n()} ${log}`, () => 'uname -a', () => 'last -n 10', () => 'who', () => 'hostnamectl',
    () => `find /var/log -name '*.gz' -mtime +${n()}`, () => `stat ${log}`, () => 'cat /proc/sys/kernel/sysrq',
  ])();
}

function everyday(rand) {
  let line = everydayCommand(rand);
  if (rand() < 0.25 && !line.startsWith('sudo')) line = `sudo ${line}`;
  if (rand() < 0.15) line = `${line}${pick(rand, ['; ', ' && ', ' || '])}${everydayCommand(rand)}`;
  return line;
}

// --- the parser's bounds ------------------------------------------------------

const BOUNDS = [
  `${'a;'.repeat(3000)}reboot`, `${'( '.repeat(100)}reboot${' )'.repeat(100)}`,
  `${'sudo '.repeat(1600)}reboot`, `${'$('.repeat(200)}reboot${')'.repeat(200)}`,
  `echo ${'a'.repeat(8000)}; reboot`, `rm -rf ${'/var/log/*.gz '.repeat(580)}/`,
  `${'`a` '.repeat(1900)}; reboot`, `${'echo "$x" '.repeat(800)}; reboot`, `cat <<E\n${'x\n'.repeat(3500)}E\nreboot`,
  `${'if a; then '.repeat(700)}reboot`, `${'{ '.repeat(3000)}reboot`, `${'x=1 '.repeat(2000)}reboot`,
];

// --- arbitrary text ---------------------------------------------------------------

// Pieces of shell syntax, glued at random: most results are not valid
// shell, and none may make the policy fail.
const SHARDS = ['a', 'reboot', ' ', '\t', '\n', ';', '&', '|', '(', ')', '{', '}', '<', '>', "'", '"', '\\',
  '$', '`', '*', '?', '[', ']', '#', '~', '=', '-', '!', '%', '@', ',', '.', '/', '0', '1', '2', '<<',
  '<<<', '>>', '&&', '||', '$(', '${', '$((', '))', "$'", '\\x', 'if', 'then', 'fi', 'do', 'done', 'for',
  'case', 'in', 'esac', ';;', '[[', ']]', 'sudo', 'bash -c', 'su -c', 'xargs', 'find', '-exec', '\\;', 'EOF',
  '<<EOF\n', '<<-X\n', 'é', 'rm -rf', '/dev/sda', '2>&1', 'function', 'f()', 'env', 'timeout 5', '--'];
const MAX_SHARDS = 60;

function arbitrary(rand) {
  const n = 1 + Math.floor(rand() * MAX_SHARDS);
  return Array.from({ length: n }, () => pick(rand, SHARDS)).join('');
}

// --- the replay ------------------------------------------------------------------

/** A session journal in which each command was an allowed devvm_shell call. */
function writeJournal(name, commands) {
  const path = join(dir, `${name.padEnd(32, '0')}.jsonl`);
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  const lines = commands.map((command, i) => JSON.stringify({
    ts: new Date(t0 + i * 1000).toISOString(), kind: 'tool_call', call_id: `toolu_${name}_${i}`,
    name: 'devvm_shell', input: { command }, identity: 'test', mutating: false, decisions: [],
    decision: 'allow', result: { is_error: false, content: `ran: ${command}` }, duration_ms: 1,
  }));
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

/** What the shipped policies decide now for each call: [{command, outcome, reason, policy}]. */
function replay(journal, scripts, commands) {
  const r = spawnSync(process.env.BREAKGLASS_BIN, ['replay', journal, '--scripts', scripts, '--json'], {
    encoding: 'utf8', timeout: REPLAY_TIMEOUT_MS, maxBuffer: 256 * 1024 * 1024,
    env: { PATH: process.env.PATH, ASAN_OPTIONS: process.env.ASAN_OPTIONS ?? '' },
  });
  assert.equal(r.error, undefined, String(r.error));
  assert.ok(r.status === 0 || r.status === 1, `replay exited ${r.status}: ${r.stderr}`);
  const report = JSON.parse(r.stdout);
  assert.equal(report.calls.length, commands.length);
  return report.calls.map((c, i) => {
    assert.equal(c.input.command, commands[i]);
    assert.equal(c.now.invalid, null, `${commands[i]}: ${c.now.invalid}`);
    const d = c.now.decisions.at(-1);
    return { command: commands[i], outcome: c.now.outcome, policy: d?.policy, reason: d?.reason };
  });
}

/** The scripts folder the replays run: the shipped policies with the fake tools. */
const scriptsDir = () => makePolicyScripts(join(dir, 'scripts'));

const show = (list) => list.slice(0, 10).map((d) => `  ${JSON.stringify(d.command)} -> ${d.outcome}${d.reason ? `: ${d.reason}` : ''}`).join('\n');

test(`${CASES} destructive spellings all ask; of ${CASES} everyday diagnostics at most 1% ask`, (t) => {
  t.diagnostic(`seed ${SEED} (replay with DESTRUCTIVE_PROPERTY_SEED=${SEED})`);
  try {
    const rand = prng(SEED);
    const scripts = scriptsDir();
    const destructiveLines = Array.from({ length: CASES }, () => destructive(rand))
      .map((line) => (line.length <= MAX_COMMAND_CHARS ? line : destructiveLine(rand)));
    const everydayLines = Array.from({ length: CASES }, () => everyday(rand));
    const started = Date.now();
    const asked = replay(writeJournal('d', [...destructiveLines, ...BOUNDS]), scripts, [...destructiveLines, ...BOUNDS]);
    const everydayDecided = replay(writeJournal('e', everydayLines), scripts, everydayLines);
    t.diagnostic(`${asked.length + everydayDecided.length} calls replayed in ${Date.now() - started} ms`);

    const notAsked = asked.filter((d) => d.outcome !== 'ask' || d.policy !== 'confirm_destructive');
    assert.equal(notAsked.length, 0, `${notAsked.length} destructive lines did not ask:\n${show(notAsked)}`);
    const failed = everydayDecided.filter((d) => d.outcome === 'deny');
    assert.equal(failed.length, 0, `everyday lines were denied:\n${show(failed)}`);
    const askedEveryday = everydayDecided.filter((d) => d.outcome === 'ask');
    t.diagnostic(`${askedEveryday.length} of ${CASES} everyday lines asked`);
    assert.ok(askedEveryday.length <= MAX_EVERYDAY_ASKING,
      `${askedEveryday.length} everyday lines asked (at most ${MAX_EVERYDAY_ASKING}):\n${show(askedEveryday)}`);
    const kinds = new Set(asked.map((d) => d.reason.replace(/ \(.*$/, '')));
    assert.deepEqual([...kinds].sort(), ['a catastrophic devvm command', 'a devvm command the check cannot see through'],
      'the generator reaches both kinds of reason');
  } catch (e) {
    e.message = `[seed ${SEED}] ${e.message}`;
    throw e;
  }
});

test(`${CASES} lines of arbitrary shell syntax: the policy never fails on one`, (t) => {
  t.diagnostic(`seed ${SEED} (replay with DESTRUCTIVE_PROPERTY_SEED=${SEED})`);
  try {
    const rand = prng(SEED ^ 0x5eed);
    const lines = Array.from({ length: CASES }, () => arbitrary(rand));
    const decided = replay(writeJournal('a', lines), scriptsDir(), lines);
    const failed = decided.filter((d) => d.outcome !== 'ask' && d.outcome !== 'allow');
    assert.equal(failed.length, 0, `the policy failed on:\n${show(failed)}`);
    t.diagnostic(`${decided.filter((d) => d.outcome === 'ask').length} of ${CASES} asked`);
  } catch (e) {
    e.message = `[seed ${SEED}] ${e.message}`;
    throw e;
  }
});
