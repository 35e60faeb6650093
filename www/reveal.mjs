// Characters that change how text looks without showing themselves: C0
// and C1 controls but newline and tab (a CR that returns over a line, a
// terminal escape), format characters (bidi overrides and isolates,
// zero-width spaces and joiners, the byte-order mark) and the line and
// paragraph separators. Where an operator approves what he reads, each is
// shown by name instead, so the text on screen is the text that runs.

const HIDDEN = /(?![\n\t])[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;

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
