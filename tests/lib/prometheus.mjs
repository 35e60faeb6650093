// /metrics read as a scraper reads it: the Prometheus text format 0.0.4
// parsed by `parse-prometheus-text-format` (a state-machine port of the
// official Python client's parser, which throws on a malformed line), plus
// the rules of the format that parser does not enforce.
import assert from 'node:assert/strict';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
const TYPES = new Set(['COUNTER', 'GAUGE', 'HISTOGRAM']);

/** GET url (headers: the credentials, if any) → the families, checked. */
export async function scrape(url, headers = {}) {
  const r = await fetch(url, { headers });
  const text = await r.text();
  assert.equal(r.status, 200, text);
  assert.equal(r.headers.get('content-type'), CONTENT_TYPE);
  return parseMetrics(text);
}

/**
 * The families of an exposition, by name: {name: {type, help, samples}}.
 * Throws (via the parser or an assertion) on text a scraper would refuse.
 */
export function parseMetrics(text) {
  assert.ok(text.endsWith('\n'), 'the exposition ends with a newline');
  const families = {};
  for (const f of parsePrometheusTextFormat(text)) {
    assert.ok(!families[f.name], `family ${f.name} appears twice`);
    assert.ok(TYPES.has(f.type), `${f.name}: TYPE ${f.type}`);
    assert.ok(f.help.length > 0, `${f.name} has no HELP`);
    assert.match(f.name, /^(breakglass|process)_[a-z_]+$/);
    if (f.type === 'COUNTER') assert.match(f.name, /_total$/, `counter ${f.name} ends in _total`);
    families[f.name] = f;
  }
  // The parser merges repeated samples with equal labels; a series must
  // appear once, so count the sample lines themselves.
  const seen = new Set();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const series = line.slice(0, line.lastIndexOf(' '));
    assert.ok(!seen.has(series), `series ${series} appears twice`);
    seen.add(series);
  }
  return families;
}

const sameLabels = (a = {}, b = {}) => {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
};

/** The value of a counter's or gauge's series with exactly these labels (0 when absent). */
export function value(families, name, labels = {}) {
  const f = families[name];
  assert.ok(f, `no family ${name}`);
  assert.notEqual(f.type, 'HISTOGRAM');
  const s = f.metrics.find((m) => sameLabels(m.labels, labels));
  return s ? Number(s.value) : 0;
}

/** The sum of a counter's series whose labels include these. */
export function total(families, name, labels = {}) {
  const f = families[name];
  assert.ok(f, `no family ${name}`);
  return f.metrics.filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
    .reduce((sum, m) => sum + Number(m.value), 0);
}

/**
 * A histogram without labels: {buckets: {le: count}, sum, count}, checked
 * (cumulative buckets, +Inf equal to the count).
 */
export function histogram(families, name) {
  const f = families[name];
  assert.ok(f, `no family ${name}`);
  assert.equal(f.type, 'HISTOGRAM');
  const [h] = f.metrics;
  // Integer-like keys ("1") come first in a JS object: order by bound.
  const les = Object.keys(h.buckets).sort((a, b) => Number(a) - Number(b));
  assert.equal(les.at(-1), '+Inf');
  let last = 0;
  for (const le of les) {
    assert.ok(Number(h.buckets[le]) >= last, `${name}: buckets are cumulative`);
    last = Number(h.buckets[le]);
  }
  assert.equal(Number(h.buckets['+Inf']), Number(h.count));
  return { buckets: h.buckets, sum: Number(h.sum), count: Number(h.count) };
}

/** What moved between two scrapes of a counter: after - before. */
export const moved = (before, after, name, labels) => value(after, name, labels) - value(before, name, labels);
