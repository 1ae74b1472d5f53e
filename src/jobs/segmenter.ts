// Splits a job's text into segments: whole sentences packed up to a character bound, with
// over-long sentences cut at clause punctuation or whitespace. Deterministic for a given text.

const SENTENCES = new Intl.Segmenter('en', { granularity: 'sentence' });
const CLAUSE_BREAK = /[,;:\u2013\u2014)]\s/g;

/**
 * Returns the segments of `text`, each at most `maxChars` characters (UTF-16 units) and
 * trimmed; whitespace-only pieces are dropped. An empty result means nothing to speak.
 */
export function splitIntoSegments(text: string, maxChars: number): string[] {
  const pieces = sentencesOf(text).flatMap((sentence) => cutToLength(sentence, maxChars));
  return pack(pieces, maxChars);
}

function sentencesOf(text: string): string[] {
  const sentences: string[] = [];
  for (const { segment } of SENTENCES.segment(text)) {
    const trimmed = segment.replace(/\s+/g, ' ').trim();
    if (trimmed !== '') sentences.push(trimmed);
  }
  return sentences;
}

/** Cuts one sentence into pieces of at most `maxChars`, preferring clause and word breaks. */
function cutToLength(sentence: string, maxChars: number): string[] {
  const pieces: string[] = [];
  let rest = sentence;
  while (rest.length > maxChars) {
    const cut = breakPoint(rest, maxChars);
    pieces.push(rest.slice(0, cut).trim());
    rest = rest.slice(cut).trim();
  }
  if (rest !== '') pieces.push(rest);
  return pieces;
}

function breakPoint(text: string, maxChars: number): number {
  const window = text.slice(0, maxChars + 1);
  let clause = -1;
  for (const match of window.matchAll(CLAUSE_BREAK)) clause = match.index + 1;
  if (clause >= maxChars / 2) return clause;

  const space = window.lastIndexOf(' ');
  if (space > 0) return space;
  return avoidSplittingSurrogate(text, maxChars);
}

function avoidSplittingSurrogate(text: string, index: number): number {
  const code = text.charCodeAt(index - 1);
  return code >= 0xd800 && code <= 0xdbff ? index - 1 : index;
}

/** Greedily joins consecutive pieces while the result stays within `maxChars`. */
function pack(pieces: string[], maxChars: number): string[] {
  const segments: string[] = [];
  let current = '';
  for (const piece of pieces) {
    if (current === '') current = piece;
    else if (current.length + 1 + piece.length <= maxChars) current += ` ${piece}`;
    else {
      segments.push(current);
      current = piece;
    }
  }
  if (current !== '') segments.push(current);
  return segments;
}
