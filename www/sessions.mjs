// The list of past sessions in the side panel.

import { formatAgo, formatTimestamp, parseTime } from './format.mjs';
import { sessionTitle } from './reveal.mjs';

// Statuses with a colour of their own; others share a neutral badge.
const KNOWN_STATUSES = new Set(['running', 'idle', 'cancelled', 'interrupted', 'error']);

export class SessionList {
  // list: a <ul>; empty: shown when there are no sessions;
  // onSelect(id) runs when the operator picks one.
  constructor(list, empty, onSelect) {
    this.list = list;
    this.empty = empty;
    this.onSelect = onSelect;
    this.sessions = [];
    this.currentId = null;
    list.addEventListener('click', (e) => {
      const button = e.target.closest('button[data-session]');
      if (button) this.onSelect(button.dataset.session);
    });
  }

  show(sessions) {
    this.sessions = Array.isArray(sessions) ? sessions.filter((s) => s && typeof s.id === 'string') : [];
    this.sessions.sort((a, b) => (parseTime(b.last_activity) || 0) - (parseTime(a.last_activity) || 0));
    this.draw();
  }

  setCurrent(id) {
    this.currentId = id;
    for (const button of this.list.querySelectorAll('button[data-session]')) {
      if (button.dataset.session === id) button.setAttribute('aria-current', 'true');
      else button.removeAttribute('aria-current');
    }
  }

  // Items are kept by session and filled in place, and the list is only
  // reordered when its order changed: it is redrawn as turns end, while
  // an operator may be on it with the keyboard, whose focus must stay.
  draw() {
    const kept = new Map([...this.list.querySelectorAll('button[data-session]')].map((b) => [b.dataset.session, b.parentElement]));
    const items = this.sessions.map((s) => {
      const li = kept.get(s.id) ?? newItem(s.id);
      fillItem(li.firstElementChild, s, this.currentId);
      return li;
    });
    const children = this.list.children;
    if (items.length !== children.length || items.some((li, i) => children[i] !== li)) {
      const focused = this.list.contains(document.activeElement) ? document.activeElement : null;
      this.list.replaceChildren(...items);
      if (focused?.isConnected) focused.focus({ preventScroll: true });
    }
    this.empty.hidden = items.length > 0;
  }
}

function newItem(id) {
  const li = document.createElement('li');
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'session';
  button.dataset.session = id;
  li.append(button);
  return li;
}

function fillItem(button, s, currentId) {
  if (s.id === currentId) button.setAttribute('aria-current', 'true');
  else button.removeAttribute('aria-current');

  const title = document.createElement('span');
  title.className = 'session-title';
  title.textContent = sessionTitle(s);

  const meta = document.createElement('span');
  meta.className = 'session-meta';
  const when = document.createElement('time');
  when.textContent = formatAgo(s.last_activity ?? s.created);
  when.title = formatTimestamp(s.last_activity ?? s.created);
  meta.append(when);
  const status = typeof s.status === 'string' ? s.status : '';
  if (status) {
    const badge = document.createElement('span');
    badge.className = `session-status status-${KNOWN_STATUSES.has(status) ? status : 'other'}`;
    badge.textContent = status;
    meta.append(badge);
  }
  button.replaceChildren(title, meta);
}
