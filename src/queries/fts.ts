import { badRequest } from '../errors.js';

/**
 * Turns free text into a safe FTS5 query: every word becomes a quoted term (so operators and
 * punctuation in the input are inert), all terms must match, and the last one matches as a prefix.
 */
export const ftsQuery = (text: string): string => {
  const words = text.match(/[\p{L}\p{N}_]+/gu) ?? [];
  if (words.length === 0) throw badRequest('INVALID_QUERY', 'The search text holds no word to look for.', { q: text });
  return words
    .slice(0, 32)
    .map((w, i, all) => `"${w.replaceAll('"', '""')}"${i === all.length - 1 ? '*' : ''}`)
    .join(' ');
};
