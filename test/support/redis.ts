import net from 'node:net';
import { expect } from 'chai';

/** The shared Redis the BullMQ specs run against (.ci/run starts it). */
export const REDIS_URL = 'redis://127.0.0.1:6379';

/** True when `url` answers PING within `timeoutMs`. */
export const redisAnswers = (url: string, timeoutMs = 1000): Promise<boolean> =>
  new Promise((resolve) => {
    const { hostname: host, port } = new URL(url);
    const socket = net.connect({ host, port: Number(port || 6379) });
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });

/** Redis is required, not optional: without it a BullMQ spec fails at once and says what to start. */
export const requireRedis = async (url = REDIS_URL): Promise<void> => {
  expect(await redisAnswers(url), `Redis answers PING at ${url} (start it: redis-server --port ${new URL(url).port || 6379})`).to.equal(true);
};
