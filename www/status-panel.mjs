// The status panel: can the service reach the model API, the devvm and the
// Proxmox host right now, and is its script set healthy? The daemon probes
// (GET api/targets: the hosts cached briefly, the model asked at most once
// a minute); this draws what it says, with the time of each check, and
// refreshes on demand, now and then while visible, and when a token is
// saved or a power verb has run.

import * as api from './api.mjs';
import { formatClock, formatDuration, formatTimestamp } from './format.mjs';
import { layerWords } from './outcome.mjs';
import { el } from './dom.mjs';

// While the page is visible; the daemon caches host probes for 10 s.
export const STATUS_POLL_MS = 15_000;

const capital = (s) => s.charAt(0).toUpperCase() + s.slice(1);

const ROWS = [
  { key: 'model', label: 'Model API' },
  { key: 'devvm', label: 'devvm' },
  { key: 'pve', label: 'PVE host' },
];

// {state: 'ok' | 'bad' | 'unknown' | 'off', label, detail} for one target.
export function describeTarget(key, t) {
  if (!t || typeof t !== 'object') return { state: 'unknown', label: 'No answer', detail: '' };
  const message = typeof t.message === 'string' ? t.message : '';
  if (t.configured === false) return { state: 'off', label: 'Not configured', detail: message };
  if (key === 'model') {
    if (t.ok === true) return { state: 'ok', label: 'Answering', detail: message };
    if (t.ok === false) {
      const words = t.layer && t.layer !== 'unknown' ? `: ${layerWords(t.layer)}` : '';
      return { state: 'bad', label: `Down${words}${t.http_status ? ` (HTTP ${t.http_status})` : ''}`, detail: message };
    }
    return { state: 'unknown', label: 'Not checked yet', detail: message };
  }
  const layer = typeof t.layer === 'string' ? t.layer : 'unknown';
  if (t.ok === true) {
    const took = formatDuration(Number(t.total_ms));
    // The host's own answer (VM 102's state) is worth a line; "ok in N ms" is not.
    const detail = typeof t.detail === 'string' ? t.detail : '';
    return { state: 'ok', label: took ? `OK · ${took}` : 'OK', detail, phases: phasesOf(t) };
  }
  if (layer === 'unknown') return { state: 'unknown', label: 'Not checked yet', detail: message };
  return { state: 'bad', label: capital(layerWords(layer)), detail: message, phases: phasesOf(t) };
}

// Each phase the connection reached, in order: a 0 ms connect on a fast
// network still shows when the handshake came after it.
function phasesOf(t) {
  const phases = [['connect_ms', 'connect'], ['handshake_ms', 'handshake'], ['auth_ms', 'auth']];
  const value = ([k]) => (Number.isFinite(t[k]) ? t[k] : 0);
  let reached = -1;
  phases.forEach((p, i) => { if (value(p) > 0) reached = i; });
  return phases.slice(0, reached + 1).map((p) => `${p[1]} ${formatDuration(value(p))}`).join(' · ');
}

