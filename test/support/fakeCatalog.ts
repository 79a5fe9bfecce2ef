import { pino } from 'pino';
import { z } from 'zod';
import { Authorizer, type Caller } from '../../src/api/auth/authorizer.js';
import type { TokenService } from '../../src/api/auth/tokens.js';
import { defineOperation, type AnyOperation, type OperationContext } from '../../src/api/catalog/operation.js';
import { compileValidators } from '../../src/api/validation.js';
import { DomainError } from '../../src/errors.js';

/**
 * A three-operation catalog that records how it was called: enough to watch the invoke path (authorise,
 * validate, name the command, run, check the answer) without the app behind it.
 */
export const fakeCatalog = () => {
  const calls: Array<{ args: Record<string, unknown>; ctx: OperationContext }> = [];
  const operations: AnyOperation[] = [
    defineOperation({
      name: 'renameThing',
      tool: 'rename_thing',
      summary: 'Rename a thing.',
      method: 'post',
      path: '/things/:id/rename',
      capability: 'task_modification',
      kind: 'command',
      etag: true,
      input: z.strictObject({ id: z.string().regex(/^[a-z0-9]+$/), count: z.int().default(1), nested: z.unknown().optional() }),
      output: z.object({ id: z.string() }),
      run: async (args, ctx) => {
        calls.push({ args, ctx });
        if (args.id === 'missing') throw new DomainError('THING_NOT_FOUND', 404, `Thing ${args.id} does not exist.`, { id: args.id });
        // An answer that breaks its schema on purpose, past the type that would refuse it.
        if (args.id === 'broken') return { body: { id: 42 as unknown as string } };
        return { body: { id: args.id }, position: 7, version: 3 };
      },
    }),
    defineOperation({
      name: 'getThing',
      tool: 'get_thing',
      summary: 'Get a thing.',
      method: 'get',
      path: '/things/:id',
      capability: 'task_reading',
      kind: 'query',
      input: z.strictObject({ id: z.string() }),
      output: z.object({ id: z.string() }),
      run: async (args, ctx) => {
        calls.push({ args, ctx });
        return { body: { id: args.id } };
      },
    }),
  ];
  // authorize() reads nothing but the caller: the token service and the grants are never reached here.
  const authorizer = new Authorizer(
    {} as TokenService,
    () => {
      throw new Error('not used');
    },
    true,
    () => undefined,
  );
  return { operations, calls, authorizer, validators: compileValidators(operations), logger: pino({ level: 'silent' }) };
};

export const reader: Caller = { actor: 'reader', pluginId: 'reader', capabilities: ['task_reading'] };
export const writer: Caller = { actor: 'writer', pluginId: 'writer', capabilities: ['task_reading', 'task_modification'], role: 'developer' };

/** Nested `depth` objects deep. */
export const deep = (depth: number): unknown => {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i++) value = { value };
  return value;
};
