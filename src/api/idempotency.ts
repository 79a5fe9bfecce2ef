import { createHash } from 'node:crypto';
import fs from 'node:fs';
import Database from 'better-sqlite3';
import { v5 as uuidv5 } from 'uuid';
import { DomainError } from '../errors.js';
import { canonicalJson } from '../util/canonical.js';

/** What an idempotency key may be, on every surface: REST's `Idempotency-Key` header and MCP's `idempotencyKey` argument. */
export const IDEMPOTENCY_KEY = /^[A-Za-z0-9_.:-]{8,128}$/;

/** The key a request sent under `name`, checked once for both surfaces; undefined when it sent none. */
export const checkedIdempotencyKey = (key: unknown, name: string): string | undefined => {
  if (key === undefined) return undefined;
  if (typeof key !== 'string' || !IDEMPOTENCY_KEY.test(key)) {
    throw new DomainError(
      'INVALID_IDEMPOTENCY_KEY',
      400,
      `${name} must be 8–128 characters of letters, digits, _ . : -.`,
      { field: name },
      'Send a fresh UUID as the key of each new request, and the same key again only to retry it.',
    );
  }
  return key;
};

const COMMAND_ID_NAMESPACE = '0f4a8f52-3f0e-4b8e-9d55-2b7a1c9e6d31';
const PURGE_EVERY_MS = 60_000;

/** What makes two requests "the same": the operation, every argument, and the version it was conditioned on. */
export const requestHash = (operation: string, args: unknown, expectedVersion?: number): string =>
  createHash('sha256')
    .update(canonicalJson({ operation, args, expectedVersion: expectedVersion ?? null }))
    .digest('base64url');

type KeyRow = { operation: string; request_hash: string; created_at: number };

/**
 * Idempotency keys, scoped to the caller that sent them and remembered on disk for `retentionHours`.
 * A key names one request: the same key with the same request maps to the same command id (the handler
 * then replays the first outcome); with another request it is refused. Another caller's identical key
 * is a different key. A key is taken before the command runs, so two racing requests cannot both win.
 */
export class IdempotencyKeys {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement<[string, string, string, string, number]>;
  private readonly select: Database.Statement<[string, string], KeyRow>;
  private readonly replace: Database.Statement<[string, string, number, string, string]>;
  private readonly purge: Database.Statement<[number]>;
  private lastPurge = 0;

  constructor(
    file: string,
    private readonly options: { retentionHours: number; synchronous: 'full' | 'normal'; nowMs?: () => number },
  ) {
    this.db = new Database(file);
    fs.chmodSync(file, 0o600);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
    this.db.exec(`CREATE TABLE IF NOT EXISTS idempotency_keys (
      scope TEXT NOT NULL, key TEXT NOT NULL, operation TEXT NOT NULL, request_hash TEXT NOT NULL, created_at INTEGER NOT NULL,
      PRIMARY KEY (scope, key)) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS idempotency_keys_created ON idempotency_keys (created_at);`);
    this.insert = this.db.prepare(
      'INSERT INTO idempotency_keys (scope, key, operation, request_hash, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
    );
    this.select = this.db.prepare('SELECT operation, request_hash, created_at FROM idempotency_keys WHERE scope = ? AND key = ?');
    this.replace = this.db.prepare('UPDATE idempotency_keys SET operation = ?, request_hash = ?, created_at = ? WHERE scope = ? AND key = ?');
    this.purge = this.db.prepare('DELETE FROM idempotency_keys WHERE created_at < ?');
  }

  private now(): number {
    return this.options.nowMs?.() ?? Date.now();
  }

  /** The command id for this caller's key, or 422 IDEMPOTENCY_KEY_REUSED when the key already named another request. */
  commandIdFor(scope: string, key: string, operation: string, hash: string): string {
    const now = this.now();
    const oldest = now - this.options.retentionHours * 3_600_000;
    if (now - this.lastPurge > PURGE_EVERY_MS) {
      this.purge.run(oldest);
      this.lastPurge = now;
    }
    const inserted = this.insert.run(scope, key, operation, hash, now).changes === 1;
    if (!inserted) {
      const row = this.select.get(scope, key)!;
      if (row.created_at < oldest) this.replace.run(operation, hash, now, scope, key);
      else if (row.request_hash !== hash) {
        throw new DomainError(
          'IDEMPOTENCY_KEY_REUSED',
          422,
          `Idempotency-Key ${key} was already used for another request (${row.operation}) at ${new Date(row.created_at).toISOString()}.`,
          { key, operation: row.operation, firstUsedAt: new Date(row.created_at).toISOString() },
          'Use a new Idempotency-Key for every distinct request; resend the same key only with the same request.',
        );
      }
    }
    return uuidv5(`${scope}\n${key}`, COMMAND_ID_NAMESPACE);
  }

  close(): void {
    this.db.close();
  }
}
