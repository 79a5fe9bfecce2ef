import type { ServiceAction, ServiceRegistry } from '../../jobs/services.js';
import { defineOperation, type AnyOperation } from './operation.js';

export type ServiceCatalogDeps = Readonly<{ services: ServiceRegistry }>;

const serviceStatus = {
  type: 'object',
  required: ['name', 'state', 'runs', 'lastRunAt', 'lastError'],
  properties: {
    name: { type: 'string' },
    description: { type: 'string' },
    state: { type: 'string', enum: ['running', 'stopped', 'external'] },
    runs: { type: 'integer' },
    lastRunAt: { type: ['string', 'null'] },
    lastError: { type: ['string', 'null'] },
    details: { type: 'object' },
  },
} as const;

const name = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[a-z_]+$', description: 'Service name (see GET /services)' } as const;

export const serviceOperations = ({ services }: ServiceCatalogDeps): AnyOperation[] => [
  defineOperation<Record<string, never>, unknown>({
    name: 'listServices',
    tool: 'list_services',
    summary: 'Background services (auto_embedding, sync_coordinator, index_optimization, cycle_detection) with their state and queue figures.',
    method: 'get',
    path: '/services',
    capability: 'admin',
    kind: 'query',
    input: { type: 'object', additionalProperties: false, properties: {} },
    output: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: serviceStatus } } },
    run: async () => ({ body: { items: await services.list() } }),
  }),

  defineOperation<{ name: string; action: ServiceAction }, unknown>({
    name: 'controlService',
    tool: 'control_service',
    summary: 'Start, stop or restart one background service on this node.',
    method: 'post',
    path: '/services/:name/:action',
    capability: 'admin',
    kind: 'command',
    input: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'action'],
      properties: { name, action: { type: 'string', enum: ['start', 'stop', 'restart'], description: 'What to do' } },
    },
    output: serviceStatus,
    run: async ({ name: service, action }) => ({ body: await services.act(service, action) }),
  }),
];
