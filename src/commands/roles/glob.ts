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

export const MAX_GLOB_LENGTH = 512;
/** Alternatives one pattern expands to: `{a,b}/{c,d}` counts 4. */
export const MAX_GLOB_ALTERNATIVES = 32;
/**
 * Characters of all of a role's patterns once braces are expanded. Matching a path costs at most its length
 * times this, so it bounds the work one file check can cause (shipped roles stay under 1,000).
 */
export const MAX_GLOB_LIST_CHARACTERS = 8192;
/** Segments of one pattern (`/`-separated); bounds the search for a run of segments between two `**`. */
export const MAX_GLOB_SEGMENTS = 32;

type CharClass = { negated: boolean; ranges: number[] };
type CharTest = number | 'any' | CharClass;
/** A run of characters between `*`s; non-literal ones carry the parts of their Shift-And character masks. */
type Piece = {
  length: number;
  literal: string | undefined;
  tests: CharTest[];
  anyMask: Uint32Array;
  literalMasks: Map<number, Uint32Array>;
  classAt: number[];
  classes: CharClass[];
};
/** One segment of the pattern, split at its `*`: the first piece is anchored at the start, the last at the end. */
type Segment = { pieces: Piece[]; starred: boolean };
/** Runs of segments between `**` segments. */
type Alternative = Segment[][];

export class GlobError extends Error {}

const fail = (message: string): never => {
  throw new GlobError(message);
};

/** The index of the `]` closing the class that opens at `start`, or a GlobError. */
const classEnd = (pattern: string, start: number): number => {
  let i = start + 1;
  if (pattern[i] === '!' || pattern[i] === '^') i++;
  if (pattern[i] === ']') i++; // a leading `]` is a member
  for (; i < pattern.length; i++) {
    if (pattern[i] === ']') return i;
    if (pattern[i] === '/') break;
    if (pattern[i] === '[') fail(`is not a valid glob: \`[\` inside the class at ${start} (POSIX classes like [:alpha:] are not supported)`);
  }
  return fail(`is not a valid glob: Missing closing \`]\` for the \`[\` at ${start}`);
};

/** `{a,b}x{c,d}` → `axc`, `axd`, `bxc`, `bxd`; refuses nesting, ranges and too many alternatives. */
const expandBraces = (pattern: string): string[] => {
  let results = [''];
  let literal = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '[') {
      const end = classEnd(pattern, i);
      literal += pattern.slice(i, end + 1);
      i = end;
    } else if (c === '}') {
      fail(`is not a valid glob: \`}\` at ${i} closes no \`{\``);
    } else if (c !== '{') {
      literal += c;
    } else {
      const options: string[] = [];
      let option = '';
      let j = i + 1;
      for (; j < pattern.length && pattern[j] !== '}'; j++) {
        const d = pattern[j]!;
        if (d === '{') fail(`is not a valid glob: nested \`{\` at ${j} (braces do not nest)`);
        if (d === '[') {
          const end = classEnd(pattern, j);
          option += pattern.slice(j, end + 1);
          j = end;
        } else if (d === ',') {
          options.push(option);
          option = '';
        } else option += d;
      }
      if (j >= pattern.length) fail(`is not a valid glob: Missing closing \`}\` for the \`{\` at ${i}`);
      options.push(option);
      if (options.some((o) => o.includes('..'))) fail(`is not a valid glob: brace ranges like \`{1..9}\` are not supported; list the alternatives`);
      if (options.length < 2) fail(`is not a valid glob: \`{${option}}\` has one alternative; write it without braces or add \`,\``);
      if (results.length * options.length > MAX_GLOB_ALTERNATIVES)
        fail(`expands to more than ${MAX_GLOB_ALTERNATIVES} alternatives; use fewer \`{,}\` choices`);
      results = results.flatMap((head) => options.map((o) => head + literal + o));
      literal = '';
      i = j;
    }
  }
  return results.map((head) => head + literal);
};

