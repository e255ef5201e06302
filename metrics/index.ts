/**
 * ganstudy's evaluation suite (design.md "Metrics API"; definitions in paper-spec §5). Usable on its own: every
 * function takes images as NHWC float in [-1, 1] (tensors, nested arrays or {data, shape}) unless it says
 * otherwise, validates shapes and names the bad argument. What it needs from a caller — real images, labelled
 * data, a generator, a critic network — are the small interfaces of sources.ts. Importing this module loads
 * TensorFlow through src/backend (native where installed) and has no other effect: the critic registers the
 * gradients it needs when it trains (gradients.ts).
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
  type SampleDiversityOptions,
  type SampleDiversityResult,
} from './diversity.js';

// Inception score (§5.1)
export { inceptionScoreFromProbs, type InceptionScoreResult } from './inception-score.js';

// FID / KID and the float64 linear algebra under them
export { frechetDistance, frechetDistanceFromMoments, featureMoments, type FeatureMoments } from './fid.js';
export {
  kernelInceptionDistance,
  polynomialMmd2Unbiased,
  KidOptionsSchema,
  type KidOptions,
  type KidResult,
} from './kid.js';
export { gramMatrix, pivotedCholesky, symmetricEigenvalues, traceSqrtProduct } from './linalg.js';
export { setFloat64Backend, float64Kernels, type Float64BackendName } from './float64.js';

// the colour-aware mode count (ColorMNIST)
export { modesCovered, dominantColours, type ModesCoveredResult } from './modes.js';

// classifiers
export {
  loadMobileNetClassifier,
  loadGraphModelClassifier,
  getDatasetClassifier,
  datasetClassifierKey,
  classifyInBatches,
  type Classifier,
  type MobileNetOptions,
  type GraphModelClassifierOptions,
  type DatasetClassifier,
  type DatasetClassifierMeta,
  type DatasetClassifierOptions,
  type ClassifierOutputs,
} from './classifiers.js';

// the Inception score from images
export { inceptionScore, type ImageInceptionScore, type InceptionScoreOptions } from './inception-score-images.js';

// what callers provide
export type {
  ImageSampler,
  ImageSource,
  ImageBatch,
  ImageSplit,
  LabelledSplit,
  LabelledImageData,
  CriticSpec,
  CriticBuilder,
} from './sources.js';

// the independent Wasserstein critic (§5.3)
export {
  independentCritic,
  seedWeights,
  type IndependentCriticOptions,
  type IndependentCriticResult,
  type CriticCurvePoint,
} from './critic.js';
export { registerComparisonGradients, COMPARISON_KERNELS } from './gradients.js';

// scoring a generator with all of the above
export {
  evaluateGenerator,
  type EvaluateGeneratorOptions,
  type EvalReport,
  type ReferenceNote,
} from './evaluate-generator.js';

// the evaluation protocol and score directions
export {
  METRIC_NAMES,
  EvalProtocolSchema,
  SCORE_DIRECTIONS,
  RANKING,
  rankingValue,
  type MetricName,
  type EvalProtocol,
  type ResolvedEvalProtocol,
} from './protocol.js';

// input conversion shared by the metrics
export {
  toImageBatch,
  toMatrix64,
  describeShape,
  type ImageBatchInput,
  type MatrixInput,
  type ShapedData,
  type Matrix64,
} from './inputs.js';
