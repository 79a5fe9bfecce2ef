import { expect } from 'chai';
import type { StoredEvent } from '../../src/events/types.js';
import { currentSchemaVersion, SchemaVersionError, upcast } from '../../src/events/upcasters.js';

const stored = (type: string, data: object, schemaVersion: number): StoredEvent => ({
  id: 'e1',
  type,
  data,
  metadata: { actor: 'a', tool: 'rest', commandId: 'c1', correlationId: 'c1', schemaVersion },
  streamId: 'project-p',
  revision: 3,
  position: 7,
  recordedAt: '2026-12-01T10:00:00.000Z',
});

const release = { taskId: 't1', projectId: 'p', agent: 'agent-1', reason: 'done for today', releasedAt: '2026-12-01T10:00:00.000Z' };

describe('Upcasters (the schema-version chain)', () => {
  describe('given a TaskReleased written at version 1', () => {
    it('when read, then it is at version 2 with forced false and forcedBy null', () => {
      const event = upcast(stored('TaskReleased', release, 1));
      expect(event.metadata.schemaVersion).to.equal(2);
      expect(event.data).to.deep.equal({ ...release, forced: false, forcedBy: null });
    });

    it('when it was a forced release (wave 2, still version 1), then forced and forcedBy are kept', () => {
      const event = upcast(stored('TaskReleased', { ...release, forced: true, forcedBy: 'admin' }, 1));
      expect(event.data).to.deep.equal({ ...release, forced: true, forcedBy: 'admin' });
    });

    it('when read, then everything but data and schemaVersion is untouched', () => {
      const before = stored('TaskReleased', release, 1);
      const { data: _d, metadata, ...rest } = upcast(before);
      const { data: _b, metadata: oldMetadata, ...oldRest } = before;
      expect(rest).to.deep.equal(oldRest);
      expect({ ...metadata, schemaVersion: 1 }).to.deep.equal(oldMetadata);
    });
  });

  describe('given an event already at its current version', () => {
    it('then the very same object comes back (no copy on the hot path)', () => {
      const event = stored('TaskCreated', { taskId: 't1' }, 1);
      expect(upcast(event)).to.equal(event);
      const released = stored('TaskReleased', { ...release, forced: false, forcedBy: null }, 2);
      expect(upcast(released)).to.equal(released);
    });
  });

  describe('given an event from a newer Vespera', () => {
    it('then reading it fails with SchemaVersionError naming the position and both versions', () => {
      expect(() => upcast(stored('TaskReleased', release, 3)))
        .to.throw(SchemaVersionError)
        .with.property('message')
        .that.matches(/Event 7 \(TaskReleased\) has schema version 3; .* knows up to 2/);
    });

    it('then a version that is not a positive integer fails the same way', () => {
      expect(() => upcast(stored('TaskReleased', release, 0))).to.throw(SchemaVersionError);
      expect(() => upcast(stored('TaskReleased', release, 1.5))).to.throw(SchemaVersionError);
    });
  });

  describe('the versions writers stamp', () => {
    it('is 2 for TaskReleased and 1 for a type without a chain', () => {
      expect(currentSchemaVersion('TaskReleased')).to.equal(2);
      expect(currentSchemaVersion('TaskCreated')).to.equal(1);
      expect(currentSchemaVersion('RoleDefined')).to.equal(1);
    });
  });
});
