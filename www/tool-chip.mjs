// One action in the transcript, an agent's tool call or a power button's
// verb: a <details> whose summary says what runs and, while it runs, for
// how long and its latest output line; once it ends, its outcome on one
// line (from the result's structured fields, never its text). The body
// holds the input, the whole output, and the result when no output said it
// already.

import { formatDuration, formatElapsed, identityName, parseTime } from './format.mjs';
import { callOutcome, lastLine, layerWords, pveSummary } from './outcome.mjs';
import { el } from './dom.mjs';
import { reveal, revealHidden } from './reveal.mjs';

// Output kept in the page per call; older output is dropped first.
export const TOOL_OUTPUT_MAX_CHARS = 256 * 1024;
// Closer than this to the bottom counts as "following along".
const FOLLOW_SLACK_PX = 48;

const STATE_WORDS = { running: 'running', ok: 'succeeded', finding: 'found a problem', error: 'failed', unknown: 'no result' };

function pre(className, text) {
  const node = el('pre', className, text);
  node.tabIndex = 0; // so the keyboard can scroll long output
  return node;
}

// The one argument that says what a tool call does: the command or verb.
export function toolArgument(input) {
  if (!input || typeof input !== 'object') return input === undefined ? '' : String(input);
  for (const key of ['command', 'verb', 'cmd', 'path', 'query']) {
    if (typeof input[key] === 'string') return input[key];
  }
  const first = Object.values(input).find((v) => typeof v === 'string');
  if (first !== undefined) return first;
  return Object.keys(input).length ? JSON.stringify(input) : '';
}

export class ToolChip {
  // event: the `tool` event (or a stand-in for output with no call seen);
  // press: the `button` event when a power button asked for it.
  constructor(event, press) {
    this.callId = event.call_id;
    this.name = typeof event.name === 'string' && event.name ? event.name : 'tool';
    this.input = event.input;
    this.verb = this.name === 'pve' && event.input && typeof event.input.verb === 'string' ? event.input.verb : '';
    this.button = Boolean(press);
    this.startedAt = parseTime(event.ts);
    if (!Number.isFinite(this.startedAt)) this.startedAt = Date.now();
    this.outputText = '';
    this.unseen = ''; // output not drawn yet; null: draw all of outputText
    this.follow = false;
    this.frame = 0;
    this.line = '';
    this.state = 'running';
    this.build(event, press);
  }

  // What the header calls it while it runs.
  get label() {
    return this.verb || this.name;
  }

  get running() {
    return this.state === 'running';
  }

  build(event, press) {
    const mutating = event.mutating === true;
    const details = el('details', 'tool is-running');
    details.classList.toggle('is-mutating', mutating);
    details.dataset.call = this.callId || '';
    const summary = el('summary', 'tool-summary');
    const status = el('span', 'tool-status');
    status.setAttribute('aria-hidden', 'true');
    this.statusText = el('span', 'sr-only', STATE_WORDS.running);
    const head = el('span', 'tool-head');
    head.append(el('span', 'tool-name', reveal(this.name)));
    // Mutating calls (power verbs, anything the tool marks so) stand out.
    if (mutating) head.append(el('span', 'tool-tag', 'mutating'));
    // A call the runtime ran itself for a policy (forensics before a power verb).
    if (event.inserted_by) {
      head.append(el('span', 'tool-tag tool-tag-inserted', `run by policy ${reveal(event.inserted_by)}`));
      details.classList.add('is-inserted');
    }
    if (press && press.call_id === this.callId) {
      head.append(el('span', 'tool-tag tool-tag-button', `button · ${identityName(press.identity)}`));
      if (press.override === true) head.append(el('span', 'tool-tag', 'override'));
    }
    // What ran, hidden characters by name, as the approval dialog shows it.
    const argument = revealHidden(toolArgument(event.input)).text;
    const arg = el('code', 'tool-arg', argument);
    arg.title = argument;
    head.append(arg);
    this.exit = el('span', 'tool-exit');
    this.exit.hidden = true;
    this.time = el('span', 'tool-time');
    head.append(this.exit, this.time);
    // While it runs: elapsed time and the latest line; then the outcome.
    this.live = el('span', 'tool-live');
    this.elapsed = el('span', 'tool-elapsed');
    this.lineEl = el('span', 'tool-line');
    this.live.append(this.elapsed, this.lineEl);
    summary.append(status, this.statusText, head, this.live);

    const body = el('div', 'tool-body');
    const keys = event.input && typeof event.input === 'object' ? Object.keys(event.input) : [];
    const fullInput = keys.length === 1 && typeof event.input[keys[0]] === 'string'
      ? event.input[keys[0]]
      : JSON.stringify(event.input, null, 2);
    body.append(el('p', 'tool-label', 'Input'), pre('tool-input', revealHidden(fullInput ?? '').text));
    this.outputLabel = el('p', 'tool-label', 'Output');
    this.output = pre('tool-output', '');
    this.resultLabel = el('p', 'tool-label');
    this.result = pre('tool-result', '');
    for (const node of [this.outputLabel, this.output, this.resultLabel, this.result]) node.hidden = true;
    body.append(this.outputLabel, this.output, this.resultLabel, this.result);
    details.append(summary, body);
    this.details = details;
    this.summary = summary;
    this.tick(Date.now());
  }

