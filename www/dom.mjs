// Building the page's elements: the one helper every view uses.

// A new element with a class (optional) and its text (optional; always
// text, never HTML).
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}
