// The daemon's HTTP API as the page uses it. Paths are relative so the page
// also works when the ingress serves it under a prefix.
//
// Behind the auth proxy no token is needed. For direct access the operator
// pastes the bearer token; it stays in this tab's sessionStorage, or, when
// the operator asks to remember this device, in localStorage until Forget,
// and goes out only as an Authorization header to this origin.

const TOKEN_STORAGE_KEY = 'breakglass.token';
export const API_TIMEOUT_MS = 30_000;

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status; // 0 when no HTTP answer came
  }
}

// Used when storage is unavailable.
let memoryToken = '';

function stored(storage) {
  try {
    return storage.getItem(TOKEN_STORAGE_KEY) || '';
  } catch {
    return '';
  }
}

function store(storage, token) {
  try {
    if (token) storage.setItem(TOKEN_STORAGE_KEY, token);
    else storage.removeItem(TOKEN_STORAGE_KEY);
  } catch {
    // Storage disabled: the token then lasts only until the page reloads.
  }
}

export function tokenGet() {
  return stored(sessionStorage) || stored(localStorage) || memoryToken;
}

// Whether this device keeps the token across tabs and restarts.
export const tokenRemembered = () => stored(localStorage) !== '';

// remember: keep it on this device (localStorage) too; else only in this
// tab, and any copy kept on the device is forgotten.
export function tokenSet(token, remember = false) {
  store(sessionStorage, token);
  store(localStorage, token && remember ? token : '');
  memoryToken = token;
}

export function authHeaders() {
  const token = tokenGet();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

// One request; resolves with {status, data} for any HTTP answer (data:
// the parsed JSON body or null), throws ApiError(0) when none came.
async function exchange(method, path, body, timeoutMs = API_TIMEOUT_MS) {
  const headers = { Accept: 'application/json', ...authHeaders() };
  const init = { method, headers, cache: 'no-store', signal: AbortSignal.timeout(timeoutMs) };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    const why = err.name === 'TimeoutError' ? `no answer within ${timeoutMs / 1000} s` : 'network error';
    throw new ApiError(0, `The service cannot be reached (${why}).`);
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  return { status: res.status, data };
}

async function request(method, path, body) {
  const { status, data } = await exchange(method, path, body);
  if (status < 200 || status > 299) throw new ApiError(status, errorText(status, data));
  return data;
}

export function errorText(status, data) {
  if (data && typeof data === 'object') {
    for (const key of ['error', 'detail', 'message', 'reason']) {
      if (typeof data[key] === 'string' && data[key]) return data[key];
    }
    if (Array.isArray(data.errors) && data.errors.length) return data.errors.join('; ');
  }
  if (status === 401) return 'Not signed in.';
  return `The service answered ${status}.`;
}

// A power verb runs up to the daemon's BREAKGLASS_PVE_VERB_TIMEOUT_SECONDS
// (120 s by default) and answers then: wait that long and a little more.
export const PVE_VERB_TIMEOUT_MS = 150_000;

const sessionPath = (id) => `api/session/${encodeURIComponent(id)}`;

export const sessionCreate = () => request('POST', 'api/session', {});
export const sessionList = () => request('GET', 'api/sessions');
export const sessionPrompt = (id, prompt) => request('POST', `${sessionPath(id)}/prompt`, { prompt });
export const sessionCancel = (id) => request('POST', `${sessionPath(id)}/cancel`, {});
export const sessionStreamUrl = (id) => `${sessionPath(id)}/stream`;

// A power verb answers with its output on failure too (502, 403, 400):
// resolves with {status, data} for every HTTP answer. sessionId: the chat
// the press is recorded in; override: press again over a limit the
// policies let the operator override.
export function pveRun(verb, { sessionId, override } = {}) {
  const body = {};
  if (sessionId) body.session_id = sessionId;
  if (override) body.override = true;
  return exchange('POST', `api/pve/${encodeURIComponent(verb)}`, body, PVE_VERB_TIMEOUT_MS);
}

// {verbs, mutating, state: {verb: {available, policy, reason, overridable,
// first}}}: what the Proxmox host allows and what a press would meet now
// in the session named.
export const pveVerbs = (sessionId) => request('GET',
  sessionId ? `api/pve/verbs?session_id=${encodeURIComponent(sessionId)}` : 'api/pve/verbs');

// Readiness: {ready, degraded, error, detail}. A failed script reload
// leaves the last good set serving: ready but degraded, with the error.
// Never throws.
export async function readinessGet() {
  try {
    const { status, data } = await exchange('GET', 'readyz');
    const d = data && typeof data === 'object' ? data : {};
    const error = typeof d.error === 'string' ? d.error : '';
    const ready = status >= 200 && status <= 299;
    return { ready, degraded: d.degraded === true, error, detail: ready ? '' : errorText(status, d) };
  } catch (err) {
    return { ready: false, degraded: false, error: '', detail: err.message };
  }
}

// The probes of the model API, the devvm and the Proxmox host; refresh
// skips the daemon's short cache. A probe of a wedged host takes up to the
// daemon's SSH connect limit plus a few seconds.
export const targetsGet = (refresh) => request('GET', refresh ? 'api/targets?refresh=1' : 'api/targets');

// The answer to a confirm_request: {call_id, approved}.
export const sessionConfirm = (id, callId, approve) => request('POST', `${sessionPath(id)}/confirm`, { call_id: callId, approve });

// A session's journal (JSON Lines) as a Blob, fetched with the token.
export async function sessionJournal(id) {
  let res;
  try {
    res = await fetch(`${sessionPath(id)}/journal`, {
      headers: authHeaders(), cache: 'no-store', signal: AbortSignal.timeout(API_TIMEOUT_MS),
    });
  } catch {
    throw new ApiError(0, 'The service cannot be reached.');
  }
  if (!res.ok) {
    let data = null;
    try {
      data = await res.json();
    } catch {
      data = null;
    }
    throw new ApiError(res.status, errorText(res.status, data));
  }
  return res.blob();
}