const parseClass = (body: string): CharTest => {
  const negated = body[0] === '!' || body[0] === '^';
  const members = negated ? body.slice(1) : body;
  const ranges: number[] = [];
  for (let i = 0; i < members.length; i++) {
    const lo = members.charCodeAt(i);
    if (members[i + 1] === '-' && i + 2 < members.length) {
      const hi = members.charCodeAt(i + 2);
      if (hi < lo) fail(`is not a valid glob: the range \`${members.slice(i, i + 3)}\` runs backwards`);
      ranges.push(lo, hi);
      i += 2;
    } else ranges.push(lo, lo);
  }
  return { negated, ranges };
};

const parseSegment = (text: string): Segment => {
  const pieces: Piece[] = [];
  let tests: CharTest[] = [];
  const close = () => {
    const literal = tests.every((t) => typeof t === 'number') ? String.fromCharCode(...(tests as number[])) : undefined;
    const words = Math.ceil(tests.length / 32);
    const piece: Piece = { length: tests.length, literal, tests, anyMask: new Uint32Array(words), literalMasks: new Map(), classAt: [], classes: [] };
    tests.forEach((test, i) => {
      const bit = (mask: Uint32Array) => (mask[i >>> 5]! |= 1 << (i & 31));
      if (test === 'any') bit(piece.anyMask);
      else if (typeof test !== 'number') {
        piece.classAt.push(i);
        piece.classes.push(test);
      } else {
        if (!piece.literalMasks.has(test)) piece.literalMasks.set(test, new Uint32Array(words));
        bit(piece.literalMasks.get(test)!);
      }
    });
    pieces.push(piece);
    tests = [];
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '*') close();
    else if (c === '?') tests.push('any');
    else if (c === '[') {
      const end = classEnd(text, i);
      tests.push(parseClass(text.slice(i + 1, end)));
      i = end;
    } else tests.push(text.charCodeAt(i));
  }
  close();
  return { pieces, starred: pieces.length > 1 };
};

const parseAlternative = (text: string): Alternative => {
  const runs: Alternative = [[]];
  const segments = text.replace(/^(\.\/)+/, '').replace(/\/$/, '').split('/');
  if (segments.length > MAX_GLOB_SEGMENTS) fail(`has more than ${MAX_GLOB_SEGMENTS} segments`);
  for (const segment of segments) {
    if (segment === '' || segment === '.') fail('is not a valid glob: it has an empty or `.` segment; write the path without it');
    if (segment === '**') runs.push([]);
    else runs[runs.length - 1]!.push(parseSegment(segment));
  }
  return runs;
};

/** The pattern's alternatives, ready to match; a GlobError for anything outside the dialect. */
export const parseGlob = (pattern: string): Alternative[] => {
  if (pattern.length > MAX_GLOB_LENGTH) fail(`is longer than ${MAX_GLOB_LENGTH} characters`);
  const control = [...pattern].find((c) => c.charCodeAt(0) < 0x20 || c === '\u007f');
  if (control) fail(control === '\0' ? 'contains a NUL character' : `contains the control character U+${control.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const extglob = /[+@!?*]\(/.exec(pattern);
  if (extglob) fail(`is not a valid glob: extglob \`${extglob[0]}\` is not supported (patterns are globs, not regular expressions)`);
  const regex = /[()|]/.exec(pattern);
  if (regex) fail(`is not a valid glob: \`${regex[0]}\` is regular-expression syntax (patterns are globs: use \`{a,b}\` for alternatives)`);
  if (pattern.includes('\\')) fail('is not a valid glob: `\\` is not supported (separate segments with `/`; match a special character with a class like `[*]`)');
  if (pattern.startsWith('!')) fail('is not a valid glob: negation (a leading `!`) is not supported; list the files the role may change');
  return expandBraces(pattern).map(parseAlternative);
};

const inClass = (test: CharClass, code: number): boolean => {
  const ranges = test.ranges;
  for (let i = 0; i < ranges.length; i += 2) if (code >= ranges[i]! && code <= ranges[i + 1]!) return !test.negated;
  return test.negated;
};

const passes = (test: CharTest, code: number): boolean =>
  typeof test === 'number' ? test === code : test === 'any' || inClass(test, code);

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
const segmentsOf = (path: string): string[] => path.replace(/\/$/, '').split('/').filter((segment) => segment !== '.');

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
