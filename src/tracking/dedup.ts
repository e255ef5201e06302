/**
 * The (key, step) pairs a run already holds, per run. A point whose (key, step) is in the set is
 * dropped, so a resumed trial that replays steps never logs a step twice.
 */
export class SeenSteps {
  private readonly byRun = new Map<string, Map<string, Set<number>>>();

  /** true when the run's set has been filled from the store (or the run was created by this process) */
  isSeeded(runId: string): boolean {
    return this.byRun.has(runId);
  }

  seed(runId: string, points: Iterable<{ key: string; step: number }> = []): void {
    const m = this.byRun.get(runId) ?? new Map<string, Set<number>>();
    for (const p of points) {
      let s = m.get(p.key);
      if (!s) m.set(p.key, (s = new Set()));
      s.add(p.step);
    }
    this.byRun.set(runId, m);
  }

  has(runId: string, key: string, step: number): boolean {
    return this.byRun.get(runId)?.get(key)?.has(step) ?? false;
  }

  /** marks the pair seen; returns false when it already was (the point must be dropped) */
  add(runId: string, key: string, step: number): boolean {
    let m = this.byRun.get(runId);
    if (!m) this.byRun.set(runId, (m = new Map()));
    let s = m.get(key);
    if (!s) m.set(key, (s = new Set()));
    if (s.has(step)) return false;
    s.add(step);
    return true;
  }

  forget(runId: string): void {
    this.byRun.delete(runId);
  }
}
