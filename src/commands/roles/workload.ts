/**
 * A role's in-progress count as commands on this node must see it. The read model knows every task in
 * progress once it has projected the claim; between a claim's decision and its projection the claim is
 * held here as a reservation. Reserving is synchronous, so on one node two concurrent claims — in one
 * project or in two — can never both see the last free slot. Across nodes the count stays soft: a claim
 * on another node is known only once this node's read model has projected it (DESIGN §5).
 */
export class RoleWorkload {
  private readonly reserved = new Map<string, number>();

  constructor(
    /** Tasks in progress for the role in the read model. */
    private readonly counted: (role: string) => number,
    /** Resolves once the read model has projected the given log position. */
    private readonly projected: (position: number) => Promise<void>,
  ) {}

  /** In progress now: projected tasks plus claims decided or being decided on this node. */
  inProgress(role: string): number {
    return this.counted(role) + (this.reserved.get(role) ?? 0);
  }

  /**
   * Runs `decide` with the role's count as it stands before this command, holding one slot for it meanwhile.
   * The slot is handed back when the command fails, or once the read model counts its result instead.
   */
  async withSlot<T extends { position: number; events: readonly unknown[] }>(role: string, decide: (inProgress: number) => Promise<T>): Promise<T> {
    const inProgress = this.inProgress(role);
    this.reserved.set(role, (this.reserved.get(role) ?? 0) + 1);
    let result: T;
    try {
      result = await decide(inProgress);
    } catch (error) {
      this.release(role);
      throw error;
    }
    if (result.events.length === 0) this.release(role);
    else
      this.projected(result.position).then(
        () => this.release(role),
        () => this.release(role),
      );
    return result;
  }

  private release(role: string): void {
    const left = (this.reserved.get(role) ?? 1) - 1;
    if (left > 0) this.reserved.set(role, left);
    else this.reserved.delete(role);
  }
}
