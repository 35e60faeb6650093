// The "lab" responder of the mock API: a deterministic stand-in for a model
// playing incident responder, for demos and end-to-end runs of the agent
// loop. It only calls tools the request offers, and fills their required
// inputs from each tool's input_schema.
//
// - A new user prompt: call devvm_probe if offered, else answer with text.
// - After tool results: take the next step of PLAN after the one just
//   answered, skipping tools not offered; when none is left (or the last
//   call was not a plan step), answer with a summary quoting the first line
//   of the last tool result. Before any power verb it reads the example
//   runbook of the 2026-06-11 hang (runbooks/ at the top of the repository),
//   as the prompt asks.

export const LAB_RUNBOOK = 'devvm-hang-2026-06-11.md';
const PLAN = [
  { name: 'devvm_probe', text: 'Let me check whether the devvm answers.' },
  { name: 'runbook', input: { action: 'read', path: LAB_RUNBOOK }, text: 'Reading the runbook for this kind of hang first.' },
  { name: 'pve', input: { verb: 'forensics' }, text: 'Capturing forensics before any power action.' },
  { name: 'pve', input: { verb: 'cycle' }, text: 'Forensics are on record. Power-cycling VM 102.' },
  { name: 'wait_for_devvm', text: 'Waiting for the devvm to come back.' },
];
export const LAB_NO_PROBE_TEXT = 'I have no devvm_probe tool here, so I cannot look at the devvm.';
export const LAB_SUMMARY_PREFIX = 'Recovery plan finished. The last tool reported: ';

const blocksOf = (content) => (typeof content === 'string' ? [{ type: 'text', text: content }] : content ?? []);

function placeholder(schema) {
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  if (schema.type === 'integer' || schema.type === 'number') return schema.minimum ?? 1;
  if (schema.type === 'boolean') return false;
  if (schema.type === 'array') return [];
  if (schema.type === 'object') return {};
  return 'lab';
}

function inputFor(tool, fixed = {}) {
  const schema = tool.input_schema ?? {};
  const input = { ...fixed };
  for (const name of schema.required ?? []) {
    if (!(name in input)) input[name] = placeholder(schema.properties?.[name] ?? {});
  }
  return input;
}

function firstLine(result) {
  const text = typeof result.content === 'string' ? result.content
    : blocksOf(result.content).filter((b) => b.type === 'text').map((b) => b.text).join('\n');
  return text.split('\n')[0].trim() || '(no output)';
}

const isStep = (step, call) => step.name === call.name && (!step.input?.verb || step.input.verb === call.input?.verb);

/** A mock response form for a validated request body. */
export function labResponder(body) {
  const offered = new Map((body.tools ?? []).map((t) => [t.name, t]));
  const messages = body.messages;
  const results = blocksOf(messages[messages.length - 1].content).filter((b) => b.type === 'tool_result');
  const call = (step) => ({ text: step.text, toolUses: [{ name: step.name, input: inputFor(offered.get(step.name), step.input) }] });

  if (results.length === 0) return offered.has('devvm_probe') ? call(PLAN[0]) : { text: LAB_NO_PROBE_TEXT };

  const summary = { text: `${LAB_SUMMARY_PREFIX}"${firstLine(results[results.length - 1])}"` };
  const calls = blocksOf(messages[messages.length - 2].content).filter((b) => b.type === 'tool_use');
  const done = PLAN.findLastIndex((step) => isStep(step, calls[calls.length - 1]));
  if (done < 0) return summary;
  const next = PLAN.slice(done + 1).find((step) => offered.has(step.name));
  return next ? call(next) : summary;
}
