// Request checks of the mock Messages API: the rules of the reference
// (shared/reference/anthropic-messages-api.md, sections 1, 2 and 8) that are
// cheap to check and that a client can get wrong. Each check returns null or
// {status, type, message}; the quoted messages follow the reference.
import { thinkingSignature } from './mock-stream.mjs';

const KNOWN_VERSIONS = ['2023-06-01', '2026-10-21'];
const SAMPLING_PARAMS = ['temperature', 'top_p', 'top_k'];
const TOOL_NAME_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;
const MAX_CACHE_BREAKPOINTS = 4;
const OAUTH_BETA = 'oauth-2025-04-20';

const invalid = (message) => ({ status: 400, type: 'invalid_request_error', message });
const unauthorized = (message) => ({ status: 401, type: 'authentication_error', message });

/** Version, credential and content-type headers. opts: expectKey, expectToken, requireOAuthBeta. */
export function checkHeaders(headers, opts) {
  const version = headers['anthropic-version'];
  if (!version) return invalid('anthropic-version: header is required');
  if (!KNOWN_VERSIONS.includes(version)) return invalid(`anthropic-version: unknown version '${version}'`);

  const key = headers['x-api-key'];
  const auth = headers.authorization;
  if (key !== undefined && auth !== undefined) {
    return unauthorized('Both x-api-key and Authorization headers were sent; send exactly one credential.');
  }
  if (key === undefined && auth === undefined) return unauthorized('x-api-key header is required');
  // With neither expectation set any credential passes; with one set, only it.
  const open = opts.expectKey === undefined && opts.expectToken === undefined;
  if (key !== undefined) {
    if (!open && key !== opts.expectKey) return unauthorized('invalid x-api-key');
  } else {
    const m = /^Bearer (\S+)$/.exec(auth);
    if (!m) return unauthorized('invalid Authorization header: expected "Bearer <token>"');
    if (!open && m[1] !== opts.expectToken) return unauthorized('invalid bearer token');
    const betas = (headers['anthropic-beta'] ?? '').split(',').map((s) => s.trim());
    if (opts.requireOAuthBeta && !betas.includes(OAUTH_BETA)) {
      return unauthorized('OAuth authentication is currently not supported.');
    }
  }

  const type = headers['content-type'] ?? '';
  if (!/^application\/json\s*(;|$)/i.test(type)) return invalid('content-type: must be application/json');
  return null;
}

const blocksOf = (content) => (typeof content === 'string' ? [{ type: 'text', text: content }] : content);
const isEmptyText = (b) => b?.type === 'text' && (typeof b.text !== 'string' || b.text === '');

function countCacheMarks(body) {
  let n = body.cache_control ? 1 : 0;
  const count = (blocks) => {
    for (const b of blocks ?? []) {
      if (b?.cache_control) n++;
      if (b?.type === 'tool_result' && Array.isArray(b.content)) count(b.content);
    }
  };
  count(body.tools);
  if (Array.isArray(body.system)) count(body.system);
  for (const m of body.messages) if (Array.isArray(m?.content)) count(m.content);
  return n;
}

function checkTop(body) {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return invalid('body: must be a JSON object');
  if (typeof body.model !== 'string') return invalid('model: Field required');
  if (body.max_tokens === undefined) return invalid('max_tokens: Field required');
  if (!Number.isInteger(body.max_tokens) || body.max_tokens < 1) {
    return invalid('max_tokens: Input should be an integer of at least 1 when streaming');
  }
  if (!Array.isArray(body.messages)) return invalid('messages: Field required');
  if (body.messages.length === 0) return invalid('messages: at least one message is required');
  if (body.stream !== true) return invalid('stream: this mock only serves "stream": true');
  for (const p of SAMPLING_PARAMS) {
    if (p in body) return invalid(`${p}: this parameter is deprecated for this model and must not be sent`);
  }
  if (body.tools !== undefined && !Array.isArray(body.tools)) return invalid('tools: Input should be a valid list');
  for (const [i, t] of (body.tools ?? []).entries()) {
    if (!TOOL_NAME_PATTERN.test(t?.name ?? '')) {
      return invalid(`tools.${i}.custom.name: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'`);
    }
  }
  const marks = countCacheMarks(body);
  if (marks > MAX_CACHE_BREAKPOINTS) {
    return invalid(`A maximum of ${MAX_CACHE_BREAKPOINTS} blocks with cache_control may be provided. Found ${marks}.`);
  }
  if (Array.isArray(body.system) && body.system.some(isEmptyText)) {
    return invalid('system: text content blocks must be non-empty');
  }
  return null;
}

