import http from 'node:http';
import type { Socket } from 'node:net';
import { expect } from 'chai';
import { startTestApp, type TestApp } from '../../support/testApp.js';
import { bearer, FeedClient } from './feedClient.js';

const BUFFER = 64 * 1024;
const EVENT_BYTES = 16 * 1024;
const EVENTS = 4000;

describe('Live feed slow consumer', () => {
  let app: TestApp;

  before(async () => {
    app = await startTestApp({ feedBufferBytes: BUFFER, feedStallMs: 500 });
  });
  after(() => app?.close());

  /** Appends `count` events of about EVENT_BYTES each straight to the log (a stream no projection reads). */
  let floods = 0;
  const flood = async (count: number) => {
    const filler = 'x'.repeat(EVENT_BYTES);
    floods += 1;
    for (let i = 0; i < count; i += 100) {
      const events = Array.from({ length: 100 }, (_, j) => ({
        id: `flood-${floods}-${i + j}`,
        type: 'FloodWritten',
        data: { n: i + j, filler },
        metadata: { actor: 'spec', tool: 'spec', commandId: `flood-${floods}-${i + j}`, correlationId: 'flood', schemaVersion: 1 },
      }));
      await app.store.appendToStream('flood', events, 'any');
    }
  };

  describe('when a consumer stops reading', () => {
    it('closes it with 4008 and the last position sent, holding no more than the cap in memory', async () => {
      const client = FeedClient.open(app.baseUrl, bearer(app.adminToken));
      await client.next((m) => m.op === 'authenticated');
      client.send({ op: 'subscribe', id: 'slow' });
      await client.next((m) => m.op === 'caught_up');
      const socket = (client.ws as unknown as { _socket: Socket })._socket;
      socket.pause();
      let peak = 0;
      const sample = () => {
        peak = Math.max(peak, app.feed.bufferedBytes());
      };
      const stopSampling = app.store.onAppended(sample);
      const sampler = setInterval(sample, 5);
      await flood(EVENTS);
      for (let i = 0; i < 100 && app.feed.stats().dropped === 0; i++) await new Promise((r) => setTimeout(r, 50));
      clearInterval(sampler);
      stopSampling();
      const stats = app.feed.stats();
      socket.resume();
      const { code, reason } = await client.closed;
      const received = client.events('slow');
      const last = Number(/lastPosition=(\d+)$/.exec(reason)?.[1]);
      expect(stats.dropped).to.equal(1);
      expect(code).to.equal(4008);
      expect(last).to.equal(received.at(-1)!.position);
      // The server queued at most the cap and the event that crossed it; the client got what the kernel's socket
      // buffers held besides: far from the 64 MB appended.
      expect(peak).to.be.within(BUFFER / 2, BUFFER + 2 * EVENT_BYTES);
      expect(received.length).to.be.below(EVENTS / 4);
      expect(app.feed.stats()).to.deep.include({ connections: 0, subscriptions: 0 });
    });

    it('lets a consumer that keeps reading take the whole flood, though each append outgrows the cap', async () => {
      const client = FeedClient.open(app.baseUrl, bearer(app.adminToken));
      await client.next((m) => m.op === 'authenticated');
      const from = (await app.store.headPosition()) + 1;
      client.send({ op: 'subscribe', id: 'fast', fromPosition: from });
      await client.next((m) => m.op === 'caught_up');
      await flood(1000);
      const received = await client.eventCount('fast', 1000);
      await client.close();
      expect(received.map((e) => e.position)).to.deep.equal(Array.from({ length: 1000 }, (_, i) => from + i));
      expect(app.feed.stats().dropped).to.equal(1);
    });
  });

  describe('when a server-sent-events consumer stops reading', () => {
    it('ends its stream once the queue stayed full past the stall time, holding no more than the cap', async () => {
      const droppedBefore = app.feed.stats().dropped;
      const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
        http.get(`${app.baseUrl}/api/v1/events/stream`, { headers: { authorization: `Bearer ${app.adminToken}` } }, resolve).on('error', reject);
      });
      response.pause();
      for (let i = 0; i < 50 && app.feed.stats().subscriptions === 0; i++) await new Promise((r) => setTimeout(r, 20));
      let peak = 0;
      const stopSampling = app.store.onAppended(() => {
        peak = Math.max(peak, app.feed.bufferedBytes());
      });
      await flood(EVENTS);
      for (let i = 0; i < 100 && app.feed.stats().dropped === droppedBefore; i++) await new Promise((r) => setTimeout(r, 50));
      stopSampling();
      const ended = response.socket.destroyed ? Promise.resolve() : new Promise<void>((resolve) => response.socket.once('close', () => resolve()));
      response.resume();
      await ended;
      expect(response.statusCode).to.equal(200);
      expect(app.feed.stats().dropped).to.equal(droppedBefore + 1);
      expect(peak).to.be.at.most(BUFFER + 2 * EVENT_BYTES);
      expect(app.feed.stats()).to.deep.include({ connections: 0, subscriptions: 0 });
    });
  });
});
