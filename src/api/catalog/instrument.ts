import { DomainError } from '../../errors.js';
import type { Metrics } from '../metrics.js';
import type { AnyOperation } from './operation.js';

/** Wraps an operation so every surface records its latency and refusals the same way. */
export const instrument = (operation: AnyOperation, metrics: Metrics): AnyOperation => ({
  ...operation,
  run: async (input, ctx) => {
    const started = process.hrtime.bigint();
    const surface = ctx.tool.split(':')[0] ?? ctx.tool;
    try {
      const result = await operation.run(input, ctx);
      metrics.observe(operation.name, surface, Number(process.hrtime.bigint() - started) / 1e9);
      return result;
    } catch (error) {
      const code = error instanceof DomainError ? error.code : 'INTERNAL_ERROR';
      metrics.observe(operation.name, surface, Number(process.hrtime.bigint() - started) / 1e9, code);
      throw error;
    }
  },
});
