import { createHash, hash } from 'node:crypto';
import fs from 'node:fs';
import readline from 'node:readline';
import { DomainError } from '../errors.js';

/**
 * The backup file: NDJSON, one line per event in position order, then one trailer line.
 *   {"sha256":"<hex of the event JSON>","event":{"position":…,"id":…,"streamId":…,"revision":…,"type":…,"data":…,"metadata":…,"recordedAt":…}}
 *   {"trailer":{"format":"vespera-backup/1","count":…,"lastPosition":…,"sha256":"<hex of every event line, newlines included>","createdAt":…}}
 * The checksum covers the exact bytes of `event` as written, so checking it needs no canonical re-serialisation.
 */
export const BACKUP_FORMAT = 'vespera-backup/1';
const PREFIX = '{"sha256":"';
const MIDDLE = '","event":';
const EVENT_AT = PREFIX.length + 64 + MIDDLE.length;

/** An event as a backup line holds it; `data` and `metadata` are JSON text, written as they are stored. */
export type BackupRow = Readonly<{
  position: number;
  id: string;
  streamId: string;
  revision: number;
  type: string;
  data: string;
  metadata: string;
  recordedAt: string;
}>;

export type Trailer = Readonly<{ format: string; count: number; lastPosition: number; sha256: string; createdAt: string }>;

export type BackupSummary = Readonly<{ file: string; count: number; lastPosition: number; sha256: string; bytes: number; seconds: number }>;

const sha256 = (text: string) => hash('sha256', text, 'hex');
/** Stored JSON is single-line already (JSON.stringify); anything else is re-serialised so a line stays one line. */
const oneLine = (json: string) => (json.includes('\n') || json.includes('\r') ? JSON.stringify(JSON.parse(json)) : json);

export const eventLine = (row: BackupRow): string => {
  const event = `{"position":${row.position},"id":${JSON.stringify(row.id)},"streamId":${JSON.stringify(row.streamId)},"revision":${row.revision},"type":${JSON.stringify(row.type)},"data":${oneLine(row.data)},"metadata":${oneLine(row.metadata)},"recordedAt":${JSON.stringify(row.recordedAt)}}`;
  return `${PREFIX}${sha256(event)}${MIDDLE}${event}}\n`;
};

/**
 * Writes `FILE.tmp` line by line, then fsyncs and renames it to FILE, so FILE is either absent or whole.
 * `write` awaits the disk, so a server in the same process keeps appending while a backup runs.
 */
export class BackupWriter {
  private readonly whole = createHash('sha256');
  private chunk: string[] = [];
  private chunkLength = 0;
  private count = 0;
  private lastPosition = 0;
  private bytes = 0;
  private readonly started = process.hrtime.bigint();

  private constructor(
    private readonly file: string,
    private readonly handle: fs.promises.FileHandle,
  ) {}

  static async open(file: string): Promise<BackupWriter> {
    return new BackupWriter(file, await fs.promises.open(`${file}.tmp`, 'w', 0o600));
  }

  async write(rows: readonly BackupRow[]): Promise<void> {
    for (const row of rows) {
      if (row.position <= this.lastPosition) throw new Error(`backup rows out of order at position ${row.position}`);
      const line = eventLine(row);
      this.whole.update(line);
      this.chunk.push(line);
      this.chunkLength += line.length;
      this.count += 1;
      this.lastPosition = row.position;
    }
    if (this.chunkLength > 1 << 20) await this.flush();
  }

  async finish(createdAt = new Date().toISOString()): Promise<BackupSummary> {
    const trailer: Trailer = {
      format: BACKUP_FORMAT,
      count: this.count,
      lastPosition: this.lastPosition,
      sha256: this.whole.digest('hex'),
      createdAt,
    };
    this.chunk.push(`${JSON.stringify({ trailer })}\n`);
    await this.flush();
    await this.handle.sync();
    await this.handle.close();
    await fs.promises.rename(`${this.file}.tmp`, this.file);
    const seconds = Number(process.hrtime.bigint() - this.started) / 1e9;
    return { file: this.file, count: this.count, lastPosition: this.lastPosition, sha256: trailer.sha256, bytes: this.bytes, seconds };
  }

  /** Gives up: the partial `.tmp` goes, FILE is untouched. */
  async abort(): Promise<void> {
    await this.handle.close().catch(() => undefined);
    await fs.promises.rm(`${this.file}.tmp`, { force: true });
  }

  private async flush(): Promise<void> {
    const text = this.chunk.join('');
    this.chunk = [];
    this.chunkLength = 0;
    const buffer = Buffer.from(text);
    this.bytes += buffer.length;
    await this.handle.write(buffer);
  }
}

/** A backup that cannot be restored: the line that is wrong and why. */
export const badBackup = (file: string, line: number | null, reason: string) =>
  new DomainError(
    'BACKUP_INVALID',
    422,
    line === null ? `${file}: ${reason}` : `${file}, line ${line}: ${reason}`,
    { file, line },
    'Nothing was written. Restore from another copy of the backup.',
  );

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const isText = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const isObject = (v: unknown): v is object => typeof v === 'object' && v !== null && !Array.isArray(v);

