import { expect } from 'chai';
import { RoleWorkload } from '../../../src/commands/roles/workload.js';

/** The per-node workload ledger: projected count plus claims decided but not yet projected. */
describe('RoleWorkload', () => {
  const ledger = () => {
    const projectedCount = new Map<string, number>();
    const waiting: Array<{ position: number; resolve: () => void }> = [];
    const workload = new RoleWorkload(
      (role) => projectedCount.get(role) ?? 0,
      (position) => new Promise<void>((resolve) => waiting.push({ position, resolve })),
    );
    /** The read model projects everything up to `position`, counting `n` more tasks for `role`. */
    const project = async (role: string, n: number) => {
      projectedCount.set(role, (projectedCount.get(role) ?? 0) + n);
      for (const w of waiting.splice(0)) w.resolve();
      await new Promise((r) => setImmediate(r));
    };
    return { workload, project };
  };
  const claimed = (position: number) => ({ position, events: [{}] });

  describe('when claims for one role are decided concurrently', () => {
    it('shows each decision the slots taken by the ones before it', async () => {
      const { workload } = ledger();
      const seen: number[] = [];
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      const runs = [0, 1, 2].map((i) =>
        workload.withSlot('coder', async (inProgress) => {
          seen.push(inProgress);
          await gate;
          return claimed(i + 1);
        }),
      );
      expect(workload.inProgress('coder')).to.equal(3);
      release();
      await Promise.all(runs);
      expect(seen).to.deep.equal([0, 1, 2]);
    });

    it('keeps other roles apart', async () => {
      const { workload } = ledger();
      await workload.withSlot('coder', async () => claimed(1));
      expect(workload.inProgress('tester')).to.equal(0);
    });
  });

  describe('when a claim is projected', () => {
    it('hands its slot to the read model, counting it once', async () => {
      const { workload, project } = ledger();
      await workload.withSlot('coder', async () => claimed(1));
      expect(workload.inProgress('coder')).to.equal(1);
      await project('coder', 1);
      expect(workload.inProgress('coder')).to.equal(1);
    });
  });

  describe('when a decision fails or changes nothing', () => {
    it('gives the slot back at once', async () => {
      const { workload } = ledger();
      await workload.withSlot('coder', async () => ({ position: 3, events: [] }));
      let failure: unknown;
      await workload.withSlot('coder', async () => Promise.reject(new Error('refused'))).catch((e: unknown) => (failure = e));
      expect((failure as Error).message).to.equal('refused');
      expect(workload.inProgress('coder')).to.equal(0);
    });
  });
});
