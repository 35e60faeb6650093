// `breakglass --help --limits`, read: one line a limit or setting default,
// "  NAME VALUE UNIT WHAT", under a heading a concern. Shared by the CLI's
// test and the test that holds docs/lua-api.md to it.
import { spawnSync } from 'node:child_process';

export const LIMIT_LINE = /^ {2}([A-Z][A-Z0-9_]*) +(\d+) ([A-Za-z]+) +(\S.*)$/;

/**
 * Runs BIN --help --limits; returns { status, stderr, other, groups }, where
 * groups maps each heading (without its colon) to [{ name, value, unit,
 * what }] and other holds the lines that are neither a limit nor a heading.
 */
export function readLimits(bin) {
  const r = spawnSync(bin, ['--help', '--limits'], { encoding: 'utf8', timeout: 30000 });
  const groups = new Map();
  const other = [];
  let group = null;
  for (const line of r.stdout.split('\n')) {
    const m = LIMIT_LINE.exec(line);
    if (m && group) {
      group.push({ name: m[1], value: BigInt(m[2]), unit: m[3], what: m[4] });
    } else if (/^\S.*:$/.test(line)) {
      group = [];
      groups.set(line.slice(0, -1), group);
    } else if (line !== '') {
      other.push(line);
    }
  }
  return { status: r.status, stderr: r.stderr, other, groups, error: r.error };
}

/** Every limit of every group, by name. */
export function limitsByName(groups) {
  const byName = new Map();
  for (const rows of groups.values()) for (const row of rows) byName.set(row.name, row);
  return byName;
}
