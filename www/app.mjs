// The page: wires the session list, the transcript, the event stream, the
// header's state bar, the power controls and the composer together. State
// lives in the daemon; the page keeps only the current session id (URL hash
// and localStorage) and, if pasted, the bearer token (sessionStorage, or
// localStorage when the operator asks this device to remember it).

import * as api from './api.mjs';
import { EventStream } from './stream.mjs';
import { Transcript } from './transcript.mjs';
import { SessionList } from './sessions.mjs';
import { VmPanel } from './vm-panel.mjs';
import { StatusPanel } from './status-panel.mjs';
import { StateBar } from './statebar.mjs';
import { formatElapsed } from './format.mjs';

const SESSION_STORAGE_KEY = 'breakglass.session';
const SESSION_HASH_PREFIX = '#session=';
const SESSION_ID_MAX_CHARS = 200;
const PROMPT_MAX_ROWS = 10;
const SESSIONS_REFRESH_DELAY_MS = 500;
// Wide screens show the side panel beside the chat; keep in step with app.css.
const WIDE_SCREEN_QUERY = '(min-width: 56rem)';
// Failed attempts in a row after which the indicator says offline rather
// than reconnecting (about 4 s of backoff).
const OFFLINE_AFTER_FAILED_ATTEMPTS = 3;
// The ages in the state bar advance this often.
const STATEBAR_TICK_MS = 1000;
// Verbs offered in a failed turn's error, when the host has them.
const OFFERED_VERBS = ['status', 'forensics', 'cycle'];

const $ = (id) => document.getElementById(id);
const ui = {
  drawerToggle: $('drawer-toggle'),
  statebar: $('statebar'),
  vmPanel: $('vm-panel'),
  presets: $('presets'),
  sidebar: $('sidebar'),
  chat: $('chat'),
  scrim: $('scrim'),
  conn: $('conn'),
  connText: $('conn-text'),
  tokenButton: $('token-button'),
  tokenDialog: $('token-dialog'),
  tokenReason: $('token-reason'),
  tokenInput: $('token-input'),
  tokenRemember: $('token-remember'),
  tokenClear: $('token-clear'),
  tokenCancel: $('token-cancel'),
  banner: $('banner'),
  transcript: $('transcript'),
  turns: $('turns'),
  empty: $('empty'),
  composer: $('composer'),
  prompt: $('prompt'),
  send: $('send'),
  stop: $('stop'),
  status: $('status'),
  announcer: $('announcer'),
  newSession: $('new-session'),
  sessionList: $('session-list'),
  sessionEmpty: $('session-empty'),
  statusPanel: $('status-panel'),
  confirmDialog: $('confirm-dialog'),
  historyButton: $('history-button'),
  historyDialog: $('history-dialog'),
};

const wideScreen = matchMedia(WIDE_SCREEN_QUERY);

let sessionId = null;
let stream = null;
let sending = false;
let refreshTimer = 0;
let revealWhenCaughtUp = null;

const announce = (text) => { ui.announcer.textContent = text; };

const transcript = new Transcript(ui.transcript, ui.turns, ui.empty, {
  onRunning: (running) => {
    updateComposer(running);
    updateAgent();
  },
  announce,
  reviewConfirm: (callId) => approvals.review(callId),
  offerPower,
  onActivity: () => {
    updateAgent();
    updateComposer();
  },
});

