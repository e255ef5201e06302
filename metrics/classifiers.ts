/**
 * Classifiers for the Inception-style score and FID/KID: ImageNet networks the user supplies (MobileNet, any TF.js
 * graph model such as a converted Inception-v3) and per-dataset classifiers ganstudy trains and caches itself;
 * plus running them over many images.
 */
export type { Classifier } from './classifiers/types.js';
export {
  loadMobileNetClassifier,
  loadGraphModelClassifier,
  type MobileNetOptions,
  type GraphModelClassifierOptions,
} from './classifiers/imagenet.js';
export {
  getDatasetClassifier,
  datasetClassifierKey,
  type DatasetClassifier,
  type DatasetClassifierMeta,
  type DatasetClassifierOptions,
} from './classifiers/dataset-classifier.js';
export { classifyInBatches, type ClassifierOutputs, type ImageSource } from './classifiers/apply.js';
// the Inception score from images lives in inception-score-images.ts; re-exported for existing importers
export { inceptionScore, type ImageInceptionScore, type InceptionScoreOptions } from './inception-score-images.js';
