/** The message vocabulary shared by every aggregate, store and projector. */

export type EventMetadata = Readonly<{
  /** Plugin or user id that caused the event. */
  actor: string;
  /** Role the actor was acting for, when any. */
  role?: string | undefined;
  /** Surface the command came through: `rest`, `mcp:<tool>`, `cli`. */
  tool: string;
  commandId: string;
  /** The command that caused the event, so a reused idempotency key for another command is refused. */
  commandType?: string;
  /** Hash of the request behind an Idempotency-Key (absent for commands sent without one). */
  requestHash?: string;
  correlationId: string;
  causationId?: string | undefined;
  schemaVersion: number;
}>;

export type Event<Type extends string = string, Data extends object = object> = Readonly<{
  type: Type;
  data: Readonly<Data>;
}>;

export type Command<Type extends string = string, Data extends object = object> = Readonly<{
  type: Type;
  data: Readonly<Data>;
  metadata: CommandMetadata;
}>;

/** Everything a decider may know about the outside world arrives here: time, ids and who asks. */
export type CommandMetadata = Readonly<{
  now: string;
  commandId: string;
  requestHash?: string | undefined;
  actor: string;
  role?: string | undefined;
  tool: string;
  correlationId?: string | undefined;
  /** The request this command answers (an undo names the request it reverses). */
  causationId?: string | undefined;
  /** Ids the decider may hand out, in order (task ids for a tree, for example). */
  newIds?: readonly string[];
}>;

/** An event about to be appended. */
export type NewEvent = Readonly<{
  id: string;
  type: string;
  data: unknown;
  metadata: EventMetadata;
}>;

/** An event as the store returns it. */
export type StoredEvent<E extends Event = Event> = Readonly<{
  id: string;
  type: E['type'];
  data: E['data'];
  metadata: EventMetadata;
  streamId: string;
  /** 0-based position of the event inside its stream. */
  revision: number;
  /** Global, monotonic position in the whole log (1-based). */
  position: number;
  recordedAt: string;
}>;

export type Decider<State, C extends Command, E extends Event> = Readonly<{
  decide: (command: C, state: State) => E | readonly E[];
  evolve: (state: State, event: StoredEvent<E>) => State;
  initialState: () => State;
}>;
