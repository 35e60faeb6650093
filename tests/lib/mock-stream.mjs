// The SSE events of one streamed assistant message, built from a scripted
// "message form" ({text, thinking, toolUses, stopReason, ...}; see README),
// and their encoding on the wire. Shapes follow section 3 of the reference:
// the event name repeats data.type, pings sit after the first block start
// and between blocks, tool input arrives as input_json_delta fragments
// starting with "", and a max_tokens cut can leave a tool_use block without
// its content_block_stop.
import { createHash } from 'node:crypto';

const DEFAULT_TEXT_DELTA_CHARS = 8;
const DEFAULT_JSON_DELTA_CHARS = 7;
const THINKING_CHUNK_FACTOR = 4; // thinking arrives in larger chunks than text
const CHARS_PER_TOKEN = 4;

/** The signature the mock gives a thinking text (and checks when echoed). */
export function thinkingSignature(thinking) {
  return createHash('sha256').update(`mock-thinking:${thinking}`).digest('base64');
}

// Splits by code points so a delta never holds half a surrogate pair.
function pieces(text, size) {
  const chars = Array.from(text);
  const out = [];
  for (let i = 0; i < chars.length; i += size) out.push(chars.slice(i, i + size).join(''));
  return out;
}

// JSON text cut inside its last string, as a max_tokens stop leaves it.
function truncateJson(json) {
  const chars = Array.from(json);
  let open = -1;
  let lastOpen = -1;
  let lastClose = -1;
  for (let i = 0; i < chars.length; i++) {
    if (open >= 0 && chars[i] === '\\') i++;
    else if (chars[i] === '"' && open < 0) open = i;
    else if (chars[i] === '"') { lastOpen = open; lastClose = i; open = -1; }
  }
  if (lastOpen < 0) return '{"';
  const cut = lastOpen + 1 + Math.floor((lastClose - lastOpen - 1) / 2);
  return chars.slice(0, cut).join('');
}

function blocksOf(form, toolIdPrefix) {
  const blocks = [];
  if (form.thinking) blocks.push({ kind: 'thinking', text: form.thinking });
  if (form.redactedThinking) blocks.push({ kind: 'redacted_thinking', data: form.redactedThinking });
  if (form.text) blocks.push({ kind: 'text', text: form.text });
  for (const [k, t] of (form.toolUses ?? []).entries()) {
    blocks.push({ kind: 'tool_use', id: t.id ?? `${toolIdPrefix}_${k}`, name: t.name, json: JSON.stringify(t.input ?? {}) });
  }
  return blocks;
}

const delta = (index, d) => ({ event: 'content_block_delta', data: { type: 'content_block_delta', index, delta: d } });

// Events of one block after its start; returns the characters it "generated".
function blockEvents(b, index, opts, out) {
  const textChars = opts.deltaChars ?? DEFAULT_TEXT_DELTA_CHARS;
  if (b.kind === 'thinking') {
    for (const p of pieces(b.text, textChars * THINKING_CHUNK_FACTOR)) out.push(delta(index, { type: 'thinking_delta', thinking: p }));
    out.push(delta(index, { type: 'signature_delta', signature: thinkingSignature(b.text) }));
    return b.text.length;
  }
  if (b.kind === 'text') {
    for (const p of pieces(b.text, textChars)) out.push(delta(index, { type: 'text_delta', text: p }));
    return b.text.length;
  }
  if (b.kind === 'tool_use') {
    const json = opts.truncate ? truncateJson(b.json) : b.json;
    out.push(delta(index, { type: 'input_json_delta', partial_json: '' }));
    for (const p of pieces(json, opts.jsonChars ?? DEFAULT_JSON_DELTA_CHARS)) {
      out.push(delta(index, { type: 'input_json_delta', partial_json: p }));
    }
    return json.length;
  }
  return 0; // redacted_thinking: whole in its start event, no deltas
}

function startBlock(b) {
  if (b.kind === 'thinking') return { type: 'thinking', thinking: '', signature: '' };
  if (b.kind === 'redacted_thinking') return { type: 'redacted_thinking', data: b.data };
  if (b.kind === 'text') return { type: 'text', text: '' };
  return { type: 'tool_use', id: b.id, name: b.name, input: {} };
}

/**
 * All events of a complete message for a message form.
 * ctx: {model, messageId, toolIdPrefix, usage} where usage holds the input
 * side (input_tokens, cache_* counts) for message_start and message_delta.
 */
export function buildMessageEvents(form, ctx) {
  const blocks = blocksOf(form, ctx.toolIdPrefix);
  const hasTools = blocks.some((b) => b.kind === 'tool_use');
  if (form.truncateToolInput && !hasTools) throw new Error('truncateToolInput needs toolUses');
  const stopReason = form.stopReason ?? (form.truncateToolInput ? 'max_tokens' : hasTools ? 'tool_use' : 'end_turn');

  const events = [{
    event: 'message_start',
    data: {
      type: 'message_start',
      message: {
        id: ctx.messageId, type: 'message', role: 'assistant', model: ctx.model, content: [],
        stop_reason: null, stop_sequence: null, usage: { ...ctx.usage, output_tokens: 1, service_tier: 'standard' },
      },
    },
  }];
  let generated = 0;
  for (const [index, b] of blocks.entries()) {
    const cut = form.truncateToolInput && index === blocks.length - 1;
    events.push({ event: 'content_block_start', data: { type: 'content_block_start', index, content_block: startBlock(b) } });
    if (index === 0) events.push({ event: 'ping', data: { type: 'ping' } });
    generated += blockEvents(b, index, { ...form, truncate: cut }, events);
    if (!cut) events.push({ event: 'content_block_stop', data: { type: 'content_block_stop', index } });
    if (index < blocks.length - 1) events.push({ event: 'ping', data: { type: 'ping' } });
  }

  const messageDelta = { stop_reason: stopReason, stop_sequence: form.stopSequence ?? null };
  if (stopReason === 'refusal') messageDelta.stop_details = { type: 'refusal', category: null, explanation: null };
  const { cache_creation: _perTtl, ...cumulative } = ctx.usage;
  const outputTokens = Math.max(1, Math.ceil(generated / CHARS_PER_TOKEN));
  events.push(
    { event: 'message_delta', data: { type: 'message_delta', delta: messageDelta, usage: { ...cumulative, output_tokens: outputTokens } } },
    { event: 'message_stop', data: { type: 'message_stop' } },
  );
  return events;
}

/** One event as wire text; comments puts a ": keepalive" line in front. */
export function encodeEvent({ event, data }, { crlf = false, comments = false } = {}) {
  const lines = [`event: ${event}`, `data: ${JSON.stringify(data)}`, '', ''];
  if (comments) lines.unshift(': keepalive');
  return lines.join(crlf ? '\r\n' : '\n');
}

/** Bytes sent before the first event: a standalone comment when comments is set. */
export function encodePreamble({ crlf = false, comments = false } = {}) {
  const eol = crlf ? '\r\n' : '\n';
  return comments ? `: keepalive${eol}${eol}` : '';
}
