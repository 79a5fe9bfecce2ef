import { DomainError } from '../../errors.js';
import type { FeedFilter } from './feed.js';

/** What a client may send on the feed socket (docs/feed.md#client-messages). */
export type SubscribeMessage = FeedFilter & { op: 'subscribe'; id: string; fromPosition?: number };
export type ClientMessage = { op: 'auth'; token: string } | SubscribeMessage | { op: 'unsubscribe'; id: string };

const SUBSCRIPTION_ID = /^[A-Za-z0-9_.:-]{1,64}$/;
const ENTITY_ID = /^[A-Za-z0-9_.:-]{1,128}$/;
const EVENT_TYPE = /^[A-Z][A-Za-z0-9]{0,63}$/;
const TOKEN = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const MAX_TYPES = 50;

const invalid = (detail: string) => new DomainError('INVALID_MESSAGE', 400, detail, {}, 'See docs/feed.md#client-messages.');

const FIELDS: Record<ClientMessage['op'], readonly string[]> = {
  auth: ['op', 'token'],
  subscribe: ['op', 'id', 'projectId', 'taskId', 'types', 'fromPosition'],
  unsubscribe: ['op', 'id'],
};

/** The filter and start of a subscription, shared by both transports; a DomainError names the first bad field. */
export const parseFilter = (input: Record<string, unknown>): DomainError | (FeedFilter & { fromPosition?: number }) => {
  const { projectId, taskId, types, fromPosition } = input;
  if (projectId !== undefined && (typeof projectId !== 'string' || !ENTITY_ID.test(projectId))) return invalid('`projectId` must be a project id.');
  if (taskId !== undefined && (typeof taskId !== 'string' || !ENTITY_ID.test(taskId))) return invalid('`taskId` must be a task id.');
  if (types !== undefined) {
    if (!Array.isArray(types) || types.length > MAX_TYPES || !types.every((t) => typeof t === 'string' && EVENT_TYPE.test(t))) {
      return invalid(`\`types\` must be a list of at most ${MAX_TYPES} event types (PascalCase, e.g. TaskCreated).`);
    }
  }
  if (fromPosition !== undefined && (typeof fromPosition !== 'number' || !Number.isSafeInteger(fromPosition) || fromPosition < 0)) {
    return invalid('`fromPosition` must be an integer ≥ 0 (the first position to send; resume with the last one seen + 1).');
  }
  return {
    ...(projectId === undefined ? {} : { projectId: projectId as string }),
    ...(taskId === undefined ? {} : { taskId: taskId as string }),
    ...(types === undefined ? {} : { types: types as string[] }),
    ...(fromPosition === undefined ? {} : { fromPosition: fromPosition as number }),
  };
};

/** One client frame → a message, or the DomainError to send back (the socket stays open). */
export const parseClientMessage = (text: string | undefined): ClientMessage | DomainError => {
  if (text === undefined) return new DomainError('INVALID_JSON', 400, 'Send text frames holding one JSON object; binary frames are refused.');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return new DomainError('INVALID_JSON', 400, 'The message is not valid JSON.');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return invalid('A message is a JSON object with an `op`.');
  const message = value as Record<string, unknown>;
  const op = message.op;
  if (typeof op !== 'string' || !(op in FIELDS)) {
    return new DomainError(
      'UNKNOWN_OP',
      400,
      `Unknown op ${JSON.stringify(op)}: use auth, subscribe or unsubscribe.`,
      {},
      'See docs/feed.md#client-messages.',
    );
  }
  const known = FIELDS[op as ClientMessage['op']];
  const extra = Object.keys(message).find((k) => !known.includes(k));
  if (extra !== undefined) return invalid(`\`${op}\` takes no field \`${extra}\`.`);
  if (op === 'auth') {
    if (typeof message.token !== 'string' || !TOKEN.test(message.token)) return invalid('`token` must be a plugin token (a JWT).');
    return { op, token: message.token };
  }
  if (typeof message.id !== 'string' || !SUBSCRIPTION_ID.test(message.id)) {
    return invalid('`id` must name the subscription: 1–64 letters, digits, or _ . : -.');
  }
  if (op === 'unsubscribe') return { op, id: message.id };
  const filter = parseFilter(message);
  if (filter instanceof DomainError) return filter;
  return { op: 'subscribe', id: message.id, ...filter };
};
