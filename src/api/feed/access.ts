import { DomainError } from '../../errors.js';
import { holdsCapability } from '../../events/vocabulary.js';

/** Who is listening: the capabilities of its token decide which streams it sees. */
export type FeedCaller = Readonly<{ actor: string; capabilities: readonly string[] }>;

/**
 * The capability the feed needs (docs/feed.md#authorization). Subscribing needs `task_reading` or `audit_reading`;
 * each event then needs what reads its stream in the catalog today: project and role streams `task_reading`
 * (getTask, listRoles), plugin streams `admin` (getPlugin), any other stream `audit_reading` (listEvents), which
 * also sees every stream.
 */
export const FEED_CAPABILITIES = ['task_reading', 'audit_reading'] as const;

export const requireSubscriber = (caller: FeedCaller | undefined): FeedCaller => {
  if (!caller) {
    throw new DomainError(
      'AUTHENTICATION_REQUIRED',
      401,
      'The live feed needs a plugin token.',
      {},
      'Send `Authorization: Bearer <token>` (or, on a WebSocket, a first message {"op":"auth","token":"…"}).',
    );
  }
  if (FEED_CAPABILITIES.some((c) => holdsCapability(caller.capabilities, c))) return caller;
  throw new DomainError(
    'MISSING_CAPABILITY',
    403,
    'The live feed needs the `task_reading` (or `audit_reading`) capability, which the token does not carry.',
    { required: 'task_reading', granted: caller.capabilities },
    'Ask an administrator for a token with that capability.',
  );
};

/**
 * Which streams a caller's events may come from, decided once per connection. Plugin streams need `admin`, which
 * holds `audit_reading`, so they fall under the first rule; `task_reading` alone reads project and role streams.
 */
export const streamReader = (capabilities: readonly string[]): ((streamId: string) => boolean) => {
  if (holdsCapability(capabilities, 'audit_reading')) return () => true;
  if (!holdsCapability(capabilities, 'task_reading')) return () => false;
  return (streamId) => streamId.startsWith('project-') || streamId === 'roles';
};
