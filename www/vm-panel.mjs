// Direct controls for VM 102: the six power verbs of the Proxmox host's
// forced command, run by the daemon with no model in the path, so they work
// when the model API does not. Read-only verbs run on one click; the ones
// that change the VM's power state first ask, inline, saying what they do.

import * as api from './api.mjs';
import { formatClock, formatDuration } from './format.mjs';

// breakglass-pve's exit code for "another mutating verb holds the lock".
export const PVE_EXIT_BUSY = 3;
const ELAPSED_TICK_MS = 1000;

// In the order the buttons appear. what: said in the confirm step.
export const VM_VERBS = [
  { verb: 'status', label: 'Status', mutating: false, what: 'Shows whether VM 102 is running.' },
  { verb: 'forensics', label: 'Forensics', mutating: false,
    what: 'Captures qm status, config and pending changes, the QEMU monitor, the guest agent and the host\'s load and disks.' },
  { verb: 'cycle', label: 'Cycle', mutating: true,
    what: 'Stops VM 102, then starts it with a fresh QEMU process. This applies staged config and is the fix for a wedged QEMU.' },
  { verb: 'reset', label: 'Reset', mutating: true,
    what: 'Warm reset inside the same QEMU process. It does not apply staged config and does not help a wedged QEMU.' },
  { verb: 'stop', label: 'Stop', mutating: true,
    what: 'Powers VM 102 off at once, like pulling the plug: the guest does not shut down cleanly.' },
  { verb: 'start', label: 'Start', mutating: true, what: 'Powers VM 102 on.' },
];

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

const isBusy = (data) => data.exit_code === PVE_EXIT_BUSY || /\bbusy\b/i.test(data.stderr || '');

// What went wrong, in one plain sentence, or '' when the verb ran and
// exited 0. status: the HTTP status; data: the JSON answer (or null).
export function describeOutcome(status, data) {
  const d = data && typeof data === 'object' ? data : {};
  if (status === 200) return '';
  if (status === 403) {
    const policy = typeof d.policy === 'string' && d.policy ? ` (${d.policy})` : '';
    return `Refused by policy${policy}: ${api.errorText(status, d)}`;
  }
  if (status === 400) return `Not allowed: ${api.errorText(status, d)}`;
  if (Number.isInteger(d.exit_code) && isBusy(d)) {
    return 'The Proxmox host is busy with another power verb. Nothing was done: wait for it to finish, then try again.';
  }
  if (typeof d.error === 'string' && d.error) {
    const layer = typeof d.layer === 'string' && d.layer ? ` (${d.layer})` : '';
    return `The Proxmox host could not run it${layer}: ${d.error}`;
  }
  if (d.rejected === true) return 'The Proxmox host rejected the verb.';
  if (Number.isInteger(d.exit_code)) return `The verb failed with exit code ${d.exit_code}.`;
  return api.errorText(status, d);
}

export class VmPanel {
  // root: the panel's <section>; hooks: unauthorized(message), announce(text).
  constructor(root, hooks) {
    this.hooks = hooks;
    this.running = null;
    this.pending = null;
    this.timer = 0;
    this.buttons = new Map();
    this.build(root);
  }

