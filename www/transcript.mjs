// The conversation view: folds the daemon's events, in order, into DOM.
//
// The same fold serves replay and live tailing, so a reload shows exactly
// what a watcher saw. All model and command text goes in through text
// nodes or the safe markdown renderer, never as HTML.

import { renderMarkdown } from './markdown.mjs';
import { describeError, formatClock, formatDuration, formatUsage } from './format.mjs';

// Output kept in the page per tool call; older output is dropped first.
export const TOOL_OUTPUT_MAX_CHARS = 256 * 1024;
// Closer than this to the bottom counts as "following along".
const FOLLOW_SLACK_PX = 48;
const COPY_FEEDBACK_MS = 1500;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// The one argument that says what a tool call does: the command or verb.
export function toolArgument(input) {
  if (!input || typeof input !== 'object') return input === undefined ? '' : String(input);
  for (const key of ['command', 'verb', 'cmd', 'path', 'query']) {
    if (typeof input[key] === 'string') return input[key];
  }
  const first = Object.values(input).find((v) => typeof v === 'string');
  return first !== undefined ? first : JSON.stringify(input);
}

// How a command ended, when a tool's result says: devvm_shell's first line
// ("exit status 1, 0.020 s", "killed by signal KILL, ...") or a raw ctx.ssh
// result as JSON. {text, failed}, or null.
export function exitOf(content) {
  if (typeof content !== 'string') return null;
  const line = /^(?:exit status (\d+)|killed by signal (\w+))\b/.exec(content);
  if (line && line[1] !== undefined) return { text: `exit ${line[1]}`, failed: line[1] !== '0' };
  if (line) return { text: `signal ${line[2]}`, failed: true };
  if (!content.startsWith('{')) return null;
  let r;
  try {
    r = JSON.parse(content);
  } catch {
    return null;
  }
  if (!r || typeof r !== 'object') return null;
  if (typeof r.exit_signal === 'string' && r.exit_signal) return { text: `signal ${r.exit_signal}`, failed: true };
  for (const key of ['exit_code', 'exit_status']) {
    if (Number.isInteger(r[key])) return { text: `exit ${r[key]}`, failed: r[key] !== 0 };
  }
  return null;
}

function retryText(event) {
  const why = `${event.error_type || ''} ${describeError(event.error)}`;
  let what = describeError(event.error);
  if (/overload/i.test(why) || event.http_status === 529) what = 'Model overloaded';
  else if (/rate.?limit/i.test(why) || event.http_status === 429) what = 'Rate limited';
  const seconds = Math.round((Number(event.delay_ms) || 0) / 100) / 10;
  const retry = event.attempt >= 1 ? ` (retry ${event.attempt})` : '';
  return `${what}, retrying in ${seconds} s${retry}.`;
}

export class Transcript {
  // scroller: the element that scrolls; list: where turns go; empty: shown
  // while there is nothing yet. hooks: onRunning(bool), announce(text),
  // reviewConfirm(callId) (optional: reopens a pending approval).
  constructor(scroller, list, empty, hooks) {
    this.scroller = scroller;
    this.list = list;
    this.empty = empty;
    this.hooks = hooks;
    this.following = true;
    this.autoScrollTop = 0;
    this.frame = 0;
    // Follow the end until the operator scrolls up; content that grows
    // between our own scroll and its event must not count as scrolling up.
    scroller.addEventListener('scroll', () => {
      if (this.atBottom()) this.following = true;
      else if (scroller.scrollTop < this.autoScrollTop - 1) this.following = false;
    }, { passive: true });
    list.addEventListener('click', (e) => this.onClick(e));
    this.reset(false);
  }

  // replaying: a session's history is on its way, so the empty-state
  // greeting waits for caughtUp() instead of flashing by.
  reset(replaying) {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.list.replaceChildren();
    this.turn = null;
    this.tools = new Map();
    this.confirms = new Map();
    this.dirty = new Set();
    this.isRunning = false;
    this.live = false;
    this.following = true;
    this.autoScrollTop = 0;
    this.empty.hidden = Boolean(replaying);
  }

  get running() {
    return this.isRunning;
  }

