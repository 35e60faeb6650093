// Direct controls for VM 102: the power verbs of the Proxmox host's forced
// command, run by the daemon with no model in the path, so they work when
// the model API does not. The verbs, which of them change the VM, and what
// a press would meet now (a policy holding a verb back) come from GET
// api/pve/verbs. Read-only verbs run on one click; the ones that change the
// VM's power state first ask, inline, saying what they do.
//
// A press is an action of the open chat (the daemon records it there, with
// its policy decisions and output): while it runs the panel shows its
// elapsed time and latest output line, then one line of outcome, with the
// full log one tap away in the transcript.

import * as api from './api.mjs';
import { formatAge, formatDuration, formatElapsed, parseTime } from './format.mjs';
import { layerWords, pveSummary } from './outcome.mjs';
import { el } from './dom.mjs';
import { reveal } from './reveal.mjs';

// breakglass-pve's exit code for "another mutating verb holds the lock".
export const PVE_EXIT_BUSY = 3;
const TICK_MS = 1000;
// A button event this much older than the press (clocks differ) is not it.
const PRESS_CLOCK_SLACK_MS = 5000;

// What each verb is called and does, for the verbs the host offers.
export const VERB_WORDS = {
  status: { label: 'Status', what: 'Shows whether VM 102 is running.' },
  forensics: { label: 'Forensics',
    what: 'Captures qm status, config and pending changes, the QEMU monitor, the guest agent and the host\'s load and disks.' },
  cycle: { label: 'Cycle',
    what: 'Stops VM 102, then starts it with a fresh QEMU process. This applies staged config and is the fix for a wedged QEMU.' },
  reset: { label: 'Reset',
    what: 'Warm reset inside the same QEMU process. It does not apply staged config and does not help a wedged QEMU.' },
  stop: { label: 'Power off', what: 'Powers VM 102 off at once, like pulling the plug: the guest does not shut down cleanly.' },
  start: { label: 'Power on', what: 'Powers VM 102 on.' },
};
const VERB_ORDER = ['status', 'forensics', 'cycle', 'reset', 'stop', 'start'];

function button(className, text, onClick) {
  const b = el('button', className, text);
  b.type = 'button';
  b.addEventListener('click', onClick);
  return b;
}

// What went wrong, in one plain sentence, or '' when the verb ran and
// exited 0. status: the HTTP status; data: the JSON answer (or null).
export function describeOutcome(status, data) {
  const d = data && typeof data === 'object' ? data : {};
  if (status === 200) return '';
  if (status === 403) {
    const policy = typeof d.policy === 'string' && d.policy ? ` (${reveal(d.policy)})` : '';
    return `Refused by policy${policy}: ${reveal(api.errorText(status, d))}`;
  }
  if (status === 400) return `Not allowed: ${api.errorText(status, d)}`;
  if (d.exit_code === PVE_EXIT_BUSY) {
    return 'The Proxmox host is busy with another power verb. Nothing was done: wait for it to finish, then try again.';
  }
  if (typeof d.error === 'string' && d.error) {
    const layer = typeof d.layer === 'string' && d.layer && d.layer !== 'none' ? ` (${layerWords(d.layer)})` : '';
    return `The Proxmox host could not run it${layer}: ${d.error}`;
  }
  if (d.rejected === true) return 'The Proxmox host rejected the verb.';
  if (Number.isInteger(d.exit_code)) return `The verb failed with exit code ${d.exit_code}.`;
  return api.errorText(status, d);
}

export class VmPanel {
  // root: the panel's <section>; hooks: unauthorized(message),
  // announce(text), sessionId() (the open chat or null), session() (a
  // promise of the chat to record a press in, made if there is none),
  // liveLine(callId), showLog(sessionId, callId), pressed() (a press ended).
  constructor(root, hooks) {
    this.hooks = hooks;
    this.verbs = [];      // [{verb, label, what, mutating, state}]
    this.buttons = new Map();
    this.pending = null;  // the verb the confirm step asks about
    this.press = null;    // {v, override, sentAt, callId, sessionId}
    this.last = null;     // the last press that ended: {v, press, status, data}
    this.host = null;     // the Proxmox host's last probe
    this.timer = 0;
    this.loadSeq = 0;
    this.build(root);
  }

