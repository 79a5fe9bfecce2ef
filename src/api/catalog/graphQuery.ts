import { badRequest, DomainError, unprocessable } from '../../errors.js';
import { GraphQueryError, type GraphQueryParams, type GraphQueryResult } from '../../projections/graph/graphStore.js';
import { refuseUnlessReadOnly } from '../../projections/graph/readOnlyCypher.js';
import * as schemas from './schemas/graphQuery.js';
import { MAX_GRAPH_ROWS } from './schemas/graphQuery.js';
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

type Scalar = string | number | boolean | null;
const isScalar = (value: unknown): value is Scalar => value === null || ['string', 'number', 'boolean'].includes(typeof value);

/**
 * Kuzu types a list by its first member and reads the others as that type, silently (a string after a number
 * becomes '', 2.5 after 1 an integer of its bits): one type per list, nulls aside, whole numbers or fractions.
 */
const kindOf = (v: Scalar) => (typeof v === 'number' ? (Number.isInteger(v) ? 'integer' : 'fraction') : typeof v);
const isList = (value: unknown): boolean =>
  Array.isArray(value) && value.every(isScalar) && new Set(value.filter((v) => v !== null).map(kindOf)).size <= 1;

/** Kuzu binds scalars and lists of them; the schema leaves the values open (it is served to every MCP client), this checks them. */
const checkedParams = (params: Readonly<Record<string, unknown>>): GraphQueryParams => {
  const errors = Object.entries(params)
    .filter(([name, value]) => !/^[A-Za-z_]\w{0,63}$/.test(name) || !(isScalar(value) || isList(value)))
    .map(([name]) => ({
      field: `params.${name}`,
      message:
        'a parameter is named like $name and holds a string, number, boolean, null or a list of one type (strings, whole numbers, fractions or booleans)',
    }));
  if (errors.length > 0) throw new DomainError('VALIDATION_ERROR', 400, `Invalid input: ${errors[0]!.field} ${errors[0]!.message}.`, { errors });
  return params as GraphQueryParams;
};

export const graphQueryOperations = ({ graphQuery }: GraphQueryCatalogDeps): AnyOperation[] => [
  defineOperation({
    name: 'graphQuery',
    tool: 'graph_query',
    summary: 'Read-only Cypher over the graph model; values as $params.',
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
        const answer = await graphQuery.run(cypher, checkedParams(params ?? {}), {
          maxRows: limit ?? MAX_GRAPH_ROWS,
          timeoutMs: graphQuery.timeoutMs,
        });
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
