// Usage numbers of the mock, with a small deterministic imitation of prompt
// caching (reference section 6): the prompt is the sequence tools, system
// blocks, message blocks; a cache_control mark caches the prefix ending at
// its block; a later request reads the longest written prefix that ends at
// or up to LOOKBACK_BLOCKS before one of its own marks. Prefixes are keyed
// by a hash chain over the blocks without their cache_control, seeded with
// the model, so any byte change earlier in the prompt misses. There is no
// minimum cacheable length and entries never expire.
import { createHash } from 'node:crypto';

const LOOKBACK_BLOCKS = 20;
const BYTES_PER_TOKEN = 4;

const tokens = (bytes) => Math.ceil(bytes / BYTES_PER_TOKEN);

function promptItems(body) {
  const items = [];
  const add = (kind, block) => {
    const { cache_control: mark, ...rest } = block ?? {};
    items.push({ text: `${kind}:${JSON.stringify(rest)}`, mark });
  };
  for (const t of body.tools ?? []) add('tool', t);
  const system = typeof body.system === 'string' ? [{ type: 'text', text: body.system }] : body.system ?? [];
  for (const b of system) add('system', b);
  for (const m of body.messages) {
    const blocks = typeof m.content === 'string' ? [{ type: 'text', text: m.content }] : m.content;
    for (const b of blocks) add(m.role, b);
  }
  if (body.cache_control && items.length > 0) items[items.length - 1].mark ??= body.cache_control;
  return items;
}

export class PromptCache {
  #written = new Set();

  /** The input side of usage for a validated request of bodyBytes bytes. */
  usage(body, bodyBytes) {
    const items = promptItems(body);
    const hashes = [];
    const ends = []; // cumulative bytes up to and including each item
    let h = createHash('sha256').update(body.model).digest('hex');
    let bytes = 0;
    for (const it of items) {
      h = createHash('sha256').update(h).update(it.text).digest('hex');
      bytes += Buffer.byteLength(it.text);
      hashes.push(h);
      ends.push(bytes);
    }
    const marks = items.flatMap((it, i) => (it.mark ? [i] : []));
    const total = tokens(bodyBytes);
    let read = 0;
    for (const p of marks) {
      for (let q = p; q >= 0 && q > p - LOOKBACK_BLOCKS; q--) {
        if (this.#written.has(hashes[q])) { read = Math.max(read, tokens(ends[q])); break; }
      }
    }
    read = Math.min(read, total);
    const last = marks[marks.length - 1];
    const created = last === undefined ? 0 : Math.min(Math.max(0, tokens(ends[last]) - read), total - read);
    for (const p of marks) this.#written.add(hashes[p]);
    const oneHour = last !== undefined && items[last].mark.ttl === '1h';
    return {
      input_tokens: total - read - created,
      cache_creation_input_tokens: created,
      cache_read_input_tokens: read,
      cache_creation: {
        ephemeral_5m_input_tokens: oneHour ? 0 : created,
        ephemeral_1h_input_tokens: oneHour ? created : 0,
      },
    };
  }
}
