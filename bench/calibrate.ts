/**
 * The machine's speed today, for comparing bench figures across days: a fixed piece of single-threaded work
 * (integer arithmetic, then JSON written and read back, the shape of an event batch), best of 3, in ms. The shared
 * 2-core machine's speed has varied by close to 2× between days with the load average near 0 (bench `audit`'s
 * rebuild of the same log: 52,600–56,354 events/s on 2026-12-03, 26,761–27,979 on 2026-12-07, the same code),
 * so figures of two days compare only through this number.
 */
export const calibrate = (): number => {
  const runs: number[] = [];
  const events = JSON.stringify(
    Array.from({ length: 50_000 }, (_, i) => ({ position: i, type: 'TaskCreated', data: { taskId: `t-${i}`, tags: ['a', 'b'] } })),
  );
  for (let r = 0; r < 3; r++) {
    const started = performance.now();
    let x = 0;
    for (let i = 0; i < 50_000_000; i++) x = (x + i * 7) % 1_000_003;
    let n = x;
    for (let k = 0; k < 10; k++) n += (JSON.parse(events) as unknown[]).length;
    if (n < 0) throw new Error('unreachable');
    runs.push(performance.now() - started);
  }
  return Math.round(Math.min(...runs));
};