  // Replay is complete: draw everything now and start announcing. After a
  // reconnect the operator's scroll position is left alone.
  caughtUp() {
    if (!this.live) this.following = true;
    this.live = true;
    this.empty.hidden = this.list.childElementCount > 0;
    this.flush();
    this.hooks.onRunning(this.isRunning);
  }

  apply(event) {
    switch (event.kind) {
      case 'user':
        this.onUser(event);
        break;
      case 'text_delta':
        this.onTextDelta(event);
        break;
      case 'text':
        this.onTextBlock(event);
        break;
      case 'tool':
        this.onTool(event);
        break;
      case 'tool_output':
        this.onToolOutput(event);
        break;
      case 'tool_result':
        this.onToolResult(event);
        break;
      case 'retry':
        this.onRetry(event);
        break;
      case 'usage':
        this.onUsage(event);
        break;
      case 'error':
        this.onError(event);
        break;
      case 'result':
        this.onResult(event);
        break;
      case 'refusal':
        this.onRefusal();
        break;
      case 'policy':
        this.onPolicy(event);
        break;
      case 'confirm_request':
        this.onConfirmRequest(event);
        break;
      case 'confirm_result':
        this.onConfirmResult(event);
        break;
      case 'cancelled':
        this.notice('cancelled', 'Stopped by the operator.');
        this.ensureTurn().cancelled = true;
        this.announce('Stopped.');
        break;
      case 'turn_end':
        this.endTurn();
        this.announce('The agent has finished.');
        break;
      case 'notice':
        this.notice('notice', event.text);
        break;
      case 'interrupted':
        this.notice('interrupted', 'This turn was cut off when the service restarted.');
        this.endTurn();
        this.announce('The turn was interrupted by a restart.');
        break;
      default:
        return; // unknown kinds are ignored, as the contract says
    }
    this.schedule();
  }

  // --- turns ---------------------------------------------------------------

  ensureTurn() {
    if (this.turn) return this.turn;
    const article = el('article', 'turn');
    const foot = el('footer', 'turn-foot');
    const usage = el('span', 'turn-usage');
    const retries = el('span', 'turn-retries');
    const time = el('span', 'turn-time');
    retries.hidden = true;
    foot.append(usage, retries, time);
    foot.hidden = true;
    article.append(foot);
    this.list.append(article);
    this.empty.hidden = true;
    this.turn = {
      el: article, foot, usage, retries, time,
      retryCount: 0,
      text: null,          // the text block being written
      attemptBlocks: [],   // text blocks of the model call in progress
      tools: [],
      usageSeen: false,
      errorShown: false,
      cancelled: false,
    };
    return this.turn;
  }

  // Content goes above the turn's footer.
  add(node) {
    const turn = this.ensureTurn();
    turn.el.insertBefore(node, turn.foot);
    return node;
  }

  onUser(event) {
    this.endTurn();
    const turn = this.ensureTurn();
    const msg = el('div', 'msg msg-user');
    const who = [event.identity || 'Operator', formatClock(event.ts)].filter(Boolean).join(' · ');
    msg.append(el('p', 'msg-who', who), el('div', 'msg-text', event.text || ''));
    this.add(msg);
    turn.attemptBlocks = [];
    this.setRunning(true);
  }

  endTurn() {
    const turn = this.turn;
    if (!turn) {
      this.setRunning(false);
      return;
    }
    this.closeText();
    for (const chip of turn.tools) {
      if (chip.state === 'running') this.setChipState(chip, 'unknown', 'no result');
    }
    // An approval still asked for when its turn ended was never answered.
    for (const c of this.confirms.values()) {
      c.text.textContent = `Not answered: ${c.tool}`;
      c.review.remove();
    }
    this.confirms.clear();
    this.turn = null;
    this.setRunning(false);
  }

  setRunning(running) {
    this.isRunning = running;
    if (this.turn && this.turn.text) this.turn.text.el.classList.toggle('is-streaming', running);
    this.hooks.onRunning(running);
  }

  // --- assistant text ----------------------------------------------------------

