// The header's state bar, on every screen size: is the devvm up, does the
// Proxmox host answer, can the model API be reached (each with the age of
// its check), and what the agent does (idle, running "cycle · 0:42", or
// waiting for the operator's approval). Each chip is a button: the targets
// lead to the power controls, the agent to what it waits on or runs.

import { formatAge, parseTime } from './format.mjs';
import { layerWords } from './outcome.mjs';
import { el } from './dom.mjs';
import { reveal } from './reveal.mjs';

const TARGETS = [
  { key: 'devvm', name: 'devvm', long: 'The devvm' },
  { key: 'pve', name: 'host', long: 'The Proxmox host' },
  { key: 'model', name: 'model', long: 'The model API' },
];

// {state: ok | bad | unknown | off, value, words} of one target of GET
// api/targets.
export function targetState(key, t) {
  if (!t || typeof t !== 'object') return { state: 'unknown', value: 'unknown', words: 'not checked yet' };
  if (t.configured === false) return { state: 'off', value: 'off', words: 'not configured' };
  if (t.ok === true) return { state: 'ok', value: 'up', words: 'up' };
  if (t.ok !== false || t.layer === 'unknown') return { state: 'unknown', value: 'unknown', words: 'not checked yet' };
  const words = layerWords(t.layer);
  // The model is up or down; what stopped it is in its words. A host's
  // layer (no banner, refused) is the diagnosis, shown as it is.
  return { state: 'bad', value: key === 'model' ? 'down' : words, words: key === 'model' ? `down: ${words}` : `not answering: ${words}` };
}

export class StateBar {
  // root: the <nav>; hooks: openPower(), agent() (the agent chip pressed).
  constructor(root, hooks) {
    this.hooks = hooks;
    this.targets = null;
    this.chips = new Map();
    for (const t of [...TARGETS, { key: 'agent', name: 'agent' }]) {
      const b = el('button', 'state-chip is-unknown');
      b.type = 'button';
      b.dataset.target = t.key;
      // The dot goes with the name, so that the value has the chip's whole
      // width: "no banner" must fit a 320 px phone.
      const top = el('span', 'state-top');
      const age = el('span', 'state-age');
      const dot = el('span', 'dot');
      dot.setAttribute('aria-hidden', 'true');
      top.append(dot, el('span', 'state-name', t.name), age);
      const value = el('span', 'state-value');
      const text = el('span', 'state-text', t.key === 'agent' ? 'idle' : '…');
      value.append(text);
      // A running action's elapsed time is never cut; its name may be.
      const elapsed = el('span', 'state-elapsed');
      if (t.key === 'agent') value.append(elapsed);
      b.append(top, value);
      b.addEventListener('click', () => (t.key === 'agent' ? this.hooks.agent() : this.hooks.openPower()));
      root.append(b);
      this.chips.set(t.key, { b, age, text, elapsed, long: t.long });
    }
    this.setAgent({ state: 'idle', text: 'idle', words: 'idle' });
  }

  // GET api/targets' answer.
  setTargets(data) {
    this.targets = data;
    this.tick();
  }

  // Ages advance; called every second or so by the page.
  tick() {
    if (!this.targets) return;
    const now = Date.now();
    for (const t of TARGETS) {
      const raw = this.targets[t.key];
      const s = targetState(t.key, raw);
      const c = this.chips.get(t.key);
      c.b.className = `state-chip is-${s.state}`;
      c.text.textContent = s.value;
      const at = parseTime(raw && (raw.source === 'call' ? raw.last_call_at : raw.checked_at));
      const age = Number.isFinite(at) ? formatAge(now - at) : '';
      c.age.textContent = age;
      const label = `${c.long}: ${s.words}${age ? `, checked ${age} ago` : ''}. Open the power controls.`;
      c.b.setAttribute('aria-label', label);
      c.b.title = raw && typeof raw.message === 'string' && raw.message ? `${label}\n${reveal(raw.message)}` : label;
    }
  }

  // state: idle | running | approve; text: what the chip says, elapsed:
  // for how long (running); words: for the screen reader. Both may name
  // a tool, which the model or a script names: hidden characters show.
  setAgent({ state, text, elapsed = '', words }) {
    const c = this.chips.get('agent');
    const said = `The agent: ${reveal(words || text)}`;
    c.b.className = `state-chip is-agent-${state}`;
    c.text.textContent = reveal(text);
    c.elapsed.textContent = elapsed;
    c.b.setAttribute('aria-label', said);
    c.b.title = said;
  }
}
