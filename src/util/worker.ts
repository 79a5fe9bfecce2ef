import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker, type MessagePort, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts `<name>.js` beside `from` in a worker thread. Built code starts it directly. From source (tsx),
 * loader hooks do not reach worker threads on Node 20, so a two-line bootstrap registers tsx inside the
 * worker before importing `<name>.ts`.
 */
export const spawnModuleWorker = (from: string, name: string, workerData?: unknown, options: Pick<WorkerOptions, 'resourceLimits'> = {}): Worker => {
  if (!from.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, from), { workerData, ...options });
  const tsx = pathToFileURL(
    createRequire(from)
      .resolve('tsx/esm/api')
      .replace(/\.cjs$/, '.mjs'),
  ).href;
  const entry = new URL(`./${name}.ts`, from).href;
  const bootstrap = `import(${JSON.stringify(tsx)}).then((api) => { (api.register ?? api.default.register)(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { eval: true, workerData, ...options });
};

/**
 * The sending side of a bounded hand-over between threads: call `sent()` after each post; it resolves at once while
 * fewer than `window` posts wait for their acknowledgement, else when one comes. Every message arriving on `port` is
 * an acknowledgement, so the receiver answers each post it takes with one message, and memory stays bounded.
 */
export const ackWindow = (port: MessagePort, window: number) => {
  let unacknowledged = 0;
  let wake: (() => void) | undefined;
  port.on('message', () => {
    unacknowledged -= 1;
    wake?.();
  });
  return {
    sent: async (): Promise<void> => {
      unacknowledged += 1;
      while (unacknowledged >= window) await new Promise<void>((resolve) => (wake = resolve));
    },
  };
};
