import { DomainError } from '../errors.js';

export type ServiceState = 'running' | 'stopped' | 'external';

export type ServiceStatus = {
  name: string;
  description: string;
  state: ServiceState;
  runs: number;
  lastRunAt: string | null;
  lastError: string | null;
  details?: Record<string, unknown>;
};

export interface Service {
  readonly name: string;
  readonly description: string;
  status(): Promise<ServiceStatus>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** A job run on a fixed interval while the service is started; a run never overlaps the previous one. */
export class ScheduledService implements Service {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private busy = false;
  private runs = 0;
  private lastRunAt: string | null = null;
  private lastError: string | null = null;
  private lastResult: Record<string, unknown> | undefined;

  constructor(
    readonly name: string,
    readonly description: string,
    private readonly intervalMs: number,
    private readonly job: () => Promise<Record<string, unknown> | void>,
    private readonly state: () => ServiceState = () => (this.running ? 'running' : 'stopped'),
  ) {}

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.timer = setInterval(() => void this.runOnce(), this.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.running = false;
    clearInterval(this.timer);
  }

  /** One run now (also what the timer calls). */
  async runOnce(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      this.lastResult = (await this.job()) ?? undefined;
      this.lastError = null;
    } catch (error) {
      this.lastError = (error as Error).message;
    } finally {
      this.runs += 1;
      this.lastRunAt = new Date().toISOString();
      this.busy = false;
    }
  }

  async status(): Promise<ServiceStatus> {
    return {
      name: this.name,
      description: this.description,
      state: this.state(),
      runs: this.runs,
      lastRunAt: this.lastRunAt,
      lastError: this.lastError,
      details: { intervalMs: this.intervalMs, ...(this.lastResult ? { lastResult: this.lastResult } : {}) },
    };
  }
}

export type ServiceAction = 'start' | 'stop' | 'restart';

/** The named background services, for /api/v1/services, `vespera services` and /health. */
export class ServiceRegistry {
  private readonly services = new Map<string, Service>();

  add(service: Service): void {
    this.services.set(service.name, service);
  }

  get(name: string): Service {
    const service = this.services.get(name);
    if (!service) {
      throw new DomainError('SERVICE_NOT_FOUND', 404, `There is no service ${name}.`, { name, services: [...this.services.keys()] });
    }
    return service;
  }

  list(): Promise<ServiceStatus[]> {
    return Promise.all([...this.services.values()].map((s) => s.status()));
  }

  async act(name: string, action: ServiceAction): Promise<ServiceStatus> {
    const service = this.get(name);
    if (action !== 'start') await service.stop();
    if (action !== 'stop') await service.start();
    return service.status();
  }

  async startAll(): Promise<void> {
    for (const service of this.services.values()) await service.start();
  }

  async stopAll(): Promise<void> {
    for (const service of this.services.values()) await service.stop();
  }
}
