// Splitting text into segments: sentence-sized, bounded, ordered, nothing lost.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { splitIntoSegments } from '../src/jobs/segmenter.js';
import { longText } from './helpers/service.js';

const words = (text: string) => text.split(/\s+/).filter(Boolean);

describe('segmenter', () => {
  it('keeps a short text as one segment', () => {
    assert.deepEqual(splitIntoSegments('Hello there. How are you?', 400), [
      'Hello there. How are you?',
    ]);
  });

  it('packs whole sentences up to the bound and keeps every word in order', () => {
    const text = longText(5000);
    const segments = splitIntoSegments(text, 200);
    assert.ok(segments.length > 20);
    assert.ok(segments.every((segment) => segment.length <= 200));
    assert.ok(
      segments.every((segment) => /[.!?]$/.test(segment)),
      'segments end at sentence ends',
    );
    assert.deepEqual(words(segments.join(' ')), words(text));
  });

  it('cuts an over-long sentence at clause breaks or spaces, never mid-word', () => {
    const sentence = `${'word, '.repeat(100)}end.`;
    const segments = splitIntoSegments(sentence, 50);
    assert.ok(segments.every((segment) => segment.length <= 50));
    assert.deepEqual(words(segments.join(' ')), words(sentence));
  });

  it('cuts text without spaces at the bound without splitting a surrogate pair', () => {
    const text = '😀'.repeat(40);
    const segments = splitIntoSegments(text, 25);
    assert.ok(
      segments.every((segment) => segment.length <= 25 && !/[\ud800-\udbff]$/.test(segment)),
    );
    assert.equal(segments.join(''), text);
  });

  it('collapses whitespace and drops empty pieces', () => {
    assert.deepEqual(splitIntoSegments('  One.\n\n\tTwo.   ', 400), ['One. Two.']);
    assert.deepEqual(splitIntoSegments(' \n\t ', 400), []);
  });

  it('gives the same segments for the same text', () => {
    const text = longText(3000);
    assert.deepEqual(splitIntoSegments(text, 300), splitIntoSegments(text, 300));
  });
});
