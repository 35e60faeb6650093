// Today's event contract (../shared/reference/existing-deployment.md, "Its
// HTTP contract"), as today's web client folds it: every event names itself
// by `kind` and carries an `id`; the kinds it reads carry its fields with
// its types. Kinds it does not know it ignores, so they are not checked.
import assert from 'node:assert/strict';

const isString = (v) => typeof v === 'string';
const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Fields today's client reads, by kind. */
const TODAY = {
  session: { session_id: isString },
  user: { text: isString },
  text: { text: (v) => isString(v) && v !== '' },
  tool: { name: isString, input: isObject },
  result: { is_error: (v) => typeof v === 'boolean', result: isString, duration_ms: Number.isFinite },
  error: { error: (v) => isString(v) && v !== '' },
  cancelled: {},
  turn_end: {},
};

/** Asserts every event of a stream (event data, in order) against today's shapes. */
export function assertTodayShapes(events) {
  assert.ok(events.length > 0, 'no events');
  for (const e of events) {
    assert.equal(typeof e.kind, 'string', `an event without kind: ${JSON.stringify(e).slice(0, 200)}`);
    assert.equal('type' in e, false, `an event still named by type: ${JSON.stringify(e).slice(0, 200)}`);
    assert.ok(Number.isInteger(e.id) && e.id > 0, `an event without an id: ${JSON.stringify(e).slice(0, 200)}`);
    for (const [field, ok] of Object.entries(TODAY[e.kind] ?? {})) {
      assert.ok(ok(e[field]), `${e.kind}.${field} is ${JSON.stringify(e[field])?.slice(0, 100)}`);
    }
  }
}

/** The text blocks of the assistant's messages in a session journal, in order. */
export function journalTextBlocks(journalText) {
  const messages = [];
  for (const line of journalText.split('\n').filter(Boolean)) {
    const r = JSON.parse(line);
    if (r.kind === 'message') messages[r.index] = r.message;
    if (r.kind === 'truncate') messages.length = r.count;
  }
  return messages.filter((m) => m?.role === 'assistant')
    .flatMap((m) => m.content.filter((b) => b.type === 'text').map((b) => b.text));
}
