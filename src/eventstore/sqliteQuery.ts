import type Database from 'better-sqlite3';
import { upcast } from '../events/upcasters.js';
import type { EventMetadata, StoredEvent } from '../events/types.js';
import type { EventQuery, EventQueryPage, EventQueryResult } from './eventStore.js';

export type EventRow = {
  position: number;
  id: string;
  stream_id: string;
  revision: number;
  type: string;
  data: string;
  metadata: string;
  recorded_at: string;
};

/** `readAll`'s query: the events after a position, in position order, at most a count (the store's and the read-ahead's). */
export const READ_ALL_SQL = 'SELECT * FROM events WHERE position > ? ORDER BY position LIMIT ?';

/** Every event leaves the store at its type's current schema version (src/events/upcasters.ts). */
export const toStored = (row: EventRow): StoredEvent =>
  upcast({
    id: row.id,
    type: row.type,
    data: JSON.parse(row.data) as object,
    metadata: JSON.parse(row.metadata) as EventMetadata,
    streamId: row.stream_id,
    revision: row.revision,
    position: row.position,
    recordedAt: row.recorded_at,
  });

/**
 * The indexes behind the audit filters, each `(key, position)` so a filtered page is one range scan in position
 * order (`UNIQUE (stream_id, revision)` cannot order a stream by position). `role`, `tool` and time bounds have no
 * index: they are checked on the rows another filter, or the position order itself, brings.
 */
export const QUERY_INDEX_DDL = `
CREATE INDEX IF NOT EXISTS events_stream_position ON events (stream_id, position);
CREATE INDEX IF NOT EXISTS events_type ON events (type, position);
CREATE INDEX IF NOT EXISTS events_actor ON events (json_extract(metadata, '$.actor'), position);
CREATE INDEX IF NOT EXISTS events_correlation ON events (json_extract(metadata, '$.correlationId'), position);
CREATE INDEX IF NOT EXISTS events_task ON events (json_extract(data, '$.taskId'), position);
`;
export const QUERY_INDEXES = ['events_stream_position', 'events_type', 'events_actor', 'events_correlation', 'events_task'] as const;

/**
 * The audit filter as SQL: each field adds one fixed clause with a named parameter (never the value itself).
 * The expressions match the indexes above exactly, so SQLite can use them.
 */
const QUERY_CLAUSES: ReadonlyArray<readonly [keyof EventQuery, string]> = [
  ['streamId', 'stream_id = @streamId'],
  ['taskId', "json_extract(data, '$.taskId') = @taskId"],
  ['actor', "json_extract(metadata, '$.actor') = @actor"],
  ['role', "json_extract(metadata, '$.role') = @role"],
  ['tool', "json_extract(metadata, '$.tool') = @tool"],
  ['correlationId', "json_extract(metadata, '$.correlationId') = @correlationId"],
  ['fromTime', 'recorded_at >= @fromTime'],
  ['toTime', 'recorded_at <= @toTime'],
  ['fromPosition', 'position >= @fromPosition'],
  ['toPosition', 'position <= @toPosition'],
];

type Statement = Database.Statement<Record<string, unknown>, EventRow>;

/** Prepared statements per clause combination (there are few), so a page costs no parse. */
export class SqliteQueries {
  private readonly statements = new Map<string, Statement>();

  constructor(private readonly db: Database.Database) {}

  /**
   * One page: `limit` rows plus one more, which only says whether a next page exists. Several types are asked one
   * by one and merged: `type IN (…)` would make SQLite sort every match before it could take the first rows.
   */
  page(query: EventQuery, { afterPosition = 0, limit }: EventQueryPage): EventQueryResult {
    const clauses = ['position > @afterPosition'];
    const params: Record<string, unknown> = { afterPosition, limit: limit + 1 };
    for (const [field, clause] of QUERY_CLAUSES) {
      if (query[field] === undefined) continue;
      clauses.push(clause);
      params[field] = query[field];
    }
    const types = [...new Set(query.types ?? [])];
    if (types.length > 0) clauses.push('type = @type');
    const statement = this.statement(`SELECT * FROM events WHERE ${clauses.join(' AND ')} ORDER BY position LIMIT @limit`);
    const rows =
      types.length === 0
        ? statement.all(params)
        : types
            .flatMap((type) => statement.all({ ...params, type }))
            .sort((a, b) => a.position - b.position)
            .slice(0, limit + 1);
    const events = rows.slice(0, limit).map(toStored);
    return { events, nextAfter: rows.length > limit ? events.at(-1)!.position : null };
  }

  private statement(sql: string): Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare<Record<string, unknown>, EventRow>(sql);
      if (this.statements.size > 200) this.statements.clear();
      this.statements.set(sql, statement);
    }
    return statement;
  }
}
