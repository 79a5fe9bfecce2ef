import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createApp, type App } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';

export type TestApp = App & { baseUrl: string; dataDir: string; adminToken: string; close: () => Promise<void> };

/** Admin token of each running test app, so `api()` authenticates unless a test says otherwise. */
const tokens = new Map<string, string>();

/** A real Vespera on 127.0.0.1:0 over a fresh data directory; `close()` stops it and deletes the directory. */
export const startTestApp = async (overrides: Partial<Config> = {}, env: NodeJS.ProcessEnv = {}): Promise<TestApp> => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vespera-test-'));
  const config = loadConfig({ VESPERA_LOG_LEVEL: 'silent', ...env }, { dataDir, port: 0, host: '127.0.0.1', sync: 'normal', ...overrides });
  return launch(config, dataDir);
};

/**
 * Stops a test app and starts a new process-alike over the same data directory and settings (another port);
 * `meanwhile` runs while no server is up (to change its files as an upgrade or an operator would).
 */
export const restartTestApp = async (app: TestApp, meanwhile: () => void | Promise<void> = () => {}): Promise<TestApp> => {
  tokens.delete(app.baseUrl);
  await app.stop();
  await meanwhile();
  return launch(app.config, app.dataDir);
};

const launch = async (config: Config, dataDir: string): Promise<TestApp> => {
  const app = await createApp(config, createLogger(config.logLevel));
  const address = await app.listen();
  const baseUrl = `http://127.0.0.1:${address.port}`;
  const adminToken = fs.readFileSync(app.adminTokenFile, 'utf8').trim();
  tokens.set(baseUrl, adminToken);
  return {
    ...app,
    baseUrl,
    dataDir,
    adminToken,
    close: async () => {
      tokens.delete(baseUrl);
      await app.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
};

export type JsonResponse<T = any> = { status: number; headers: Headers; body: T }; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * fetch with a JSON body and a parsed JSON (or problem+json) answer. Requests carry the app's admin token
 * unless `headers` sets `authorization` (an empty value sends none).
 */
export const api = async (
  baseUrl: string,
  method: string,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<JsonResponse> => {
  const token = tokens.get(baseUrl);
  const auth = Object.keys(headers).some((h) => h.toLowerCase() === 'authorization') || !token ? {} : { authorization: `Bearer ${token}` };
  const sent = Object.fromEntries(Object.entries({ ...auth, ...headers }).filter(([, v]) => v !== ''));
  const response = await fetch(`${baseUrl}${url}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...sent },
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
