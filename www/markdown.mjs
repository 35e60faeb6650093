// Markdown for the agent's text, rendered safely.
//
// parseMarkdown turns text into a small tree of plain objects; renderMarkdown
// builds DOM nodes from that tree with createElement and text nodes only.
// Model text is never handed to an HTML parser (no innerHTML), and only
// http(s) links become anchors. The subset is what the agent writes:
// paragraphs, headings, fenced code, inline code, lists, quotes, rules,
// tables, strong/emphasis and links. Text that is still streaming in
// renders sensibly: an unclosed fence is code up to the end. A link whose
// text is not its URL shows where it goes: the text alone could name
// another place ([https://good.example](https://evil.example)).

import { reveal, revealHidden } from './reveal.mjs';

// Nesting of lists and quotes past this is shown as plain text.
export const MARKDOWN_MAX_DEPTH = 8;
// Emphasis, code spans and links close within this many characters or
// not at all.
export const MARKDOWN_MAX_SPAN_CHARS = 4000;
// Characters all searches for a closing delimiter may scan in one call of
// parseMarkdown; past it, delimiters are plain text. Text full of stray
// '_' or '*' thus costs linear time, not text length times span.
export const MARKDOWN_MAX_SCAN_CHARS = 2_000_000;

// Parsing is synchronous: parseMarkdown sets this and the searches spend it.
let scanCharsLeft = 0;

// The end of a search window starting at from, within the span and the
// remaining budget; the window is charged to the budget.
function scanLimit(text, from) {
  const limit = Math.min(text.length, from + MARKDOWN_MAX_SPAN_CHARS, from + scanCharsLeft);
  scanCharsLeft -= Math.max(0, limit - from);
  return limit;
}

const FENCE_OPEN = /^( {0,3})(`{3,}|~{3,})[ \t]*([^`\s]*)[^`]*$/;
const HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const RULE = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
const QUOTE = /^ {0,3}> ?/;
const LIST_ITEM = /^( *)([-*+]|([0-9]{1,9})[.)])( +|$)(.*)$/;
const TABLE_DELIMITER = /^ {0,3}\|?[ \t]*:?-+:?[ \t]*(\|[ \t]*:?-+:?[ \t]*)*\|?[ \t]*$/;
const ESCAPABLE = /[!-/:-@[-`{-~]/;

export function parseMarkdown(text) {
  scanCharsLeft = MARKDOWN_MAX_SCAN_CHARS;
  return parseBlocks(String(text).replace(/\r\n?/g, '\n').split('\n'), 0);
}

function isBlank(line) {
  return /^[ \t]*$/.test(line);
}

function indentOf(line) {
  return line.length - line.trimStart().length;
}

function dedent(line, n) {
  const strip = Math.min(n, indentOf(line));
  return line.slice(strip);
}

function startsBlock(lines, i) {
  const line = lines[i];
  return (
    FENCE_OPEN.test(line) ||
    HEADING.test(line) ||
    RULE.test(line) ||
    QUOTE.test(line) ||
    LIST_ITEM.test(line) ||
    isTableStart(lines, i)
  );
}

function parseBlocks(lines, depth) {
  if (depth > MARKDOWN_MAX_DEPTH) {
    return [{ type: 'para', inlines: [{ type: 'text', text: lines.join('\n') }] }];
  }
  const blocks = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    let m;
    if (isBlank(line)) {
      i += 1;
    } else if ((m = FENCE_OPEN.exec(line))) {
      i = parseFence(lines, i, m, blocks);
    } else if ((m = HEADING.exec(line))) {
      blocks.push({ type: 'heading', level: m[1].length, inlines: parseInline(m[2] || '', 0) });
      i += 1;
    } else if (RULE.test(line)) {
      blocks.push({ type: 'rule' });
      i += 1;
    } else if (QUOTE.test(line)) {
      const inner = [];
      while (i < lines.length && QUOTE.test(lines[i])) {
        inner.push(lines[i].replace(QUOTE, ''));
        i += 1;
      }
      blocks.push({ type: 'quote', blocks: parseBlocks(inner, depth + 1) });
    } else if (LIST_ITEM.test(line)) {
      i = parseList(lines, i, depth, blocks);
    } else if (isTableStart(lines, i)) {
      i = parseTable(lines, i, blocks);
    } else {
      const para = [line.trim()];
      i += 1;
      while (i < lines.length && !isBlank(lines[i]) && !startsBlock(lines, i)) {
        para.push(lines[i].trim());
        i += 1;
      }
      blocks.push({ type: 'para', inlines: parseInline(para.join('\n'), 0) });
    }
  }
  return blocks;
}

