import { randomUUID } from 'node:crypto';
import { DomainError } from '../errors.js';

/** Long administrative work started over the API (verify, rebuild), followed through `GET /admin/jobs/:id`. */
export type AdminJobKind = 'verify' | 'rebuild';
export type AdminJobState = 'running' | 'succeeded' | 'failed';

export type AdminJobProgress = Readonly<{
  /** Events applied so far. */
  eventsDone: number;
  /** Events to apply in all (the log's head when the job started, plus what arrived since). */
  eventsTotal: number;
  eventsPerSecond: number;
  /** Seconds left at the current rate; null until there is a rate. */
  etaSeconds: number | null;
  /** What the job is doing now, e.g. `sqlite: building aside`. */
  phase: string;
}>;

export type AdminJob = Readonly<{
  id: string;
  kind: AdminJobKind;
  state: AdminJobState;
  /** What was asked, e.g. `{ model: 'sqlite' }`. */
  request: Readonly<Record<string, unknown>>;
  startedBy: string;
  startedAt: string;
  finishedAt: string | null;
  progress: AdminJobProgress;
  result: Readonly<Record<string, unknown>> | null;
  error: string | null;
}>;

/** What a running job reports: phase and counts; the registry works out the rate and the ETA. */
export type ProgressReport = Readonly<{ phase: string; eventsDone: number; eventsTotal: number }>;
/** `signal` aborts when the server stops: a long job gives up instead of holding the shutdown. */
export type JobBody = (report: (progress: ProgressReport) => void, signal: AbortSignal) => Promise<Record<string, unknown>>;

type Entry = { job: AdminJob; startedMs: number; abort: AbortController };

/**
 * The jobs of this process, newest kept: at most `keep` finished jobs are remembered. One job of a kind runs at
 * a time (a second rebuild while one runs would race it), so `start` refuses with 409 `JOB_RUNNING`.
 */
export class AdminJobs {
  private readonly jobs = new Map<string, Entry>();

  constructor(
    private readonly keep = 50,
    private readonly now: () => Date = () => new Date(),
  ) {}

  start(kind: AdminJobKind, request: Record<string, unknown>, startedBy: string, body: JobBody): AdminJob {
    const running = [...this.jobs.values()].find((e) => e.job.kind === kind && e.job.state === 'running');
    if (running) {
      throw new DomainError('JOB_RUNNING', 409, `A ${kind} job is already running (${running.job.id}); wait for it to finish.`, {
        jobId: running.job.id,
      });
    }
    const started = this.now();
    const entry: Entry = {
      startedMs: started.getTime(),
      abort: new AbortController(),
      job: {
        id: randomUUID(),
        kind,
        state: 'running',
        request,
        startedBy,
        startedAt: started.toISOString(),
        finishedAt: null,
        progress: { eventsDone: 0, eventsTotal: 0, eventsPerSecond: 0, etaSeconds: null, phase: 'starting' },
        result: null,
        error: null,
      },
    };
    this.jobs.set(entry.job.id, entry);
    this.prune();
    const report = (progress: ProgressReport) => {
      const seconds = Math.max((this.now().getTime() - entry.startedMs) / 1000, 1e-3);
      const eventsPerSecond = Math.round(progress.eventsDone / seconds);
      const left = Math.max(0, progress.eventsTotal - progress.eventsDone);
      entry.job = {
        ...entry.job,
        progress: { ...progress, eventsPerSecond, etaSeconds: eventsPerSecond > 0 ? Math.round(left / eventsPerSecond) : null },
      };
    };
    body(report, entry.abort.signal).then(
      (result) => this.finish(entry, 'succeeded', result, null),
      (error: unknown) => this.finish(entry, 'failed', null, error instanceof Error ? error.message : String(error)),
    );
    return entry.job;
  }

  get(id: string): AdminJob {
    const entry = this.jobs.get(id);
    if (!entry) throw new DomainError('JOB_NOT_FOUND', 404, `No job ${id} on this node (jobs are kept in memory until the server restarts).`, { id });
    return entry.job;
  }

  list(): AdminJob[] {
    return [...this.jobs.values()].map((e) => e.job).reverse();
  }

  /** Asks every running job to stop (server shutdown); `idle()` then waits for them. */
  abortAll(): void {
    for (const entry of this.jobs.values()) if (entry.job.state === 'running') entry.abort.abort();
  }

  /** Resolves once no job runs (for shutdown and for specs). */
  async idle(): Promise<void> {
    while ([...this.jobs.values()].some((e) => e.job.state === 'running')) await new Promise((r) => setTimeout(r, 20));
  }

  private finish(entry: Entry, state: AdminJobState, result: Record<string, unknown> | null, error: string | null): void {
    entry.job = { ...entry.job, state, result, error, finishedAt: this.now().toISOString() };
  }

  private prune(): void {
    const finished = [...this.jobs.values()].filter((e) => e.job.state !== 'running');
    for (const entry of finished.slice(0, Math.max(0, finished.length - this.keep))) this.jobs.delete(entry.job.id);
  }
}