  // The assistant's prose: `text_delta` as it streams, then the same text
  // as whole blocks in `text` events once the message is complete. The
  // first block replaces what the deltas drew; the rest follow it. A
  // replay that starts after the deltas (or a client that never had them)
  // gets the blocks alone.
  textElement(fromBlocks) {
    const turn = this.ensureTurn();
    if (!turn.text) {
      const block = { el: el('div', 'msg msg-assistant md'), text: '', fromBlocks };
      block.el.classList.toggle('is-streaming', this.isRunning);
      this.add(block.el);
      turn.text = block;
      turn.attemptBlocks.push(block);
    }
    return turn.text;
  }

  onTextDelta(event) {
    if (typeof event.text !== 'string' || event.text === '') return;
    // A new message's prose after the last one's blocks (pause_turn).
    if (this.turn?.text?.fromBlocks) this.closeText();
    const block = this.textElement(false);
    block.text += event.text;
    this.dirty.add(block);
  }

  onTextBlock(event) {
    if (typeof event.text !== 'string' || event.text === '') return;
    const block = this.textElement(true);
    if (!block.fromBlocks) {
      block.text = '';
      block.fromBlocks = true;
    }
    block.text += event.text;
    this.dirty.add(block);
  }

  closeText() {
    const turn = this.turn;
    if (!turn || !turn.text) return;
    turn.text.el.classList.remove('is-streaming');
    turn.text = null;
  }

  // A model call ended: its text stands.
  attemptDone() {
    if (this.turn) this.turn.attemptBlocks = [];
  }

  onRetry(event) {
    const turn = this.ensureTurn();
    // The failed attempt's partial text is void: the next attempt starts
    // the answer again.
    for (const block of turn.attemptBlocks) {
      block.el.remove();
      this.dirty.delete(block);
    }
    turn.attemptBlocks = [];
    turn.text = null;
    const text = retryText(event);
    this.notice('retry', text);
    turn.retryCount += 1;
    turn.retries.textContent = `${turn.retryCount} ${turn.retryCount === 1 ? 'retry' : 'retries'}`;
    turn.retries.hidden = false;
    turn.foot.hidden = false;
    this.announce(text);
  }

  // --- tools ---------------------------------------------------------------

  onTool(event) {
    this.closeText();
    this.attemptDone();
    const chip = this.toolChip(event.call_id, event.name, event.input, event.mutating === true);
    // A call the runtime ran itself for a policy (forensics before a power verb).
    if (event.inserted_by) {
      const tag = el('span', 'tool-tag tool-tag-inserted', `run by policy ${event.inserted_by}`);
      chip.details.querySelector('.tool-name').after(tag);
      chip.details.classList.add('is-inserted');
    }
  }

  // The model declined: the daemon takes the whole turn out of the
  // conversation, so its text stays visible but marked as withdrawn.
  onRefusal() {
    const turn = this.ensureTurn();
    this.closeText();
    for (const node of turn.el.querySelectorAll('.msg-assistant')) node.classList.add('is-withdrawn');
    this.notice('error', 'The model declined to answer. Its text in this turn is withdrawn and will not be sent again.');
    turn.errorShown = true;
  }

  toolChip(callId, name, input, mutating) {
    const details = el('details', 'tool');
    const summary = el('summary', 'tool-summary');
    const status = el('span', 'tool-status');
    status.setAttribute('aria-hidden', 'true');
    const statusText = el('span', 'sr-only', 'running');
    const argument = toolArgument(input);
    const arg = el('code', 'tool-arg', argument);
    arg.title = argument;
    const exit = el('span', 'tool-exit');
    exit.hidden = true;
    const time = el('span', 'tool-time');
    summary.append(status, statusText, el('span', 'tool-name', name || 'tool'));
    // Mutating calls (power verbs, anything the tool marks so) stand out.
    if (mutating) summary.append(el('span', 'tool-tag', 'mutating'));
    summary.append(arg, exit, time);

    const body = el('div', 'tool-body');
    const keys = input && typeof input === 'object' ? Object.keys(input) : [];
    const fullInput = keys.length === 1 && typeof input[keys[0]] === 'string'
      ? input[keys[0]]
      : JSON.stringify(input, null, 2);
    body.append(el('p', 'tool-label', 'Input'), this.pre('tool-input', fullInput ?? ''));
    const outputLabel = el('p', 'tool-label', 'Output');
    const output = this.pre('tool-output', '');
    const resultLabel = el('p', 'tool-label');
    const result = this.pre('tool-result', '');
    for (const node of [outputLabel, output, resultLabel, result]) node.hidden = true;
    body.append(outputLabel, output, resultLabel, result);
    details.append(summary, body);
    this.add(details);

    const chip = {
      details, statusText, exit, time, outputLabel, output, resultLabel, result,
      outputText: '', state: 'running',
    };
    details.classList.add('is-running');
    details.classList.toggle('is-mutating', mutating);
    this.turn.tools.push(chip); // add() made sure there is a turn
    if (callId) this.tools.set(callId, chip);
    return chip;
  }

