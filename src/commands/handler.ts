import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT_CONTEXT, SpanStatusCode, context, propagation, trace, type Link } from '@opentelemetry/api';
import { v5 as uuidv5 } from 'uuid';
import { ConcurrencyError, DomainError } from '../errors.js';
import type { Command, Decider, Event, EventMetadata, NewEvent, StoredEvent } from '../events/types.js';
import type { EventStore } from '../eventstore/eventStore.js';
import type { SnapshotStore } from '../eventstore/snapshots.js';
import { currentSchemaVersion } from '../events/upcasters.js';
import { SerialQueue } from './serialQueue.js';

const EVENT_ID_NAMESPACE = '5b0c5d0e-8f3c-4c55-9a1e-6d2f0b7a9c11';

/** Event ids derive from the command id, so a retried command can never append twice. */
export const eventIdFor = (commandId: string, index: number) => uuidv5(`${commandId}:${index}`, EVENT_ID_NAMESPACE);

export type CommandResult = Readonly<{
  events: readonly StoredEvent[];
  /** Stream revision after the command (unchanged when nothing happened). */
  nextRevision: number;
  /** Global position of the command's last event, or the log head it was decided at. */
  position: number;
  /** True when the command id had been handled before and nothing new was appended. */
  replayed: boolean;
}>;

/** Per command id: first and last revision it appended, its command type and the hash of its request. */
type Seen = [number, number, string | undefined, string | undefined];
/** `eventId`: the id of the event at `revision`; `snapshotRevision`: the revision of the last snapshot taken or read. */
type Cached<S> = { state: S; revision: number; position: number; commands: Map<string, Seen>; eventId: string; snapshotRevision: number };

/**
 * How a decider's state becomes a snapshot and back. `version` changes whenever the state's shape or what `evolve`
 * folds into it changes: a snapshot of another version is never read (the stream is folded from its first event).
 */
export type SnapshotCodec<S> = Readonly<{ version: number; encode: (state: S) => unknown; decode: (encoded: unknown) => S }>;

export type CommandHandlerOptions<S, C extends Command, E extends Event> = Readonly<{
  store: EventStore;
  decider: Decider<S, C, E>;
  /** Most streams whose folded state stays in memory. */
  cacheSize?: number;
  /** Attempts when another process appended to the stream between our read and our append. */
  maxAttempts?: number;
  /** Command ids remembered per stream for idempotent replays. */
  idempotencyWindow?: number;
  /**
   * Snapshots of folded state, taken every `every` events of a stream (default 5,000) and read before the tail
   * when a stream is loaded cold (after a restart or an eviction), so a long stream is not folded from its start.
   */
  snapshots?: Readonly<{ store: SnapshotStore; codec: SnapshotCodec<S>; every?: number }>;
}>;

/**
 * Load → decide → append, one stream at a time. Commands queued for the same stream are decided in
 * order against the cached state and appended together (one transaction); each gets its own outcome.
 */
export class CommandHandler<S, C extends Command, E extends Event> {
  private readonly cache = new Map<string, Cached<S>>();
  private readonly queues = new Map<string, SerialQueue<C, CommandResult>>();

  constructor(private readonly options: CommandHandlerOptions<S, C, E>) {}

  handle(streamId: string, command: C): Promise<CommandResult> {
    let queue = this.queues.get(streamId);
    if (!queue) {
      queue = new SerialQueue((batch) => this.decideBatch(streamId, batch));
      this.queues.set(streamId, queue);
    }
    return queue.push(command);
  }

  /** The folded state of a stream as of its latest event (for queries that need the aggregate). */
  async load(streamId: string): Promise<S> {
    return (await this.catchUp(streamId)).state;
  }

