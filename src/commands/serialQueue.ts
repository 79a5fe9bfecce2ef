/**
 * Runs batches one after another: items pushed while a batch runs form the next batch. The worker
 * answers each item with a result or an Error of its own; a thrown error fails the whole batch.
 */
export class SerialQueue<I, O> {
  private waiting: Array<{ item: I; resolve: (o: O) => void; reject: (e: unknown) => void }> = [];
  private running = false;

  constructor(
    private readonly worker: (items: readonly I[]) => Promise<ReadonlyArray<O | Error>>,
    private readonly maxBatch = 256,
  ) {}

  push(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      if (!this.running) void this.drain();
    });
  }

  get size(): number {
    return this.waiting.length;
  }

  private async drain(): Promise<void> {
    this.running = true;
    while (this.waiting.length > 0) {
      const batch = this.waiting.splice(0, this.maxBatch);
      try {
        const outcomes = await this.worker(batch.map((w) => w.item));
        batch.forEach((w, i) => {
          const outcome = outcomes[i];
          if (outcome instanceof Error) w.reject(outcome);
          else w.resolve(outcome as O);
        });
      } catch (error) {
        for (const w of batch) w.reject(error);
      }
    }
    this.running = false;
  }
}
