// The conversation view: folds the daemon's events, in order, into DOM.
//
// The same fold serves replay and live tailing, so a reload shows exactly
// what a watcher saw. All model and command text goes in through text
// nodes or the safe markdown renderer, never as HTML. Power buttons pressed
// in this session are actions like the agent's calls: their chips, policy
// decisions and output appear here too.

import { describeError, formatClock, formatDuration, formatUsage, identityName, parseTime } from './format.mjs';
import { ToolChip, toolArgument } from './tool-chip.mjs';
import { el } from './dom.mjs';
import { reveal } from './reveal.mjs';

export { toolArgument };

// Closer than this to the bottom counts as "following along".
const FOLLOW_SLACK_PX = 48;
const COPY_FEEDBACK_MS = 1500;
// Running actions' elapsed times advance this often.
const TICK_MS = 1000;
// The markdown renderer is loaded when the first text is drawn: the page's
// first screen, an empty chat, does not need it. One load serves every
// transcript of the page; if it fails, text is drawn plain from then on.
let renderMarkdown = null;
let markdownError = null;
let markdownLoad = null;
function loadMarkdown() {
  markdownLoad ??= import('./markdown.mjs').then(
    (m) => { renderMarkdown = m.renderMarkdown; },
    (err) => {
      markdownError = err;
      renderMarkdown = renderPlain;
    },
  );
  return markdownLoad;
}

function renderPlain(text) {
  return document.createTextNode(text);
}

// A model call's errors that mean the API was not reached at all.
const UNREACHABLE_TYPES = new Set(['connection_error', 'idle_timeout', 'request_timeout', 'stream_error']);

// A failed model call, in plain words: what failed, and why in the API's
// own words.
export function modelErrorText(event) {
  const why = describeError(event.error);
  const status = Number(event.http_status) || 0;
  if (status === 0 && UNREACHABLE_TYPES.has(event.error_type)) return `The model API cannot be reached: ${why}.`;
  if (status === 401 || status === 403) return `The model API refused the service's credential (HTTP ${status}): ${why}.`;
  if (status === 429) return `The model API is rate limiting this service (HTTP 429): ${why}.`;
  if (status >= 500) return `The model API is failing (HTTP ${status}): ${why}.`;
  return `The model call failed${status ? ` (HTTP ${status})` : ''}: ${why}.`;
}

function retryText(event) {
  const why = `${event.error_type || ''} ${describeError(event.error)}`;
  let what = describeError(event.error);
  if (/overload/i.test(why) || event.http_status === 529) what = 'Model overloaded';
  else if (/rate.?limit/i.test(why) || event.http_status === 429) what = 'Rate limited';
  else if (!event.http_status && UNREACHABLE_TYPES.has(event.error_type)) what = `The model API cannot be reached (${what})`;
  const seconds = Math.round((Number(event.delay_ms) || 0) / 100) / 10;
  const retry = event.attempt >= 1 ? ` (retry ${event.attempt})` : '';
  return `${what}, retrying in ${seconds} s${retry}.`;
}

export class Transcript {
  // scroller: the element that scrolls; list: where turns go; empty: shown
  // while there is nothing yet. hooks: onRunning(bool), announce(text),
  // and optionally reviewConfirm(callId) (reopens a pending approval),
  // offerPower() (a node offering the power buttons, shown when the model
  // cannot be used), onActivity() (what runs changed or advanced).
  constructor(scroller, list, empty, hooks) {
    this.scroller = scroller;
    this.list = list;
    this.empty = empty;
    this.hooks = hooks;
    this.ticker = 0;
    this.following = true;
    this.autoScrollTop = 0;
    this.frame = 0;
    this.awaitingRenderer = false;
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
    this.presses = new Map(); // button events by call_id
    this.refusals = new Map(); // call_id -> the policy that refused it
    this.confirms = new Map();
    this.turnStartedAt = NaN;
    this.stopTicker();
    this.dirty = new Set();
    this.plainSaid = false;
    this.isRunning = false;
    this.live = false;
    this.following = true;
    this.autoScrollTop = 0;
    this.empty.hidden = Boolean(replaying);
  }

  get running() {
    return this.isRunning;
  }

  // What runs now, newest first: chips of calls and verbs without a result.
  runningChips() {
    return [...this.tools.values()].filter((c) => c.running).reverse();
  }