  build(root) {
    const note = el('p', 'muted vm-note', 'Runs on the Proxmox host directly, with no model in the path.');
    const reads = el('div', 'vm-verbs');
    const writes = el('div', 'vm-verbs');
    reads.setAttribute('role', 'group');
    reads.setAttribute('aria-label', 'Look');
    writes.setAttribute('role', 'group');
    writes.setAttribute('aria-label', 'Power: asks to confirm, captures forensics first');
    for (const v of VM_VERBS) {
      const button = el('button', `button vm-verb${v.mutating ? ' is-mutating' : ''}`, v.label);
      button.type = 'button';
      button.dataset.verb = v.verb;
      button.title = v.what;
      button.addEventListener('click', () => this.choose(v));
      this.buttons.set(v.verb, button);
      (v.mutating ? writes : reads).append(button);
    }

    this.confirm = el('div', 'vm-confirm');
    this.confirm.setAttribute('role', 'group');
    this.confirm.setAttribute('aria-labelledby', 'vm-confirm-title');
    this.confirm.hidden = true;
    this.confirmTitle = el('p', 'vm-confirm-title');
    this.confirmTitle.id = 'vm-confirm-title';
    this.confirmText = el('p', 'vm-confirm-text');
    const forensicsFirst = el('p', 'vm-confirm-text muted', 'Forensics are captured first, so the evidence survives.');
    const actions = el('div', 'vm-confirm-actions');
    this.cancelButton = el('button', 'button', 'Cancel');
    this.cancelButton.type = 'button';
    this.cancelButton.addEventListener('click', () => this.dismiss());
    this.runButton = el('button', 'button danger-solid');
    this.runButton.type = 'button';
    this.runButton.id = 'vm-confirm-run';
    this.runButton.addEventListener('click', () => this.confirmed());
    actions.append(this.cancelButton, this.runButton);
    this.confirm.append(this.confirmTitle, this.confirmText, forensicsFirst, actions);
    this.confirm.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') {
        e.stopPropagation();
        this.dismiss();
      }
    });

    this.progress = el('p', 'vm-progress');
    this.progress.setAttribute('role', 'status');
    this.progress.hidden = true;
    this.spinner = el('span', 'spinner');
    this.spinner.setAttribute('aria-hidden', 'true');
    this.progressText = el('span');
    this.progress.append(this.spinner, this.progressText);

    this.output = el('div', 'vm-output');
    this.output.id = 'vm-output';
    this.output.hidden = true;
    this.outputHead = el('p', 'vm-output-head');
    this.notice = el('p', 'vm-notice');
    this.stdoutLabel = el('p', 'tool-label', 'Output');
    this.stdout = el('pre', 'vm-stdout');
    this.stderrLabel = el('p', 'tool-label', 'Errors');
    this.stderr = el('pre', 'vm-stderr');
    for (const pre of [this.stdout, this.stderr]) pre.tabIndex = 0; // keyboard scrolling
    this.output.append(this.outputHead, this.notice, this.stdoutLabel, this.stdout, this.stderrLabel, this.stderr);

    root.append(note, reads, writes, this.confirm, this.progress, this.output);
    root.hidden = false;
  }

  // The first control, for focusing the panel from elsewhere.
  get firstButton() {
    return this.buttons.get(VM_VERBS[0].verb);
  }

  choose(v) {
    if (this.running) return;
    if (!v.mutating) {
      this.dismiss();
      this.run(v);
      return;
    }
    this.pending = v;
    this.confirmTitle.textContent = `${v.label} VM 102?`;
    this.confirmText.textContent = v.what;
    this.runButton.textContent = `${v.label} VM 102`;
    for (const [verb, button] of this.buttons) button.setAttribute('aria-pressed', String(verb === v.verb));
    this.confirm.hidden = false;
    this.cancelButton.focus();
  }

  dismiss() {
    const had = this.pending;
    this.pending = null;
    this.confirm.hidden = true;
    for (const button of this.buttons.values()) button.removeAttribute('aria-pressed');
    if (had && this.confirm.contains(document.activeElement)) this.buttons.get(had.verb).focus();
  }

  confirmed() {
    const v = this.pending;
    if (!v) return;
    this.dismiss();
    this.run(v);
  }

  setRunning(v) {
    this.running = v;
    for (const button of this.buttons.values()) button.disabled = Boolean(v);
    this.progress.hidden = !v;
    clearInterval(this.timer);
    if (!v) return;
    const started = Date.now();
    const tick = () => {
      const s = Math.floor((Date.now() - started) / 1000);
      this.progressText.textContent = `Running ${v.verb} on VM 102…${s > 0 ? ` ${s} s` : ''}`;
    };
    tick();
    this.timer = setInterval(tick, ELAPSED_TICK_MS);
  }

  async run(v) {
    this.setRunning(v);
    this.hooks.announce(`Running ${v.verb}.`);
    let status = 0;
    let data = null;
    let failure = '';
    try {
      ({ status, data } = await api.pveRun(v.verb));
    } catch (err) {
      failure = err.message;
    } finally {
      this.setRunning(null);
    }
    if (status === 401) {
      this.hooks.unauthorized(api.errorText(status, data));
      failure = 'Not signed in.';
    }
    this.show(v, status, data, failure || describeOutcome(status, data));
  }

  show(v, status, data, problem) {
    const d = data && typeof data === 'object' ? data : {};
    const facts = [v.verb];
    if (Number.isInteger(d.exit_code)) facts.push(`exit ${d.exit_code}`);
    else if (status) facts.push(`HTTP ${status}`);
    const took = formatDuration(Number(d.duration_ms));
    if (took) facts.push(took);
    facts.push(formatClock(Date.now()));
    this.outputHead.textContent = facts.filter(Boolean).join(' · ');
    this.output.classList.toggle('is-error', Boolean(problem));
    this.notice.textContent = problem;
    this.notice.hidden = !problem;
    const stdout = typeof d.stdout === 'string' ? d.stdout : '';
    const stderr = typeof d.stderr === 'string' ? d.stderr : '';
    this.stdout.textContent = stdout;
    this.stderr.textContent = stderr;
    this.stdoutLabel.hidden = this.stdout.hidden = stdout === '';
    this.stderrLabel.hidden = this.stderr.hidden = stderr === '';
    this.output.hidden = false;
    this.hooks.announce(problem ? `${v.verb}: ${problem}` : `${v.verb} finished.`);
  }
}
