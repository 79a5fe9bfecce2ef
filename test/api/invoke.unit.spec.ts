import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import type { Caller } from '../../src/api/auth/authorizer.js';
import { IdempotencyKeys } from '../../src/api/idempotency.js';
import { invoker, type Call, type InvokeDeps, type RequestFacts } from '../../src/api/invoke.js';
import { DomainError } from '../../src/errors.js';
import { deep, fakeCatalog, reader, writer } from '../support/fakeCatalog.js';

const refusal = async (promise: Promise<unknown>): Promise<DomainError> => {
  try {
    await promise;
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
};

describe('invoke', () => {
  let catalog: ReturnType<typeof fakeCatalog>;
  let read: { args: number; facts: number };

  beforeEach(() => {
    catalog = fakeCatalog();
    read = { args: 0, facts: 0 };
  });

  const deps = (extra: Partial<InvokeDeps> = {}): InvokeDeps => ({
    validators: catalog.validators,
    authorizer: catalog.authorizer,
    logger: catalog.logger,
    ...extra,
  });
  const op = (name: string) => catalog.operations.find((o) => o.name === name)!;
  /** A call that counts when the surface is asked for its arguments and its request facts. */
  const call = (caller: Caller | undefined, args: Record<string, unknown>, facts: RequestFacts = {}): Call => ({
    caller,
    tool: 'rest',
    correlationId: 'corr-1',
    args: () => {
      read.args++;
      return args;
    },
    facts: () => {
      read.facts++;
      return facts;
    },
  });

  describe('when nobody is authenticated', () => {
    it('refuses with 401 before reading the arguments', async () => {
      const error = await refusal(invoker(deps())(op('renameThing'), call(undefined, { id: 'a' })));
      expect([error.code, error.status]).to.deep.equal(['AUTHENTICATION_REQUIRED', 401]);
      expect(read.args).to.equal(0);
    });
  });

  describe('when the caller lacks the capability', () => {
    it('refuses with 403 before reading the arguments', async () => {
      const error = await refusal(invoker(deps())(op('renameThing'), call(reader, { id: 'a' })));
      expect([error.code, error.status]).to.deep.equal(['MISSING_CAPABILITY', 403]);
      expect(read.args).to.equal(0);
    });
  });

  describe('when the arguments are bad', () => {
    it('refuses input nested too deep before the schema walks it, without running', async () => {
      const error = await refusal(invoker(deps())(op('renameThing'), call(writer, { id: 'a', nested: deep(40) })));
      expect(error.code).to.equal('INPUT_TOO_DEEP');
      expect(catalog.calls).to.have.length(0);
    });

    it('refuses input that breaks the schema before reading the request facts', async () => {
      const error = await refusal(invoker(deps())(op('renameThing'), call(writer, { id: 'Not Valid' }, { expectedVersion: 1 })));
      expect(error.code).to.equal('VALIDATION_ERROR');
      expect(read.facts).to.equal(0);
      expect(catalog.calls).to.have.length(0);
    });
  });

  describe('when the call is valid', () => {
    it('runs with the caller, the surface, the request facts and the defaults filled in', async () => {
      const result = await invoker(deps())(op('renameThing'), call(writer, { id: 'a' }, { expectedVersion: 2, minPosition: 5 }));
      expect(result).to.deep.equal({ body: { id: 'a' }, position: 7, version: 3 });
      const [{ args, ctx }] = catalog.calls as [(typeof catalog.calls)[number]];
      expect(args).to.deep.equal({ id: 'a', count: 1 });
      expect(ctx).to.include({ actor: 'writer', role: 'developer', tool: 'rest', correlationId: 'corr-1', expectedVersion: 2, minPosition: 5 });
      expect(ctx.caller).to.equal(writer);
      expect(ctx.requestHash).to.equal(undefined);
    });

    it('gives every call without a key its own command id', async () => {
      const invoke = invoker(deps());
      await invoke(op('renameThing'), call(writer, { id: 'a' }));
      await invoke(op('renameThing'), call(writer, { id: 'a' }));
      const [first, second] = catalog.calls.map((c) => c.ctx.commandId);
      expect(first).to.be.a('string').and.not.equal(second);
    });
  });

  describe('when the answer breaks its schema', () => {
    it('fails as an internal error, not as a refusal', async () => {
      const failure = await invoker(deps())(op('renameThing'), call(writer, { id: 'broken' })).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).to.be.instanceOf(Error).and.not.instanceOf(DomainError);
      expect((failure as Error).message).to.include('renameThing');
    });
  });

  describe('when the answer carries a header its catalog entry does not declare', () => {
    for (const undeclared of [{ etag: false }, { position: false }]) {
      it(`fails as an internal error with ${JSON.stringify(undeclared)}, so OpenAPI never leaves out an ETag or X-Vespera-Position`, async () => {
        const failure = await invoker(deps())({ ...op('renameThing'), ...undeclared }, call(writer, { id: 'a' })).then(
          () => undefined,
          (error: unknown) => error,
        );
        expect(failure).to.be.instanceOf(Error).and.not.instanceOf(DomainError);
        expect((failure as Error).message)
          .to.include('renameThing')
          .and.include(Object.keys(undeclared)[0]!);
      });
    }
  });

  describe('with an Idempotency-Key', () => {
    let dir: string;
    let keys: IdempotencyKeys;

    beforeEach(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vespera-invoke-'));
      keys = new IdempotencyKeys(path.join(dir, 'keys.db'), { retentionHours: 24, synchronous: 'normal' });
    });

    afterEach(() => {
      keys.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('names the same command for the same request, and hashes the request into it', async () => {
      const invoke = invoker(deps({ idempotency: keys }));
      await invoke(op('renameThing'), call(writer, { id: 'a' }, { idempotencyKey: 'key-00001' }));
      await invoke(op('renameThing'), call(writer, { id: 'a' }, { idempotencyKey: 'key-00001' }));
      const [first, second] = catalog.calls.map((c) => c.ctx);
      expect(first!.commandId).to.equal(second!.commandId).and.not.equal('key-00001');
      expect(first!.requestHash).to.be.a('string').and.equal(second!.requestHash);
    });

    it('refuses the same key for another request', async () => {
      const invoke = invoker(deps({ idempotency: keys }));
      await invoke(op('renameThing'), call(writer, { id: 'a' }, { idempotencyKey: 'key-00001' }));
      const error = await refusal(invoke(op('renameThing'), call(writer, { id: 'b' }, { idempotencyKey: 'key-00001' })));
      expect([error.code, error.status]).to.deep.equal(['IDEMPOTENCY_KEY_REUSED', 422]);
    });

    it('uses the key itself as the command id of a query, with no request hash', async () => {
      await invoker(deps({ idempotency: keys }))(op('getThing'), call(reader, { id: 'a' }, { idempotencyKey: 'key-00001' }));
      expect(catalog.calls[0]!.ctx).to.include({ commandId: 'key-00001' });
      expect(catalog.calls[0]!.ctx.requestHash).to.equal(undefined);
    });

    it('uses the key as sent when no key store is configured', async () => {
      await invoker(deps())(op('renameThing'), call(writer, { id: 'a' }, { idempotencyKey: 'key-00001' }));
      expect(catalog.calls[0]!.ctx).to.include({ commandId: 'key-00001' });
      expect(catalog.calls[0]!.ctx.requestHash).to.be.a('string');
    });
  });
});