export class StatusPanel {
  // root: the panel's <section>; hooks: unauthorized(message),
  // onTargets(data) (each answer of GET api/targets).
  constructor(root, hooks) {
    this.hooks = hooks;
    this.loading = false;
    this.again = false;
    this.timer = 0;
    this.build(root);
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') this.refresh(false);
    });
  }

  build(root) {
    this.root = root;
    const head = el('div', 'panel-head');
    const title = el('h2', 'panel-title', 'Status');
    title.id = 'status-panel-title';
    this.refreshButton = el('button', 'text-button', 'Refresh');
    this.refreshButton.type = 'button';
    this.refreshButton.id = 'status-refresh';
    this.refreshButton.addEventListener('click', () => this.refresh(true));
    head.append(title, this.refreshButton);

    this.list = el('dl', 'status-list');
    this.rows = new Map();
    for (const r of [...ROWS, { key: 'scripts', label: 'Scripts' }]) {
      const dt = el('dt', 'status-name');
      const dot = el('span', 'dot');
      dot.setAttribute('aria-hidden', 'true');
      dt.append(dot, el('span', '', r.label));
      const dd = el('dd', 'status-value');
      const label = el('span', 'status-label', '…');
      const time = el('time', 'status-time');
      const detail = el('span', 'status-detail');
      const phases = el('span', 'status-phases');
      dd.append(label, time, detail, phases);
      const row = el('div', 'status-row is-unknown');
      row.dataset.target = r.key;
      row.append(dt, dd);
      this.list.append(row);
      this.rows.set(r.key, { row, label, time, detail, phases });
    }
    this.scriptsError = el('pre', 'status-scripts-error');
    this.scriptsError.hidden = true;
    this.scriptsError.tabIndex = 0;
    this.checked = el('p', 'muted status-checked');
    this.checked.setAttribute('aria-live', 'polite');
    root.append(head, this.list, this.scriptsError, this.checked);
    root.setAttribute('aria-labelledby', title.id);
    root.hidden = false;
  }

  start() {
    this.refresh(false);
    clearInterval(this.timer);
    this.timer = setInterval(() => {
      if (document.visibilityState === 'visible') this.refresh(false);
    }, STATUS_POLL_MS);
  }

  // A forced refresh asked for while one runs (a token just saved, a verb
  // just ended, Refresh pressed again) runs once that one is over: its
  // answer may be stale. Refresh stays enabled meanwhile (the panel says
  // it is busy): a disabled button would lose the keyboard's focus.
  async refresh(force) {
    if (this.loading) {
      this.again = this.again || force;
      return;
    }
    this.loading = true;
    this.again = false;
    this.root.setAttribute('aria-busy', 'true');
    this.checked.textContent = force ? 'Checking…' : this.checked.textContent;
    const [targets, ready] = await Promise.all([this.fetchTargets(force), api.readinessGet()]);
    this.loading = false;
    this.root.removeAttribute('aria-busy');
    if (this.again) {
      this.refresh(true);
      return;
    }
    this.showReadiness(ready);
    if (targets.error) {
      this.checked.textContent = `The status could not be checked: ${targets.error}`;
      return;
    }
    for (const r of ROWS) this.showRow(r.key, describeTarget(r.key, targets.data[r.key]), targets.data[r.key]);
    this.hooks.onTargets(targets.data);
    const at = formatClock(targets.data.checked_at);
    this.checked.textContent = at ? `Last check ${at}` : '';
    this.checked.title = formatTimestamp(targets.data.checked_at);
  }

  async fetchTargets(force) {
    try {
      return { data: await api.targetsGet(force) };
    } catch (err) {
      if (err.status === 401) this.hooks.unauthorized(err.message);
      return { error: err.message };
    }
  }

  showRow(key, d, raw) {
    const r = this.rows.get(key);
    r.row.className = `status-row is-${d.state}`;
    r.label.textContent = d.label;
    r.detail.textContent = d.detail && d.detail !== d.label ? d.detail : '';
    r.phases.textContent = d.phases || '';
    const byCall = raw && raw.source === 'call';
    const at = raw && (byCall ? raw.last_call_at : raw.checked_at);
    r.time.textContent = at ? formatClock(at) : '';
    r.time.dateTime = typeof at === 'string' ? at : '';
    r.time.title = at ? `${byCall ? 'Last call' : 'Checked'} ${formatTimestamp(at)}` : '';
  }

  // readyz: a failed script reload leaves the last good set serving,
  // "degraded", with the error; the operator should see it plainly.
  showReadiness(ready) {
    let d;
    if (!ready.ready) d = { state: 'bad', label: 'Not ready', detail: ready.detail };
    else if (ready.degraded) d = { state: 'bad', label: 'Degraded: the last edit did not load', detail: 'The previous script set still serves.' };
    else d = { state: 'ok', label: 'Loaded', detail: '' };
    this.showRow('scripts', d, null);
    this.scriptsError.textContent = ready.error || '';
    this.scriptsError.hidden = !ready.error;
  }
}
