import type { StoredEvent } from './types.js';

/**
 * Event shapes evolve by versions, never by editing history. Each event type has a chain of upcasters: the
 * upcaster at index `v - 1` turns data written at schema version `v` into version `v + 1`. Writers stamp the
 * current version (`currentSchemaVersion`); readers get every event at its current version (`upcast`), so
 * deciders and projectors only ever know today's shapes. A type without a chain is at version 1.
 */
export type Upcaster = (data: Readonly<Record<string, unknown>>) => Record<string, unknown>;

const CHAINS: Readonly<Record<string, readonly Upcaster[]>> = {
  /**
   * v1 → v2: `forced` and `forcedBy` are always present. Before wave 2 a release could not be forced and the
   * fields did not exist; from then on v1 events carried them only when an administrator broke the lease.
   */
  TaskReleased: [(v1) => ({ ...v1, forced: v1.forced === true, forcedBy: typeof v1.forcedBy === 'string' ? v1.forcedBy : null })],
};

/** The version writers stamp on a new event of this type. */
export const currentSchemaVersion = (type: string): number => 1 + (CHAINS[type]?.length ?? 0);

/** An event written by a newer version of Vespera than this one: it cannot be read safely. */
export class SchemaVersionError extends Error {
  constructor(
    readonly event: Pick<StoredEvent, 'type' | 'position' | 'metadata'>,
    readonly known: number,
  ) {
    super(
      `Event ${event.position} (${event.type}) has schema version ${event.metadata.schemaVersion}; this version of Vespera knows up to ${known}. Upgrade before reading this log.`,
    );
    this.name = 'SchemaVersionError';
  }
}

/** The event at its type's current schema version (the same object when it already is). */
export const upcast = <E extends StoredEvent>(event: E): E => {
  const chain = CHAINS[event.type];
  const current = 1 + (chain?.length ?? 0);
  const from = event.metadata.schemaVersion ?? 1;
  if (from === current) return event;
  if (from > current || from < 1 || !Number.isInteger(from)) throw new SchemaVersionError(event, current);
  let data = event.data as Record<string, unknown>;
  for (let v = from; v < current; v++) data = chain![v - 1]!(data);
  return { ...event, data, metadata: { ...event.metadata, schemaVersion: current } };
};
