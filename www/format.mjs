// Short human forms for durations, token counts, times and errors.

const numberFormat = new Intl.NumberFormat();

export function formatCount(n) {
  return Number.isFinite(n) ? numberFormat.format(n) : '–';
}

export function formatDuration(ms) {
  if (!Number.isFinite(ms) || ms < 0) return '';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  const rest = String(s % 60).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)} min ${rest} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor(s / 60) % 60).padStart(2, '0')} min`;
}

// A time from the API: epoch seconds, epoch milliseconds or an ISO string.
export function parseTime(value) {
  if (typeof value === 'number') return value < 1e12 ? value * 1000 : value;
  if (typeof value === 'string' && value) return Date.parse(value);
  return NaN;
}

export function formatAgo(value, now = Date.now()) {
  const t = parseTime(value);
  if (!Number.isFinite(t)) return '';
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 45) return 'just now';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86_400) return `${Math.round(s / 3600)} h ago`;
  return new Date(t).toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
}

// Hours and minutes, for events of today's work.
export function formatClock(value) {
  const t = parseTime(value);
  return Number.isFinite(t) ? new Date(t).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' }) : '';
}

// Hours, minutes and seconds, for when each step of an incident ran.
export function formatClockSeconds(value) {
  const t = parseTime(value);
  return Number.isFinite(t) ? new Date(t).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' }) : '';
}

export function formatTimestamp(value) {
  const t = parseTime(value);
  return Number.isFinite(t) ? new Date(t).toLocaleString() : '';
}

// The daemon's error fields are strings, but be lenient with objects.
export function describeError(error) {
  if (typeof error === 'string') return error;
  if (error && typeof error === 'object') {
    if (typeof error.message === 'string') return error.message;
    if (typeof error.type === 'string') return error.type;
  }
  return 'unknown error';
}

export function formatUsage(u) {
  if (!u || typeof u !== 'object') return '';
  const parts = [`${formatCount(u.input_tokens)} in`, `${formatCount(u.output_tokens)} out`];
  if (u.cache_read_input_tokens > 0) parts.push(`${formatCount(u.cache_read_input_tokens)} cache read`);
  if (u.cache_creation_input_tokens > 0) parts.push(`${formatCount(u.cache_creation_input_tokens)} cache write`);
  return `tokens: ${parts.join(' · ')}`;
}
