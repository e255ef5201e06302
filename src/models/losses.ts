/**
 * The models' loss functions as pure tensor functions, exported so tests can check them against independent
 * calculations. All return scalar tensors; call them inside a tidy / gradient scope.
 */
import { tf } from '../backend/index.js';
import type { Scalar, Tensor, Tensor2D, Tensor4D } from '@tensorflow/tfjs-node';
import type { AgeKlForm } from './types.js';

/** mean over all elements of the sigmoid cross-entropy of `logits` against the constant label `target` (0 or 1). */
export function sigmoidCrossEntropy(logits: Tensor, target: 0 | 1): Scalar {
  return tf.tidy(() => {
    // max(l,0) − l·t + log(1 + e^{−|l|}): stable for large |l|
    const l = logits;
    const lin = target === 1 ? tf.sub(tf.relu(l), l) : tf.relu(l);
    return tf.mean(tf.add(lin, tf.softplus(tf.neg(tf.abs(l))))) as Scalar;
  });
}

/** DCGAN (paper-spec §2.1): L_D = BCE(D(x),1) + BCE(D(G(z)),0); non-saturating L_G = BCE(D(G(z)),1). */
export function dcganDiscriminatorLoss(realLogits: Tensor, fakeLogits: Tensor): Scalar {
  return tf.tidy(() => tf.add(sigmoidCrossEntropy(realLogits, 1), sigmoidCrossEntropy(fakeLogits, 0)) as Scalar);
}
export function dcganGeneratorLoss(fakeLogits: Tensor): Scalar {
  return sigmoidCrossEntropy(fakeLogits, 1);
}

/**
 * WGAN-GP penalty (paper-spec §2.2, §8.3): mean over examples of (‖∇_x̂ f(x̂)‖₂ − 1)², the norm taken over each
 * example's whole flattened image. `critic` maps [B,H,W,C] → [B,1] (or [B]); per-example gradients come from
 * differentiating Σ_b f(x̂_b), valid because the critic has no batch norm (examples are independent).
 * Also returns the per-example gradient norms.
 */
export function gradientPenalty(critic: (x: Tensor4D) => Tensor, xHat: Tensor4D): { penalty: Scalar; norms: Tensor } {
  const grad = tf.grad((x: Tensor) => tf.sum(critic(x as Tensor4D)))(xHat);
  const b = xHat.shape[0];
  const norms = tf.sqrt(tf.sum(tf.square(tf.reshape(grad, [b, -1])), 1));
  const penalty = tf.mean(tf.square(tf.sub(norms, 1))) as Scalar;
  grad.dispose();
  return { penalty, norms };
}

/** WGAN critic loss (paper-spec §2.2): mean f(G(z)) − mean f(x) + λ·penalty; also the Wasserstein estimate. */
export function wganCriticLoss(
  fReal: Tensor,
  fFake: Tensor,
  penalty: Scalar,
  lambda: number,
): { loss: Scalar; wEstimate: Scalar } {
  const [meanReal, meanFake] = [tf.mean(fReal), tf.mean(fFake)];
  const loss = tf.add(tf.sub(meanFake, meanReal), tf.mul(penalty, lambda)) as Scalar;
  return { loss, wEstimate: tf.sub(meanReal, meanFake) as Scalar };
}

/** WGAN generator loss: −mean f(G(z)). */
export function wganGeneratorLoss(fFake: Tensor): Scalar {
  return tf.neg(tf.mean(fFake)) as Scalar;
}

/** x̂ = x + ε (x_fake − x), ε [B,1,1,1]. */
export function interpolate(real: Tensor4D, fake: Tensor4D, eps: Tensor4D): Tensor4D {
  return tf.tidy(() => tf.add(real, tf.mul(eps, tf.sub(fake, real))) as Tensor4D);
}

/**
 * AGE divergence (paper-spec §2.3): KL between the diagonal Gaussian fitted to a batch of codes [B, M] and N(0, I),
 * averaged over the M dimensions. m_j = batch mean, v_j = biased batch variance.
 *   'paper': mean_j[(v_j + m_j²)/2 − ½·log v_j − ½]      (standard deviation s_j = √v_j in the formula)
 *   'code' : mean_j[(v_j² + m_j²)/2 − log v_j − ½]        (the authors' KLN01Loss: variance plugged in for s_j)
 * v is floored at 1e-12 so a collapsed batch gives a large finite loss instead of Inf.
 */
export function ageKl(codes: Tensor2D, form: AgeKlForm): Scalar {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(codes, 0);
    const v = tf.maximum(variance, 1e-12);
    const m2 = tf.square(mean);
    const perDim =
      form === 'paper'
        ? tf.sub(tf.sub(tf.div(tf.add(v, m2), 2), tf.mul(tf.log(v), 0.5)), 0.5)
        : tf.sub(tf.sub(tf.div(tf.add(tf.square(v), m2), 2), tf.log(v)), 0.5);
    return tf.mean(perDim) as Scalar;
  });
}