  pre(className, text) {
    const node = el('pre', className, text);
    node.tabIndex = 0; // so the keyboard can scroll long output
    return node;
  }

  chipFor(callId) {
    return this.tools.get(callId) || this.toolChip(callId, 'tool', undefined, false);
  }

  onToolOutput(event) {
    if (typeof event.text !== 'string' || event.text === '') return;
    const chip = this.chipFor(event.call_id);
    const out = chip.output;
    const follow = this.live && chip.details.open && out.scrollHeight - out.scrollTop - out.clientHeight < FOLLOW_SLACK_PX;
    chip.outputLabel.hidden = false;
    out.hidden = false;
    chip.outputText += event.text;
    if (chip.outputText.length > TOOL_OUTPUT_MAX_CHARS) {
      chip.outputText = chip.outputText.slice(-Math.floor(TOOL_OUTPUT_MAX_CHARS / 2));
      out.textContent = `[earlier output not shown]\n${chip.outputText}`;
    } else {
      out.append(document.createTextNode(event.text));
    }
    if (follow) out.scrollTop = out.scrollHeight;
  }

  onToolResult(event) {
    const chip = this.chipFor(event.call_id);
    const failed = Boolean(event.is_error);
    this.setChipState(chip, failed ? 'error' : 'ok', failed ? 'failed' : 'succeeded');
    chip.time.textContent = formatDuration(Number(event.duration_ms));
    const content = typeof event.content === 'string' ? event.content : JSON.stringify(event.content ?? '');
    const exit = exitOf(content);
    if (exit) {
      chip.exit.textContent = exit.text;
      chip.exit.classList.toggle('is-failed', exit.failed);
      chip.exit.hidden = false;
    }
    if (content.trim() !== '' && content.trim() !== chip.outputText.trim()) {
      chip.resultLabel.textContent = failed ? 'Error' : 'Result';
      chip.result.textContent = content;
      chip.resultLabel.hidden = false;
      chip.result.hidden = false;
    }
    this.attemptDone();
  }

  setChipState(chip, state, label) {
    chip.details.classList.remove(`is-${chip.state}`);
    chip.state = state;
    chip.details.classList.add(`is-${state}`);
    chip.statusText.textContent = label;
  }

  // --- notices, usage, results ----------------------------------------------

  notice(kind, text, detail) {
    this.closeText();
    const p = el('p', `notice notice-${kind}`);
    p.append(el('span', 'notice-text', text));
    if (detail) p.append(el('code', 'notice-detail', detail));
    this.add(p);
  }

  // A policy's decision on a tool call. Plain allows are quiet; the rest
  // say who decided what, and why.
  onPolicy(event) {
    const verdict = typeof event.verdict === 'string' ? event.verdict : '';
    const who = event.policy ? `policy ${event.policy}` : 'a policy';
    const words = { deny: 'refused by', confirm: 'needs approval, says', run_first: 'runs something first, says', allow: 'allowed by' };
    const text = `${event.tool || 'tool'}: ${words[verdict] || `${verdict || 'decided'} by`} ${who}`;
    this.notice(`policy${verdict === 'allow' ? ' notice-quiet' : verdict === 'deny' ? ' notice-denied' : ''}`, text, event.reason || '');
  }

