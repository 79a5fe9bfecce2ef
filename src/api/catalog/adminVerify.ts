import type { AdminJobs, JobBody } from '../../jobs/adminJobs.js';
import * as schemas from './schemas/adminVerify.js';
import { defineOperation, type AnyOperation } from './operation.js';

export type VerifyModelChoice = (typeof schemas.VERIFY_MODELS)[number];

export type AdminVerifyDeps = Readonly<{
  jobs: AdminJobs;
  verifier: Readonly<{
    /** Throws a DomainError when the model cannot be verified on this node (e.g. vectors off). */
    check: (model: VerifyModelChoice) => void;
    /** Rebuilds the chosen models aside and compares them with the live ones; resolves to the report. */
    verifyReadModels: (model: VerifyModelChoice, report: Parameters<JobBody>[0]) => Promise<Record<string, unknown>>;
  }>;
}>;

/** Verifying the read models against the log, as a job of this node. */
export const adminVerifyOperations = ({ jobs, verifier }: AdminVerifyDeps): AnyOperation[] => [
  defineOperation({
    name: 'verifyReadModels',
    tool: 'verify_read_models',
    summary:
      'Start a job that rebuilds each read model aside from the log up to its checkpoint and compares it with the live one; follow it with get_admin_job (its result is the report).',
    method: 'get',
    path: '/admin/verify',
    capability: 'audit_admin',
    kind: 'query',
    successStatus: 202,
    ...schemas.verify,
    run: async ({ model }, ctx) => {
      verifier.check(model);
      return { body: jobs.start('verify', { model }, ctx.actor, (report) => verifier.verifyReadModels(model, report)) };
    },
  }),
];
