import type { AdminJobs, JobBody } from '../../jobs/adminJobs.js';
import * as schemas from './schemas/adminRebuild.js';
import { defineOperation, type AnyOperation } from './operation.js';

export type RebuildCatalogDeps = Readonly<{
  jobs: AdminJobs;
  /** The blue-green rebuild of `model` as a job body (the wiring refuses a model this node does not run). */
  rebuildReadModels: (model: schemas.ReadModelChoice) => Promise<JobBody>;
}>;

/** Blue-green rebuilds of the read models of a running node, as jobs followed through `GET /admin/jobs/:id`. */
export const adminRebuildOperations = ({ jobs, rebuildReadModels }: RebuildCatalogDeps): AnyOperation[] => [
  defineOperation({
    name: 'rebuildReadModel',
    tool: 'rebuild_read_model',
    summary: 'Rebuild a read model beside the live one (which keeps answering), then swap; 202 with the job.',
    method: 'post',
    path: '/admin/rebuild',
    capability: 'audit_admin',
    kind: 'command',
    position: false,
    successStatus: 202,
    ...schemas.rebuild,
    run: async ({ model }, ctx) => {
      const body = await rebuildReadModels(model);
      return { body: jobs.start('rebuild', { model }, ctx.actor, body) };
    },
  }),
];