function parseFence(lines, i, open, blocks) {
  const indent = open[1].length;
  const fence = open[2];
  const close = new RegExp(`^ {0,3}${fence[0] === '`' ? '`' : '~'}{${fence.length},}[ \\t]*$`);
  const body = [];
  let j = i + 1;
  while (j < lines.length) {
    if (close.test(lines[j])) {
      j += 1;
      break;
    }
    body.push(dedent(lines[j], indent));
    j += 1;
  }
  blocks.push({ type: 'code', lang: open[3] || '', text: body.join('\n') });
  return j;
}

function parseList(lines, i, depth, blocks) {
  const first = LIST_ITEM.exec(lines[i]);
  const baseIndent = first[1].length;
  const ordered = first[3] !== undefined;
  const sameKind = (m) => m && m[1].length === baseIndent && (m[3] !== undefined) === ordered;
  const items = [];
  let current = null;
  while (i < lines.length) {
    const line = lines[i];
    const m = LIST_ITEM.exec(line);
    if (sameKind(m)) {
      const contentIndent = baseIndent + m[2].length + Math.max(1, m[4].length);
      current = { lines: [m[5]], contentIndent };
      items.push(current);
      i += 1;
      continue;
    }
    if (m && m[1].length <= baseIndent) break;
    if (isBlank(line)) {
      let j = i + 1;
      while (j < lines.length && isBlank(lines[j])) j += 1;
      if (j < lines.length && (indentOf(lines[j]) >= current.contentIndent || sameKind(LIST_ITEM.exec(lines[j])))) {
        current.lines.push('');
        i += 1;
        continue;
      }
      break;
    }
    if (indentOf(line) > baseIndent) {
      current.lines.push(dedent(line, current.contentIndent));
      i += 1;
      continue;
    }
    // A lazy continuation of the item's paragraph.
    if (current.lines[current.lines.length - 1] !== '' && !startsBlock(lines, i)) {
      current.lines.push(line.trim());
      i += 1;
      continue;
    }
    break;
  }
  blocks.push({
    type: 'list',
    ordered,
    start: ordered ? Number(first[3]) : 1,
    items: items.map((item) => parseBlocks(item.lines, depth + 1)),
  });
  return i;
}

function splitRow(line) {
  let s = line.trim();
  if (s.startsWith('|')) s = s.slice(1);
  if (s.endsWith('|') && !s.endsWith('\\|')) s = s.slice(0, -1);
  const cells = [];
  let cell = '';
  let inCode = false;
  for (let k = 0; k < s.length; k += 1) {
    const c = s[k];
    if (c === '\\' && s[k + 1] === '|') {
      cell += '|';
      k += 1;
    } else if (c === '`') {
      inCode = !inCode;
      cell += c;
    } else if (c === '|' && !inCode) {
      cells.push(cell.trim());
      cell = '';
    } else {
      cell += c;
    }
  }
  cells.push(cell.trim());
  return cells;
}

function isTableStart(lines, i) {
  if (i + 1 >= lines.length) return false;
  const head = lines[i];
  const delim = lines[i + 1];
  if (!head.includes('|') || !TABLE_DELIMITER.test(delim) || !delim.includes('-')) return false;
  if (!delim.includes('|') && !head.trim().startsWith('|')) return false;
  return splitRow(head).length === splitRow(delim).length;
}

function parseTable(lines, i, blocks) {
  const head = splitRow(lines[i]);
  const align = splitRow(lines[i + 1]).map((d) => {
    const left = d.startsWith(':');
    const right = d.endsWith(':');
    if (left && right) return 'center';
    if (right) return 'right';
    return left ? 'left' : '';
  });
  const rows = [];
  let j = i + 2;
  while (j < lines.length && !isBlank(lines[j]) && lines[j].includes('|')) {
    // A row has the cells it writes, up to the head's: padding short rows
    // would let a wide head and many one-character rows cost columns
    // times rows.
    const cells = splitRow(lines[j]).slice(0, head.length);
    rows.push(cells.map((cell) => parseInline(cell, 0)));
    j += 1;
  }
  blocks.push({ type: 'table', align, head: head.map((h) => parseInline(h, 0)), rows });
  return j;
}

