import { startTestApp, type TestApp } from '../../support/testApp.js';
import type { Config } from '../../../src/config.js';
import type { CorpusTask } from './fixtures/corpus.js';

/** A test app with the vector model on (embedded Chroma, USE-lite), booted. */
export const startVectorApp = async (overrides: Partial<Config> = {}, env: NodeJS.ProcessEnv = {}): Promise<TestApp> => {
  const app = await startTestApp({ vectors: 'on', ...overrides }, env);
  await app.background.vectors!.booted;
  return app;
};

/**
 * Resolves once the vector read model has applied the log head (bounded). The default leaves room for a cold start on
 * a loaded 2-core CI machine: the first embedding call loads the model in the worker, and the first Chroma writes of a
 * fresh child process are slow; suites that use it give their hooks more than this.
 */
export const vectorsCaughtUp = async (app: TestApp, timeoutMs = 120_000): Promise<void> => {
  const projector = app.background.vectors!.projector!;
  try {
    await projector.waitFor(await app.store.headPosition(), timeoutMs);
  } catch (error) {
    // A stall is rare and not reproduced alone: say where the vector model stood and what its dependencies reported.
    const health = await app.background.health().catch((e: unknown) => ({ error: (e as Error).message }));
    throw new Error(`${(error as Error).message} status=${JSON.stringify(projector.status())} background=${JSON.stringify(health)}`);
  }
};

/** Polls `check` every 100 ms until it holds or `timeoutMs` passes. */
export const eventually = async (check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
};

let seq = 0;
export const meta = () => ({ actor: 'test', tool: 'test', commandId: `search-test-${process.pid}-${++seq}` });

/** Creates the tasks through the command side; answers key → task id. */
export const seed = async (app: TestApp, tasks: readonly CorpusTask[], projectId?: string): Promise<Map<string, string>> => {
  const ids = new Map<string, string>();
  for (const t of tasks) {
    const result = await app.commands.createTask(
      { title: t.title, description: t.description ?? '', tags: t.tags ?? [], ...(projectId ? { projectId } : {}) },
      meta(),
    );
    ids.set(t.key, (result.events.find((e) => e.type === 'TaskCreated')!.data as { taskId: string }).taskId);
  }
  return ids;
};
