import { readToken, tokenSource } from '../api/auth/tokenSource.js';
import { ConfigError } from '../errors.js';
import { dataFiles } from './dataFiles.js';
import { readServerFile } from './serverFile.js';

/**
 * A small client for CLI commands that talk to a running server: where the server is (VESPERA_URL, else the data
 * directory's server.json), which token to send (VESPERA_TOKEN, VESPERA_TOKEN_FILE, else the admin token, as
 * `vespera mcp`) and for which role (VESPERA_ROLE), and one `request` that answers JSON or throws a refusal or an
 * unreachable server. Light on purpose: it imports nothing of the server, so a command starts in the time Node takes.
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
  /** The same request for an answer that is a document (a picture, an exported file): its media type and text. */
  requestText: (method: string, path: string, options?: { query?: Query; body?: unknown }) => Promise<{ contentType: string; text: string }>;
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

type Answer = { status: number; statusText: string; contentType: string; text: string };

/**
 * One request with node:http (node:https loaded only for an https URL). Not fetch: bringing up its undici stack costs
 * a short-lived process 70–110 ms on the 2-core machine, a third of the budget of `vespera ready` (bench peopleCli).
 */
const send = async (url: URL, method: string, headers: Record<string, string>, body: string | undefined, timeoutMs: number): Promise<Answer> => {
  const transport = url.protocol === 'https:' ? await import('node:https') : await import('node:http');
  return new Promise((resolve, reject) => {
    const req = transport.request(
      url,
      { method, headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            statusText: res.statusMessage ?? '',
            contentType: String(res.headers['content-type'] ?? ''),
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    const timer = setTimeout(() => req.destroy(new Error('no answer in time')), timeoutMs);
    req.on('close', () => clearTimeout(timer));
    req.on('error', reject);
    req.end(body);
  });
};

/** Throws Unreachable (no server), ConfigError (a bad VESPERA_URL, a token file that holds no token) before any request is sent. */
export const httpClient = ({ dataDir, env = process.env, timeoutMs = DEFAULT_TIMEOUT_MS }: HttpClientOptions): HttpClient => {
  const { url, from } = serverAddress(dataDir, env);
  let base: URL;
  try {
    base = new URL(url);
  } catch {
    throw new ConfigError([`${from} names ${JSON.stringify(url)}, which is not a URL (e.g. http://127.0.0.1:3000)`]);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new ConfigError([`${from} names ${url}: Vespera speaks http: or https:`]);
  const token = readToken(tokenSource(dataFiles(dataDir).adminToken, env));
  // The role the caller acts for, recorded in the events it causes (as VESPERA_ROLE does for `vespera mcp`).
  const role = env.VESPERA_ROLE?.trim();
  const exchange = async (method: string, path: string, options: { query?: Query; body?: unknown }, accept: string): Promise<Answer> => {
    const headers: Record<string, string> = {
      authorization: `Bearer ${token}`,
      accept,
      ...(role ? { 'x-vespera-role': role } : {}),
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
    };
    let answer: Answer;
    try {
      answer = await send(
        new URL(`${url}/api/v1${path}${queryString(options.query)}`),
        method,
        headers,
        options.body === undefined ? undefined : JSON.stringify(options.body),
        timeoutMs,
      );
    } catch (error) {
      const why = (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
      throw new Unreachable(`The server at ${url} (from ${from}) does not answer: ${why}.`);
    }
    if (answer.status >= 200 && answer.status < 300) return answer;
    let problem: Record<string, unknown> = {};
    try {
      const parsed = answer.text ? (JSON.parse(answer.text) as unknown) : undefined;
      if (parsed && typeof parsed === 'object') problem = parsed as Record<string, unknown>;
    } catch {
      // not JSON: the status line and the text say what happened
    }
    const code = typeof problem.code === 'string' ? problem.code : `HTTP_${answer.status}`;
    const detail = typeof problem.detail === 'string' ? problem.detail : answer.text.slice(0, 200) || answer.statusText;
    throw new Refusal(answer.status, code, detail, problem);
  };
  const request = async <T>(method: string, path: string, options: { query?: Query; body?: unknown } = {}): Promise<T> => {
    const answer = await exchange(method, path, options, 'application/json, application/problem+json');
    let body: unknown;
    try {
      body = answer.text ? JSON.parse(answer.text) : undefined;
    } catch {
      body = undefined;
    }
    return body as T;
  };
  const requestText = async (method: string, path: string, options: { query?: Query; body?: unknown } = {}) => {
    const answer = await exchange(method, path, options, '*/*');
    return { contentType: answer.contentType, text: answer.text };
  };
  return { url, request, requestText };
};
