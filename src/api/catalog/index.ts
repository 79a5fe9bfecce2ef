import type { CatalogDeps } from './deps.js';
import type { AnyOperation } from './operation.js';
import { pluginOperations, type PluginCatalogDeps } from './plugins.js';
import { projectOperations } from './projects.js';
import { roleOperations, type RoleCatalogDeps } from './roles.js';
import { taskOperations } from './tasks.js';

export type FullCatalogDeps = CatalogDeps & RoleCatalogDeps & PluginCatalogDeps;

/** Every operation of the product, once. REST routes, OpenAPI, MCP tools and the auth matrix come from here. */
export const buildCatalog = (deps: FullCatalogDeps): AnyOperation[] => [
  ...taskOperations(deps),
  ...projectOperations(deps),
  ...roleOperations(deps),
  ...pluginOperations(deps),
];

export type { AnyOperation, Operation, OperationContext, Capability, Requirement } from './operation.js';
