// The page's own export of a session, run in Node on what the page would
// have (its entry in GET /api/sessions, its events up to caught-up), and
// `breakglass export` of the same journal: the two sides the export tests
// compare byte for byte.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { AUTH } from './agent-stack.mjs';
import { fetchJson } from './daemon.mjs';
import { openStream } from './sse-client.mjs';

const WAIT_MS = 10000;
const www = (file) => pathToFileURL(join(process.env.BREAKGLASS_SOURCE_DIR, 'www', file)).href;
const { buildIncident, incidentMarkdown } = await import(www('incident.mjs'));

/** The page's Markdown for session id of the daemon at url. */
export async function pageExport(url, id) {
  const list = await fetchJson(`${url}/api/sessions`, { headers: AUTH });
  const entry = list.json.sessions.find((s) => s.id === id);
  if (!entry) throw new Error(`page-export: no session ${id}`);
  const s = await openStream(`${url}/api/session/${id}/stream`, { headers: AUTH });
  await s.waitFor((e) => e.event === 'caught-up', WAIT_MS);
  s.close();
  const events = s.events.filter((e) => e.data && e.event !== 'caught-up').map((e) => e.data);
  return incidentMarkdown(entry, buildIncident(events));
}

/** breakglass export JOURNAL --format FORMAT: {status, out, err}. */
export function cliExport(journal, format = 'md') {
  const r = spawnSync(process.env.BREAKGLASS_BIN, ['export', journal, '--format', format],
    { encoding: 'utf8', timeout: 30000, env: { PATH: process.env.PATH } });
  return { status: r.status, out: r.stdout, err: r.stderr };
}