// The approval dialog is loaded with a session's first request for
// approval: most sessions never ask, and the page's first load is lighter
// without it. From that request on, the events the dialog must see wait, in
// order, until it is here. If it cannot be loaded (the network, or the
// daemon gone or updated since the page loaded), the page says so, and the
// request ends as if nobody had answered.
const approvals = {
  dialog: null,
  waitingEvents: null, // for the dialog, from the first request on
  live: false,
  failed: '',

  reset() {
    this.waitingEvents = null;
    this.live = false;
    this.dialog?.reset();
  },

  apply(event) {
    if (this.dialog) {
      this.dialog.apply(event);
    } else if (this.waitingEvents) {
      this.waitingEvents.push(event);
    } else if (event.kind === 'confirm_request') {
      this.waitingEvents = [event];
      this.load();
      if (this.live) updateAgent();
    }
  },

  caughtUp() {
    this.live = true;
    this.dialog?.caughtUp();
  },

  get waiting() {
    return this.dialog ? this.dialog.waiting : Boolean(this.waitingEvents);
  },

  showNext() {
    if (this.dialog) this.dialog.showNext();
    else if (this.failed) setStatus(this.failed);
  },

  review(callId) {
    if (this.dialog) this.dialog.review(callId);
    else if (this.failed) setStatus(this.failed);
  },

  async load() {
    try {
      const { ConfirmDialog } = await import('./confirm-dialog.mjs');
      this.dialog ??= new ConfirmDialog(ui.confirmDialog, {
        sessionId: () => sessionId,
        unauthorized: (message) => openTokenDialog(message),
        announce,
        onChange: updateAgent,
      });
    } catch (e) {
      this.waitingEvents = null;
      this.failed = `The approval dialog did not load (${e.message}): reload the page to answer the request.`;
      setStatus(this.failed);
      updateAgent();
      return;
    }
    // A new session may have begun meanwhile: its events, if any, wait here.
    const events = this.waitingEvents ?? [];
    this.waitingEvents = null;
    for (const event of events) this.dialog.apply(event);
    if (this.live) this.dialog.caughtUp();
  },
};

const statebar = new StateBar(ui.statebar, {
  openPower: showVmPanel,
  agent: () => {
    if (approvals.waiting) approvals.showNext();
    else if (!transcript.runningChips().some((c) => transcript.reveal(c.callId))) ui.prompt.focus();
  },
});

const statusPanel = new StatusPanel(ui.statusPanel, {
  unauthorized: (message) => openTokenDialog(message),
  onTargets: (data) => {
    statebar.setTargets(data);
    vmPanel.setHost(data.pve);
    vmPanel.load();
  },
});

// The history view (with the incident export it carries) is loaded when
// first opened: starting the page does not need it, and a phone on a slow
// link loads the page whole before it draws anything.
let historyView = null;
async function openHistory() {
  if (!historyView) {
    const { HistoryView } = await import('./history.mjs');
    historyView ??= new HistoryView(ui.historyDialog, {
      openInChat: (id) => {
        closeDrawer();
        selectSession(id);
      },
      unauthorized: (message) => openTokenDialog(message),
    });
  }
  historyView.open();
}

const vmPanel = new VmPanel(ui.vmPanel, {
  unauthorized: (message) => openTokenDialog(message),
  announce,
  sessionId: () => sessionId,
  session: ensureSession,
  liveLine: (callId) => transcript.liveLine(callId),
  showLog: (id, callId) => {
    closeDrawer();
    if (id === sessionId && transcript.reveal(callId)) return;
    revealWhenCaughtUp = callId;
    selectSession(id, { force: id !== sessionId });
  },
  // After every verb the hosts are probed again and the verbs' state read.
  pressed: () => {
    statusPanel.refresh(true);
    vmPanel.load();
  },
});

const sessions = new SessionList(ui.sessionList, ui.sessionEmpty, (id) => {
  closeDrawer();
  selectSession(id);
  ui.prompt.focus();
});

// --- session selection and the stream -----------------------------------------

function idFromHash() {
  if (!location.hash.startsWith(SESSION_HASH_PREFIX)) return null;
  try {
    const id = decodeURIComponent(location.hash.slice(SESSION_HASH_PREFIX.length));
    return id && id.length <= SESSION_ID_MAX_CHARS ? id : null;
  } catch {
    return null;
  }
}

function idFromStorage() {
  try {
    return localStorage.getItem(SESSION_STORAGE_KEY);
  } catch {
    return null;
  }
}

function rememberSession(id) {
  try {
    if (id) localStorage.setItem(SESSION_STORAGE_KEY, id);
    else localStorage.removeItem(SESSION_STORAGE_KEY);
  } catch {
    // Storage disabled: the URL hash still carries the session.
  }
  const url = id ? `${SESSION_HASH_PREFIX}${encodeURIComponent(id)}` : `${location.pathname}${location.search}`;
  history.replaceState(null, '', url);
}

