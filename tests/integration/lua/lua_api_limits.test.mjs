// docs/lua-api.md's limits table against `breakglass --help --limits`:
// each row names a setting or a compiled-in constant and its default,
// which must be what the binary prints, so the page cannot drift from the
// code. A row naming nothing the binary prints fails too.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { limitsByName, readLimits } from '../../lib/limits.mjs';

const BIN = process.env.BREAKGLASS_BIN;
const SOURCE = process.env.BREAKGLASS_SOURCE_DIR;

/** The rows of the table under "## Limits": [{ line, name, value }]. */
function docRows() {
  const lines = readFileSync(join(SOURCE, 'docs/lua-api.md'), 'utf8').split('\n');
  const start = lines.indexOf('## Limits');
  assert.notEqual(start, -1, 'docs/lua-api.md has no "## Limits" section');
  const rows = [];
  for (let i = start + 1; i < lines.length && !lines[i].startsWith('## '); i++) {
    const cells = lines[i].split('|').slice(1, -1).map((c) => c.trim());
    if (cells.length < 2 || cells[0] === 'limit' || /^-+$/.test(cells[0])) continue;
    const name = /^`([A-Z][A-Z0-9_]*)`$/.exec(cells[0]);
    assert.ok(name, `docs/lua-api.md:${i + 1}: the first cell is not one \`NAME\`: ${cells[0]}`);
    rows.push({ line: i + 1, name: name[1], value: cells[1] });
  }
  return rows;
}

const BYTES = { bytes: 1n, KiB: 1024n, MiB: 1024n * 1024n };

/** The doc's value ("256 KiB", "2000 ms", "64") in the printed unit, or null. */
function inUnit(text, unit) {
  const m = /^(\d+)(?: (\S+))?$/.exec(text);
  if (!m) return null;
  const n = BigInt(m[1]);
  const written = m[2];
  if (unit === 'bytes') return written === undefined ? n : BYTES[written] && n * BYTES[written];
  if (unit === 'MB') return written === 'MiB' ? n : null;
  if (unit === 'seconds') return written === 's' || written === 'seconds' ? n : null;
  if (unit === 'ms') return written === 'ms' ? n : null;
  return written === undefined || written === unit ? n : null;
}

test('every row of docs/lua-api.md\'s limits table has the value breakglass --help --limits prints', () => {
  const printed = readLimits(BIN);
  assert.equal(printed.status, 0, printed.stderr);
  const byName = limitsByName(printed.groups);
  const rows = docRows();
  assert.ok(rows.length >= 10, `only ${rows.length} rows`);
  for (const row of rows) {
    const limit = byName.get(row.name);
    assert.ok(limit, `docs/lua-api.md:${row.line}: ${row.name} is not printed by --help --limits`);
    const value = inUnit(row.value, limit.unit);
    assert.equal(value, limit.value,
      `docs/lua-api.md:${row.line}: ${row.name} is "${row.value}" in the doc, ${limit.value} ${limit.unit} in the binary`);
  }
});

test('the table check notices a wrong value and a unit that does not fit', () => {
  assert.equal(inUnit('256 KiB', 'bytes'), 262144n);
  assert.equal(inUnit('8 MiB', 'MB'), 8n);
  assert.equal(inUnit('900 s', 'seconds'), 900n);
  assert.equal(inUnit('2000', 'ms'), null);
  assert.equal(inUnit('2 MiB', 'ms'), null);
  assert.notEqual(inUnit('512 KiB', 'bytes'), 262144n);
});
