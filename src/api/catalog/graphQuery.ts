import { badRequest, DomainError, unprocessable } from '../../errors.js';
import { GraphQueryError, type GraphQueryParams, type GraphQueryResult } from '../../projections/graph/graphStore.js';
import { refuseUnlessReadOnly } from '../../projections/graph/readOnlyCypher.js';
import * as schemas from './schemas/graphQuery.js';
import { defineOperation, type AnyOperation } from './operation.js';

export type GraphQueryCatalogDeps = Readonly<{
  graphQuery: Readonly<{
    /** The rows, and the log position the graph model had applied when it answered. */
    run: (
      cypher: string,
      params: GraphQueryParams,
      limits: { maxRows: number; timeoutMs: number },
    ) => Promise<GraphQueryResult & { position: number }>;
    /** Resolves once the graph model has applied `position` (bounded wait). */
    waitFor: (position: number) => Promise<void>;
    timeoutMs: number;
  }>;
}>;

export const graphQueryOperations = ({ graphQuery }: GraphQueryCatalogDeps): AnyOperation[] => [
  defineOperation({
    name: 'graphQuery',
    tool: 'graph_query',
    summary: 'Read-only, parameterised Cypher over the graph model (tasks, DEPENDS_ON, CHILD_OF): at most 1,000 rows, a few seconds.',
    description:
      'Writes, settings, file access and procedures other than show_tables/table_info are refused (400 GRAPH_QUERY_REFUSED) before Kuzu sees the ' +
      'query; what Kuzu cannot run is 400 GRAPH_QUERY_INVALID with its message; a query past the timeout is 422 GRAPH_QUERY_TIMEOUT. ' +
      'Schema and examples: docs/graph.md.',
    method: 'post',
    path: '/graph/query',
    capability: 'graph_query',
    kind: 'query',
    ...schemas.graphQuery,
    run: async ({ cypher, params, limit, minPosition }) => {
      const refusal = refuseUnlessReadOnly(cypher);
      if (refusal) throw badRequest('GRAPH_QUERY_REFUSED', refusal.reason, { at: refusal.at, ...(refusal.clause ? { clause: refusal.clause } : {}) });
      if (minPosition !== undefined) await graphQuery.waitFor(minPosition);
      try {
        const answer = await graphQuery.run(cypher, params ?? {}, { maxRows: limit, timeoutMs: graphQuery.timeoutMs });
        return { body: { ...answer, count: answer.rows.length } };
      } catch (error) {
        if (!(error instanceof GraphQueryError)) throw error;
        if (error.code === 'GRAPH_QUERY_TIMEOUT') {
          throw unprocessable(
            error.code,
            error.message,
            { timeoutMs: graphQuery.timeoutMs },
            'Narrow the query: anchor it on a task id or a project, bound path lengths.',
          );
        }
        throw new DomainError(
          error.code,
          400,
          `Kuzu could not run the query: ${error.message}`,
          {},
          'Fix the Cypher as the message says; docs/graph.md lists the tables.',
        );
      }
    },
  }),
];
