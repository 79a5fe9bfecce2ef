import { readToken, tokenSource } from '../api/auth/tokenSource.js';
import { dataFiles } from './dataFiles.js';
import { readServerFile } from './serverFile.js';

/**
 * A small client for CLI commands that talk to a running server: where the server is (VESPERA_URL, else the data
 * directory's server.json), which token to send (VESPERA_TOKEN, VESPERA_TOKEN_FILE, else the admin token, as
 * `vespera mcp`) and for which role (VESPERA_ROLE), and one `request` that answers JSON or throws a refusal or an unreachable server. Light on purpose:
 * it imports nothing of the server, so a command starts in the time Node takes.
 */

/** The server gave a problem+json answer (or any 4xx/5xx): its status, code, detail and the document itself. */
export class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly problem: Readonly<Record<string, unknown>>,
  ) {
    super(`${code} ${detail}`);
    this.name = 'Refusal';
  }
}

/** No server to talk to: none announced, connection refused, no answer in time. */
export class Unreachable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Unreachable';
  }
}

export type ServerAddress = Readonly<{ url: string; from: 'VESPERA_URL' | 'server.json' }>;

/** VESPERA_URL, else the server announced in `<dataDir>/server.json` (a file left by a dead process counts as none). */
export const serverAddress = (dataDir: string, env: NodeJS.ProcessEnv): ServerAddress => {
  const fromEnv = env.VESPERA_URL?.trim();
  if (fromEnv) return { url: fromEnv.replace(/\/+$/, ''), from: 'VESPERA_URL' };
  const announced = readServerFile(dataDir);
  if (!announced)
    throw new Unreachable(
      `No server is running on ${dataDir} (no live ${dataFiles(dataDir).server}): start \`vespera serve\` there, or set VESPERA_URL.`,
    );
  return { url: announced.url, from: 'server.json' };
};

export type Query = Readonly<Record<string, string | number | boolean | readonly string[] | undefined>>;

export type HttpClient = Readonly<{
  url: string;
  /** `path` is below /api/v1; `query` values that are undefined are left out, arrays are sent as comma lists. */
  request: <T = unknown>(method: string, path: string, options?: { query?: Query; body?: unknown }) => Promise<T>;
}>;

export type HttpClientOptions = Readonly<{ dataDir: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }>;

const DEFAULT_TIMEOUT_MS = 30_000;

const queryString = (query: Query = {}): string => {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    params.set(key, Array.isArray(value) ? value.join(',') : String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
};

/** Why fetch failed, in the words of the socket error beneath it (ECONNREFUSED, ENOTFOUND, a timeout). */
const reason = (error: unknown): string => {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return 'no answer in time';
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
};

/** Throws Unreachable (no server), ConfigError (a token file that holds no token) before any request is sent. */
export const httpClient = ({ dataDir, env = process.env, timeoutMs = DEFAULT_TIMEOUT_MS }: HttpClientOptions): HttpClient => {
  const { url, from } = serverAddress(dataDir, env);
  const token = readToken(tokenSource(dataFiles(dataDir).adminToken, env));
  // The role the caller acts for, recorded in the events it causes (as VESPERA_ROLE does for `vespera mcp`).
  const role = env.VESPERA_ROLE?.trim();
  const request = async <T>(method: string, path: string, options: { query?: Query; body?: unknown } = {}): Promise<T> => {
    let response: Response;
    try {
      response = await fetch(`${url}/api/v1${path}${queryString(options.query)}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json, application/problem+json',
          ...(role ? { 'x-vespera-role': role } : {}),
          ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new Unreachable(`The server at ${url} (from ${from}) does not answer: ${reason(error)}.`);
    }
    const text = await response.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    if (response.ok) return body as T;
    const problem = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
    const code = typeof problem.code === 'string' ? problem.code : `HTTP_${response.status}`;
    const detail = typeof problem.detail === 'string' ? problem.detail : text.slice(0, 200) || response.statusText;
    throw new Refusal(response.status, code, detail, problem);
  };
  return { url, request };
};
