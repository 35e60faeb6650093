// History: the list of past sessions, and one of them opened read-only:
// its transcript (attached to its stream, as the chat is), a timeline of
// when each tool and verb ran, how long and how it ended, its journal as a
// download and an incident summary in Markdown.

import * as api from './api.mjs';
import { EventStream } from './stream.mjs';
import { Transcript } from './transcript.mjs';
import { buildIncident, callSource, incidentMarkdown, outcomeWords } from './incident.mjs';
import { formatAgo, formatClockSeconds, formatCount, formatDuration, formatTimestamp, parseTime } from './format.mjs';
import { el } from './dom.mjs';
import { reveal, sessionTitle } from './reveal.mjs';

// Live events redraw the timeline at most this often.
const TIMELINE_REDRAW_MS = 500;
// A bar never thinner than this share of the track, so a 20 ms call shows.
const BAR_MIN_PERCENT = 0.8;
const DOWNLOAD_URL_LIFETIME_MS = 10_000;

// Saves text or a Blob as a file through a temporary object URL.
function download(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = el('a');
  a.href = url;
  a.download = filename;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), DOWNLOAD_URL_LIFETIME_MS);
}

const shortId = (id) => String(id).slice(0, 8);

// Draws the incident into container as horizontal bars on one time axis:
// a row a turn, then a row a tool call. Positions are set through the
// CSSOM (element.style), which the CSP allows; no style attribute markup.
export function drawTimeline(container, incident, now = Date.now()) {
  const start = incident.start;
  const end = Math.max(incident.end, ...incident.calls.filter((c) => c.outcome === 'running').map(() => now));
  if (!Number.isFinite(start) || !Number.isFinite(end)) {
    container.replaceChildren(el('p', 'muted', 'Nothing has happened in this session yet.'));
    return;
  }
  const span = Math.max(1, end - start);
  const place = (bar, from, to) => {
    const left = Math.min(100, Math.max(0, ((from - start) / span) * 100));
    const width = Math.max(BAR_MIN_PERCENT, Math.min(100 - left, ((to - from) / span) * 100));
    bar.style.left = `${left.toFixed(2)}%`;
    bar.style.width = `${width.toFixed(2)}%`;
  };

  const axis = el('div', 'timeline-axis');
  axis.append(el('span', '', formatClockSeconds(start, { zone: true })), el('span', '', formatDuration(span)),
    el('span', '', formatClockSeconds(end, { zone: true })));
  const rows = el('ol', 'timeline-rows');
  const row = (kind, label, meta, from, to, title) => {
    const li = el('li', `timeline-row is-${kind}`);
    const text = el('span', 'timeline-label');
    text.append(el('span', 'timeline-name', label), el('span', 'timeline-meta', meta));
    const track = el('span', 'timeline-track');
    const bar = el('span', 'timeline-bar');
    bar.title = title;
    place(bar, from, Number.isFinite(to) ? to : end);
    track.append(bar);
    li.append(text, track);
    rows.append(li);
  };
  incident.turns.forEach((t, i) => {
    const took = formatDuration(t.end - t.start);
    const prompt = reveal(t.prompt);
    row('turn', `Turn ${i + 1}: ${prompt}`, [formatClockSeconds(t.start), took, t.outcome].filter(Boolean).join(' · '),
      t.start, t.end, `${prompt}\n${formatTimestamp(t.start)}${took ? `, ${took}` : ''}`);
  });
  for (const c of incident.calls) {
    const took = formatDuration(c.durationMs);
    const outcome = outcomeWords(c);
    const by = c.source === 'model' && !c.insertedBy ? '' : callSource(c);
    const what = reveal(`${c.name}${c.arg ? ` ${c.arg}` : ''}`);
    const who = reveal(by);
    row(c.outcome, what, [formatClockSeconds(c.start), took, who, outcome].filter(Boolean).join(' · '),
      c.start, c.end, `${what}${who ? ` (${who})` : ''}\n${formatTimestamp(c.start)}${took ? `, ${took}` : ''}: ${outcome}`);
    if (c.mutating) rows.lastElementChild.classList.add('is-mutating');
    if (c.source === 'button') rows.lastElementChild.classList.add('is-button');
  }
  container.replaceChildren(axis, rows);
}

export class HistoryView {
  // dialog: the history <dialog>; hooks: openInChat(id), unauthorized(message).
  constructor(dialog, hooks) {
    this.dialog = dialog;
    this.hooks = hooks;
    const $ = (id) => document.getElementById(id);
    this.ui = {
      title: $('history-title'), back: $('history-back'), close: $('history-close'),
      listView: $('history-list-view'), list: $('history-list'), empty: $('history-empty'),
      detail: $('history-detail'), meta: $('history-meta'), open: $('history-open'),
      journal: $('history-journal'), summary: $('history-summary'), timeline: $('timeline'),
      transcript: $('history-transcript'), turns: $('history-turns'), nothing: $('history-nothing'),
      status: $('history-status'),
    };
    this.sessions = [];
    this.current = null;
    this.events = [];
    this.stream = null;
    this.redraw = 0;
    this.transcript = new Transcript(this.ui.transcript, this.ui.turns, this.ui.nothing, {
      onRunning: () => {},
      announce: () => {},
    });
    this.ui.list.addEventListener('click', (e) => {
      const button = e.target.closest('button[data-session]');
      if (button) this.select(button.dataset.session);
    });
    this.ui.back.addEventListener('click', () => this.showList());
    this.ui.close.addEventListener('click', () => dialog.close());
    this.ui.open.addEventListener('click', () => {
      const id = this.current && this.current.id;
      dialog.close();
      if (id) this.hooks.openInChat(id);
    });
    this.ui.journal.addEventListener('click', () => this.downloadJournal());
    this.ui.summary.addEventListener('click', () => this.exportSummary());
    dialog.addEventListener('close', () => this.detach());
  }

