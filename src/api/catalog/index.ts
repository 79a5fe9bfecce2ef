import type { CatalogDeps } from './deps.js';
import type { AnyOperation } from './operation.js';
import { projectOperations } from './projects.js';
import { taskOperations } from './tasks.js';

/** Every operation of the product, once. REST routes, OpenAPI, MCP tools and the auth matrix come from here. */
export const buildCatalog = (deps: CatalogDeps): AnyOperation[] => [...taskOperations(deps), ...projectOperations(deps)];

export type { AnyOperation, Operation, OperationContext, Capability } from './operation.js';