function checkMessage(m, i) {
  if (m?.role !== 'user' && m?.role !== 'assistant') return invalid(`messages.${i}.role: Input should be 'user' or 'assistant'`);
  const blocks = blocksOf(m.content);
  if (!Array.isArray(blocks)) return invalid(`messages.${i}.content: Input should be a valid list`);
  if (blocks.length === 0) {
    return invalid(`messages.${i}: all messages must have non-empty content except for the optional final assistant message`);
  }
  for (const [j, b] of blocks.entries()) {
    if (typeof b?.type !== 'string') return invalid(`messages.${i}.content.${j}: Input should be a content block object with a type`);
    if (isEmptyText(b)) return invalid('messages: text content blocks must be non-empty');
    if (b?.type === 'tool_result' && Array.isArray(b.content) && b.content.some(isEmptyText)) {
      return invalid('messages: text content blocks must be non-empty');
    }
    if (m.role === 'assistant' && b?.type === 'thinking' && b.signature !== thinkingSignature(b.thinking)) {
      return invalid(`messages.${i}.content.${j}: Invalid \`signature\` in \`thinking\` block`);
    }
  }
  return null;
}

// Results follow their calls in the very next user message, first in it.
// (A trailing assistant message was already refused as prefill.)
function checkToolPairing(messages) {
  for (const [i, m] of messages.entries()) {
    if (m.role === 'assistant') continue;
    const prev = messages[i - 1];
    const calls = prev?.role === 'assistant'
      ? blocksOf(prev.content).filter((b) => b.type === 'tool_use').map((b) => b.id) : [];
    const blocks = blocksOf(m.content);
    const results = blocks.filter((b) => b.type === 'tool_result').map((b) => b.tool_use_id);
    const missing = calls.filter((id) => !results.includes(id));
    if (missing.length > 0) {
      return invalid(`messages.${i - 1}: tool_use ids were found without tool_result blocks immediately after: ${missing.join(', ')}. Each tool_use block must have a corresponding tool_result block in the next message.`);
    }
    for (const [j, b] of blocks.entries()) {
      if (b.type !== 'tool_result') continue;
      if (!calls.includes(b.tool_use_id)) {
        return invalid(`messages.${i}.content.${j}: unexpected tool_use_id found in tool_result blocks: ${b.tool_use_id}. Each tool_result block must have a corresponding tool_use block in the previous message.`);
      }
      if (j > 0 && blocks[j - 1].type !== 'tool_result') {
        return invalid(`messages.${i}.content.${j}: tool_result blocks must come before any other content in the message`);
      }
    }
  }
  return null;
}

/**
 * The checks of POST /v1/messages/count_tokens (the reference, 7.2): the
 * inputs of Messages minus the generation settings, which it refuses.
 */
export function checkCountBody(body) {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return invalid('body: must be a JSON object');
  if (typeof body.model !== 'string') return invalid('model: Field required');
  for (const extra of ['max_tokens', 'stream', ...SAMPLING_PARAMS]) {
    if (extra in body) return invalid(`${extra}: Extra inputs are not permitted`);
  }
  if (!Array.isArray(body.messages)) return invalid('messages: Field required');
  if (body.messages.length === 0) return invalid('messages: at least one message is required');
  for (const [i, m] of body.messages.entries()) {
    const bad = checkMessage(m, i);
    if (bad) return bad;
  }
  return checkToolPairing(body.messages);
}

/** The body checks, in a fixed order; null when the request is acceptable. */
export function checkBody(body) {
  const top = checkTop(body);
  if (top) return top;
  for (const [i, m] of body.messages.entries()) {
    const bad = checkMessage(m, i);
    if (bad) return bad;
  }
  if (body.messages[body.messages.length - 1].role === 'assistant') {
    return invalid('This model does not support assistant message prefill. The conversation must end with a user message.');
  }
  return checkToolPairing(body.messages);
}
