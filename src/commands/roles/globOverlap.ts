import { compileGlobs } from './glob.js';
import { expandBraces, GlobError } from './globSyntax.js';

/**
 * Whether two file patterns (paths or globs of glob.ts's dialect) can name the same file: what decides that two
 * claims collide. The answer errs one way only — it may say "overlap" for two globs no path matches both of, never
 * "disjoint" for two that share a path — so a file is never reserved twice.
 *
 * The rule (docs/claims.md#file-overlap), after expanding braces on both sides and splitting at `/`:
 * * `**` stands for zero or more segments on either side; the other segments are compared pairwise, in order.
 * * Two literal segments overlap when they are equal; a literal and a glob when the glob matches the literal.
 * * Two glob segments overlap unless their literal prefixes (before the first `*`, `?` or `[`) or their literal
 *   suffixes (after the last one) contradict each other: `*.md` and `*.ts` are disjoint, `a*` and `*b` are not.
 * `*` never crosses `/`, so `*.md` names top-level files only and does not meet `docs/x.md`; `docs/**` does.
 * A trailing `/` names a directory and everything below it (`src/` is `src/**`). A pattern outside the dialect is
 * taken literally.
 */

const WILD = /[*?[]/;

const segmentsOf = (pattern: string): string[][] => {
  let path = pattern.replace(/^(\.\/)+/, '');
  if (path.endsWith('/')) path = `${path}**`;
  let alternatives: string[];
  try {
    alternatives = expandBraces(path);
  } catch (error) {
    if (!(error instanceof GlobError)) throw error;
    alternatives = [path];
  }
  return alternatives.map((alternative) => alternative.split('/').filter((segment) => segment !== '' && segment !== '.'));
};

const CACHE_SIZE = 4096;
const parsed = new Map<string, string[][]>();
const parse = (pattern: string): string[][] => {
  let segments = parsed.get(pattern);
  if (!segments) {
    if (parsed.size >= CACHE_SIZE) parsed.clear();
    segments = segmentsOf(pattern);
    parsed.set(pattern, segments);
  }
  return segments;
};

const segmentMatchers = new Map<string, (segment: string) => boolean>();
const matchesSegment = (glob: string, literal: string): boolean => {
  let matcher = segmentMatchers.get(glob);
  if (!matcher) {
    if (segmentMatchers.size >= CACHE_SIZE) segmentMatchers.clear();
    matcher = compileGlobs([glob]);
    segmentMatchers.set(glob, matcher);
  }
  return matcher(literal);
};

/** The literal characters a glob segment starts and ends with. */
const literalEnds = (glob: string): { prefix: string; suffix: string } => {
  const first = glob.search(WILD);
  let last = -1;
  for (let i = glob.length - 1; i >= 0; i--) {
    const c = glob[i]!;
    if (c === '*' || c === '?' || c === ']') {
      last = i;
      break;
    }
  }
  return { prefix: glob.slice(0, first), suffix: glob.slice(last + 1) };
};

const segmentsOverlap = (a: string, b: string): boolean => {
  const aWild = WILD.test(a);
  const bWild = WILD.test(b);
  if (!aWild && !bWild) return a === b;
  if (!bWild) return matchesSegment(a, b);
  if (!aWild) return matchesSegment(b, a);
  const x = literalEnds(a);
  const y = literalEnds(b);
  const prefixes = x.prefix.startsWith(y.prefix) || y.prefix.startsWith(x.prefix);
  const suffixes = x.suffix.endsWith(y.suffix) || y.suffix.endsWith(x.suffix);
  return prefixes && suffixes;
};

const sequencesOverlap = (a: readonly string[], b: readonly string[]): boolean => {
  // Without `**` on either side the segments pair up one to one: the common case, and no search to memoize.
  if (!a.includes('**') && !b.includes('**')) return a.length === b.length && a.every((segment, i) => segmentsOverlap(segment, b[i]!));
  const memo = new Map<number, boolean>();
  const from = (i: number, j: number): boolean => {
    const key = i * (b.length + 1) + j;
    const known = memo.get(key);
    if (known !== undefined) return known;
    let result: boolean;
    if (i === a.length && j === b.length) result = true;
    else if (i < a.length && a[i] === '**') result = from(i + 1, j) || (j < b.length && from(i, j + 1));
    else if (j < b.length && b[j] === '**') result = from(i, j + 1) || (i < a.length && from(i + 1, j));
    else if (i === a.length || j === b.length) result = false;
    else result = segmentsOverlap(a[i]!, b[j]!) && from(i + 1, j + 1);
    memo.set(key, result);
    return result;
  };
  return from(0, 0);
};

/** True when some path could match both patterns (see the rule above). */
export const patternsOverlap = (a: string, b: string): boolean => {
  if (a === b) return true;
  return parse(a).some((x) => parse(b).some((y) => sequencesOverlap(x, y)));
};

/** The patterns of `mine` that overlap one of `theirs`. */
export const overlappingFiles = (mine: readonly string[], theirs: readonly string[]): string[] =>
  mine.filter((file) => theirs.some((other) => patternsOverlap(file, other)));
