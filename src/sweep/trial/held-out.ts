/**
 * The end of a trial's evaluation: the checkpoint that validation selected is loaded and scored ONCE on the test
 * split with fresh samples (its own seed; the critic still trains on validation and is evaluated on test). A trial
 * resumed after its test scores were logged does not score again.
 */
import type { TrialClock } from './clock.js';
import type { TrialRecorder } from './recorder.js';
import { evaluationSeeds } from './selection.js';
import type { SelectedCheckpoint } from './selection-store.js';
import { evaluateNow, type TrialWork } from './work.js';

export interface HeldOut {
  /** the selected step and the metric that selected it */
  step: number;
  metric: string;
  /** the selected checkpoint's folder when it is not the final one (logged as selected_checkpoint/) */
  selectedDir: string | null;
  /** false when an abort cut the test evaluation short */
  done: boolean;
}

/**
 * Loads the selected checkpoint into the model (the final step when nothing was selected: no rankable validation
 * score) and logs its test scores unless the run holds them. Leaves the model at the selected step, for samples.png.
 */
export async function scoreSelectedOnTest(
  work: TrialWork,
  selected: SelectedCheckpoint | null,
  recorder: TrialRecorder,
  clock: TrialClock,
): Promise<HeldOut> {
  const { trial } = work;
  const atEnd = selected === null || selected.step === trial.steps;
  const held: HeldOut = {
    step: selected?.step ?? trial.steps,
    metric: selected?.metric ?? trial.selectionMetric,
    selectedDir: atEnd ? null : selected.dir,
    done: true,
  };
  if (!atEnd) await work.model.load(selected.dir);
  if (await recorder.hasTestScores()) {
    work.log(`[trial ${trial.index}] test scores of step ${held.step} already logged: not scoring again`);
    await recorder.selection(held);
    return held;
  }
  work.log(`[trial ${trial.index}] scoring step ${held.step} (selected on val/${held.metric}) on the test split`);
  const report = await clock.measure('eval', () => evaluateNow(work, 'test', evaluationSeeds(trial.seed).test));
  if (report === null) return { ...held, done: false };
  await recorder.testEvaluation(held, report);
  return held;
}
