import { expect } from 'chai';
import { z } from 'zod';
import { buildCatalog } from '../../../src/api/catalog/index.js';
import { defineOperation } from '../../../src/api/catalog/operation.js';
import * as common from '../../../src/api/catalog/schemas/common.js';
import { DEF_NAME, fromJsonSchema, toJsonSchema } from '../../../src/api/catalog/schemas/jsonSchema.js';
import type * as tasks from '../../../src/api/catalog/schemas/tasks.js';
import { objectsWithoutKeys } from '../../support/schemaKeys.js';

/** An operation whose schemas are the ones under test; it never runs. */
const spec = {
  name: 'renameThing',
  tool: 'rename_thing',
  summary: 'Rename a thing.',
  method: 'post',
  path: '/things/:id/rename',
  capability: 'task_modification',
  kind: 'command',
} as const;
const thing = {
  input: z.strictObject({ id: common.id, title: common.title.optional() }),
  output: z.object({ id: z.string(), renamed: z.boolean() }),
};

/** Every keyword name in a schema, at any depth. */
const keywords = (node: unknown): string[] =>
  Array.isArray(node)
    ? node.flatMap(keywords)
    : node && typeof node === 'object'
      ? Object.entries(node).flatMap(([k, v]) => [k, ...keywords(v)])
      : [];

