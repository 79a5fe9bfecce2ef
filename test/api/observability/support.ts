import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { pino } from 'pino';
import { createApp, type App } from '../../../src/app.js';
import { loadConfig, type Config } from '../../../src/config.js';

export type LogLine = Record<string, unknown> & { level: number; msg: string };

export type LoggedApp = App & { baseUrl: string; adminToken: string; lines: LogLine[]; close: () => Promise<void> };

/**
 * A real Vespera on 127.0.0.1:0 like startTestApp, but its pino logger (level debug) writes into `lines`, parsed, so a
 * spec can read what an operator would read on stderr.
 */
export const startLoggedApp = async (overrides: Partial<Config> = {}, env: NodeJS.ProcessEnv = {}): Promise<LoggedApp> => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vespera-obs-'));
  const config = loadConfig({ VESPERA_LOG_LEVEL: 'debug', ...env }, { dataDir, port: 0, host: '127.0.0.1', sync: 'normal', ...overrides });
  const lines: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  const app = await createApp(config, pino({ name: 'vespera', level: 'debug' }, sink));
  const address = await app.listen();
  return {
    ...app,
    baseUrl: `http://127.0.0.1:${address.port}`,
    adminToken: fs.readFileSync(app.adminTokenFile, 'utf8').trim(),
    lines,
    close: async () => {
      await app.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
};

/** One span as an OTLP/HTTP JSON export carries it (ids in hex). */
export type ReceivedSpan = {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  serviceName: string;
};

type AnyValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
type KeyValue = { key: string; value: AnyValue };
const valueOf = (v: AnyValue): unknown =>
  v.stringValue ?? (v.intValue === undefined ? undefined : Number(v.intValue)) ?? v.boolValue ?? v.doubleValue;
const attributesOf = (list: KeyValue[] | undefined) => Object.fromEntries((list ?? []).map((kv) => [kv.key, valueOf(kv.value)]));

/**
 * A tiny OTLP/HTTP receiver on 127.0.0.1:0: accepts POST /v1/traces as JSON (what the OTLP/HTTP exporter sends by
 * default), answers 200 `{}`, and keeps every span it was sent. Anything else (protobuf, another path) is refused with
 * 415/404 and counted in `refused`, so a spec sees an exporter that speaks something else.
 */
export const startOtlpReceiver = async () => {
  const spans: ReceivedSpan[] = [];
  const refused: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        refused.push(`${req.method} ${req.url}`);
        return void res.writeHead(404).end();
      }
      if (!String(req.headers['content-type']).startsWith('application/json')) {
        refused.push(`content-type ${req.headers['content-type']}`);
        return void res.writeHead(415).end();
      }
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      const parsed = JSON.parse(body.toString('utf8')) as {
        resourceSpans?: Array<{
          resource?: { attributes?: KeyValue[] };
          scopeSpans?: Array<{ spans?: Array<Omit<ReceivedSpan, 'attributes' | 'serviceName'> & { attributes?: KeyValue[] }> }>;
        }>;
      };
      for (const rs of parsed.resourceSpans ?? []) {
        const serviceName = String(attributesOf(rs.resource?.attributes)['service.name']);
        for (const ss of rs.scopeSpans ?? [])
          for (const s of ss.spans ?? [])
            spans.push({
              traceId: s.traceId,
              spanId: s.spanId,
              ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
              name: s.name,
              kind: s.kind,
              attributes: attributesOf(s.attributes),
              serviceName,
            });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    refused,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
};

/** Polls `check` every 100 ms until it answers a value; throws with `what` after `withinMs`. */
export const until = async <T>(what: string, check: () => T | undefined | Promise<T | undefined>, withinMs = 10_000): Promise<T> => {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${withinMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

export const randomHex = (bytes: number) =>
  Array.from({ length: bytes }, () =>
    Math.floor(Math.random() * 256)
      .toString(16)
      .padStart(2, '0'),
  ).join('');