function selectSession(id, { force = false } = {}) {
  if (id === sessionId && stream && !force) return;
  if (stream) stream.stop();
  stream = null;
  sessionId = id;
  rememberSession(id);
  transcript.reset(Boolean(id));
  approvals.reset();
  sessions.setCurrent(id);
  setStatus('');
  if (id) attach(id);
  else setConn('idle');
  updateComposer();
  updateAgent();
  vmPanel.load();
}

// The chat a power button press is recorded in: the open one, else a new
// one, so that the press and what follows are one incident.
async function ensureSession() {
  if (sessionId) return sessionId;
  const created = await api.sessionCreate();
  selectSession(created.session_id);
  refreshSessionsSoon();
  return created.session_id;
}

function attach(id) {
  const s = new EventStream(api.sessionStreamUrl(id), {
    headers: api.authHeaders,
    onEvent: (event) => {
      if (s !== stream) return;
      transcript.apply(event);
      approvals.apply(event);
      vmPanel.apply(event);
      if (transcript.live && ['user', 'turn_end', 'interrupted'].includes(event.kind)) refreshSessionsSoon();
      // A turn's end may have met the model (or a host) failing: say so now.
      if (event.kind === 'turn_end') {
        checkReadiness();
        if (transcript.live) statusPanel.refresh(false);
      }
    },
    onCaughtUp: () => {
      if (s !== stream) return;
      transcript.caughtUp();
      approvals.caughtUp();
      checkReadiness();
      if (revealWhenCaughtUp) transcript.reveal(revealWhenCaughtUp);
      revealWhenCaughtUp = null;
    },
    onState: (state, info) => {
      if (s === stream) setConn(state, info);
    },
    onFatal: (reason) => {
      if (s !== stream) return;
      stream = null;
      if (reason === 'unauthorized') {
        setConn('offline', { reason: 'not signed in' });
        openTokenDialog('The service did not accept this browser: sign in through the proxy, or paste a token.');
      } else {
        selectSession(null);
        setStatus('That session no longer exists. Your next message starts a new one.');
      }
    },
  });
  stream = s;
  s.start();
}

const CONN_STATES = {
  idle: ['is-idle', () => 'No session'],
  connecting: ['is-waiting', () => 'Connecting…'],
  replaying: ['is-waiting', () => 'Catching up…'],
  live: ['is-live', () => 'Live'],
  reconnecting: ['is-waiting', (info) => (info.delayMs > 0
    ? `Reconnecting in ${Math.ceil(info.delayMs / 1000)} s`
    : 'Reconnecting…')],
  offline: ['is-offline', (info) => (info.reason ? `Offline: ${info.reason}` : 'Offline')],
};

function setConn(state, info = {}) {
  let [className, text] = CONN_STATES[state] || CONN_STATES.idle;
  if (state === 'reconnecting' && !navigator.onLine) {
    className = 'is-offline';
    text = () => 'Offline: no network';
  } else if (state === 'reconnecting' && info.attempt >= OFFLINE_AFTER_FAILED_ATTEMPTS) {
    // The daemon has been unreachable for a while: say so, and keep trying.
    className = 'is-offline';
    text = () => (info.delayMs > 0 ? `Offline · retry in ${Math.ceil(info.delayMs / 1000)} s` : 'Offline · retrying…');
  }
  ui.conn.className = `conn ${className}`;
  ui.connText.textContent = text(info);
  ui.conn.title = info.reason ? `Last drop: ${info.reason}` : '';
}

// --- composer -------------------------------------------------------------------

function updateComposer() {
  const running = transcript.running;
  ui.stop.hidden = !(running && sessionId);
  ui.send.disabled = running || sending;
  // The openings are for an empty chat; in an incident they take room.
  ui.presets.hidden = ui.turns.childElementCount > 0;
}

