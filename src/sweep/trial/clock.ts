/** Wall and CPU time of one trial, split into training, evaluation and tracker calls. */
import { performance } from 'node:perf_hooks';
import type { TrialActivity, TrialTiming } from './types.js';

export class TrialClock {
  private readonly start = performance.now();
  private readonly cpuStart = process.cpuUsage();
  private trainMs = 0;
  private evalMs = 0;

  /** Runs `work`, adding its duration to training or evaluation time. */
  async measure<T>(what: TrialActivity, work: () => Promise<T>): Promise<T> {
    const s = performance.now();
    try {
      return await work();
    } finally {
      const ms = performance.now() - s;
      if (what === 'train') this.trainMs += ms;
      else this.evalMs += ms;
    }
  }

  /** the times so far; tracker time comes from the TimedTracker the trial talks through */
  timing(trackingMs: number): TrialTiming {
    const cpu = process.cpuUsage(this.cpuStart);
    return {
      trialSec: (performance.now() - this.start) / 1000,
      trainSec: this.trainMs / 1000,
      evalSec: this.evalMs / 1000,
      trackingSec: trackingMs / 1000,
      cpuSec: (cpu.user + cpu.system) / 1e6,
    };
  }
}
