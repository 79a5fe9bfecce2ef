/** A Vespera server for the HTTP benches, run in a child process by lib.startChildServer (IPC protocol in lib.ts). */
import fs from 'node:fs';
import { gc, heapMb, makeTree, meta, mintTokens, rssMb, startApp } from './lib.js';

const send = (message: object) => process.send?.(message);

const main = async () => {
  const sync = process.env.BENCH_SYNC === 'normal' ? 'normal' : 'full';
  const app = await startApp({ sync, vectors: process.env.BENCH_VECTORS === 'off' ? 'off' : 'on' }, true);
  process.on('message', (message: { type: string; trees?: number; size?: number; count?: number }) => {
    void (async () => {
      if (message.type === 'seed') {
        const started = performance.now();
        const ids: string[] = [];
        for (let i = 0; i < (message.trees ?? 0); i++) {
          const result = await app.commands.createTaskTree({ root: makeTree(message.size ?? 1000, `seed ${i}`) }, meta());
          await app.projector.waitFor(result.position, 60_000);
          for (const e of result.events) if (e.type === 'TaskCreated') ids.push((e.data as { taskId: string }).taskId);
        }
        const seconds = (performance.now() - started) / 1000;
        gc();
        send({ type: 'seeded', ids, seconds, rssMb: rssMb(), heapMb: heapMb() });
      } else if (message.type === 'tokens') {
        send({ type: 'tokens', tokens: await mintTokens(app, message.count ?? 1) });
      } else if (message.type === 'rss') {
        send({ type: 'rss', rssMb: rssMb(), heapMb: heapMb() });
      } else if (message.type === 'stop') {
        await app.close();
        process.exit(0);
      }
    })().catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
  });
  const port = Number(new URL(app.baseUrl).port);
  const { sync: used, rateLimitPerMinute, vectors, auth } = app.config;
  send({
    type: 'ready',
    port,
    rssMb: rssMb(),
    token: fs.readFileSync(app.adminTokenFile, 'utf8').trim(),
    config: { sync: used, rateLimitPerMinute, vectors, auth },
  });
};

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
