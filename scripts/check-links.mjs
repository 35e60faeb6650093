#!/usr/bin/env node
// Checks that no two object files under a build folder call each other,
// directly or round a loop of others: the symbols each file defines and
// the ones it leaves undefined (nm), one edge a use of another file's
// symbol. check-includes.mjs holds the headers to a tree; this holds the
// code behind them to one too (a file may reach a higher one only
// through a function pointer it was given, never by name).
//
//   node scripts/check-links.mjs OBJECT_DIR
// Exit 0 and one summary line, or 1 and one line per cycle. Files are
// named by their path under OBJECT_DIR, CMake's "CMakeFiles/x.dir/" and
// ".o" dropped (lua/lua_ctx.c).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { cycleText, stronglyConnected } from './graph.mjs';

const NM_TIMEOUT_MS = 60000;
const NM_MAX_BYTES = 64 * 1024 * 1024;

function objectFiles(dir) {
  return fs.readdirSync(dir, { recursive: true })
    .filter((f) => f.endsWith('.o'))
    .map((f) => path.join(dir, f))
    .sort();
}

function nameOf(dir, file) {
  return path.relative(dir, file).replace(/^(.*\/)?CMakeFiles\/[^/]+\.dir\//, '').replace(/\.o$/, '');
}

// Map file -> Set of files whose symbols it uses, from one nm run over all.
function callEdges(dir, files) {
  const r = spawnSync('nm', ['-A', '-g', ...files],
    { encoding: 'utf8', timeout: NM_TIMEOUT_MS, maxBuffer: NM_MAX_BYTES });
  if (r.error || r.status !== 0) throw new Error(`nm failed: ${r.error || r.stderr.trim()}`);
  const definedBy = new Map();
  const uses = new Map(files.map((f) => [nameOf(dir, f), []]));
  for (const line of r.stdout.split('\n')) {
    const m = /^(.*?\.o):\s*(?:[0-9a-f]+)?\s+([A-Za-z])\s+(\S+)$/.exec(line);
    if (!m) continue;
    const file = nameOf(dir, m[1]);
    if (m[2] === 'U') uses.get(file)?.push(m[3]);
    else definedBy.set(m[3], file);
  }
  const edges = new Map();
  for (const [file, symbols] of uses) {
    const to = new Set();
    for (const s of symbols) {
      const owner = definedBy.get(s);
      if (owner && owner !== file) to.add(owner);
    }
    edges.set(file, to);
  }
  return edges;
}

const dir = process.argv[2];
if (!dir) {
  console.error('usage: check-links.mjs OBJECT_DIR');
  process.exit(2);
}
let edges;
try {
  const files = objectFiles(dir);
  if (files.length === 0) throw new Error(`no object file under ${dir}`);
  edges = callEdges(dir, files);
} catch (e) {
  console.error(`check-links: ${e.message}`);
  process.exit(1);
}
let cycles = 0;
for (const scc of stronglyConnected(edges)) {
  if (scc.length < 2) continue;
  const members = [...scc].sort();
  console.error(`call cycle between ${members.join(', ')} (${cycleText(edges, members)})`);
  cycles++;
}
if (cycles > 0) process.exit(1);
console.log(`check-links: ${edges.size} object files under ${dir}, no call cycle`);
