import fs from 'node:fs';
import type { Config } from '../config.js';
import { dataFiles } from './dataFiles.js';

const ACTIONS = ['list', 'start', 'stop', 'restart'] as const;

/**
 * `vespera services [list|start|stop|restart NAME]`: asks the running server (VESPERA_URL, or this
 * config's host and port) with VESPERA_TOKEN or the admin token from the data directory.
 */
export const servicesCommand = async (cfg: Config, action = 'list', name?: string): Promise<number> => {
  if (!(ACTIONS as readonly string[]).includes(action) || (action !== 'list' && !name)) {
    console.error(`usage: vespera services [list | start NAME | stop NAME | restart NAME]`);
    return 2;
  }
  const base = process.env.VESPERA_URL ?? `http://${cfg.host === '0.0.0.0' ? '127.0.0.1' : cfg.host}:${cfg.port}`;
  const tokenFile = dataFiles(cfg.dataDir).adminToken;
  const token = process.env.VESPERA_TOKEN ?? (fs.existsSync(tokenFile) ? fs.readFileSync(tokenFile, 'utf8').trim() : undefined);
  const url = action === 'list' ? `${base}/api/v1/services` : `${base}/api/v1/services/${encodeURIComponent(name!)}/${action}`;
  const response = await fetch(url, { method: action === 'list' ? 'GET' : 'POST', headers: token ? { authorization: `Bearer ${token}` } : {} });
  const body = (await response.json()) as { items?: Array<Record<string, unknown>>; detail?: string };
  if (!response.ok) {
    console.error(`${response.status}: ${body.detail ?? JSON.stringify(body)}`);
    return 1;
  }
  const rows: Array<Record<string, unknown>> = body.items ?? [body as Record<string, unknown>];
  for (const s of rows)
    process.stdout.write(
      `${String(s.name).padEnd(20)} ${String(s.state).padEnd(9)} runs=${String(s.runs)} ${s.lastError ? `error: ${String(s.lastError)}` : ''}\n`,
    );
  return 0;
};
