/**
 * What the Inception-style score and FID/KID need from a classifier: class probabilities and a feature vector
 * per image. Inputs are NHWC float images in [-1, 1] (ganstudy's convention); each classifier maps them to what
 * its network expects (size, range, channels) itself, so every caller feeds the same images.
 */
import type { Tensor2D, Tensor4D } from '@tensorflow/tfjs-node';

export interface Classifier {
  /** says which network produced a score, e.g. `mobilenet-v1-1.00@/models/mobilenet` or `colormnist-digit-cnn@<key>` */
  readonly name: string;
  readonly numClasses: number;
  /** held-out accuracy, where the classifier was trained and tested by ganstudy */
  readonly accuracy?: number;
  /** class probabilities, one row per image (rows sum to 1); the caller disposes the result */
  predictProbs(x: Tensor4D): Tensor2D;
  /** the penultimate representation, one row per image (FID/KID features); the caller disposes the result */
  features(x: Tensor4D): Tensor2D;
  /** frees the network's weights */
  dispose(): void;
}