// Inline nodes: {type:'text', text} | {type:'code', text} | {type:'break'} |
// {type:'strong'|'em', children} | {type:'link', href, children}.
function parseInline(text, depth) {
  const out = [];
  let plain = '';
  const flush = () => {
    if (plain) out.push({ type: 'text', text: plain });
    plain = '';
  };
  if (depth > MARKDOWN_MAX_DEPTH) return [{ type: 'text', text }];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '\\' && i + 1 < text.length && ESCAPABLE.test(text[i + 1])) {
      plain += text[i + 1];
      i += 2;
    } else if (c === '\n') {
      flush();
      out.push({ type: 'break' });
      i += 1;
    } else if (c === '`') {
      const run = runLength(text, i, '`', text.length);
      const end = findCodeClose(text, i + run, run);
      if (end < 0) {
        plain += text.slice(i, i + run);
        i += run;
      } else {
        flush();
        out.push({ type: 'code', text: codeSpanText(text.slice(i + run, end)) });
        i = end + run;
      }
    } else if (c === '*' || c === '_') {
      const delim = text[i + 1] === c ? c + c : c;
      const end = canOpen(text, i, delim) ? findEmphasisClose(text, i + delim.length, delim) : -1;
      if (end < 0) {
        // The whole run is plain text, taken at once so that a long row
        // of '*' costs linear time.
        const run = runLength(text, i, c, text.length);
        plain += text.slice(i, i + run);
        i += run;
      } else {
        flush();
        const children = parseInline(text.slice(i + delim.length, end), depth + 1);
        out.push({ type: delim.length === 2 ? 'strong' : 'em', children });
        i = end + delim.length;
      }
    } else if (c === '[') {
      const link = parseLink(text, i, depth);
      if (link) {
        flush();
        out.push(link.node);
        i = link.end;
      } else {
        plain += c;
        i += 1;
      }
    } else {
      plain += c;
      i += 1;
    }
  }
  flush();
  return out;
}

function runLength(text, i, c, limit) {
  let n = 0;
  while (i + n < limit && text[i + n] === c) n += 1;
  return n;
}

function findCodeClose(text, from, run) {
  const limit = scanLimit(text, from);
  let j = from;
  while (j < limit) {
    if (text[j] === '`') {
      const n = runLength(text, j, '`', limit);
      if (n === run) return j;
      j += n;
    } else {
      j += 1;
    }
  }
  return -1;
}

function codeSpanText(s) {
  const flat = s.replace(/\n/g, ' ');
  if (flat.length > 2 && flat[0] === ' ' && flat[flat.length - 1] === ' ' && flat.trim() !== '') {
    return flat.slice(1, -1);
  }
  return flat;
}

function isWordChar(c) {
  return c !== undefined && /[\p{L}\p{N}]/u.test(c);
}

function canOpen(text, i, delim) {
  const after = text[i + delim.length];
  if (after === undefined || /\s/.test(after)) return false;
  // snake_case_names are not emphasis.
  return delim[0] !== '_' || !isWordChar(text[i - 1]);
}

function findEmphasisClose(text, from, delim) {
  const c = delim[0];
  const limit = scanLimit(text, from);
  let j = from;
  while (j < limit) {
    const ch = text[j];
    if (ch === '\\') {
      j += 2;
    } else if (ch === '`') {
      const run = runLength(text, j, '`', limit);
      const end = findCodeClose(text, j + run, run);
      j = end < 0 ? j + run : end + run;
    } else if (ch === c) {
      const run = runLength(text, j, c, limit);
      const closes =
        j > from &&
        !/\s/.test(text[j - 1]) &&
        (c !== '_' || !isWordChar(text[j + run]));
      if (closes && run === delim.length) return j;
      // "***" ends a strong span that holds an emphasis.
      if (closes && run === 3 && delim.length === 2) return j + 1;
      j += run;
    } else {
      j += 1;
    }
  }
  return -1;
}

function parseLink(text, i, depth) {
  const close = boundedIndexOf(text, '](', i + 1);
  if (close < 0) return null;
  const label = text.slice(i + 1, close);
  if (label.includes('\n') || label.includes('[')) return null;
  const end = boundedIndexOf(text, ')', close + 2);
  if (end < 0) return null;
  const href = text.slice(close + 2, end).trim();
  if (!href || /\s/.test(href)) return null;
  const children = parseInline(label, depth + 1);
  if (!safeHref(href)) return { node: { type: 'text', text: text.slice(i, end + 1) }, end: end + 1 };
  return { node: { type: 'link', href, children }, end: end + 1 };
}

function boundedIndexOf(text, needle, from) {
  const at = text.slice(from, scanLimit(text, from)).indexOf(needle);
  return at < 0 ? -1 : from + at;
}

