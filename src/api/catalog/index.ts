import { adminOperations, type AdminCatalogDeps } from './admin.js';
import { adminVerifyOperations, type AdminVerifyDeps } from './adminVerify.js';
import { adminRebuildOperations, type RebuildCatalogDeps } from './adminRebuild.js';
import { auditLogOperations, type AuditLogCatalogDeps } from './auditLog.js';
import { analyticsOperations, type AnalyticsCatalogDeps } from './analytics.js';
import { auditStateOperations, type AuditStateCatalogDeps } from './auditState.js';
import type { CatalogDeps } from './deps.js';
import type { AnyOperation } from './operation.js';
import { graphQueryOperations, type GraphQueryCatalogDeps } from './graphQuery.js';
import { interchangeOperations } from './interchange.js';
import { orchestrationOperations, type OrchestrationDeps } from './orchestration.js';
import { pictureOperations, type PictureCatalogDeps } from './pictures.js';
import { projectHealthOperations, type ProjectHealthCatalogDeps } from './projectHealth.js';
import { pluginOperations, type PluginCatalogDeps } from './plugins.js';
import { projectOperations } from './projects.js';
import { roleOperations, type RoleCatalogDeps } from './roles.js';
import { searchOperations, type SearchCatalogDeps } from './search.js';
import { serviceOperations, type ServiceCatalogDeps } from './services.js';
import { taskOperations } from './tasks.js';

export type FullCatalogDeps = CatalogDeps &
  RoleCatalogDeps &
  PluginCatalogDeps &
  OrchestrationDeps &
  AnalyticsCatalogDeps &
  PictureCatalogDeps &
  GraphQueryCatalogDeps &
  ProjectHealthCatalogDeps &
  SearchCatalogDeps &
  ServiceCatalogDeps &
  AdminCatalogDeps &
  AuditStateCatalogDeps &
  AdminVerifyDeps &
  RebuildCatalogDeps &
  AuditLogCatalogDeps;

/** Every operation of the product, once. REST routes, OpenAPI, MCP tools and the auth matrix come from here. */
export const buildCatalog = (deps: FullCatalogDeps): AnyOperation[] => [
  ...taskOperations(deps),
  ...orchestrationOperations(deps),
  ...analyticsOperations(deps),
  ...pictureOperations(deps),
  ...graphQueryOperations(deps),
  ...projectHealthOperations(deps),
  ...projectOperations(deps),
  ...interchangeOperations(deps),
  ...roleOperations(deps),
  ...pluginOperations(deps),
  ...searchOperations(deps),
  ...serviceOperations(deps),
  ...adminOperations(deps),
  ...auditStateOperations(deps),
  ...adminVerifyOperations(deps),
  ...adminRebuildOperations(deps),
  ...auditLogOperations(deps),
];

export type { AnyOperation } from './operation.js';
