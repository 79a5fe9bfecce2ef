/**
 * The one rule set for "ready": the Project decider (claim_next_task) and the read side (`GET /tasks/ready`) both
 * decide with these functions, so the two can never disagree. Each side gathers the facts from its own state.
 */

/** Statuses a task is done in: a child in one of them no longer holds its parent back. */
export const CLOSED_STATUSES: ReadonlySet<string> = new Set(['completed', 'cancelled']);

export const isOpenStatus = (status: string): boolean => !CLOSED_STATUSES.has(status);

export type ReadinessFacts = Readonly<{
  status: string;
  /** Hard dependencies not yet completed. */
  openHardDependencies: number;
  /** Children neither completed nor cancelled: a parent is finished by its children first. */
  openChildren: number;
  /** In progress under a lease that has run out (claimable again before the sweeper returns it). */
  leaseLapsed?: boolean;
}>;

/** Pending (or lease-lapsed), every hard dependency completed, no open child. */
export const isReady = (facts: ReadinessFacts): boolean =>
  (facts.status === 'pending' || (facts.status === 'in_progress' && facts.leaseLapsed === true)) &&
  facts.openHardDependencies === 0 &&
  facts.openChildren === 0;

/**
 * Whether an agent acting as `role` may take a task: assigned to that role, or unassigned and fitting it
 * (`fits` is asked only for unassigned tasks: capabilities, file patterns, depth — never the workload).
 */
export const isForRole = (taskRole: string | null, role: string, fits: () => boolean): boolean => (taskRole === null ? fits() : taskRole === role);