  /**
   * One span per batch (a no-op while tracing is off), child of the first command's request and linked to the others':
   * a batch decides commands of several requests together.
   */
  private decideBatch(streamId: string, commands: readonly C[]): Promise<Array<CommandResult | Error>> {
    const contexts = commands.map((c) =>
      c.metadata.traceparent ? propagation.extract(ROOT_CONTEXT, { traceparent: c.metadata.traceparent }) : undefined,
    );
    const links: Link[] = contexts.slice(1).flatMap((ctx) => {
      const linked = ctx && trace.getSpanContext(ctx);
      return linked ? [{ context: linked }] : [];
    });
    const attributes = { 'vespera.stream_id': streamId, 'vespera.commands': commands.length };
    return trace.getTracer('vespera').startActiveSpan('decide+append', { attributes, links }, contexts[0] ?? context.active(), async (span) => {
      try {
        const outcomes = await this.decideAndAppend(streamId, commands);
        span.setAttribute(
          'vespera.events',
          outcomes.reduce((n, o) => n + (o instanceof Error ? 0 : o.events.length), 0),
        );
        return outcomes;
      } catch (error) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
        throw error;
      } finally {
        span.end();
      }
    });
  }

  private async decideAndAppend(streamId: string, commands: readonly C[]): Promise<Array<CommandResult | Error>> {
    const maxAttempts = this.options.maxAttempts ?? 12;
    try {
      return await this.attempt(streamId, commands);
    } catch (error) {
      // The attempt evolved the cached state in place: it is folded again from the log.
      this.cache.delete(streamId);
      if (!(error instanceof ConcurrencyError) || error.details.streamId !== streamId || maxAttempts <= 1) throw error;
    }
    // Another process (another node on a shared log) appended first. Each command is retried on its own now, deciding
    // against the state without evolving it until its append succeeds: a lost race then costs reading the stream's new
    // tail, not folding the whole stream again — which, with two nodes busy on one project, would lose every race.
    const outcomes: Array<CommandResult | Error> = [];
    for (const command of commands) {
      try {
        outcomes.push(await this.retryAlone(streamId, command, maxAttempts));
      } catch (error) {
        if (!(error instanceof ConcurrencyError)) throw error;
        outcomes.push(error);
      }
    }
    return outcomes;
  }

  /** Attempts 2 to `maxAttempts` of one command (the first was its batch's). */
  private async retryAlone(streamId: string, command: C, maxAttempts: number): Promise<CommandResult | Error> {
    for (let attempt = 2; ; attempt++) {
      try {
        return (await this.attempt(streamId, [command], true))[0]!;
      } catch (error) {
        if (!(error instanceof ConcurrencyError) || error.details.streamId !== streamId || attempt >= maxAttempts) {
          this.cache.delete(streamId);
          throw error;
        }
        // A random pause that grows with each lost race lets one of the racers through.
        await sleep(Math.random() * Math.min(100, 2 ** attempt));
      }
    }
  }

  /**
   * One decide-and-append of `commands`. With `evolveAfterAppend` (one command at a time) the cached state is left
   * as it was until the append succeeds, so a lost race leaves it valid; otherwise it is evolved as each command is
   * decided (later commands of the batch see earlier ones) and a failed append spoils it.
   */
  private async attempt(streamId: string, commands: readonly C[], evolveAfterAppend = false): Promise<Array<CommandResult | Error>> {
    const { decider, store } = this.options;
    const entry = await this.catchUp(streamId);
    const outcomes: Array<CommandResult | Error | { from: number; count: number }> = [];
    const pending: NewEvent[] = [];
    let revision = entry.revision;
    for (const command of commands) {
      const seen = entry.commands.get(command.metadata.commandId);
      const otherType = seen?.[2] !== undefined && seen[2] !== command.type;
      const otherRequest = seen?.[3] !== undefined && command.metadata.requestHash !== undefined && seen[3] !== command.metadata.requestHash;
      if (seen && (otherType || otherRequest)) {
        outcomes.push(
          new DomainError(
            'IDEMPOTENCY_KEY_REUSED',
            422,
            `Command id ${command.metadata.commandId} was already used for another request (${seen[2] ?? 'unknown'}).`,
            {
              commandId: command.metadata.commandId,
            },
            'Use a new Idempotency-Key for every distinct request.',
          ),
        );
        continue;
      }
      if (seen) {
        const events = await store.readStream(streamId, { fromRevision: seen[0], maxCount: seen[1] - seen[0] + 1 });
        outcomes.push({ events, nextRevision: seen[1], position: events.at(-1)?.position ?? entry.position, replayed: true });
        continue;
      }
      let decided: readonly E[];
      try {
        const result = decider.decide(command, entry.state);
        decided = Array.isArray(result) ? result : [result as E];
      } catch (error) {
        outcomes.push(error instanceof Error ? error : new Error(String(error)));
        continue;
      }
      const metadata = metadataFor(command);
      decided.forEach((event, i) => {
        const version = currentSchemaVersion(event.type);
        const stamped = version === metadata.schemaVersion ? metadata : { ...metadata, schemaVersion: version };
        const newEvent: NewEvent = { id: eventIdFor(command.metadata.commandId, i), type: event.type, data: event.data, metadata: stamped };
        pending.push(newEvent);
        revision += 1;
        if (!evolveAfterAppend) entry.state = decider.evolve(entry.state, provisional(newEvent, streamId, revision));
      });
      outcomes.push({ from: revision - decided.length + 1, count: decided.length });
      if (decided.length > 0 && !evolveAfterAppend)
        entry.commands.set(command.metadata.commandId, [revision - decided.length + 1, revision, command.type, command.metadata.requestHash]);
    }
    const appended =
      pending.length > 0 ? await store.appendToStream(streamId, pending, entry.revision === -1 ? 'no_stream' : entry.revision) : undefined;
    if (appended && evolveAfterAppend) {
      for (const event of appended.events) entry.state = decider.evolve(entry.state, event as StoredEvent<E>);
      const command = commands[0]!;
      entry.commands.set(command.metadata.commandId, [
        appended.nextRevision - pending.length + 1,
        appended.nextRevision,
        command.type,
        command.metadata.requestHash,
      ]);
    }
    if (appended) {
      entry.revision = appended.nextRevision;
      entry.position = appended.position;
      entry.eventId = appended.events.at(-1)?.id ?? entry.eventId;
      this.trimCommands(entry);
      this.snapshotIfDue(streamId, entry);
    }
    const firstRevision = appended ? appended.nextRevision - pending.length + 1 : 0;
    return outcomes.map((outcome) => {
      if (outcome instanceof Error || 'replayed' in outcome) return outcome;
      if (outcome.count === 0 || !appended) return { events: [], nextRevision: entry.revision, position: entry.position, replayed: false };
      const events = appended.events.slice(outcome.from - firstRevision, outcome.from - firstRevision + outcome.count);
      return { events, nextRevision: events.at(-1)!.revision, position: events.at(-1)!.position, replayed: false };
    });
  }

  /** The cached entry, brought up to the stream's latest revision (another process may have appended). */
  private async catchUp(streamId: string): Promise<Cached<S>> {
    const { decider, store } = this.options;
    let entry = this.cache.get(streamId);
    if (entry) this.cache.delete(streamId);
    entry ??= (await this.fromSnapshot(streamId)) ?? {
      state: decider.initialState(),
      revision: -1,
      position: 0,
      commands: new Map(),
      eventId: '',
      snapshotRevision: -1,
    };
    this.cache.set(streamId, entry);
    // The store's own last append left the stream where the entry is: nothing newer to read.
    while (store.ownRevision?.(streamId) !== entry.revision) {
      const events = await store.readStream(streamId, { fromRevision: entry.revision + 1, maxCount: 5000 });
      for (const event of events) {
        entry.state = decider.evolve(entry.state, event as StoredEvent<E>);
        entry.revision = event.revision;
        entry.position = event.position;
        entry.eventId = event.id;
        const range = entry.commands.get(event.metadata.commandId);
        entry.commands.set(event.metadata.commandId, [
          range?.[0] ?? event.revision,
          event.revision,
          event.metadata.commandType,
          event.metadata.requestHash,
        ]);
      }
      if (events.length < 5000) break;
    }
    this.trimCommands(entry);
    this.snapshotIfDue(streamId, entry);
    this.evictStreams();
    return entry;
  }

  /**
   * The stream's snapshot as a cache entry, when there is one of this codec's version whose last event is still the
   * log's event at that revision; otherwise undefined (the stream is folded from its start). A snapshot that cannot
   * be read is ignored the same way: it is a cache.
   */
  private async fromSnapshot(streamId: string): Promise<Cached<S> | undefined> {
    const snapshots = this.options.snapshots;
    if (!snapshots) return undefined;
    try {
      const snapshot = snapshots.store.load(streamId);
      if (!snapshot || snapshot.version !== snapshots.codec.version) return undefined;
      const [event] = await this.options.store.readStream(streamId, { fromRevision: snapshot.revision, maxCount: 1 });
      if (!event || event.id !== snapshot.eventId || event.revision !== snapshot.revision) return undefined;
      const encoded = JSON.parse(snapshot.state) as { state: unknown; commands: Array<[string, Seen]> };
      return {
        state: snapshots.codec.decode(encoded.state),
        revision: snapshot.revision,
        position: snapshot.position,
        commands: new Map(encoded.commands),
        eventId: snapshot.eventId,
        snapshotRevision: snapshot.revision,
      };
    } catch {
      return undefined;
    }
  }

  /** Takes a snapshot once `every` events have been folded since the last one (the state is exactly at `revision` here). */
  private snapshotIfDue(streamId: string, entry: Cached<S>): void {
    const snapshots = this.options.snapshots;
    if (!snapshots || entry.revision < 0 || entry.revision - entry.snapshotRevision < (snapshots.every ?? 5000)) return;
    entry.snapshotRevision = entry.revision;
    try {
      snapshots.store.save({
        streamId,
        revision: entry.revision,
        position: entry.position,
        eventId: entry.eventId,
        version: snapshots.codec.version,
        state: JSON.stringify({ state: snapshots.codec.encode(entry.state), commands: [...entry.commands] }),
        takenAt: new Date().toISOString(),
      });
    } catch {
      // A snapshot is a cache: failing to write one costs a longer fold next time, never a command.
    }
  }

  private trimCommands(entry: Cached<S>): void {
    const window = this.options.idempotencyWindow ?? 50_000;
    for (const key of entry.commands.keys()) {
      if (entry.commands.size <= window) break;
      entry.commands.delete(key);
    }
  }

  private evictStreams(): void {
    const max = this.options.cacheSize ?? 64;
    for (const key of this.cache.keys()) {
      if (this.cache.size <= max) break;
      this.cache.delete(key);
    }
  }
}

const metadataFor = ({ type, metadata }: Command): EventMetadata => ({
  actor: metadata.actor,
  ...(metadata.role ? { role: metadata.role } : {}),
  tool: metadata.tool,
  commandId: metadata.commandId,
  commandType: type,
  ...(metadata.requestHash ? { requestHash: metadata.requestHash } : {}),
  correlationId: metadata.correlationId ?? metadata.commandId,
  ...(metadata.causationId ? { causationId: metadata.causationId } : {}),
  ...(metadata.traceparent ? { traceparent: metadata.traceparent } : {}),
  schemaVersion: 1,
});

const provisional = (event: NewEvent, streamId: string, revision: number): StoredEvent =>
  ({ ...event, data: event.data as object, streamId, revision, position: 0, recordedAt: '' }) as StoredEvent;
