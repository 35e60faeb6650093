// Characters that change how text looks without showing themselves: C0
// and C1 controls but newline and tab (a CR that returns over a line, a
// terminal escape), format characters (bidi overrides and isolates,
// zero-width spaces and joiners, the byte-order mark) and the line and
// paragraph separators. Where an operator approves what he reads, each is
// shown by name instead, so the text on screen is the text that runs.
//
// Written out (Unicode 17.0's Cc, Cf, Zl, Zp), not the engine's \p{}:
// breakglass export (core/journal/js_reveal.c) names the same set, so
// both summaries match whatever Unicode the browser knows.
const HIDDEN = /[\0-\x08\x0B-\x1F\x7F-\x9F\xAD\u0600-\u0605\u061C\u06DD\u070F\u0890\u0891\u08E2\u180E\u200B-\u200F\u2028-\u202E\u2060-\u2064\u2066-\u206F\uFEFF\uFFF9-\uFFFB\u{110BD}\u{110CD}\u{13430}-\u{1343F}\u{1BCA0}-\u{1BCA3}\u{1D173}-\u{1D17A}\u{E0001}\u{E0020}-\u{E007F}]/gu;

// text with each hidden character replaced by its name, ⟨U+202E⟩, and
// how many there were.
export function revealHidden(text) {
  let count = 0;
  const shown = String(text).replace(HIDDEN, (c) => {
    count += 1;
    return `⟨U+${c.codePointAt(0).toString(16).toUpperCase().padStart(4, '0')}⟩`;
  });
  return { text: shown, count };
}

// The text alone, as titles, names and quoted words are drawn.
export function reveal(text) {
  return revealHidden(text).text;
}

// A session's title, made from its first prompt: an override there
// would retitle it.
export function sessionTitle(s) {
  return s && typeof s.title === 'string' && s.title.trim() ? reveal(s.title) : 'Untitled session';
}
