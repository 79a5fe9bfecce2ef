import type { AdminJobs } from '../../jobs/adminJobs.js';
import * as schemas from './schemas/admin.js';
import { defineOperation, type AnyOperation } from './operation.js';

export type AdminCatalogDeps = Readonly<{ jobs: AdminJobs }>;

/** Administrative work on this node: the jobs that verify and rebuild the read models. */
export const adminOperations = ({ jobs }: AdminCatalogDeps): AnyOperation[] => [
  defineOperation({
    name: 'listAdminJobs',
    tool: 'list_admin_jobs',
    summary: 'Verify and rebuild jobs of this node, newest first (kept in memory until it restarts).',
    method: 'get',
    path: '/admin/jobs',
    capability: 'audit_admin',
    kind: 'query',
    ...schemas.listJobs,
    run: async () => ({ body: { items: jobs.list() } }),
  }),

  defineOperation({
    name: 'getAdminJob',
    tool: 'get_admin_job',
    summary: 'One verify or rebuild job: state, progress (events done, events/s, ETA) and result.',
    method: 'get',
    path: '/admin/jobs/:id',
    capability: 'audit_admin',
    kind: 'query',
    ...schemas.getJob,
    run: async ({ id }) => ({ body: jobs.get(id) }),
  }),
];
