#!/usr/bin/env node
// Checks every #include "..." of the C code under core/ and pve/ against
// the folders table, core/edges.txt (which core/CMakeLists.txt builds the
// libraries from): a file may include headers of its own folder and of the
// folders its folder may use, directly or through them. Fails, naming the
// file and line, on an include that crosses any other wall, on a quoted
// include of no header in the repository, on a file in a folder the table
// does not list, on two headers of one name in core/ (an include would
// reach either), on any include cycle between files (x.c and x.h count
// as one file, x), and on an
// include, direct or through other headers, of a header the table keeps
// to some folders ("only:") from a file of any other folder.
//
//   node scripts/check-includes.mjs [SOURCE_DIR]
// Exit 0 and one summary line, or 1 and one line per problem.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cycleText, stronglyConnected } from './graph.mjs';

const SOURCE_DIR = path.resolve(process.argv[2] ||
  path.join(path.dirname(fileURLToPath(import.meta.url)), '..'));
const TABLE = 'core/edges.txt';
const TOPS = ['core', 'pve'];
const INCLUDE = /^\s*#\s*include\s*"([^"]+)"/;

// { uses: Map folder -> [folder], only: Map header -> [folder] } from the
// table.
function readTable() {
  const uses = new Map();
  const only = new Map();
  const lines = fs.readFileSync(path.join(SOURCE_DIR, TABLE), 'utf8').split('\n');
  lines.forEach((raw, i) => {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) return;
    const m = /^([a-z][a-z_/]*):\s*(.*)$/.exec(line);
    if (!m) throw new Error(`${TABLE}:${i + 1}: not "FOLDER: FOLDERS" nor "only: HEADER FOLDERS"`);
    const rest = m[2].split(/\s+/).filter(Boolean);
    if (m[1] === 'only') only.set(rest[0], rest.slice(1));
    else uses.set(m[1], rest);
  });
  for (const [folder, used] of uses) {
    for (const u of used) {
      if (!uses.has(u)) throw new Error(`${TABLE}: ${folder} uses ${u}, which has no line`);
    }
  }
  for (const [header, folders] of only) {
    if (!fs.existsSync(path.join(SOURCE_DIR, header))) throw new Error(`${TABLE}: only: ${header} does not exist`);
    for (const f of folders) {
      if (!uses.has(f)) throw new Error(`${TABLE}: only: ${header} names ${f}, which has no line`);
    }
  }
  return { uses, only };
}

// The folders a folder may include from: itself and all it uses, through
// the folders it uses (their headers include their own).
function reach(uses, folder, seen = new Set()) {
  if (seen.has(folder)) return seen;
  seen.add(folder);
  for (const u of uses.get(folder)) reach(uses, u, seen);
  return seen;
}

function sourceFiles() {
  const files = [];
  for (const top of TOPS) {
    for (const f of fs.readdirSync(path.join(SOURCE_DIR, top), { recursive: true })) {
      if (/\.[ch]$/.test(f)) files.push(path.posix.join(top, f.split(path.sep).join('/')));
    }
  }
  return files.sort();
}

const id = (file) => file.replace(/\.[ch]$/, '');

function check() {
  const { uses, only } = readTable();
  const files = sourceFiles();
  const problems = [];
  const folderOf = (file) => path.posix.dirname(file);

  for (const file of files) {
    if (!uses.has(folderOf(file))) problems.push(`${file}: its folder ${folderOf(file)} has no line in ${TABLE}`);
  }
  const headersByName = new Map();
  for (const file of files.filter((f) => f.startsWith('core/') && f.endsWith('.h'))) {
    const name = path.posix.basename(file);
    if (headersByName.has(name)) problems.push(`${file}: a second ${name} (also ${headersByName.get(name)})`);
    headersByName.set(name, file);
  }

  const edges = new Map(); // file id -> Set of file ids it includes
  const included = new Map(); // file -> [{ header, where }], as resolved
  let includeCount = 0;
  for (const file of files) {
    const folder = folderOf(file);
    if (!uses.has(folder)) continue;
    const allowed = reach(uses, folder);
    const from = id(file);
    if (!edges.has(from)) edges.set(from, new Set());
    included.set(file, []);
    fs.readFileSync(path.join(SOURCE_DIR, file), 'utf8').split('\n').forEach((line, i) => {
      const m = INCLUDE.exec(line);
      if (!m) return;
      includeCount++;
      const where = `${file}:${i + 1}`;
      // As the compiler looks: beside the file, then along the include path.
      const beside = path.posix.normalize(path.posix.join(folder, m[1]));
      const candidates = files.includes(beside) ? [beside]
        : files.filter((f) => f.endsWith(`/${m[1]}`) && allowed.has(path.posix.dirname(f)));
      if (candidates.length === 0) {
        const elsewhere = files.filter((f) => f.endsWith(`/${m[1]}`));
        problems.push(elsewhere.length === 0
          ? `${where}: includes "${m[1]}", which is no header of ${TOPS.join('/ or ')}/`
          : `${where}: includes "${m[1]}" from ${elsewhere.map(folderOf).join(', ')}, which ` +
            `${folder} may not use (${TABLE}: ${folder} may use ${[...allowed].sort().join(' ')})`);
        return;
      }
      if (!allowed.has(folderOf(candidates[0]))) {
        problems.push(`${where}: includes "${m[1]}" from ${folderOf(candidates[0])}, which ${folder} may not use`);
      }
      if (id(candidates[0]) !== from) edges.get(from).add(id(candidates[0]));
      included.get(file).push({ header: candidates[0], where });
    });
  }
  problems.push(...onlyProblems(only, included, folderOf));

  for (const scc of stronglyConnected(edges)) {
    if (scc.length < 2) continue;
    const members = [...scc].sort();
    problems.push(`include cycle between ${members.join(', ')} (${cycleText(edges, members)})`);
  }
  return { problems, files: files.length, includes: includeCount, folders: uses.size };
}

// Includes of a header kept to some folders from a file of another, named
// at the file's own include line, with the headers it goes through.
function onlyProblems(only, included, folderOf) {
  const problems = [];
  // The headers' paths from header down to target (header first), or null.
  const pathTo = (header, target, seen = new Set()) => {
    if (header === target) return [header];
    if (seen.has(header)) return null;
    seen.add(header);
    for (const next of included.get(header) || []) {
      const rest = pathTo(next.header, target, seen);
      if (rest) return [header, ...rest];
    }
    return null;
  };
  for (const [file, list] of included) {
    for (const [target, folders] of only) {
      if (folders.includes(folderOf(file))) continue;
      for (const { header, where } of list) {
        const through = pathTo(header, target);
        if (!through) continue;
        const via = through.length > 1 ? ` (through ${through.slice(0, -1).join(', ')})` : '';
        problems.push(`${where}: includes ${target}${via}, which only ${folders.join(' ')} may ` +
          `include (${TABLE})`);
        break;
      }
    }
  }
  return problems;
}

let result;
try {
  result = check();
} catch (e) {
  console.error(`check-includes: ${e.message}`);
  process.exit(1);
}
for (const p of result.problems) console.error(p);
if (result.problems.length > 0) process.exit(1);
console.log(`check-includes: ${result.includes} includes in ${result.files} files keep to the ` +
  `${result.folders} folders of ${TABLE}; no include cycle`);
