/**
 * The glob dialect's syntax: limits, parsing and refusals (GlobError). glob.ts matches what this parses; the
 * dialect itself is described there.
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

export type CharClass = { negated: boolean; ranges: number[] };
export type CharTest = number | 'any' | CharClass;
/** A run of characters between `*`s; non-literal ones carry the parts of their Shift-And character masks. */
export type Piece = {
  length: number;
  literal: string | undefined;
  tests: CharTest[];
  anyMask: Uint32Array;
  literalMasks: Map<number, Uint32Array>;
  classAt: number[];
  classes: CharClass[];
};
/** One segment of the pattern, split at its `*`: the first piece is anchored at the start, the last at the end. */
export type Segment = { pieces: Piece[]; starred: boolean };
/** Runs of segments between `**` segments. */
export type Alternative = Segment[][];

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
export const expandBraces = (pattern: string): string[] => {
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
  const segments = text
    .replace(/^(\.\/)+/, '')
    .replace(/\/$/, '')
    .split('/');
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
  if (control)
    fail(control === '\0' ? 'contains a NUL character' : `contains the control character U+${control.charCodeAt(0).toString(16).padStart(4, '0')}`);
  const extglob = /[+@!?*]\(/.exec(pattern);
  if (extglob) fail(`is not a valid glob: extglob \`${extglob[0]}\` is not supported (patterns are globs, not regular expressions)`);
  const regex = /[()|]/.exec(pattern);
  if (regex) fail(`is not a valid glob: \`${regex[0]}\` is regular-expression syntax (patterns are globs: use \`{a,b}\` for alternatives)`);
  if (pattern.includes('\\'))
    fail('is not a valid glob: `\\` is not supported (separate segments with `/`; match a special character with a class like `[*]`)');
  if (pattern.startsWith('!')) fail('is not a valid glob: negation (a leading `!`) is not supported; list the files the role may change');
  return expandBraces(pattern).map(parseAlternative);
};
