/**
 * File patterns: a small glob dialect, and a matcher that never builds a RegExp from it.
 *
 * picomatch, minimatch and micromatch compile globs to regular expressions, and no maintained npm matcher was
 * found that does not. V8's engine backtracks, so `+(a+)+b` takes exponential time and
 * even plain `*a*a*a*a*b` polynomial time on a path that almost matches; hence this module.
 *
 * Matching is greedy, as in Russ Cox's "Glob Matching Can Be Simple And Fast Too": between two `*` a piece
 * matches at its leftmost place, and between two `**` segments a run of segments does too. An earlier
 * placement leaves more room for what follows, so this is exact. Literal pieces are found with indexOf; pieces
 * with `?` or classes, and runs of segments, with Shift-And, whose time does not depend on how nearly the
 * text matches. Nothing moves backwards, so a path costs at most about its length × the pattern's length.
 *
 * The dialect: `*` is any characters within one segment (dotfiles too); `**` as a whole segment is zero or
 * more segments; `?` is one character; `[abc]`, `[a-z]`, `[!a]` / `[^a]` are classes; `{a,b}` are
 * alternatives, not nested. Anything else is a literal character. `globProblem` refuses the rest.
 */
import {
  expandBraces,
  GlobError,
  MAX_GLOB_LIST_CHARACTERS,
  parseGlob,
  type Alternative,
  type CharClass,
  type CharTest,
  type Piece,
  type Segment,
} from './globSyntax.js';

const inClass = (test: CharClass, code: number): boolean => {
  const ranges = test.ranges;
  for (let i = 0; i < ranges.length; i += 2) if (code >= ranges[i]! && code <= ranges[i + 1]!) return !test.negated;
  return test.negated;
};

const passes = (test: CharTest, code: number): boolean => (typeof test === 'number' ? test === code : test === 'any' || inClass(test, code));

const pieceAt = (piece: Piece, text: string, at: number): boolean => {
  if (piece.literal !== undefined) return text.startsWith(piece.literal, at);
  for (let i = 0; i < piece.length; i++) if (!passes(piece.tests[i]!, text.charCodeAt(at + i))) return false;
  return true;
};

/** Shift-And's mask for `code`, written into `mask`: bit i (of word i/32) is set when the piece's i-th character accepts it. */
const fillMask = (piece: Piece, code: number, mask: Uint32Array): Uint32Array => {
  mask.set(piece.anyMask);
  const literal = piece.literalMasks.get(code);
  if (literal) for (let w = 0; w < mask.length; w++) mask[w]! |= literal[w]!;
  for (let k = 0; k < piece.classes.length; k++) {
    const i = piece.classAt[k]!;
    if (inClass(piece.classes[k]!, code)) mask[i >>> 5]! |= 1 << (i & 31);
  }
  return mask;
};

/**
 * Leftmost place ≥ from where `piece` fits before `limit`, or -1. Literal pieces use indexOf; the others
 * Shift-And, whose time does not grow with how nearly the text matches: ⌈length/32⌉ word steps per character.
 * Masks of ASCII characters are kept for the search; others are rebuilt each time, so nothing grows with the text.
 */
const findPiece = (piece: Piece, text: string, from: number, limit: number): number => {
  const last = limit - piece.length;
  if (piece.literal !== undefined) {
    const at = text.indexOf(piece.literal, from);
    return at >= 0 && at <= last ? at : -1;
  }
  const words = Math.ceil(piece.length / 32);
  const state = new Uint32Array(words);
  const scratch = new Uint32Array(words);
  const ascii: Array<Uint32Array | undefined> = [];
  const top = piece.length - 1;
  for (let i = from; i < limit; i++) {
    const code = text.charCodeAt(i);
    const mask = code >= 128 ? fillMask(piece, code, scratch) : (ascii[code] ??= fillMask(piece, code, new Uint32Array(words)));
    let carry = 1;
    for (let w = 0; w < words; w++) {
      const word = state[w]!;
      state[w] = ((word << 1) | carry) & mask[w]!;
      carry = word >>> 31;
    }
    if (state[top >>> 5]! & (1 << (top & 31))) return i - top;
  }
  return -1;
};

