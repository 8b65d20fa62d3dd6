// Cutting a long text into messages the server accepts, without losing a character the person typed.
//
// Lengths are counted in code points after NFC (what client.js sends and what the server counts with Python's
// len), never in UTF-16 units: an emoji counts once, and a cut never splits one in two.

// A cut looks for a natural boundary in the last 40% of a part (paragraph, line, sentence, word, in that order);
// with none there, it cuts at the limit.
const SEARCH_FROM = 0.6;

function cutAt(chars, start, max) {
  const end = start + max;
  const floor = start + Math.floor(max * SEARCH_FROM);
  const tests = [
    (i) => chars[i - 1] === "\n" && chars[i - 2] === "\n",
    (i) => chars[i - 1] === "\n",
    (i) => /\s/u.test(chars[i - 1]) && /[.!?…]/u.test(chars[i - 2] || ""),
    (i) => /\s/u.test(chars[i - 1]),
  ];
  for (const test of tests) {
    for (let i = end; i > floor; i -= 1) if (test(i)) return i;
  }
  return end;
}

export function length(text) {
  return Array.from(text).length;
}

// { parts, rest }: at most `maxParts` parts of at most `max` code points each, in order, and the text left over
// (empty when everything fits). Whitespace at a cut is dropped, as the server trims every message.
export function splitMessage(text, max, maxParts) {
  const chars = Array.from(text);
  const parts = [];
  let start = 0;
  while (start < chars.length && parts.length < maxParts) {
    const end = chars.length - start <= max ? chars.length : cutAt(chars, start, max);
    const part = chars.slice(start, end).join("").trim();
    if (part) parts.push(part);
    start = end;
  }
  return { parts, rest: chars.slice(start).join("").trim() };
}