function safeHref(href) {
  try {
    const url = new URL(href);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

// Rendering: DOM nodes only, text always through text nodes.

export function renderMarkdown(text, doc = document) {
  const fragment = doc.createDocumentFragment();
  renderBlocks(parseMarkdown(text), fragment, doc);
  return fragment;
}

function renderBlocks(blocks, parent, doc) {
  for (const block of blocks) parent.append(renderBlock(block, doc));
}

function renderBlock(block, doc) {
  switch (block.type) {
    case 'para': {
      const p = doc.createElement('p');
      renderInlines(block.inlines, p, doc);
      return p;
    }
    case 'heading': {
      // The transcript sits under the page's own headings: # is a
      // third-level heading here.
      const h = doc.createElement(`h${Math.min(block.level + 2, 6)}`);
      h.className = 'md-heading';
      renderInlines(block.inlines, h, doc);
      return h;
    }
    case 'code':
      return renderCodeBlock(block, doc);
    case 'list': {
      const list = doc.createElement(block.ordered ? 'ol' : 'ul');
      if (block.ordered && block.start !== 1) list.start = block.start;
      for (const item of block.items) {
        const li = doc.createElement('li');
        renderBlocks(item, li, doc);
        list.append(li);
      }
      return list;
    }
    case 'quote': {
      const q = doc.createElement('blockquote');
      renderBlocks(block.blocks, q, doc);
      return q;
    }
    case 'rule':
      return doc.createElement('hr');
    case 'table':
      return renderTable(block, doc);
    default:
      return doc.createTextNode('');
  }
}

function renderCodeBlock(block, doc) {
  const figure = doc.createElement('div');
  figure.className = 'md-code';
  if (block.lang) {
    const label = doc.createElement('span');
    label.className = 'md-code-lang';
    label.textContent = block.lang;
    figure.append(label);
  }
  const copy = doc.createElement('button');
  copy.type = 'button';
  copy.className = 'md-copy';
  copy.textContent = 'Copy';
  const pre = doc.createElement('pre');
  const code = doc.createElement('code');
  code.textContent = block.text;
  pre.append(code);
  pre.tabIndex = 0; // long lines scroll; the keyboard can scroll them too
  figure.append(copy, pre);
  return figure;
}

function renderTable(block, doc) {
  const wrap = doc.createElement('div');
  wrap.className = 'md-table';
  wrap.tabIndex = 0;
  const table = doc.createElement('table');
  const thead = doc.createElement('thead');
  const headRow = doc.createElement('tr');
  block.head.forEach((cell, k) => headRow.append(renderCell('th', cell, block.align[k], doc)));
  thead.append(headRow);
  const tbody = doc.createElement('tbody');
  for (const row of block.rows) {
    const tr = doc.createElement('tr');
    row.forEach((cell, k) => tr.append(renderCell('td', cell, block.align[k], doc)));
    tbody.append(tr);
  }
  table.append(thead, tbody);
  wrap.append(table);
  return wrap;
}

function renderCell(tag, inlines, align, doc) {
  const cell = doc.createElement(tag);
  if (align) cell.className = `md-align-${align}`;
  renderInlines(inlines, cell, doc);
  return cell;
}

function renderInlines(nodes, parent, doc) {
  for (const node of nodes) {
    switch (node.type) {
      case 'text':
        parent.append(doc.createTextNode(node.text));
        break;
      case 'break':
        parent.append(doc.createElement('br'));
        break;
      case 'code': {
        const code = doc.createElement('code');
        code.textContent = node.text;
        parent.append(code);
        break;
      }
      case 'strong':
      case 'em': {
        const el = doc.createElement(node.type);
        renderInlines(node.children, el, doc);
        parent.append(el);
        break;
      }
      case 'link':
        parent.append(renderLink(node, doc));
        break;
      default:
        break;
    }
  }
}

// The text of inline nodes, as read.
function inlineText(nodes) {
  return nodes.map((n) => (n.children ? inlineText(n.children) : n.text ?? '')).join('');
}

// A link that is its URL is drawn as that URL, hidden characters named;
// any other keeps its text and adds the host it goes to, and its whole
// address (hidden characters named) as its title.
function renderLink(node, doc) {
  const a = doc.createElement('a');
  a.href = node.href;
  a.rel = 'noopener noreferrer';
  a.target = '_blank';
  const url = new URL(node.href);
  const text = inlineText(node.children);
  if (text === node.href || sameUrl(text, url)) {
    a.textContent = reveal(text);
    return a;
  }
  renderInlines(node.children, a, doc);
  const host = doc.createElement('span');
  host.className = 'md-link-host muted';
  host.textContent = ` (${reveal(url.host)})`;
  a.append(host);
  a.title = reveal(node.href);
  return a;
}

// Whether text, with nothing hidden in it, is an address the same as url.
function sameUrl(text, url) {
  if (revealHidden(text).count > 0) return false;
  try {
    return new URL(text).href === url.href;
  } catch {
    return false;
  }
}
