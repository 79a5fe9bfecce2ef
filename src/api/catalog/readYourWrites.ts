import type { AnyOperation } from './operation.js';

/**
 * Read-your-writes for every surface in one place: a query given a minimum log position (`minPosition`
 * argument or `X-Vespera-Min-Position`) waits, bounded, until the read model has applied it.
 */
export const readYourWrites = (operation: AnyOperation, waitForReadModel: (position: number) => Promise<void>): AnyOperation =>
  operation.kind !== 'query'
    ? operation
    : {
        ...operation,
        run: async (input, ctx) => {
          const minPosition = ctx.minPosition ?? (input as { minPosition?: unknown }).minPosition;
          if (typeof minPosition === 'number') await waitForReadModel(minPosition);
          return operation.run(input, ctx);
        },
      };