const segmentMatches = ({ pieces, starred }: Segment, text: string): boolean => {
  const first = pieces[0]!;
  if (!starred) return text.length === first.length && pieceAt(first, text, 0);
  const tail = pieces[pieces.length - 1]!;
  const end = text.length - tail.length;
  if (end < first.length || !pieceAt(first, text, 0) || !pieceAt(tail, text, end)) return false;
  let at = first.length;
  for (let i = 1; i < pieces.length - 1; i++) {
    const found = findPiece(pieces[i]!, text, at, end);
    if (found < 0) return false;
    at = found + pieces[i]!.length;
  }
  return true;
};

const runAt = (run: Segment[], segments: string[], at: number): boolean => {
  for (let i = 0; i < run.length; i++) if (!segmentMatches(run[i]!, segments[at + i]!)) return false;
  return true;
};

/** Leftmost place ≥ from where `run` fits before `limit`, or -1: Shift-And again, over segments (≤ 32, one word). */
const findRun = (run: Segment[], segments: string[], from: number, limit: number): number => {
  if (run.length === 0) return from;
  const masks = new Map<string, number>();
  const top = 1 << (run.length - 1);
  let state = 0;
  for (let i = from; i < limit; i++) {
    const text = segments[i]!;
    let mask = masks.get(text);
    if (mask === undefined) {
      mask = 0;
      for (let j = 0; j < run.length; j++) if (segmentMatches(run[j]!, text)) mask |= 1 << j;
      masks.set(text, mask);
    }
    state = ((state << 1) | 1) & mask;
    if (state & top) return i - run.length + 1;
  }
  return -1;
};

const alternativeMatches = (runs: Alternative, segments: string[]): boolean => {
  const head = runs[0]!;
  if (runs.length === 1) return segments.length === head.length && runAt(head, segments, 0);
  const tail = runs[runs.length - 1]!;
  const end = segments.length - tail.length;
  if (end < head.length || !runAt(head, segments, 0) || !runAt(tail, segments, end)) return false;
  let at = head.length;
  for (let i = 1; i < runs.length - 1; i++) {
    const found = findRun(runs[i]!, segments, at, end);
    if (found < 0) return false;
    at = found + runs[i]!.length;
  }
  return true;
};

/** A path's segments, without `./` and `.` segments or a trailing `/` (the same file either way). */
const segmentsOf = (path: string): string[] =>
  path
    .replace(/\/$/, '')
    .split('/')
    .filter((segment) => segment !== '.');

/** Characters of the pattern once braces are expanded (what MAX_GLOB_LIST_CHARACTERS counts). */
export const expandedLength = (pattern: string): number => expandBraces(pattern).reduce((sum, alternative) => sum + alternative.length, 0);

/**
 * A predicate for a list of patterns. Patterns outside the dialect, or beyond MAX_GLOB_LIST_CHARACTERS, match
 * nothing: they can only come from events stored before these rules, and a file they miss is refused, not allowed.
 */
export const compileGlobs = (patterns: readonly string[]): ((path: string) => boolean) => {
  let budget = MAX_GLOB_LIST_CHARACTERS;
  const alternatives = patterns.flatMap((pattern) => {
    try {
      const parsed = parseGlob(pattern);
      budget -= expandedLength(pattern);
      return budget >= 0 ? parsed : [];
    } catch (error) {
      if (error instanceof GlobError) return [];
      throw error;
    }
  });
  return (path) => {
    const segments = segmentsOf(path);
    return segments.some((segment) => segment !== '') && alternatives.some((alternative) => alternativeMatches(alternative, segments));
  };
};