  // Since when the agent's turn runs (NaN when none does).
  get turnStarted() {
    return this.isRunning ? this.turnStartedAt : NaN;
  }

  // The latest output line of a call and of what a policy ran before it.
  liveLine(callId) {
    const chips = [...this.tools.values()].filter((c) => c.callId === callId || c.callId?.startsWith(`${callId}.first`));
    const running = chips.filter((c) => c.running && c.line);
    return (running.at(-1) || chips.filter((c) => c.line).at(-1))?.line || '';
  }

  // Opens a call's chip and brings it into view; false when it is not here.
  reveal(callId) {
    const chip = this.tools.get(callId);
    if (!chip) return false;
    chip.details.open = true;
    chip.details.scrollIntoView({ block: 'nearest' });
    chip.summary.focus({ preventScroll: true });
    return true;
  }

  // Replay is complete: draw everything now and start announcing. After a
  // reconnect the operator's scroll position is left alone.
  caughtUp() {
    if (!this.live) this.following = true;
    this.live = true;
    this.empty.hidden = this.list.childElementCount > 0;
    this.flush();
    this.hooks.onRunning(this.isRunning);
    this.activity();
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
      case 'button':
        this.onButton(event);
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
        this.notice('cancelled', `Stopped by ${identityName(event.identity)}.`);
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
        this.endTurn(true);
        this.announce('The turn was interrupted by a restart.');
        break;
      default:
        return; // unknown kinds are ignored, as the contract says
    }
    this.schedule();
    if (['user', 'tool', 'tool_result', 'turn_end', 'interrupted', 'cancelled'].includes(event.kind)) this.activity();
  }

  // --- what runs, and for how long ---------------------------------------------

  activity() {
    const running = this.live && (this.isRunning || this.runningChips().length > 0);
    if (running && !this.ticker) this.ticker = setInterval(() => this.tick(), TICK_MS);
    if (!running) this.stopTicker();
    if (this.live && this.hooks.onActivity) this.hooks.onActivity();
  }

  tick() {
    const now = Date.now();
    for (const chip of this.tools.values()) chip.tick(now);
    if (this.hooks.onActivity) this.hooks.onActivity();
  }

  stopTicker() {
    clearInterval(this.ticker);
    this.ticker = 0;
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
    const who = [identityName(event.identity), formatClock(event.ts)].filter(Boolean).join(' · ');
    // The session's title is made from this text: both read the same.
    msg.append(el('p', 'msg-who', who), el('div', 'msg-text', reveal(event.text || '')));
    this.add(msg);
    turn.attemptBlocks = [];
    this.turnStartedAt = parseTime(event.ts);
    if (!Number.isFinite(this.turnStartedAt)) this.turnStartedAt = Date.now();
    this.setRunning(true);
  }

  // A turn's end leaves a power verb pressed during it running (its result
  // comes on its own); a restart (lost) ends everything that ran.
  endTurn(lost = false) {
    const turn = this.turn;
    if (!turn) {
      this.setRunning(false);
      return;
    }
    this.closeText();
    for (const chip of turn.tools) {
      if (chip.running && (lost || !chip.button)) chip.lost();
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

  // --- tools and buttons ------------------------------------------------------

  // A power button was pressed in this session: who pressed it, and when.
  onButton(event) {
    this.presses.set(event.call_id, event);
    this.closeText();
    const who = [`${reveal(event.verb || 'power verb')} pressed by ${identityName(event.identity)}`,
      event.override === true ? 'over a policy limit' : '', formatClock(event.ts)].filter(Boolean).join(' · ');
    this.add(el('p', 'msg-who msg-button', who));
  }

  // The button press a call belongs to: its own, or the one a policy ran
  // something first for.
  pressOf(callId) {
    if (typeof callId !== 'string') return undefined;
    return this.presses.get(callId.replace(/\.first\d+$/, ''));
  }

  onTool(event) {
    this.closeText();
    this.attemptDone();
    this.addChip(event);
  }

  addChip(event) {
    const chip = new ToolChip(event, this.pressOf(event.call_id));
    this.add(chip.details);
    this.turn.tools.push(chip); // add() made sure there is a turn
    if (event.call_id) this.tools.set(event.call_id, chip);
    return chip;
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

  chipFor(event) {
    return this.tools.get(event.call_id) || this.addChip({ call_id: event.call_id, ts: event.ts });
  }

  onToolOutput(event) {
    if (typeof event.text !== 'string' || event.text === '') return;
    this.chipFor(event).appendOutput(event.text, this.live);
    if (this.live && this.hooks.onActivity) this.hooks.onActivity();
  }

  onToolResult(event) {
    this.chipFor(event).finish(event, this.refusals.get(event.call_id));
    this.attemptDone();
  }

  // --- notices, usage, results ----------------------------------------------

  // Its words may quote a policy's name and reason, a tool or an error:
  // hidden characters in them show by name.
  notice(kind, text, detail) {
    this.closeText();
    const p = el('div', `notice notice-${kind}`);
    p.append(el('span', 'notice-text', reveal(text)));
    if (detail) p.append(el('code', 'notice-detail', reveal(detail)));
    return this.add(p);
  }

  // A policy's decision on a tool call. Plain allows are quiet; the rest
  // say who decided what, and why.
  onPolicy(event) {
    const verdict = typeof event.verdict === 'string' ? event.verdict : '';
    if (verdict === 'deny') this.refusals.set(event.call_id, event.policy || 'a policy');
    const who = event.policy ? `policy ${event.policy}` : 'a policy';
    const press = this.pressOf(event.call_id);
    const what = press?.verb ? `${event.tool || 'pve'} ${press.verb}` : event.tool || 'tool';
    let text;
    if (verdict === 'override') {
      text = `${what}: ${who} overridden by ${identityName(event.identity)}`;
    } else {
      const words = { deny: 'refused by', confirm: 'needs approval, says', run_first: 'runs something first, says', allow: 'allowed by' };
      text = `${what}: ${words[verdict] || `${verdict || 'decided'} by`} ${who}`;
    }
    const tone = { allow: ' notice-quiet', deny: ' notice-denied', override: ' notice-override' }[verdict] || '';
    this.notice(`policy${tone}`, text, event.reason || '');
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
    const by = ` by ${identityName(event.identity)}`;
    let what = event.approved === true ? `Approved${by}` : `Denied${by}`;
    if (event.timed_out === true) what = 'No answer in time: not run';
    c.text.textContent = `${what}: ${c.tool}`;
    c.p.classList.add(event.approved === true ? 'is-approved' : 'is-denied');
    c.review.remove();
    this.confirms.delete(event.call_id);
    this.announce(`${what}.`);
  }

  // A model call's error (it carries http_status) says in plain words that
  // the model API failed, and offers the power buttons, which need no model.
  onError(event) {
    const detail = [event.error_type, event.request_id && `request ${event.request_id}`]
      .filter(Boolean).join(' · ');
    const model = event.http_status !== undefined;
    const text = model ? modelErrorText(event) : describeError(event.error);
    const p = this.notice('error', text, detail);
    if (model) {
      p.classList.add('notice-model');
      const offer = this.hooks.offerPower ? this.hooks.offerPower() : null;
      if (offer) p.append(offer);
    }
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
    if (this.dirty.size && !renderMarkdown) {
      this.loadRenderer();
      return;
    }
    for (const block of this.dirty) {
      block.el.replaceChildren(renderMarkdown(block.text));
      block.el.classList.toggle('is-plain', renderMarkdown === renderPlain);
      if (renderMarkdown === renderPlain) this.sayPlain(block);
    }
    this.dirty.clear();
    if (this.following) this.scrollToEnd();
  }

  // The text waits for the renderer, then is drawn at once (during a
  // replay, caughtUp() draws it). A renderer that did not load (the network
  // failed, or the daemon went away or changed under the page) leaves the
  // text plain, and the transcript says why.
  loadRenderer() {
    if (this.awaitingRenderer) return;
    this.awaitingRenderer = true;
    loadMarkdown().then(() => {
      this.awaitingRenderer = false;
      if (this.live) this.flush();
    });
  }

  // Said once a transcript, above the first text drawn plain.
  sayPlain(block) {
    if (this.plainSaid || !block.el.parentNode) return;
    this.plainSaid = true;
    const p = el('div', 'notice notice-error');
    p.append(el('span', 'notice-text', `The text's formatting did not load (${markdownError?.message || 'unknown error'}): `
      + 'the text is shown plain. Reload the page to format it.'));
    block.el.before(p);
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
