// Damaging a chained journal the ways docs/journal.md ("Integrity") says
// breakglass verify names, and running verify: the shared half of the
// verify tests and the lab drill's.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const LINK = /,"seq":(\d+),"hash":"([0-9a-f]{64})"(,"mac":"[0-9a-f]{64}")?\}$/;

/** breakglass verify ARGS: {status, out}. */
export function verify(args, env = {}) {
  const r = spawnSync(process.env.BREAKGLASS_BIN, ['verify', ...args],
    { encoding: 'utf8', timeout: 30000, env: { PATH: process.env.PATH, ...env } });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

const linesOf = (text) => text.split('\n').slice(0, -1);
const join1 = (lines) => `${lines.join('\n')}\n`;

// Every record's links from line `from` on made again, as whoever has the
// file but not the key can: each SHA-256 link checks, the macs stay.
function relink(lines, from) {
  const out = [...lines];
  let prev = Buffer.from(LINK.exec(out[from - 1])[2], 'hex');
  for (let i = from; i < out.length; i++) {
    const m = LINK.exec(out[i]);
    const hashed = out[i].slice(0, m.index + m[0].indexOf('"hash":"') + '"hash":"'.length);
    const hash = crypto.createHash('sha256').update(prev).update(hashed).digest();
    out[i] = `${hashed}${hash.toString('hex')}"${m[3] ?? ''}}`;
    prev = hash;
  }
  return out;
}

/**
 * The damaged copies of a chained journal's text: [{name, damage, record,
 * text}], record being the record verify must name. The middle record is
 * an ordinary one (not the header, not the last).
 */
export function damagedCopies(text) {
  const lines = linesOf(text);
  assert.ok(lines.length >= 6, `a journal of ${lines.length} lines is too short to damage`);
  const m = Math.floor(lines.length / 2);
  const seq = (i) => Number(LINK.exec(lines[i])[1]);
  const changedLine = lines[m].replace(/"ts":"(\d)/, (all, d) => `"ts":"${(Number(d) + 1) % 10}`);
  const forged = JSON.stringify({ ts: '2026-06-11T08:30:05.123Z', kind: 'event', event: { kind: 'text', id: 1, text: 'all fine' } });
  const swapped = [...lines];
  [swapped[m], swapped[m + 1]] = [swapped[m + 1], swapped[m]];
  const rewritten = [...lines];
  rewritten[m] = changedLine;
  return [
    { name: 'one byte changed in a middle record', damage: 'changed', record: seq(m), text: join1([...lines.slice(0, m), changedLine, ...lines.slice(m + 1)]) },
    { name: 'a record removed', damage: 'removed', record: seq(m), text: join1([...lines.slice(0, m), ...lines.slice(m + 1)]) },
    { name: 'a record inserted', damage: 'inserted', record: seq(m), text: join1([...lines.slice(0, m), forged, ...lines.slice(m)]) },
    { name: 'two records swapped', damage: 'reordered', record: seq(m), text: join1(swapped) },
    { name: 'the file truncated mid-record', damage: 'truncated', record: seq(lines.length - 1), text: text.slice(0, text.length - 30) },
    { name: 'rewritten consistently without the HMAC key', damage: 'changed', record: seq(m), text: join1(relink(rewritten, m)), needsKey: true },
  ];
}

/**
 * Writes each damaged copy of the journal at journalText as dir/<id>.jsonl
 * in a folder of its own and asserts that verify (with keyFile) exits 1
 * naming the session, the record and the damage.
 */
export function assertVerifyCatches(dir, id, journalText, keyFile) {
  for (const [i, copy] of damagedCopies(journalText).entries()) {
    const at = join(dir, `damage-${i}`);
    mkdirSync(at, { recursive: true });
    const path = join(at, `${id}.jsonl`);
    writeFileSync(path, copy.text);
    if (copy.needsKey) {
      assert.equal(verify([path]).status, 0, `${copy.name}: without the key every link checks`);
    }
    const r = verify(keyFile ? [path, '--key', keyFile] : [path]);
    assert.equal(r.status, 1, `${copy.name}: ${r.out}`);
    assert.match(r.out, new RegExp(`^session ${id}: BROKEN at record ${copy.record} .*: ${copy.damage}: `, 'm'), `${copy.name}: ${r.out}`);
  }
}