/** Rows scaled to unit L2 norm (AGE's sphere). */
export function l2Normalize(x: Tensor2D): Tensor2D {
  return tf.tidy(() => tf.div(x, tf.sqrt(tf.add(tf.sum(tf.square(x), 1, true), 1e-12))) as Tensor2D);
}

/** AGE's match_cos(a, b) = 2 − mean(normalize(a) ⊙ normalize(b)), mean over batch and dimensions (paper-spec §2.3). */
export function matchCos(a: Tensor2D, b: Tensor2D): Scalar {
  return tf.tidy(() => tf.sub(2, tf.mean(tf.mul(l2Normalize(a), l2Normalize(b)))) as Scalar);
}

/** mean |a − b| over all elements */
export function meanAbs(a: Tensor, b: Tensor): Scalar {
  return tf.tidy(() => tf.mean(tf.abs(tf.sub(a, b))) as Scalar);
}

/** AGE encoder loss: KL(e(x)) − KL(e(g(z))) + λ·mean|g(e(x)) − x| */
export function ageEncoderLoss(
  t: { codesReal: Tensor2D; codesFake: Tensor2D; real: Tensor4D; reconstruction: Tensor4D },
  hp: { form: AgeKlForm; lambda: number },
): { loss: Scalar; klReal: Scalar; klFake: Scalar; recon: Scalar } {
  const klReal = ageKl(t.codesReal, hp.form);
  const klFake = ageKl(t.codesFake, hp.form);
  const recon = meanAbs(t.reconstruction, t.real);
  const loss = tf.add(tf.sub(klReal, klFake), tf.mul(recon, hp.lambda)) as Scalar;
  return { loss, klReal, klFake, recon };
}

/** AGE generator loss: KL(e(g(z))) + μ·match_cos(e(g(z)), z) */
export function ageGeneratorLoss(
  t: { codesFake: Tensor2D; z: Tensor2D },
  hp: { form: AgeKlForm; mu: number },
): { loss: Scalar; klFake: Scalar; matchZ: Scalar } {
  const klFake = ageKl(t.codesFake, hp.form);
  const matchZ = matchCos(t.codesFake, t.z);
  const loss = tf.add(klFake, tf.mul(matchZ, hp.mu)) as Scalar;
  return { loss, klFake, matchZ };
}

export interface AlphaGanLossInputs {
  real: Tensor4D;
  reconstruction: Tensor4D;
  /** D logits on real images, reconstructions G(E(x)) and samples G(z) */
  dReal: Tensor;
  dRec: Tensor;
  dGen: Tensor;
  /** C logits on prior draws z and encodings E(x) */
  cPrior: Tensor;
  cEnc: Tensor;
}

/**
 * α-GAN per-network losses (paper-spec §1.3), means over the batch:
 *   recon = λ · mean|x − G(E(x))|   (L1 as a per-element mean)
 *   L_E = recon − mean C_logit(E(x))
 *   L_G = recon − mean D_logit(G(E(x))) − mean D_logit(G(z))
 *   L_D = CE(D(x),1) + CE(D(G(E(x))),0) + CE(D(G(z)),0)       (three terms, §8.4)
 *   L_C = CE(C(z),1) + CE(C(E(x)),0)                           (corrected v1 erratum, §8.4)
 */
export function alphaGanLosses(
  t: AlphaGanLossInputs,
  reconLambda: number,
): { e: Scalar; g: Scalar; d: Scalar; c: Scalar; recon: Scalar } {
  const recon = tf.mul(meanAbs(t.real, t.reconstruction), reconLambda) as Scalar;
  const e = tf.sub(recon, tf.mean(t.cEnc)) as Scalar;
  const g = tf.sub(tf.sub(recon, tf.mean(t.dRec)), tf.mean(t.dGen)) as Scalar;
  const d = alphaGanDiscriminatorLoss(t.dReal, t.dRec, t.dGen);
  const c = alphaGanCodeDiscriminatorLoss(t.cPrior, t.cEnc);
  return { e, g, d, c, recon };
}

/** α-GAN L_D = CE(D(x),1) + CE(D(G(E(x))),0) + CE(D(G(z)),0) (see alphaGanLosses) */
export function alphaGanDiscriminatorLoss(dReal: Tensor, dRec: Tensor, dGen: Tensor): Scalar {
  const realAndRec = tf.add(sigmoidCrossEntropy(dReal, 1), sigmoidCrossEntropy(dRec, 0));
  return tf.add(realAndRec, sigmoidCrossEntropy(dGen, 0)) as Scalar;
}

/** α-GAN L_C = CE(C(z),1) + CE(C(E(x)),0) (see alphaGanLosses) */
export function alphaGanCodeDiscriminatorLoss(cPrior: Tensor, cEnc: Tensor): Scalar {
  return tf.add(sigmoidCrossEntropy(cPrior, 1), sigmoidCrossEntropy(cEnc, 0)) as Scalar;
}
