// The approval dialog: a policy asked the operator before a tool call runs
// (a confirm_request event). It shows the exact command or verb and the
// policy's reason; Approve and Deny answer the daemon. It closes by itself
// on the call's confirm_result: answered from another tab, or timed out.

import * as api from './api.mjs';
import { parseTime } from './format.mjs';
import { reveal, revealHidden } from './reveal.mjs';
import { toolArgument } from './tool-chip.mjs';

const COUNTDOWN_TICK_MS = 1000;

export class ConfirmDialog {
  // dialog: the <dialog> element with the parts named below; hooks:
  // sessionId(), unauthorized(message), announce(text), and optionally
  // onChange() (a request came or went).
  constructor(dialog, hooks) {
    this.dialog = dialog;
    this.hooks = hooks;
    const $ = (sel) => dialog.querySelector(sel);
    this.ui = {
      title: $('.confirm-title'),
      command: $('.confirm-command'),
      hidden: $('.confirm-hidden'),
      overflow: $('.confirm-overflow'),
      reason: $('.confirm-reason'),
      policy: $('.confirm-policy'),
      countdown: $('.confirm-countdown'),
      error: $('.confirm-error'),
      approve: $('.confirm-approve'),
      deny: $('.confirm-deny'),
    };
    this.pending = new Map(); // call_id -> {event, deadline}
    this.live = false;
    this.current = null;
    this.timer = 0;
    this.ui.approve.addEventListener('click', () => this.answer(true));
    this.ui.deny.addEventListener('click', () => this.answer(false));
    // Escape only hides the dialog: the request stays pending and the
    // transcript's Review button brings it back.
    // The close event comes later: by then the next request may be shown.
    dialog.addEventListener('close', () => {
      if (!dialog.open) this.hidden();
    });
  }

  // A new session: nothing pending.
  reset() {
    this.pending.clear();
    this.live = false;
    this.close();
    if (this.hooks.onChange) this.hooks.onChange();
  }

  apply(event) {
    switch (event.kind) {
      case 'confirm_request': {
        // The deadline runs from when the daemon asked, so that a reload
        // shows the time that is really left.
        const timeout = Number(event.timeout_ms);
        const asked = parseTime(event.ts);
        this.pending.set(event.call_id, {
          event,
          deadline: Number.isFinite(timeout) ? (Number.isFinite(asked) ? asked : Date.now()) + timeout : NaN,
        });
        if (this.live && !this.current) this.show(event.call_id);
        break;
      }
      case 'confirm_result':
        this.pending.delete(event.call_id);
        if (this.current === event.call_id) {
          const what = event.timed_out === true ? 'timed out' : event.approved === true ? 'was approved' : 'was denied';
          this.hooks.announce(`The request ${what}.`);
          this.close();
          this.showNext();
        }
        break;
      case 'turn_end':
      case 'interrupted':
        this.pending.clear();
        this.close();
        break;
      default:
        return;
    }
    if (this.live && this.hooks.onChange) this.hooks.onChange();
  }

  // Whether a request waits for the operator.
  get waiting() {
    return this.pending.size > 0;
  }

  // Replay done: a request still pending is shown now.
  caughtUp() {
    this.live = true;
    if (!this.current) this.showNext();
    if (this.hooks.onChange) this.hooks.onChange();
  }

  showNext() {
    const next = this.pending.keys().next();
    if (!next.done) this.show(next.value);
  }

  show(callId) {
    const p = this.pending.get(callId);
    if (!p) return;
    const ev = p.event;
    this.current = callId;
    this.ui.title.textContent = `Approve ${reveal(ev.tool || 'this tool call')}?`;
    const command = revealHidden(toolArgument(ev.input));
    this.ui.command.textContent = command.text;
    this.ui.hidden.textContent = command.count
      ? `It holds ${command.count} character${command.count === 1 ? '' : 's'} that would not show, named here as ⟨U+…⟩.`
      : '';
    this.ui.hidden.hidden = command.count === 0;
    // A policy's reason may quote the command: its hidden characters show too.
    this.ui.reason.textContent = ev.reason ? reveal(ev.reason) : 'No reason given.';
    this.ui.policy.textContent = ev.policy ? `Asked by the policy ${reveal(ev.policy)}.` : '';
    this.ui.error.textContent = '';
    this.ui.error.hidden = true;
    this.setBusy(false);
    this.tick(p);
    clearInterval(this.timer);
    this.timer = setInterval(() => this.tick(p), COUNTDOWN_TICK_MS);
    if (!this.dialog.open) this.dialog.showModal();
    this.sayOverflow(command.text);
    this.ui.deny.focus();
  }

  // Blank lines can push the end of a command out of its box: the operator
  // is told there is more to read. Measured once the dialog is laid out.
  sayOverflow(text) {
    const box = this.ui.command;
    box.scrollTop = 0;
    const over = box.scrollHeight > box.clientHeight + 1;
    const lines = text.split('\n').length;
    this.ui.overflow.textContent = over ? `The command runs past this box (${lines} lines): scroll it to read all of it.` : '';
    this.ui.overflow.hidden = !over;
  }

  tick(p) {
    const left = Math.ceil((p.deadline - Date.now()) / 1000);
    this.ui.countdown.textContent = Number.isFinite(left)
      ? (left > 0 ? `Denied by itself in ${left} s if nobody answers.` : 'The time to answer is up.')
      : '';
  }

  setBusy(busy) {
    this.ui.approve.disabled = busy;
    this.ui.deny.disabled = busy;
  }

  async answer(approve) {
    const callId = this.current;
    const id = this.hooks.sessionId();
    if (!callId || !id) return;
    this.setBusy(true);
    try {
      await api.sessionConfirm(id, callId, approve);
      this.hooks.announce(approve ? 'Approved.' : 'Denied.');
      this.pending.delete(callId);
      this.close();
      this.showNext();
    } catch (err) {
      if (err.status === 404 || err.status === 409) {
        // Expired or answered elsewhere: its confirm_result says how.
        this.pending.delete(callId);
        this.close();
        this.showNext();
        return;
      }
      if (err.status === 401) this.hooks.unauthorized(err.message);
      this.ui.error.textContent = `The answer was not sent: ${err.message}`;
      this.ui.error.hidden = false;
      this.setBusy(false);
    }
  }

  // Reopens a pending request (the transcript's Review button).
  review(callId) {
    if (this.pending.has(callId)) this.show(callId);
  }

  close() {
    if (this.dialog.open) this.dialog.close();
    this.hidden();
  }

  hidden() {
    clearInterval(this.timer);
    this.current = null;
  }
}
