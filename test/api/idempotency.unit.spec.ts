import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { IdempotencyKeys, requestHash } from '../../src/api/idempotency.js';
import { canonicalJson } from '../../src/util/canonical.js';
import { DomainError } from '../../src/errors.js';

/** Idempotency keys: scoped per caller, bound to one request by its hash, remembered on disk for a while. */
describe('IdempotencyKeys', () => {
  const HOUR = 3_600_000;
  let dir: string;
  let now = Date.parse('2026-12-01T00:00:00Z');
  const open = () => new IdempotencyKeys(path.join(dir, 'keys.db'), { retentionHours: 24, synchronous: 'normal', nowMs: () => now });
  const reused = (fn: () => unknown): DomainError => {
    try {
      fn();
    } catch (error) {
      expect(error).to.be.instanceOf(DomainError);
      expect((error as DomainError).code).to.equal('IDEMPOTENCY_KEY_REUSED');
      expect((error as DomainError).status).to.equal(422);
      return error as DomainError;
    }
    return expect.fail('the key should have been refused');
  };
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vespera-keys-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('hashes requests alike whatever the order of their fields', () => {
    expect(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] })).to.equal('{"a":[{"c":3,"d":2}],"b":1}');
    expect(requestHash('createTask', { title: 'x', priority: 'high' })).to.equal(requestHash('createTask', { priority: 'high', title: 'x' }));
    expect(requestHash('createTask', { title: 'x' })).to.not.equal(requestHash('createTask', { title: 'y' }));
    expect(requestHash('createTask', { title: 'x' }, 3)).to.not.equal(requestHash('createTask', { title: 'x' }, 4));
  });

  it('maps the same key and request of one caller to the same command id', () => {
    const keys = open();
    const hash = requestHash('createTask', { title: 'x' });
    expect(keys.commandIdFor('plugin-a', 'key-0001', 'createTask', hash)).to.equal(keys.commandIdFor('plugin-a', 'key-0001', 'createTask', hash));
    keys.close();
  });

  it('gives another caller with the same key another command id', () => {
    const keys = open();
    const hash = requestHash('createTask', { title: 'x' });
    expect(keys.commandIdFor('plugin-a', 'key-0001', 'createTask', hash)).to.not.equal(keys.commandIdFor('plugin-b', 'key-0001', 'createTask', hash));
    keys.close();
  });

  it('refuses the key with another request, naming the first operation', () => {
    const keys = open();
    keys.commandIdFor('plugin-a', 'key-0001', 'createTask', requestHash('createTask', { title: 'x' }));
    const error = reused(() => keys.commandIdFor('plugin-a', 'key-0001', 'createTask', requestHash('createTask', { title: 'y' })));
    expect(error.details).to.include({ key: 'key-0001', operation: 'createTask' });
    keys.close();
  });

  it('remembers keys across a reopen, and forgets them after the retention', () => {
    const first = open();
    first.commandIdFor('plugin-a', 'key-0001', 'createTask', 'h1');
    first.close();
    const keys = open();
    now += 23 * HOUR;
    reused(() => keys.commandIdFor('plugin-a', 'key-0001', 'createTask', 'h2'));
    now += 2 * HOUR;
    expect(keys.commandIdFor('plugin-a', 'key-0001', 'createTask', 'h2')).to.be.a('string');
    reused(() => keys.commandIdFor('plugin-a', 'key-0001', 'createTask', 'h1'));
    keys.close();
  });

  it('keeps its file private (0600)', () => {
    open().close();
    expect(fs.statSync(path.join(dir, 'keys.db')).mode & 0o777).to.equal(0o600);
  });
});
