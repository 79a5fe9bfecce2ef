import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import { DomainError } from '../../errors.js';
import type { Authorizer, Caller } from '../auth/authorizer.js';
import { requireSubscriber } from './access.js';
import { CLOSE, type Feed, type FeedSink } from './feed.js';
import { parseFilter } from './messages.js';

export const FEED_SSE_PATH = '/api/v1/events/stream';

export type FeedSseDeps = Readonly<{
  feed: Feed;
  authorizer: Pick<Authorizer, 'authenticate'>;
  /** Interval of the `: ping` comments, and of the token's re-check. */
  heartbeatMs: number;
  logger: Logger;
}>;

const QUERY = ['projectId', 'taskId', 'types', 'fromPosition'];

const badQuery = (detail: string) => new DomainError('VALIDATION_ERROR', 400, detail, {}, 'See docs/feed.md#server-sent-events.');

/** The query and `Last-Event-ID` → filter and first position; refusals are 400 problem+json before any byte streams. */
const startOf = (query: Record<string, unknown>, lastEventId: string | undefined) => {
  const input: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(query)) {
    if (!QUERY.includes(key)) throw badQuery(`Unknown query parameter \`${key}\`; the stream takes ${QUERY.join(', ')}.`);
    if (typeof value !== 'string') throw badQuery(`\`${key}\` may appear once.`);
    input[key] = value;
  }
  if (typeof input.types === 'string') input.types = input.types.split(',').filter(Boolean);
  if (typeof input.fromPosition === 'string') {
    if (!/^\d{1,15}$/.test(input.fromPosition)) throw badQuery('`fromPosition` must be an integer ≥ 0.');
    input.fromPosition = Number(input.fromPosition);
  }
  if (lastEventId !== undefined) {
    if (!/^\d{1,15}$/.test(lastEventId)) throw badQuery('`Last-Event-ID` must be the id (a log position) of the last event received.');
    input.fromPosition = Number(lastEventId) + 1;
  }
  const parsed = parseFilter(input);
  if (parsed instanceof DomainError) throw badQuery(parsed.message);
  return parsed;
};

/**
 * `GET /api/v1/events/stream`: the live feed as server-sent events (docs/feed.md#server-sent-events). Each event's
 * `id:` is its log position, so a reconnecting EventSource resumes after it through `Last-Event-ID`.
 */
export const feedSseHandler =
  (deps: FeedSseDeps): RequestHandler =>
  async (req, res) => {
    const { feed, authorizer, heartbeatMs, logger } = deps;
    const caller = requireSubscriber(res.locals.caller as Caller | undefined);
    const { fromPosition, ...filter } = startOf(req.query as Record<string, unknown>, req.get('last-event-id'));
    if (fromPosition !== undefined) await feed.checkFrom(fromPosition);
    if (!feed.accepting) throw new DomainError('SHUTTING_DOWN', 503, 'The server is shutting down.');

    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
    });
    res.write(': vespera live feed\n\n');
    let closed = false;
    let corked = false;
    // Events written in one tick leave in one write (a catch-up page, a group commit).
    const cork = () => {
      if (corked) return;
      corked = true;
      res.cork();
      process.nextTick(() => {
        corked = false;
        res.uncork();
      });
    };
    const sink: FeedSink = {
      event: (_sub, event, body) => {
        if (closed) return;
        cork();
        res.write(`id: ${event.position}\ndata: {${body}}\n\n`);
      },
      // The caught-up position is a resume point too: everything before it was sent or did not match.
      caughtUp: (_sub, position) => {
        if (!closed) res.write(`id: ${position}\nevent: caught_up\ndata: {"position":${position}}\n\n`);
      },
      buffered: () => res.writableLength,
      drained: () =>
        new Promise<void>((resolve) => {
          if (closed || res.writableLength === 0) return resolve();
          const done = () => {
            res.off('drain', done);
            res.off('close', done);
            resolve();
          };
          res.on('drain', done);
          res.on('close', done);
        }),
      end: (code, reason) =>
        new Promise<void>((resolve) => {
          if (closed) return resolve();
          res.once('close', () => resolve());
          if (code !== CLOSE.slowConsumer) res.write(`event: close\ndata: ${JSON.stringify({ code, reason })}\n\n`);
          res.end();
          // A consumer that does not read never takes the end of the stream: its socket is cut after a grace period.
          setTimeout(() => res.destroy(), code === CLOSE.slowConsumer ? 0 : 2000).unref();
        }),
    };
    const connection = feed.connect(caller, sink);
    const authorization = req.get('authorization');
    const role = req.get('x-vespera-role');
    const beat = setInterval(() => {
      res.write(': ping\n\n');
      authorizer.authenticate(authorization, role).then(
        (again) => {
          if (!again || (again.expiresAt !== undefined && Date.parse(again.expiresAt) <= Date.now()))
            void connection.end(CLOSE.unauthenticated, 'TOKEN_EXPIRED');
        },
        (error: unknown) => void connection.end(CLOSE.unauthenticated, error instanceof DomainError ? error.code : 'AUTHENTICATION_REQUIRED'),
      );
    }, heartbeatMs);
    beat.unref();
    res.on('close', () => {
      closed = true;
      clearInterval(beat);
      connection.gone();
    });
    try {
      await connection.subscribe('sse', filter, fromPosition);
    } catch (error) {
      logger.warn({ err: error }, 'feed stream ended');
      void connection.end(CLOSE.normal, error instanceof DomainError ? error.code : 'error');
    }
  };
