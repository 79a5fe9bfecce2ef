import { logQueryOf } from '../api/catalog/auditLog.js';
import { listEvents } from '../api/catalog/schemas/auditLog.js';
import type { Config } from '../config.js';
import { DomainError } from '../errors.js';
import type { StoredEvent } from '../events/types.js';
import type { EventStore } from '../eventstore/eventStore.js';

export type AuditEventsOptions = Readonly<{
  project?: string;
  stream?: string;
  task?: string;
  type?: string[];
  actor?: string;
  role?: string;
  tool?: string;
  correlation?: string;
  from?: string;
  to?: string;
  fromPosition?: string;
  toPosition?: string;
  limit?: string;
  json?: boolean;
}>;

/** A flag the command cannot use: exit 2 with the message (not an API refusal, so no problem code). */
class UsageError extends Error {}

/** Most events one `vespera audit events` prints (it follows pages of the store up to this). */
const MAX_LIMIT = 100_000;

const integer = (flag: string, value: string | undefined): number | undefined => {
  if (value === undefined) return undefined;
  if (!/^\d{1,16}$/.test(value)) throw new UsageError(`${flag} takes a whole number (got "${value}").`);
  return Number(value);
};

const cell = (value: unknown, width: number) =>
  String(value ?? '')
    .slice(0, width)
    .padEnd(width);

const table = (events: readonly StoredEvent[]): string =>
  [
    `${cell('POSITION', 9)} ${cell('RECORDED AT', 24)} ${cell('STREAM', 24)} ${cell('TYPE', 22)} ${cell('ACTOR', 18)} ${cell('TOOL', 16)} TASK`,
    ...events.map(
      (e) =>
        `${cell(e.position, 9)} ${cell(e.recordedAt, 24)} ${cell(e.streamId, 24)} ${cell(e.type, 22)} ${cell(e.metadata.actor, 18)} ${cell(e.metadata.tool, 16)} ${String((e.data as { taskId?: unknown }).taskId ?? '')}`,
    ),
  ].join('\n');

/**
 * `vespera audit events [filters] [--json]`: the log read straight from the store, with the filters (and the checks)
 * of GET /audit/events. Exit 0 with what matched, 2 on a bad filter.
 */
export const auditEventsCommand = async (cfg: Config, openStore: (cfg: Config) => EventStore, opts: AuditEventsOptions): Promise<number> => {
  let query;
  let limit: number;
  try {
    limit = integer('--limit', opts.limit) ?? 100;
    if (limit < 1 || limit > MAX_LIMIT) throw new UsageError(`--limit takes 1 to ${MAX_LIMIT}.`);
    const input = {
      ...(opts.project === undefined ? {} : { projectId: opts.project }),
      ...(opts.stream === undefined ? {} : { streamId: opts.stream }),
      ...(opts.task === undefined ? {} : { taskId: opts.task }),
      ...(opts.type === undefined ? {} : { type: opts.type.flatMap((t) => t.split(',')).filter(Boolean) }),
      ...(opts.actor === undefined ? {} : { actor: opts.actor }),
      ...(opts.role === undefined ? {} : { role: opts.role }),
      ...(opts.tool === undefined ? {} : { tool: opts.tool }),
      ...(opts.correlation === undefined ? {} : { correlationId: opts.correlation }),
      ...(opts.from === undefined ? {} : { from: opts.from }),
      ...(opts.to === undefined ? {} : { to: opts.to }),
      ...(opts.fromPosition === undefined ? {} : { fromPosition: integer('--from-position', opts.fromPosition) }),
      ...(opts.toPosition === undefined ? {} : { toPosition: integer('--to-position', opts.toPosition) }),
    };
    const parsed = listEvents.input.safeParse(input);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'filters'}: ${i.message}`);
      throw new UsageError(`Invalid filter: ${problems.join('; ')}.`);
    }
    query = logQueryOf(parsed.data);
  } catch (error) {
    if (!(error instanceof UsageError) && !(error instanceof DomainError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 2;
  }
  const store = openStore(cfg);
  try {
    const events: StoredEvent[] = [];
    let after: number | null = 0;
    while (after !== null && events.length < limit) {
      const page = await store.queryPage(query, { afterPosition: after, limit: Math.min(500, limit - events.length) });
      events.push(...page.events);
      after = page.nextAfter;
    }
    const more = after !== null;
    if (opts.json) process.stdout.write(`${JSON.stringify({ items: events, nextAfterPosition: more ? after : null })}\n`);
    else {
      process.stdout.write(`${table(events)}\n`);
      process.stderr.write(`${events.length} events${more ? ` (more after position ${after}: --from-position ${after! + 1})` : ''}.\n`);
    }
    return 0;
  } finally {
    await store.close();
  }
};
