/** Seconds in one of each unit a duration may name: `30s`, `15m`, `12h`, `90d`, `2w`. */
const UNIT_SECONDS = { s: 1, m: 60, h: 3_600, d: 86_400, w: 604_800 } as const;

/** What a duration may look like, for the sentence shown when one is not understood. */
export const DURATION_FORMS = 'a whole number of seconds or a number with a unit: 30s, 15m, 12h, 90d, 2w';

/**
 * The number of seconds in `text`: plain seconds (`3600`) or one whole number with a unit (`90d`), without
 * spaces inside. Anything else — fractions, signs, several units, an unknown unit — is `undefined`, so the
 * caller can refuse it with a sentence instead of guessing.
 */
export const parseDurationSeconds = (text: string): number | undefined => {
  const match = /^(\d{1,12})([smhdw]?)$/.exec(text.trim().toLowerCase());
  if (!match) return undefined;
  const unit = (match[2] || 's') as keyof typeof UNIT_SECONDS;
  const seconds = Number(match[1]) * UNIT_SECONDS[unit];
  return Number.isSafeInteger(seconds) ? seconds : undefined;
};

/** `7776000` → `90d`, `5400` → `90m`: the largest unit that divides the seconds exactly, for messages. */
export const formatDurationSeconds = (seconds: number): string => {
  const units = (Object.entries(UNIT_SECONDS) as [keyof typeof UNIT_SECONDS, number][]).filter(([u]) => u !== 'w').reverse();
  const [unit, size] = units.find(([, size]) => seconds % size === 0) ?? ['s', 1];
  return `${seconds / size}${unit}`;
};