  build(root) {
    this.root = root;
    const note = el('p', 'muted vm-note', 'Runs on the Proxmox host directly, with no model in the path.');
    this.hostNote = el('p', 'vm-host-note');
    this.hostNote.id = 'vm-host-note';
    this.hostNote.hidden = true;
    this.reads = el('div', 'vm-verbs');
    this.writes = el('div', 'vm-verbs');
    this.reads.setAttribute('role', 'group');
    this.reads.setAttribute('aria-label', 'Look');
    this.writes.setAttribute('role', 'group');
    this.writes.setAttribute('aria-label', 'Power: asks to confirm, captures forensics first');
    this.loading = el('p', 'muted vm-note', 'Loading the verbs…');
    this.held = el('ul', 'vm-held');
    this.held.hidden = true;

    this.confirm = el('div', 'vm-confirm');
    this.confirm.setAttribute('role', 'group');
    this.confirm.setAttribute('aria-labelledby', 'vm-confirm-title');
    this.confirm.hidden = true;
    this.confirmTitle = el('p', 'vm-confirm-title');
    this.confirmTitle.id = 'vm-confirm-title';
    this.confirmText = el('p', 'vm-confirm-text');
    this.confirmMore = el('p', 'vm-confirm-text muted');
    const actions = el('div', 'vm-confirm-actions');
    this.cancelButton = button('button', 'Cancel', () => this.dismiss());
    this.runButton = button('button danger-solid', '', () => this.confirmed());
    this.runButton.id = 'vm-confirm-run';
    actions.append(this.cancelButton, this.runButton);
    this.confirm.append(this.confirmTitle, this.confirmText, this.confirmMore, actions);
    this.confirm.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') {
        e.stopPropagation();
        this.dismiss();
      }
    });

    this.progress = el('p', 'vm-progress');
    this.progress.setAttribute('role', 'status');
    this.progress.hidden = true;
    const spinner = el('span', 'spinner');
    spinner.setAttribute('aria-hidden', 'true');
    this.progressText = el('span', 'vm-progress-text');
    this.progressElapsed = el('span', 'vm-progress-elapsed');
    this.progressLine = el('span', 'vm-progress-line');
    this.progressText.append(this.progressElapsed, this.progressLine);
    this.progress.append(spinner, this.progressText);

    this.outcome = el('div', 'vm-outcome');
    this.outcome.id = 'vm-outcome';
    this.outcome.hidden = true;
    this.outcomeHead = el('p', 'vm-outcome-head');
    this.notice = el('p', 'vm-notice');
    const outcomeActions = el('div', 'vm-outcome-actions');
    this.logButton = button('button', 'Full log', () => this.showLog());
    this.logButton.id = 'vm-log';
    this.overrideButton = button('button danger', 'Do it now anyway', () => this.overrideLast());
    this.overrideButton.id = 'vm-override';
    outcomeActions.append(this.logButton, this.overrideButton);
    this.outcome.append(this.outcomeHead, this.notice, outcomeActions);

    root.append(note, this.hostNote, this.loading, this.reads, this.writes, this.held, this.confirm, this.progress, this.outcome);
    root.hidden = false;
  }

  // The first control, for focusing the panel from elsewhere.
  get firstButton() {
    return this.buttons.values().next().value || null;
  }

  // The verbs and their state now, for the open chat.
  async load() {
    const seq = ++this.loadSeq;
    let data;
    try {
      data = await api.pveVerbs(this.hooks.sessionId());
      if (seq !== this.loadSeq) return; // a newer answer is on its way
    } catch (err) {
      if (seq !== this.loadSeq) return;
      if (err.status === 401) this.hooks.unauthorized(err.message);
      if (!this.verbs.length) this.loading.textContent = `The verbs could not be loaded: ${err.message}`;
      return;
    }
    const names = Array.isArray(data?.verbs) ? data.verbs.filter((v) => typeof v === 'string') : [];
    const mutating = new Set(Array.isArray(data?.mutating) ? data.mutating : []);
    const rank = (v) => (VERB_ORDER.includes(v) ? VERB_ORDER.indexOf(v) : VERB_ORDER.length);
    names.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
    const states = data?.state && typeof data.state === 'object' ? data.state : {};
    const fresh = names.join() !== this.verbs.map((v) => v.verb).join();
    this.verbs = names.map((verb) => ({
      verb, mutating: mutating.has(verb), state: states[verb] || { available: true },
      label: VERB_WORDS[verb]?.label || verb, what: VERB_WORDS[verb]?.what || '',
    }));
    if (fresh) this.drawButtons();
    this.drawStates();
  }

  drawButtons() {
    this.buttons.clear();
    this.reads.replaceChildren();
    this.writes.replaceChildren();
    for (const v of this.verbs) {
      const b = button(`button vm-verb${v.mutating ? ' is-mutating' : ''}`, v.label, () => this.choose(v.verb));
      b.dataset.verb = v.verb;
      b.title = v.what;
      this.buttons.set(v.verb, b);
      (v.mutating ? this.writes : this.reads).append(b);
    }
    this.loading.hidden = true;
    this.setBusy(Boolean(this.press));
  }

  // A verb a policy holds back is greyed, with the policy's words; it stays
  // pressable when the operator may override the hold.
  // Verbs held for the same reason share one note.
  drawStates() {
    const notes = new Map(); // reason -> {li, labels}
    for (const v of this.verbs) {
      const b = this.buttons.get(v.verb);
      const held = v.state.available === false;
      b.classList.toggle('is-held', held);
      b.classList.toggle('is-host-down', this.hostDown() !== '');
      const described = [];
      if (held) {
        // A policy's name and words, hidden characters named.
        const reason = reveal(v.state.reason || `held back by policy ${v.state.policy || ''}`);
        const key = `${reason}\n${v.state.overridable}`;
        if (!notes.has(key)) {
          const li = el('li', 'vm-held-item');
          li.id = `vm-held-${v.verb}`;
          notes.set(key, { li, labels: [], reason, overridable: v.state.overridable });
        }
        const note = notes.get(key);
        note.labels.push(v.label);
        described.push(note.li.id);
      }
      if (this.hostDown()) described.push(this.hostNote.id);
      if (described.length) b.setAttribute('aria-describedby', described.join(' '));
      else b.removeAttribute('aria-describedby');
    }
    for (const n of notes.values()) {
      n.li.append(el('strong', '', `${n.labels.join(', ')}: `), el('span', '', n.reason),
        el('span', 'muted', n.overridable ? ' You can still do it now, on record.' : ''));
    }
    this.held.replaceChildren(...[...notes.values()].map((n) => n.li));
    this.held.hidden = notes.size === 0;
  }

  // The Proxmox host's last probe (GET api/targets): when it does not
  // answer, every verb is marked before the press.
  setHost(target) {
    this.host = target && typeof target === 'object' ? target : null;
    const down = this.hostDown();
    this.hostNote.hidden = !down;
    this.hostNote.textContent = down;
    if (this.verbs.length) this.drawStates();
  }

  hostDown() {
    const t = this.host;
    if (!t) return '';
    if (t.configured === false) return 'The Proxmox host is not configured: the verbs cannot run.';
    if (t.ok !== false || t.layer === 'unknown') return '';
    const age = formatAge(Date.now() - parseTime(t.checked_at));
    return `The Proxmox host is not answering (${layerWords(t.layer)}${age ? `, checked ${age} ago` : ''}): a press will likely fail.`;
  }

  verbOf(name) {
    return this.verbs.find((v) => v.verb === name);
  }

  choose(name) {
    const v = this.verbOf(name);
    if (!v || this.press) return;
    const held = v.state.available === false;
    if (!v.mutating && !held) {
      this.dismiss();
      this.run(v, false);
      return;
    }
    this.pending = { v, override: held };
    if (held) {
      this.confirmTitle.textContent = `${v.label} is held back`;
      this.confirmText.textContent = reveal(v.state.reason || `Policy ${v.state.policy} holds it back.`);
      this.confirmMore.textContent = v.state.overridable
        ? `You may do it now anyway: the override is recorded with your name. ${v.what}`
        : 'This policy cannot be overridden.';
      this.runButton.textContent = `${v.label} anyway`;
      this.runButton.hidden = !v.state.overridable;
      this.cancelButton.textContent = v.state.overridable ? 'Cancel' : 'Close';
    } else {
      this.confirmTitle.textContent = `${v.label} VM 102?`;
      this.confirmText.textContent = v.what;
      this.confirmMore.textContent = 'Forensics are captured first, so the evidence survives.';
      this.runButton.textContent = `${v.label} VM 102`;
      this.runButton.hidden = false;
      this.cancelButton.textContent = 'Cancel';
    }
    for (const [verb, b] of this.buttons) b.setAttribute('aria-pressed', String(verb === v.verb));
    this.confirm.hidden = false;
    this.cancelButton.focus();
  }

  dismiss() {
    const had = this.pending;
    this.pending = null;
    this.confirm.hidden = true;
    for (const b of this.buttons.values()) b.removeAttribute('aria-pressed');
    if (had && this.confirm.contains(document.activeElement)) this.buttons.get(had.v.verb)?.focus();
  }

  confirmed() {
    const p = this.pending;
    if (!p) return;
    this.dismiss();
    this.run(p.v, p.override);
  }

  overrideLast() {
    const last = this.last;
    if (last && !this.press) this.run(last.v, true);
  }

  setBusy(busy) {
    for (const b of this.buttons.values()) b.disabled = busy;
  }

  // The open chat's events: a `button` event of the running press names
  // its call, whose output the progress line then follows.
  apply(event) {
    const p = this.press;
    if (!p || p.callId || event.kind !== 'button' || event.verb !== p.v.verb) return;
    const at = parseTime(event.ts);
    if (Number.isFinite(at) && at < p.sentAt - PRESS_CLOCK_SLACK_MS) return;
    p.callId = event.call_id;
    this.tick();
  }

  tick() {
    const p = this.press;
    if (!p) return;
    this.progressElapsed.textContent = `${p.v.label} · ${formatElapsed(Date.now() - p.sentAt)}`;
    const line = p.callId ? this.hooks.liveLine(p.callId) : '';
    this.progressLine.textContent = line ? ` · ${line}` : ' · starting…';
  }

  async run(v, override) {
    if (this.press) return;
    // Busy from the first moment: a second tap while the chat is being
    // made must not press twice.
    this.press = { v, override, sentAt: Date.now(), callId: null, sessionId: null };
    this.setBusy(true);
    this.outcome.hidden = true;
    try {
      this.press.sessionId = await this.hooks.session();
    } catch (err) {
      this.press = null;
      this.setBusy(false);
      this.show(v, 0, null, `No session to record the press in: ${err.message}`, null);
      return;
    }
    const sessionId = this.press.sessionId;
    this.progress.hidden = false;
    this.tick();
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.hooks.announce(`Running ${v.label}.`);
    let status = 0;
    let data = null;
    let failure = '';
    try {
      ({ status, data } = await api.pveRun(v.verb, { sessionId, override }));
    } catch (err) {
      failure = err.message;
    }
    const press = this.press;
    clearInterval(this.timer);
    this.press = null;
    this.progress.hidden = true;
    this.setBusy(false);
    if (status === 401) {
      this.hooks.unauthorized(api.errorText(status, data));
      failure = 'Not signed in.';
    }
    if (data && typeof data.call_id === 'string') press.callId = data.call_id;
    this.last = { v, press, status, data };
    this.show(v, status, data, failure || describeOutcome(status, data), press);
    this.hooks.pressed();
  }

  // One line of outcome: how it ended and, for a verb that ran, what the
  // forced command did; the full log is the press's chip in the chat.
  show(v, status, data, problem, press) {
    const d = data && typeof data === 'object' ? data : {};
    const facts = [v.label];
    if (status === 200) facts.push('done');
    if (Number.isInteger(d.exit_code)) facts.push(`exit ${d.exit_code}`);
    else if (status) facts.push(`HTTP ${status}`);
    const took = formatDuration(Number(d.duration_ms));
    if (took) facts.push(took);
    const summary = typeof d.stdout === 'string' ? pveSummary(v.verb, d.stdout, d.stderr) : '';
    if (summary) facts.push(summary);
    this.outcomeHead.textContent = facts.join(' · ');
    this.outcome.classList.toggle('is-error', Boolean(problem));
    this.notice.textContent = problem;
    this.notice.hidden = !problem;
    this.logButton.hidden = !(press && press.callId);
    this.overrideButton.hidden = !(status === 403 && d.overridable === true);
    this.outcome.hidden = false;
    this.hooks.announce(problem ? `${v.label}: ${problem}` : `${v.label} finished: ${summary || 'done'}.`);
  }

  showLog() {
    const p = this.last?.press;
    if (p && p.callId) this.hooks.showLog(p.sessionId, p.callId);
  }
}
