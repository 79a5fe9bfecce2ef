import type { Request, RequestHandler, Response } from 'express';
import FindMyWay from 'find-my-way';
import type { Logger } from 'pino';
import { DomainError, badRequest } from '../../errors.js';
import { pathParams, type AnyOperation } from '../catalog/operation.js';
import type { Authorizer, Caller } from '../auth/authorizer.js';
import { checkedIdempotencyKey, type IdempotencyKeys } from '../idempotency.js';
import { invoker, type RequestFacts } from '../invoke.js';
import type { JsonSchema } from '../schemas.js';
import type { Validators } from '../validation.js';
import { noteRoute } from './accessLog.js';

export type RestDeps = Readonly<{
  operations: readonly AnyOperation[];
  validators: ReadonlyMap<string, Validators>;
  logger: Logger;
  authorizer: Authorizer;
  /** Where Idempotency-Keys are remembered; without it a key is used as the command id as sent. */
  idempotency?: IdempotencyKeys;
}>;

/** `W/"12"` or `"12"` → 12. */
export const parseIfMatch = (header: string | undefined): number | undefined => {
  if (header === undefined) return undefined;
  const match = /^\s*(?:W\/)?"(\d+)"\s*$/.exec(header);
  if (!match) throw new DomainError('INVALID_IF_MATCH', 400, 'If-Match must hold one version ETag such as W/"12".', { ifMatch: header });
  return Number(match[1]);
};

const integerHeader = (req: Request, name: string): number | undefined => {
  const value = req.get(name);
  if (value === undefined) return undefined;
  if (!/^\d{1,15}$/.test(value)) throw badRequest('INVALID_HEADER', `${name} must be a non-negative integer.`, { header: name });
  return Number(value);
};

/** Query strings carry text: turn it into the numbers, booleans and arrays the operation's schema wants. */
const coerceQuery = (schema: JsonSchema, query: Record<string, unknown>): Record<string, unknown> => {
  const properties = (schema.properties ?? {}) as Record<string, { type?: string | string[] }>;
  const out: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(query)) {
    const type = properties[key]?.type;
    const types = Array.isArray(type) ? type : [type];
    const value = Array.isArray(raw) && !types.includes('array') ? raw.at(-1) : raw;
    if (types.includes('array')) out[key] = (Array.isArray(value) ? value : [value]).flatMap((v) => String(v).split(',')).filter((v) => v !== '');
    else if ((types.includes('integer') || types.includes('number')) && typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value))
      out[key] = Number(value);
    else if (types.includes('boolean') && (value === 'true' || value === 'false')) out[key] = value === 'true';
    else if (types.includes('null') && value === 'null') out[key] = null;
    else out[key] = value;
  }
  return out;
};

const hasBody = (method: string) => method === 'post' || method === 'patch' || method === 'put';

/** Content-Type header → whether it is JSON, for the few distinct headers clients send (type-is parses it each time). */
const jsonTypes = new Map<string, boolean>();
const isJson = (req: Request): boolean => {
  const type = req.headers['content-type'] ?? '';
  let json = jsonTypes.get(type);
  if (json === undefined) {
    json = Boolean(req.is('application/json'));
    if (jsonTypes.size < 64) jsonTypes.set(type, json);
  }
  return json;
};

/** The arguments of a request: query, body and path parameters in one object, as the operation's schema has them. */
const argsOf = (operation: AnyOperation, req: Request, names: readonly string[]): Record<string, unknown> => {
  if (hasBody(operation.method) && req.body !== undefined && (typeof req.body !== 'object' || req.body === null || Array.isArray(req.body))) {
    throw badRequest('INVALID_BODY', 'The request body must be a JSON object.');
  }
  if (hasBody(operation.method) && Number(req.headers['content-length'] ?? 0) > 0 && !isJson(req)) {
    throw new DomainError('UNSUPPORTED_MEDIA_TYPE', 415, 'Send the request body as application/json.');
  }
  const params: Record<string, unknown> = {};
  for (const name of names) params[name] = req.params[name];
  return { ...coerceQuery(operation.input, req.query as Record<string, unknown>), ...((req.body as object | undefined) ?? {}), ...params };
};

/** Idempotency-Key, If-Match and X-Vespera-Min-Position, each checked. */
const factsOf = (req: Request): RequestFacts => {
  const key = checkedIdempotencyKey(req.get('idempotency-key'), 'Idempotency-Key');
  const expectedVersion = parseIfMatch(req.get('if-match'));
  const minPosition = integerHeader(req, 'x-vespera-min-position');
  return {
    ...(key === undefined ? {} : { idempotencyKey: key }),
    ...(expectedVersion === undefined ? {} : { expectedVersion }),
    ...(minPosition === undefined ? {} : { minPosition }),
  };
};

/** Longest path parameter routed (an id, a name, a key); a longer one is validated, and refused, by its operation's schema. */
const MAX_PARAM_LENGTH = 2048;

/**
 * The catalog's routes as one radix tree (find-my-way): a request finds its operation in a few steps, where express
 * tried the routes' patterns one after another. Paths match as express matched them: case-insensitively (parameters
 * keep their case), with or without a trailing slash. A path that is not valid percent-encoding is a 400.
 */
export const restRouter = ({ operations, validators, logger, authorizer, idempotency }: RestDeps): RequestHandler => {
  const invoke = invoker({ validators, logger, authorizer, ...(idempotency ? { idempotency } : {}) });
  type Handler = (req: Request, res: Response) => Promise<void>;
  const routes = FindMyWay({
    caseSensitive: false,
    ignoreTrailingSlash: true,
    maxParamLength: MAX_PARAM_LENGTH,
    onBadUrl: () => undefined,
  });
  const badPath: Handler = async (req) => {
    throw badRequest('INVALID_PATH', `The path ${JSON.stringify(req.path)} is not valid percent-encoding.`);
  };
  for (const operation of operations) {
    const names = pathParams(operation.path);
    const handler: Handler = async (req, res) => {
      noteRoute(req, res, operation.name, operation.path);
      const traceparent = res.locals.traceparent as string | undefined;
      const result = await invoke(operation, {
        caller: res.locals.caller as Caller | undefined,
        tool: 'rest',
        correlationId: String(res.getHeader('x-correlation-id')),
        ...(traceparent ? { traceparent } : {}),
        args: () => argsOf(operation, req, names),
        facts: () => factsOf(req),
      });
      if (result.position !== undefined) res.setHeader('X-Vespera-Position', String(result.position));
      if (result.version !== undefined) res.setHeader('ETag', `W/"${result.version}"`);
      res.status(operation.successStatus ?? 200);
      if (!result.document) return void res.json(result.body);
      if (result.document.filename) res.attachment(result.document.filename);
      res.type(result.document.contentType).send(result.document.text);
    };
    // The handler travels as the route's store: find-my-way's own handler signature is node's, not express's.
    routes.on(operation.method.toUpperCase() as 'GET', operation.path, () => undefined, handler);
  }
  return (req, res, next) => {
    const found = routes.find(req.method as 'GET', req.path);
    if (!found) return next();
    // onBadUrl's answer carries no store: the path could not be decoded.
    const handler = (found.store as Handler | null) ?? badPath;
    req.params = found.params as Record<string, string>;
    handler(req, res).catch(next);
  };
};
