/**
 * ganstudy's evaluation suite (design.md "Metrics API"; definitions in paper-spec §5). Usable on its own: every
 * function takes images as NHWC float in [-1, 1] (tensors, nested arrays or {data, shape}) unless it says
 * otherwise, validates shapes and names the bad argument. Importing this module loads TensorFlow through
 * src/backend (native where installed).
 */

// MS-SSIM and sample diversity (§5.2)
export {
  msSsim,
  msSsimIndexedPairs,
  parseMsSsimOptions,
  MsSsimOptionsSchema,
  WANG_WEIGHTS,
  type MsSsimOptions,
  type MsSsimConfig,
  type MsSsimConvention,
} from './msssim.js';
export {
  sampleDiversity,
  meanPairwiseMsSsim,
  SampleDiversityOptionsSchema,
  type ImageSampler,
  type SampleDiversityOptions,
  type SampleDiversityResult,
} from './diversity.js';

// Inception score (§5.1)
export { inceptionScoreFromProbs, type InceptionScoreResult } from './inception-score.js';

// FID / KID
export {
  frechetDistance,
  frechetDistanceFromMoments,
  featureMoments,
  kernelInceptionDistance,
  KidOptionsSchema,
  type FeatureMoments,
  type KidOptions,
  type KidResult,
} from './frechet.js';

// classifiers and the Inception score from images
export {
  loadMobileNetClassifier,
  loadGraphModelClassifier,
  getDatasetClassifier,
  datasetClassifierKey,
  classifyInBatches,
  inceptionScore,
  type Classifier,
  type MobileNetOptions,
  type GraphModelClassifierOptions,
  type DatasetClassifier,
  type DatasetClassifierMeta,
  type DatasetClassifierOptions,
  type ClassifierOutputs,
  type ImageInceptionScore,
  type ImageSource,
  type InceptionScoreOptions,
} from './classifiers.js';

// the independent Wasserstein critic (§5.3)
export {
  independentCritic,
  type IndependentCriticOptions,
  type IndependentCriticResult,
  type CriticCurvePoint,
} from './critic.js';

// scoring a generator with all of the above
export {
  evaluateGenerator,
  discriminatorArchFor,
  type EvaluateGeneratorOptions,
  type EvalReport,
} from './evaluate-generator.js';

// the evaluation protocol and score directions
export { METRIC_NAMES, EvalProtocolSchema, SCORE_DIRECTIONS, type MetricName, type EvalProtocol } from './protocol.js';

// input conversion shared by the metrics
export { toImageBatch, toMatrix64, describeShape, type ImageBatchInput, type MatrixInput, type ShapedData, type Matrix64 } from './inputs.js';
