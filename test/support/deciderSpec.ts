import { expect } from 'chai';
import { DomainError } from '../../src/errors.js';
import type { Command, Decider, Event, EventMetadata, StoredEvent } from '../../src/events/types.js';

/** Given/when/then for deciders, after Emmett's DeciderSpecification: pure, no store, no SQLite. */

const GIVEN_METADATA: EventMetadata = { actor: 'test', tool: 'test', commandId: 'given', correlationId: 'given', schemaVersion: 1 };

const ACTORS = new WeakMap<object, string>();

/** The same event, recorded as caused by `actor` (every other given event is caused by `test`). */
export const by = <E extends Event>(actor: string, event: E): E => {
  ACTORS.set(event, actor);
  return event;
};

/** Wraps plain events as the store returns them, with revisions counted from `fromRevision`. */
export const storedEvents = <E extends Event>(events: readonly E[], fromRevision = 0, streamId = 'test-stream'): StoredEvent<E>[] =>
  events.map((event, i) => ({
    id: `${streamId}-${fromRevision + i}`,
    type: event.type,
    data: event.data,
    metadata: ACTORS.has(event) ? { ...GIVEN_METADATA, actor: ACTORS.get(event)! } : GIVEN_METADATA,
    streamId,
    revision: fromRevision + i,
    position: fromRevision + i + 1,
    recordedAt: '2026-01-01T00:00:00.000Z',
  }));

/** Folds into a fresh state every time: `evolve` may mutate the state it is given. */
export const fold = <State, C extends Command, E extends Event>(decider: Decider<State, C, E>, events: readonly E[]): State =>
  storedEvents(events).reduce((state, event) => decider.evolve(state, event), decider.initialState());

const asList = <E>(decision: E | readonly E[]): readonly E[] => (Array.isArray(decision) ? decision : [decision as E]);

export const deciderSpec = <State, C extends Command, E extends Event>(decider: Decider<State, C, E>) => ({
  given: (events: readonly E[] = []) => ({
    when: (command: C) => {
      const decide = (): readonly E[] => asList(decider.decide(command, fold(decider, events)));
      return {
        then: (expected: readonly E[]): void => {
          expect(decide()).to.deep.equal(expected);
        },
        thenNothingHappened: (): void => {
          expect(decide()).to.deep.equal([]);
        },
        thenThrows: (code: string, check?: (error: DomainError) => void): void => {
          let decided: readonly E[] | undefined;
          try {
            decided = decide();
          } catch (error) {
            expect(error, `${command.type} should be refused with ${code}`).to.be.instanceOf(DomainError);
            expect((error as DomainError).code).to.equal(code);
            check?.(error as DomainError);
            return;
          }
          expect.fail(`${command.type} should be refused with ${code}, but decided ${JSON.stringify(decided)}`);
        },
      };
    },
  }),
});