// The state bar's agent chip: waiting for the operator, or what runs and
// for how long (a call or verb, else the turn itself), or idle.
function updateAgent() {
  if (approvals.waiting) {
    statebar.setAgent({ state: 'approve', text: 'approve?', words: 'waiting for your approval' });
    return;
  }
  const chip = transcript.runningChips()[0];
  if (chip) {
    const elapsed = formatElapsed(Date.now() - chip.startedAt);
    statebar.setAgent({ state: 'running', text: `${chip.label} ·`, elapsed, words: `running ${chip.label} · ${elapsed}` });
  } else if (transcript.running) {
    const elapsed = formatElapsed(Date.now() - transcript.turnStarted);
    statebar.setAgent({ state: 'running', text: 'working ·', elapsed, words: `working · ${elapsed}` });
  } else {
    statebar.setAgent({ state: 'idle', text: 'idle', words: 'idle' });
  }
}

// When the model cannot be used: the power buttons, right there in the
// transcript, which need no model.
function offerPower() {
  const box = document.createElement('span');
  box.className = 'power-offer';
  const say = document.createElement('span');
  say.textContent = 'The power buttons work without the model:';
  box.append(say);
  const offered = OFFERED_VERBS.filter((v) => vmPanel.verbOf(v));
  for (const verb of offered) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'button power-offer-verb';
    b.dataset.verb = verb;
    b.textContent = vmPanel.verbOf(verb).label;
    b.addEventListener('click', () => {
      showVmPanel();
      vmPanel.choose(verb);
    });
    box.append(b);
  }
  const all = document.createElement('button');
  all.type = 'button';
  all.className = 'text-button power-offer-all';
  all.textContent = 'All power controls';
  all.addEventListener('click', showVmPanel);
  box.append(all);
  return box;
}

function fitPrompt() {
  const lines = ui.prompt.value.split('\n').length;
  ui.prompt.rows = Math.max(1, Math.min(PROMPT_MAX_ROWS, lines));
}

async function send() {
  const text = ui.prompt.value;
  if (!text.trim() || sending || transcript.running) return;
  sending = true;
  updateComposer();
  setStatus('');
  try {
    if (!sessionId) {
      const created = await api.sessionCreate();
      selectSession(created.session_id);
      refreshSessionsSoon();
    }
    // Running state follows the stream (user .. turn_end): a fast turn can
    // end before this POST answers.
    await api.sessionPrompt(sessionId, text);
    ui.prompt.value = '';
    fitPrompt();
  } catch (err) {
    if (err.status === 404) {
      selectSession(null);
      setStatus('That session no longer exists. Send again to start a new one.');
    } else if (err.status === 409) {
      setStatus('A turn is already running in this session: wait for it, or stop it.');
    } else {
      reportError(err, 'The message was not sent');
    }
  } finally {
    sending = false;
    updateComposer();
  }
}

async function stop() {
  if (!sessionId) return;
  ui.stop.disabled = true;
  try {
    const answer = await api.sessionCancel(sessionId);
    if (!answer || !answer.cancelled) setStatus('Nothing to stop: the turn had already ended.');
  } catch (err) {
    reportError(err, 'Stop failed');
  } finally {
    ui.stop.disabled = false;
  }
}

function setStatus(text) {
  ui.status.textContent = text;
}

function reportError(err, what) {
  if (err.status === 401) openTokenDialog(err.message);
  else setStatus(`${what}: ${err.message}`);
}

// --- session list, readiness ----------------------------------------------------

async function refreshSessions() {
  try {
    const data = await api.sessionList();
    sessions.show(data && data.sessions);
  } catch (err) {
    reportError(err, 'The session list could not be loaded');
  }
}

function refreshSessionsSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refreshSessions, SESSIONS_REFRESH_DELAY_MS);
}

// A failed script reload leaves the last good set serving ("degraded"):
// said in the banner, with the error in the status panel.
async function checkReadiness() {
  const { ready, degraded, detail } = await api.readinessGet();
  let text = '';
  if (!ready) text = `The service is not ready: ${detail}`;
  else if (degraded) text = 'The last script edit did not load: the previous script set still serves. See Status for the error.';
  ui.banner.textContent = text;
  ui.banner.hidden = !text;
}

// --- token dialog ---------------------------------------------------------------

function openTokenDialog(reason) {
  ui.tokenReason.textContent = reason || '';
  ui.tokenReason.hidden = !reason;
  ui.tokenInput.value = '';
  ui.tokenRemember.checked = api.tokenRemembered();
  ui.tokenDialog.returnValue = '';
  if (!ui.tokenDialog.open) ui.tokenDialog.showModal();
}

