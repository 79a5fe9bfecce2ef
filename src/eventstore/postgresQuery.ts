import { upcast } from '../events/upcasters.js';
import type { EventMetadata, StoredEvent } from '../events/types.js';
import type { EventQuery, EventQueryPage, EventQueryResult } from './eventStore.js';

export type PgEventRow = {
  position: string;
  id: string;
  stream_id: string;
  revision: number;
  type: string;
  data: object;
  metadata: EventMetadata;
  recorded_at: Date;
};

/** The columns every read selects, in the shape `toStoredPg` reads. */
export const EVENT_COLUMNS = 'position, id, stream_id, revision, type, data, metadata, recorded_at';

/** Every event leaves the store at its type's current schema version (src/events/upcasters.ts). */
export const toStoredPg = (row: PgEventRow): StoredEvent =>
  upcast({
    id: row.id,
    type: row.type,
    data: row.data,
    metadata: row.metadata,
    streamId: row.stream_id,
    revision: row.revision,
    position: Number(row.position),
    recordedAt: row.recorded_at.toISOString(),
  });

/**
 * The indexes behind the audit filters, each `(key, position)` so a filtered page is one index range scan in
 * position order. The expressions are those of QUERY_CLAUSES exactly, so the planner can use them (`->>` on `json`).
 */
export const PG_QUERY_INDEX_DDL = `
CREATE INDEX IF NOT EXISTS events_stream_position ON events (stream_id, position);
CREATE INDEX IF NOT EXISTS events_type ON events (type, position);
CREATE INDEX IF NOT EXISTS events_actor ON events ((metadata->>'actor'), position);
CREATE INDEX IF NOT EXISTS events_correlation ON events ((metadata->>'correlationId'), position);
CREATE INDEX IF NOT EXISTS events_task ON events ((data->>'taskId'), position);
`;

/** Each field adds one fixed clause; `$n` is filled in with the parameter's number, the value travels as a parameter. */
const QUERY_CLAUSES: ReadonlyArray<readonly [keyof EventQuery, string]> = [
  ['streamId', 'stream_id = $n'],
  ['taskId', "data->>'taskId' = $n"],
  ['actor', "metadata->>'actor' = $n"],
  ['role', "metadata->>'role' = $n"],
  ['tool', "metadata->>'tool' = $n"],
  ['correlationId', "metadata->>'correlationId' = $n"],
  ['fromTime', 'recorded_at >= $n::timestamptz'],
  ['toTime', 'recorded_at <= $n::timestamptz'],
  ['fromPosition', 'position >= $n'],
  ['toPosition', 'position <= $n'],
];

/**
 * One audit page as a parameterised statement: `limit` rows plus one more, which only says whether a next page
 * exists. The SQL text depends only on which fields are set, never on their values.
 */
export const pgQueryPage = (query: EventQuery, { afterPosition = 0, limit }: EventQueryPage): { text: string; values: unknown[] } => {
  const values: unknown[] = [afterPosition];
  const clauses = ['position > $1'];
  for (const [field, clause] of QUERY_CLAUSES) {
    if (query[field] === undefined) continue;
    values.push(query[field]);
    clauses.push(clause.replace('$n', `$${values.length}`));
  }
  const types = [...new Set(query.types ?? [])];
  if (types.length > 0) {
    values.push(types);
    clauses.push(`type = ANY($${values.length}::text[])`);
  }
  values.push(limit + 1);
  return { text: `SELECT ${EVENT_COLUMNS} FROM events WHERE ${clauses.join(' AND ')} ORDER BY position LIMIT $${values.length}`, values };
};

export const pageResult = (rows: readonly PgEventRow[], limit: number): EventQueryResult => {
  const events = rows.slice(0, limit).map(toStoredPg);
  return { events, nextAfter: rows.length > limit ? events.at(-1)!.position : null };
};