  async open() {
    this.showList();
    if (!this.dialog.open) this.dialog.showModal();
    try {
      const data = await api.sessionList();
      this.sessions = Array.isArray(data && data.sessions) ? data.sessions.filter((s) => s && typeof s.id === 'string') : [];
    } catch (err) {
      if (err.status === 401) this.hooks.unauthorized(err.message);
      this.setStatus(`The sessions could not be loaded: ${err.message}`);
      this.sessions = [];
    }
    this.sessions.sort((a, b) => (parseTime(b.last_activity) || 0) - (parseTime(a.last_activity) || 0));
    this.drawList();
  }

  setStatus(text) {
    this.ui.status.textContent = text;
  }

  showList() {
    this.detach();
    this.current = null;
    this.ui.title.textContent = 'History';
    this.ui.back.hidden = true;
    this.ui.detail.hidden = true;
    this.ui.listView.hidden = false;
    this.setStatus('');
  }

  drawList() {
    const items = this.sessions.map((s) => {
      const li = el('li');
      const button = el('button', 'history-item');
      button.type = 'button';
      button.dataset.session = s.id;
      const title = el('span', 'session-title', sessionTitle(s));
      const meta = el('span', 'session-meta');
      const when = el('time', '', formatAgo(s.last_activity ?? s.created));
      when.title = `Started ${formatTimestamp(s.created)}, last activity ${formatTimestamp(s.last_activity)}`;
      const status = el('span', `session-status status-${s.status || 'other'}`, s.status || '');
      const actions = el('span', 'history-count',
        `${formatCount(s.tool_calls ?? 0)} actions${s.mutating_calls ? ` · ${formatCount(s.mutating_calls)} mutating` : ''}`);
      meta.append(when, status, actions);
      const u = s.usage;
      if (u && (u.input_tokens || u.output_tokens)) {
        meta.append(el('span', 'history-count', `${formatCount(u.input_tokens)} in / ${formatCount(u.output_tokens)} out tokens`));
      }
      button.append(title, meta);
      li.append(button);
      return li;
    });
    this.ui.list.replaceChildren(...items);
    this.ui.empty.hidden = items.length > 0;
  }

  // Opens one session read-only: its stream feeds the transcript and the
  // timeline.
  select(id) {
    const s = this.sessions.find((x) => x.id === id) || { id };
    this.detach();
    this.current = s;
    this.events = [];
    this.ui.title.textContent = sessionTitle(s);
    this.ui.meta.textContent = [`Session ${shortId(s.id)}`, s.status, s.created && `started ${formatTimestamp(s.created)}`]
      .filter(Boolean).join(' · ');
    this.ui.back.hidden = false;
    this.ui.listView.hidden = true;
    this.ui.detail.hidden = false;
    this.ui.timeline.replaceChildren(el('p', 'muted', 'Loading…'));
    this.transcript.reset(true);
    this.setStatus('');
    const stream = new EventStream(api.sessionStreamUrl(id), {
      headers: api.authHeaders,
      onEvent: (event) => {
        if (stream !== this.stream) return;
        this.events.push(event);
        this.transcript.apply(event);
        if (this.transcript.live) this.scheduleTimeline();
      },
      onCaughtUp: () => {
        if (stream !== this.stream) return;
        this.transcript.caughtUp();
        this.drawTimeline();
      },
      onState: () => {},
      onFatal: (reason) => {
        if (stream !== this.stream) return;
        this.stream = null;
        if (reason === 'unauthorized') this.hooks.unauthorized('Sign in to read this session.');
        else this.setStatus('That session no longer exists.');
      },
    });
    this.stream = stream;
    stream.start();
  }

  detach() {
    if (this.stream) this.stream.stop();
    this.stream = null;
    clearTimeout(this.redraw);
    this.redraw = 0;
  }

  scheduleTimeline() {
    if (this.redraw) return;
    this.redraw = setTimeout(() => {
      this.redraw = 0;
      this.drawTimeline();
    }, TIMELINE_REDRAW_MS);
  }

  drawTimeline() {
    drawTimeline(this.ui.timeline, buildIncident(this.events));
  }

  async downloadJournal() {
    if (!this.current) return;
    try {
      download(await api.sessionJournal(this.current.id), `breakglass-session-${this.current.id}.jsonl`);
      this.setStatus('Journal downloaded.');
    } catch (err) {
      if (err.status === 401) this.hooks.unauthorized(err.message);
      this.setStatus(`The journal could not be downloaded: ${err.message}`);
    }
  }

  exportSummary() {
    if (!this.current) return;
    const incident = buildIncident(this.events);
    const text = incidentMarkdown(this.current, incident);
    const day = Number.isFinite(incident.start) ? new Date(incident.start).toISOString().slice(0, 10) : 'undated';
    download(new Blob([text], { type: 'text/markdown' }), `incident-${day}-${shortId(this.current.id)}.md`);
    this.setStatus('Summary exported.');
  }
}