  onConfirmRequest(event) {
    const p = el('p', 'notice notice-confirm');
    p.dataset.confirmCall = event.call_id || '';
    const text = el('span', 'notice-text', `Waiting for approval: ${event.tool || 'tool'}`);
    const arg = el('code', 'notice-detail', toolArgument(event.input));
    const review = el('button', 'text-button confirm-review', 'Review');
    review.type = 'button';
    review.dataset.confirmCall = event.call_id || '';
    p.append(text, arg, review);
    this.closeText();
    this.add(p);
    this.confirms.set(event.call_id, { p, text, review, tool: event.tool || 'tool' });
  }

  onConfirmResult(event) {
    const c = this.confirms.get(event.call_id);
    if (!c) return;
    const by = event.identity ? ` by ${event.identity}` : '';
    let what = event.approved === true ? `Approved${by}` : `Denied${by}`;
    if (event.timed_out === true) what = 'No answer in time: not run';
    c.text.textContent = `${what}: ${c.tool}`;
    c.p.classList.add(event.approved === true ? 'is-approved' : 'is-denied');
    c.review.remove();
    this.confirms.delete(event.call_id);
    this.announce(`${what}.`);
  }

  onError(event) {
    const detail = [event.error_type, event.request_id && `request ${event.request_id}`]
      .filter(Boolean).join(' · ');
    const text = describeError(event.error);
    this.notice('error', text, detail);
    this.ensureTurn().errorShown = true;
    this.announce(`Error: ${text}`);
  }

  onUsage(event) {
    const turn = this.ensureTurn();
    turn.usageSeen = true;
    turn.usage.textContent = formatUsage(event.turn_total || event);
    turn.foot.hidden = false;
    this.attemptDone();
  }

  onResult(event) {
    const turn = this.ensureTurn();
    this.closeText();
    const failed = Boolean(event.is_error);
    if (failed && !turn.errorShown && !turn.cancelled && typeof event.result === 'string' && event.result) {
      this.notice('error', event.result);
      turn.errorShown = true;
    }
    if (!turn.usageSeen && event.usage) turn.usage.textContent = formatUsage(event.usage);
    const took = formatDuration(Number(event.duration_ms));
    let outcome = 'Done';
    if (turn.cancelled) outcome = 'Stopped';
    else if (failed) outcome = 'Ended with an error';
    turn.time.textContent = `${outcome}${took ? ` after ${took}` : ''}`;
    turn.foot.hidden = false;
  }

  // --- drawing -------------------------------------------------------------

  // Text deltas come many a second: markdown is redrawn once per frame.
  schedule() {
    if (!this.live) return; // during replay, caughtUp() draws once
    if (!this.frame) this.frame = requestAnimationFrame(() => this.flush());
  }

  flush() {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
    for (const block of this.dirty) block.el.replaceChildren(renderMarkdown(block.text));
    this.dirty.clear();
    if (this.following) this.scrollToEnd();
  }

  atBottom() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < FOLLOW_SLACK_PX;
  }

  scrollToEnd() {
    this.scroller.scrollTop = this.scroller.scrollHeight;
    this.autoScrollTop = this.scroller.scrollTop;
  }

  announce(text) {
    if (this.live) this.hooks.announce(text);
  }

  onClick(e) {
    const review = e.target.closest('.confirm-review');
    if (review) {
      if (this.hooks.reviewConfirm) this.hooks.reviewConfirm(review.dataset.confirmCall);
      return;
    }
    const button = e.target.closest('.md-copy');
    if (!button) return;
    const code = button.parentElement.querySelector('code');
    if (!code) return;
    const done = (label) => {
      button.textContent = label;
      setTimeout(() => { button.textContent = 'Copy'; }, COPY_FEEDBACK_MS);
    };
    // Without the clipboard API (plain http), select the code for Ctrl+C.
    const select = () => {
      window.getSelection().selectAllChildren(code);
      done('Selected');
    };
    if (!navigator.clipboard) {
      select();
      return;
    }
    navigator.clipboard.writeText(code.textContent).then(() => done('Copied'), select);
  }
}
