import { badRequest } from '../errors.js';

/**
 * Turns free text into a safe FTS5 query: every word becomes a quoted prefix term (so operators and
 * punctuation in the input are inert, and "test" finds "tests" and "testing"); all terms must match.
 */
export const ftsQuery = (text: string): string => {
  const words = text.match(/[\p{L}\p{N}_]+/gu) ?? [];
  if (words.length === 0) throw badRequest('INVALID_QUERY', 'The search text holds no word to look for.', { q: text });
  return words
    .slice(0, 32)
    .map((w) => `"${w.replaceAll('"', '""')}"*`)
    .join(' ');
};
