// Short human forms for durations, token counts, times and errors.

import { reveal } from './reveal.mjs';

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

// One clock on the page: the browser's local time, 24-hour, with its
// zone ("14:05 CET"); exports use UTC and say so.
const CLOCK = { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' };

// Hours and minutes with the zone, for events of today's work.
export function formatClock(value) {
  const t = parseTime(value);
  return Number.isFinite(t) ? new Date(t).toLocaleTimeString(undefined, { ...CLOCK, timeZoneName: 'short' }) : '';
}

// Hours, minutes and seconds, for when each step of an incident ran; the
// zone only when asked (an axis says it once for all its rows).
export function formatClockSeconds(value, { zone = false } = {}) {
  const t = parseTime(value);
  if (!Number.isFinite(t)) return '';
  const opts = { ...CLOCK, second: '2-digit' };
  if (zone) opts.timeZoneName = 'short';
  return new Date(t).toLocaleTimeString(undefined, opts);
}

// How long something has run: "0:07", "12:30", "1:02:03".
export function formatElapsed(ms) {
  if (!Number.isFinite(ms) || ms < 0) return '';
  const s = Math.floor(ms / 1000);
  const mm = String(Math.floor(s / 60) % 60);
  const ss = String(s % 60).padStart(2, '0');
  return s >= 3600 ? `${Math.floor(s / 3600)}:${mm.padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

// The age of a check, short: "4 s", "3 min", "2 h".
export function formatAge(ms) {
  if (!Number.isFinite(ms)) return '';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  return `${Math.floor(s / 3600)} h`;
}

// Who did something, as the page says it: the sign-in proxy's name for
// its users; a bearer token holder is the one reading ("You"). A name is
// shown with its hidden characters named: who pressed a power button must
// read as who it was.
export function identityName(identity) {
  return !identity || identity === 'bearer' ? 'You' : reveal(identity);
}

export function formatTimestamp(value) {
  const t = parseTime(value);
  return Number.isFinite(t) ? new Date(t).toLocaleString(undefined, { hourCycle: 'h23', timeZoneName: 'short' }) : '';
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
