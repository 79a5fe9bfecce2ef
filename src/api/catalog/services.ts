import type { ServiceRegistry } from '../../jobs/services.js';
import * as schemas from './schemas/services.js';
import { defineOperation, type AnyOperation } from './operation.js';

export type ServiceCatalogDeps = Readonly<{ services: ServiceRegistry }>;

export const serviceOperations = ({ services }: ServiceCatalogDeps): AnyOperation[] => [
  defineOperation({
    name: 'listServices',
    tool: 'list_services',
    summary: 'Background services (auto_embedding, sync_coordinator, index_optimization, cycle_detection) with their state and queue figures.',
    method: 'get',
    path: '/services',
    capability: 'admin',
    kind: 'query',
    ...schemas.listServices,
    run: async () => ({ body: { items: await services.list() } }),
  }),

  defineOperation({
    name: 'controlService',
    tool: 'control_service',
    summary: 'Start, stop or restart one background service on this node.',
    method: 'post',
    path: '/services/:name/:action',
    capability: 'admin',
    kind: 'command',
    position: false,
    ...schemas.controlService,
    run: async ({ name: service, action }) => ({ body: await services.act(service, action) }),
  }),
];