describe('Catalog schemas', () => {
  describe('when a zod schema is written out as JSON Schema', () => {
    it('gives an input object that refuses unknown fields and lists the required ones', () => {
      expect(toJsonSchema(thing.input)).to.deep.equal({
        type: 'object',
        additionalProperties: false,
        properties: {
          id: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$', description: 'Task id' },
          title: { type: 'string', minLength: 1, maxLength: 200, pattern: '\\S', description: 'Short title (1–200 chars)' },
        },
        required: ['id'],
      });
    });

    it('leaves a default out of required and keeps it for ajv to fill in', () => {
      expect(toJsonSchema(z.strictObject({ limit: common.limit }))).to.deep.equal({
        type: 'object',
        additionalProperties: false,
        properties: { limit: { type: 'integer', minimum: 1, maximum: 200, default: 20, description: 'Page size' } },
      });
    });

    it('drops the safe-integer bounds zod puts on every integer', () => {
      expect(toJsonSchema(z.int())).to.deep.equal({ type: 'integer' });
      expect(toJsonSchema(z.int().min(0))).to.deep.equal({ type: 'integer', minimum: 0 });
    });

    it('writes a nullable constrained value as a type list, with the outer description', () => {
      expect(toJsonSchema(common.id.nullable().describe('New parent, or null'))).to.deep.equal({
        type: ['string', 'null'],
        minLength: 1,
        maxLength: 64,
        pattern: '^[A-Za-z0-9_-]+$',
        description: 'New parent, or null',
      });
    });

    it('keeps anyOf for a nullable enum, where a type list would let null past the enum', () => {
      expect(toJsonSchema(common.priority.nullable())).to.deep.equal({
        anyOf: [{ type: 'string', enum: ['low', 'normal', 'high', 'critical'], description: 'Priority' }, { type: 'null' }],
      });
    });

    it('writes any array and any value without the keywords that accept everything', () => {
      expect(toJsonSchema(z.object({ a: z.array(z.unknown()), v: z.unknown() }))).to.deep.equal({
        type: 'object',
        properties: { a: { type: 'array' }, v: {} },
        required: ['a', 'v'],
      });
    });

    it('says of an object of any keys that it takes any keys, so code generators do not type it as empty', () => {
      expect(toJsonSchema(z.object({ o: common.anyObject, n: common.anyObject.nullable(), c: common.counts }))).to.deep.equal({
        type: 'object',
        properties: {
          o: { type: 'object', additionalProperties: true },
          n: { type: ['object', 'null'], additionalProperties: true },
          c: { type: 'object', additionalProperties: { type: 'integer' } },
        },
        required: ['o', 'n', 'c'],
      });
    });

    it('names a recursive schema in $defs as its meta says', () => {
      type Node = z.ZodObject<{ name: z.ZodString; children: z.ZodArray<Node> }>;
      const node: Node = z
        .object({
          name: z.string(),
          get children() {
            return z.array(node);
          },
        })
        .meta({ [DEF_NAME]: 'node' });
      expect(toJsonSchema(z.object({ root: node }))).to.deep.equal({
        type: 'object',
        properties: { root: { $ref: '#/$defs/node' } },
        required: ['root'],
        $defs: {
          node: {
            type: 'object',
            properties: { name: { type: 'string' }, children: { type: 'array', items: { $ref: '#/$defs/node' } } },
            required: ['name', 'children'],
          },
        },
      });
    });

    it('passes a JSON Schema owned elsewhere through unchanged', () => {
      const owned = { type: 'object', required: ['name'], properties: { name: { type: 'string' } } };
      expect(toJsonSchema(fromJsonSchema<{ name: string }>(owned))).to.equal(owned);
    });
  });

  describe('when the catalog is built', () => {
    it('serves every schema in the plain dialect, with no trace of zod', () => {
      const served = buildCatalog({} as never).flatMap((op) => [op.input, op.output]);
      const used = new Set(keywords(served));
      for (const trace of ['$schema', DEF_NAME, 'propertyNames', '__schema0']) expect(used.has(trace), trace).to.equal(false);
      expect(JSON.stringify(served)).not.to.match(/9007199254740991/);
    });

    it('says of every object schema which keys it takes: properties, additionalProperties or patternProperties', () => {
      const served = buildCatalog({} as never).flatMap((op) => [
        { at: `${op.name} input`, schema: op.input },
        { at: `${op.name} output`, schema: op.output },
      ]);
      const unsaid = served.flatMap(({ at, schema }) => objectsWithoutKeys(schema, at));
      expect(unsaid).to.deep.equal([]);
    });
  });

  describe('when a handler drifts from its schemas, typecheck fails', () => {
    it('refuses a field the input does not declare', () => {
      const op = defineOperation({
        ...spec,
        ...thing,
        run: async (input) => ({
          body: {
            // @ts-expect-error `name` is not a field of the input schema.
            id: input.name,
            renamed: true,
          },
        }),
      });
      expect(op.input).to.deep.equal(toJsonSchema(thing.input));
    });

    it('refuses an optional input field used as if it were always there', () => {
      const op = defineOperation({
        ...spec,
        ...thing,
        // @ts-expect-error `title` is optional in the input schema, so it may be undefined where the answer needs a string.
        run: async (input) => ({ body: { id: input.title, renamed: true } }),
      });
      expect(op.output).to.deep.equal(toJsonSchema(thing.output));
    });

    it('refuses an answer of the wrong type or without a required field', () => {
      const wrongType = defineOperation({
        ...spec,
        ...thing,
        // @ts-expect-error `renamed` must be a boolean.
        run: async (input) => ({ body: { id: input.id, renamed: 'yes' } }),
      });
      const missing = defineOperation({
        ...spec,
        ...thing,
        // @ts-expect-error `renamed` is required by the output schema.
        run: async (input) => ({ body: { id: input.id } }),
      });
      expect([wrongType, missing].map((op) => op.name)).to.deep.equal(['renameThing', 'renameThing']);
    });

    it('types a catalog operation by its own schemas: defaults filled in, enums as unions', () => {
      const listed: z.output<typeof tasks.listTasks.input> = { limit: 20, status: ['pending'] };
      // @ts-expect-error ajv has filled in the default, so `limit` is always there.
      const withoutLimit: z.output<typeof tasks.listTasks.input> = { status: ['pending'] };
      // @ts-expect-error `done` is not a task status.
      const badStatus: z.output<typeof tasks.listTasks.input> = { limit: 20, status: ['done'] };
      expect([listed, withoutLimit, badStatus].map((input) => input.limit)).to.deep.equal([20, undefined, 20]);
    });
  });
});