/** One event line, checked: its checksum, its shape, and that it follows the previous line (position, stream revision). */
const parseEventLine = (line: string, n: number, file: string, last: { position: number; revisions: Map<string, number> }): BackupRow => {
  if (line.length <= EVENT_AT || !line.startsWith(PREFIX) || line.slice(EVENT_AT - MIDDLE.length, EVENT_AT) !== MIDDLE || !line.endsWith('}')) {
    throw badBackup(file, n, 'not an event line of a Vespera backup.');
  }
  const json = line.slice(EVENT_AT, -1);
  if (sha256(json) !== line.slice(PREFIX.length, PREFIX.length + 64))
    throw badBackup(file, n, 'its checksum does not match its content (the file is damaged).');
  let event: Record<string, unknown>;
  try {
    event = JSON.parse(json) as Record<string, unknown>;
  } catch {
    throw badBackup(file, n, 'its event is not valid JSON.');
  }
  const { position, id, streamId, revision, type, data, metadata, recordedAt } = event;
  if (
    !isInt(position) ||
    !isText(id) ||
    !isText(streamId) ||
    !isInt(revision) ||
    !isText(type) ||
    !isObject(data) ||
    !isObject(metadata) ||
    !isText(recordedAt)
  ) {
    throw badBackup(file, n, 'its event lacks a field or has one of the wrong type.');
  }
  if (position <= last.position) throw badBackup(file, n, `position ${position} does not follow position ${last.position}.`);
  const expected = (last.revisions.get(streamId) ?? -1) + 1;
  if (revision !== expected) throw badBackup(file, n, `stream ${streamId} jumps to revision ${revision} where ${expected} was due.`);
  last.position = position;
  last.revisions.set(streamId, revision);
  return { position, id, streamId, revision, type, data: JSON.stringify(data), metadata: JSON.stringify(metadata), recordedAt };
};

const parseTrailer = (line: string, n: number, file: string): Trailer => {
  let trailer: Partial<Trailer> | undefined;
  try {
    trailer = (JSON.parse(line) as { trailer?: Partial<Trailer> }).trailer;
  } catch {
    // refused below
  }
  if (!trailer || !isInt(trailer.count) || !isInt(trailer.lastPosition) || !isText(trailer.sha256) || !isText(trailer.createdAt)) {
    throw badBackup(file, n, 'the trailer is damaged.');
  }
  if (trailer.format !== BACKUP_FORMAT) throw badBackup(file, n, `format ${String(trailer.format)} is not ${BACKUP_FORMAT}.`);
  return trailer as Trailer;
};

/**
 * Reads a backup start to end, checking every line and the trailer; hands checked rows to `onRows` in batches.
 * With `onRows` absent it only verifies. Throws BACKUP_INVALID at the first bad line.
 */
export const readBackup = async (
  file: string,
  onRows: (rows: BackupRow[], progress: Readonly<{ done: number; total: number }>) => void | Promise<void> = () => {},
  batchSize = 10_000,
): Promise<Trailer> => {
  if (!fs.existsSync(file)) throw new DomainError('BACKUP_NOT_FOUND', 404, `There is no backup file at ${file}.`, { file });
  const size = fs.statSync(file).size;
  let read = 0;
  /** The trailer comes last, so the total is estimated from the bytes read so far. */
  const progress = (done: number) => ({ done, total: Math.max(done, Math.round((done * size) / Math.max(1, read))) });
  const lines = readline.createInterface({ input: fs.createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 }), crlfDelay: Infinity });
  const whole = createHash('sha256');
  const last = { position: 0, revisions: new Map<string, number>() };
  let batch: BackupRow[] = [];
  let trailer: Trailer | undefined;
  let n = 0;
  for await (const line of lines) {
    n += 1;
    if (trailer) throw badBackup(file, n, 'there is more after the trailer.');
    if (line.startsWith('{"trailer"')) {
      trailer = parseTrailer(line, n, file);
      continue;
    }
    batch.push(parseEventLine(line, n, file, last));
    whole.update(line).update('\n');
    read += line.length + 1;
    if (batch.length >= batchSize) {
      await onRows(batch, progress(n));
      batch = [];
    }
  }
  if (batch.length > 0) await onRows(batch, progress(n - (trailer ? 1 : 0)));
  const events = n - (trailer ? 1 : 0);
  if (!trailer) throw badBackup(file, null, `it ends after ${events} events without its trailer: the file is truncated.`);
  if (trailer.count !== events)
    throw badBackup(file, n, `the trailer counts ${trailer.count} events but the file holds ${events}: the file is truncated or spliced.`);
  if (trailer.lastPosition !== last.position)
    throw badBackup(file, n, `the trailer ends at position ${trailer.lastPosition} but the last event is at ${last.position}.`);
  if (trailer.sha256 !== whole.digest('hex')) throw badBackup(file, n, 'the checksum of the whole file does not match the trailer.');
  return trailer;
};