  // Live output. live: the stream is live, so a box scrolled to its end
  // (and open) stays there as it grows. Output comes in thousands of small
  // events a second: it is drawn once a frame, since each draw measures
  // the box (a layout of all of it).
  appendOutput(text, live) {
    this.outputText += text;
    if (this.unseen !== null) this.unseen += text;
    if (this.outputText.length > TOOL_OUTPUT_MAX_CHARS) {
      this.outputText = this.outputText.slice(-Math.floor(TOOL_OUTPUT_MAX_CHARS / 2));
      this.unseen = null; // redrawn whole
    }
    const line = lastLine(text);
    if (line) this.line = line;
    this.follow ||= live;
    if (!this.frame) this.frame = requestAnimationFrame(() => this.drawOutput());
  }

  drawOutput() {
    this.frame = 0;
    const out = this.output;
    const follow = this.follow && this.details.open && out.scrollHeight - out.scrollTop - out.clientHeight < FOLLOW_SLACK_PX;
    this.outputLabel.hidden = false;
    out.hidden = false;
    if (this.unseen === null) out.textContent = `[earlier output not shown]\n${this.outputText}`;
    else out.append(document.createTextNode(this.unseen));
    this.unseen = '';
    this.follow = false;
    if (follow) out.scrollTop = out.scrollHeight;
    if (this.running) this.lineEl.textContent = this.line;
  }

  tick(now) {
    if (this.running) this.elapsed.textContent = formatElapsed(now - this.startedAt);
  }

  setState(state) {
    this.details.classList.remove(`is-${this.state}`);
    this.state = state;
    this.details.classList.add(`is-${state}`);
    this.statusText.textContent = STATE_WORDS[state] || state;
  }

  // The tool_result: the outcome from is_error and details; for a power
  // verb, what the forced command did, from its own result lines.
  // refusedBy: the policy that refused the call (its policy event), if one did.
  finish(event, refusedBy) {
    const o = callOutcome(event);
    if (refusedBy) o.words = `refused by policy ${reveal(refusedBy)}`;
    this.setState(o.state);
    this.time.textContent = formatDuration(o.durationMs);
    const badge = o.layer && o.state !== 'ok' ? layerWords(o.layer) : o.exit;
    this.exit.textContent = badge;
    this.exit.classList.toggle('is-failed', o.state !== 'ok');
    this.exit.hidden = !badge;
    let text = o.words; // the exit and the time have their own places
    if (this.verb) {
      const d = event.details && typeof event.details === 'object' ? event.details : {};
      const out = this.outputText || (typeof d.stdout === 'string' ? d.stdout : '');
      const summary = pveSummary(this.verb, out, `${out}\n${typeof d.stderr === 'string' ? d.stderr : ''}`);
      if (summary) text = `${text} · ${summary}`;
    }
    this.outcome = o;
    this.outcomeText = text;
    this.elapsed.textContent = '';
    this.lineEl.textContent = text;
    // The result repeats the output when there was some (a power verb's
    // log, a command's streams): the outcome line says the rest.
    const content = typeof event.content === 'string' ? event.content : JSON.stringify(event.content ?? '');
    if (content.trim() !== '' && this.outputText.trim() === '') {
      this.resultLabel.textContent = o.state === 'error' ? 'Error' : 'Result';
      this.result.textContent = reveal(content);
      this.resultLabel.hidden = false;
      this.result.hidden = false;
    }
  }

  // Its turn ended, or the service restarted, with no result for it.
  lost() {
    this.setState('unknown');
    this.elapsed.textContent = '';
    this.lineEl.textContent = 'no result';
  }
}