// A new token (or none) changes what the page may see: everything it shows
// is asked again at once.
function onTokenDialogClose() {
  const choice = ui.tokenDialog.returnValue;
  const token = ui.tokenInput.value.trim();
  ui.tokenInput.value = ''; // the token stays in storage, not in the page
  if (choice === 'save' && token) api.tokenSet(token, ui.tokenRemember.checked);
  else if (choice === 'clear') api.tokenSet('');
  else return;
  refreshSessions();
  statusPanel.refresh(true);
  vmPanel.load();
  if (sessionId) selectSession(sessionId, { force: true });
}

// --- drawer (narrow screens) ------------------------------------------------------

function drawerOpen() {
  return document.body.classList.contains('drawer-open');
}

// focusTarget: what gets the keyboard focus in the drawer.
function openDrawer(focusTarget = ui.newSession) {
  document.body.classList.add('drawer-open');
  ui.drawerToggle.setAttribute('aria-expanded', 'true');
  ui.scrim.hidden = false;
  ui.chat.inert = true; // keyboard focus stays in the drawer
  refreshSessions();
  focusTarget.focus();
}

// The VM controls: in the drawer on narrow screens, always shown on wide ones.
function showVmPanel() {
  const first = vmPanel.firstButton || ui.vmPanel;
  if (!wideScreen.matches && !drawerOpen()) openDrawer(first);
  else first.focus();
  ui.vmPanel.scrollIntoView({ block: 'start' });
}

function closeDrawer() {
  if (!drawerOpen()) return;
  const focusWasInside = ui.sidebar.contains(document.activeElement);
  document.body.classList.remove('drawer-open');
  ui.drawerToggle.setAttribute('aria-expanded', 'false');
  ui.scrim.hidden = true;
  ui.chat.inert = false;
  if (focusWasInside && !wideScreen.matches) ui.drawerToggle.focus();
}

// --- events -------------------------------------------------------------------------

ui.composer.addEventListener('submit', (e) => {
  e.preventDefault();
  send();
});
ui.prompt.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey && !e.altKey && !e.isComposing) {
    e.preventDefault();
    ui.composer.requestSubmit();
  }
});
ui.prompt.addEventListener('input', fitPrompt);
ui.stop.addEventListener('click', stop);
ui.newSession.addEventListener('click', () => {
  closeDrawer();
  selectSession(null);
  ui.prompt.focus();
});
ui.tokenButton.addEventListener('click', () => openTokenDialog(''));
ui.tokenClear.addEventListener('click', () => ui.tokenDialog.close('clear'));
ui.tokenCancel.addEventListener('click', () => ui.tokenDialog.close('cancel'));
ui.tokenDialog.addEventListener('close', onTokenDialogClose);
ui.drawerToggle.addEventListener('click', () => (drawerOpen() ? closeDrawer() : openDrawer()));
ui.historyButton.addEventListener('click', () => {
  // A module that cannot be fetched (the network, or the daemon gone or
  // updated since the page loaded) is said where the eye is, not only to
  // a screen reader.
  openHistory().catch((e) => setStatus(`The history did not load (${e.message}). Reload the page and try again.`));
});
ui.presets.addEventListener('click', (e) => {
  const preset = e.target.closest('.preset');
  if (!preset) return;
  ui.prompt.value = preset.textContent;
  fitPrompt();
  ui.prompt.focus();
});
ui.scrim.addEventListener('click', closeDrawer);
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && drawerOpen()) closeDrawer();
});
wideScreen.addEventListener('change', closeDrawer);
window.addEventListener('hashchange', () => {
  const id = idFromHash();
  if (id && id !== sessionId) selectSession(id);
});
window.addEventListener('online', () => {
  if (stream) stream.reconnectNow();
});
window.addEventListener('offline', () => {
  if (stream) setConn('offline', { reason: 'the browser has no network' });
});

// --- start ------------------------------------------------------------------------------

fitPrompt();
updateComposer();
selectSession(idFromHash() || idFromStorage());
refreshSessions();
checkReadiness();
statusPanel.start();
setInterval(() => statebar.tick(), STATEBAR_TICK_MS);
