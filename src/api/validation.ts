import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { DomainError } from '../errors.js';
import type { AnyOperation } from './catalog/operation.js';

export type Validators = Readonly<{ input: ValidateFunction; output: ValidateFunction }>;

const describeError = (error: ErrorObject): { field: string; message: string } => {
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

export const assertValid = (validate: ValidateFunction, value: unknown): void => {
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
