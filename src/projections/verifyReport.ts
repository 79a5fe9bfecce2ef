/** What a verification reports while it runs (the admin job's progress, the CLI's bar). */
export type VerifyProgress = Readonly<{ phase: string; eventsDone: number; eventsTotal: number }>;

/** A UTF-16 code unit remapped so that comparing units orders strings by code point, as SQLite's BINARY collation (UTF-8 bytes) does. */
const unit = (c: number): number => (c >= 0xd800 && c <= 0xdfff ? c + 0x2000 : c >= 0xe000 ? c - 0x800 : c);

/** Strings in code-point order (JS's `<` orders by UTF-16 unit, which differs above U+FFFF). */
export const compareText = (a: string, b: string): number => {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return unit(x) - unit(y);
  }
  return a.length - b.length;
};

type Key = string | number | bigint | null | Buffer;

const compareValue = (a: Key, b: Key): number => {
  if (a === b) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  if (typeof a === 'string' && typeof b === 'string') return compareText(a, b);
  if (typeof a !== 'string' && typeof b !== 'string' && !Buffer.isBuffer(a) && !Buffer.isBuffer(b)) return a < b ? -1 : 1;
  // SQLite orders numbers before text: the only mixed case a key can meet.
  return typeof a === 'string' ? 1 : -1;
};

/** Two rows compared on the columns at `at`, in the order SQLite's ORDER BY gives them. */
export const compareKeys = (at: readonly number[], a: readonly Key[], b: readonly Key[]): number => {
  for (const i of at) {
    const order = compareValue(a[i]!, b[i]!);
    if (order !== 0) return order;
  }
  return 0;
};
