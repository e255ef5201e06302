/**
 * Work shared by many trials, done once before they start in parallel: the dataset classifiers that the
 * Inception-style score and FID use. evaluateGenerator trains and caches one per (dataset, classifier steps) on
 * first use; without this step, N trials starting together would each train the same network at once
 * (bench/README.md, "The quick budget", has what that cost the quickstart).
 */
import path from 'node:path';
import type { DatasetSpec } from '../data/index.js';
import type { Trial } from './expand.js';
import { canonicalJson } from './trial-id.js';

export interface ClassifierNeed {
  datasetSpec: DatasetSpec;
  steps: number;
  /** trials that will use it */
  trials: number;
}

/** Where evaluation caches dataset classifiers: GANSTUDY_CACHE_DIR, else .cache/metrics. */
export function defaultCacheDir(): string {
  return path.resolve(process.env.GANSTUDY_CACHE_DIR ?? '.cache/metrics');
}

/** The distinct dataset classifiers these trials' metrics need. */
export function classifierNeeds(trials: readonly Trial[]): ClassifierNeed[] {
  const needs = new Map<string, ClassifierNeed>();
  for (const t of trials) {
    if (!t.metrics.some((m) => m === 'inception_score' || m === 'fid')) continue;
    const key = `${canonicalJson(t.datasetSpec)}/${t.eval.classifierSteps}`;
    const need = needs.get(key);
    if (need) need.trials++;
    else needs.set(key, { datasetSpec: t.datasetSpec, steps: t.eval.classifierSteps, trials: 1 });
  }
  return [...needs.values()];
}

/** Trains (or finds in the cache) every classifier the trials need, with the same key evaluateGenerator uses. */
export async function prepareClassifiers(
  trials: readonly Trial[],
  opts: { cacheDir?: string; log: (line: string) => void },
): Promise<void> {
  const { loadDataset } = await import('../data/index.js');
  const { getDatasetClassifier } = await import('../../metrics/index.js');
  for (const need of classifierNeeds(trials)) {
    const dataset = await loadDataset(need.datasetSpec);
    // seed 0: evaluateGenerator's default classifierSeed, so every trial finds this cache entry
    const classifier = await getDatasetClassifier(dataset, {
      steps: need.steps,
      seed: 0,
      cacheDir: opts.cacheDir ?? defaultCacheDir(),
      onProgress: opts.log,
    });
    opts.log(
      `${classifier.name}: ready for ${need.trials} trial(s) (held-out accuracy ${classifier.accuracy.toFixed(4)})`,
    );
    classifier.dispose();
  }
}
