import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { DomainError } from '../errors.js';
import type { AnyOperation } from './catalog/operation.js';

export type Validators = Readonly<{ input: ValidateFunction; output: ValidateFunction }>;

/** One offending field; an enum's allowed values are listed, so the caller can pick one without reading the schema. */
const describeError = (error: ErrorObject): { field: string; message: string; allowed?: unknown[] } => {
  const at = error.instancePath.replace(/^\//, '').replaceAll('/', '.');
  if (error.keyword === 'additionalProperties') {
    const name = (error.params as { additionalProperty: string }).additionalProperty;
    const field = at ? `${at}.${name}` : name;
    return { field, message: `unknown field \`${field}\`` };
  }
  if (error.keyword === 'required') {
    const name = (error.params as { missingProperty: string }).missingProperty;
    const field = at ? `${at}.${name}` : name;
    return { field, message: `\`${field}\` is required` };
  }
  if (error.keyword === 'enum') {
    const allowed = (error.params as { allowedValues: unknown[] }).allowedValues;
    const field = at || '(body)';
    return { field, message: `\`${at || 'body'}\` must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}`, allowed };
  }
  return { field: at || '(body)', message: `\`${at || 'body'}\` ${error.message ?? 'is invalid'}` };
};

/** A 400 naming every offending field. */
export const validationError = (errors: readonly ErrorObject[]): DomainError => {
  const problems = errors.slice(0, 10).map(describeError);
  return new DomainError('VALIDATION_ERROR', 400, `Invalid input: ${problems.map((p) => p.message).join('; ')}.`, { errors: problems });
};

/** One compiled input and output validator per operation. Inputs get defaults filled in. */
export const compileValidators = (operations: readonly AnyOperation[]): Map<string, Validators> => {
  const inputs = new Ajv2020({ allErrors: true, useDefaults: true, strict: false });
  const outputs = new Ajv2020({ allErrors: false, strict: false });
  addFormats.default(inputs);
  addFormats.default(outputs);
  return new Map(operations.map((op) => [op.name, { input: inputs.compile(op.input), output: outputs.compile(op.output) }]));
};

/** With the `u` flag a surrogate pair reads as one code point, so only a lone surrogate is in category Cs. */
const LONE_SURROGATE = /\p{Cs}/u;

/** What is wrong with a string every field refuses, or undefined. */
const stringProblem = (text: string): string | undefined => {
  if (LONE_SURROGATE.test(text)) return 'is not well-formed UTF-16 (it has a lone surrogate)';
  if (text.includes('\0')) return 'contains a NUL character';
  return undefined;
};

/**
 * Refuses lone surrogates (SQLite would store them as U+FFFD, so the text would not come back as sent) and NUL
 * characters in every string and object key of the input, before ajv or any operation sees it.
 */
export const assertCleanStrings = (value: unknown): void => {
  const stack: Array<[unknown, string]> = [[value, '']];
  while (stack.length > 0) {
    const [node, at] = stack.pop()!;
    const problem = typeof node === 'string' ? stringProblem(node) : undefined;
    if (problem) throw invalidString(at, `\`${at || 'body'}\` ${problem}`);
    if (node === null || typeof node !== 'object') continue;
    for (const [key, child] of Object.entries(node)) {
      const field = at ? `${at}.${key}` : key;
      const keyProblem = stringProblem(key);
      if (keyProblem) throw invalidString(at || '(body)', `a field name in \`${at || 'body'}\` ${keyProblem}`);
      stack.push([child, field]);
    }
  }
};

const invalidString = (field: string, message: string): DomainError =>
  new DomainError(
    'INVALID_STRING',
    400,
    `Invalid input: ${message}.`,
    { field, errors: [{ field, message }] },
    'Send well-formed Unicode text without NUL characters.',
  );

/** Checks the strings, then the schema. */
export const assertValid = (validate: ValidateFunction, value: unknown): void => {
  assertCleanStrings(value);
  if (!validate(value)) throw validationError(validate.errors ?? []);
};

/** Refuses input nested deeper than `maxDepth` before any recursive code (ajv, JSON.stringify) walks it. */
export const assertShallow = (value: unknown, maxDepth = 32): void => {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (depth >= maxDepth) throw new DomainError('INPUT_TOO_DEEP', 400, `Input is nested more than ${maxDepth} levels deep.`, { maxDepth });
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
};
