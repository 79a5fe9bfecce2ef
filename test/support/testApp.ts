import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createApp, type App } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';

export type TestApp = App & { baseUrl: string; dataDir: string; close: () => Promise<void> };

/** A real Vespera on 127.0.0.1:0 over a fresh data directory; `close()` stops it and deletes the directory. */
export const startTestApp = async (overrides: Partial<Config> = {}, env: NodeJS.ProcessEnv = {}): Promise<TestApp> => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vespera-test-'));
  const config = loadConfig({ VESPERA_LOG_LEVEL: 'silent', ...env }, { dataDir, port: 0, host: '127.0.0.1', sync: 'normal', ...overrides });
  const app = await createApp(config, createLogger(config.logLevel));
  const address = await app.listen();
  const baseUrl = `http://127.0.0.1:${address.port}`;
  return {
    ...app,
    baseUrl,
    dataDir,
    close: async () => {
      await app.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
};

export type JsonResponse<T = any> = { status: number; headers: Headers; body: T }; // eslint-disable-line @typescript-eslint/no-explicit-any

/** fetch with a JSON body and a parsed JSON (or problem+json) answer. */
export const api = async (
  baseUrl: string,
  method: string,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<JsonResponse> => {
  const response = await fetch(`${baseUrl}${url}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // leave the raw text for the assertion to show
  }
  return { status: response.status, headers: response.headers, body: parsed };
};
