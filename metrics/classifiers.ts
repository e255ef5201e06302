/**
 * Classifiers for the Inception-style score and FID/KID: ImageNet networks the user supplies (MobileNet, any TF.js
 * graph model such as a converted Inception-v3) and per-dataset classifiers ganstudy trains and caches itself.
 */
export type { Classifier } from './classifiers/types.js';
export {
  loadMobileNetClassifier,
  loadGraphModelClassifier,
  type MobileNetOptions,
  type GraphModelClassifierOptions,
} from './classifiers/imagenet.js';
