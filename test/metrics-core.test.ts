/**
 * The numeric core of metrics/: MS-SSIM (both conventions), sample diversity, Inception score from probabilities,
 * FID and KID. Every check is against an independent calculation written here (plain float64 loops, ml-matrix's
 * eigendecomposition) or a published / closed-form value from paper-spec §8, at a stated tolerance.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import type { Tensor4D } from '@tensorflow/tfjs-node';
import { tf } from '../src/backend/index.js';
import { createRng } from '../src/util/rng.js';
import { msSsim } from '../metrics/msssim.js';
import { sampleDiversity } from '../metrics/diversity.js';
import { inceptionScoreFromProbs } from '../metrics/inception-score.js';
import { featureMoments, frechetDistance, frechetDistanceFromMoments } from '../metrics/fid.js';
import { kernelInceptionDistance } from '../metrics/kid.js';
import { float64Kernels, setFloat64Backend, type Float64BackendName } from '../metrics/float64.js';

// IS, FID and KID run on both float64 providers (float64.ts); the default is restored after each block
const DEFAULT_FLOAT64 = float64Kernels().name;
const FLOAT64_BACKENDS: Float64BackendName[] = ['libtensorflow', 'javascript'];
function onFloat64Backend(backend: Float64BackendName): void {
  beforeAll(() => setFloat64Backend(backend));
  afterAll(() => setFloat64Backend(DEFAULT_FLOAT64));
}

// ---------------------------------------------------------------------------------------------------------------
// independent float64 MS-SSIM references (direct 2-D windows, explicit loops)

interface Img {
  data: Float64Array; // H × W × C, row-major
  h: number;
  w: number;
  c: number;
}

const WEIGHTS = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333];

function plane(img: Img, ch: number): Float64Array {
  const p = new Float64Array(img.h * img.w);
  for (let i = 0; i < img.h * img.w; i++) p[i] = img.data[i * img.c + ch]!;
  return p;
}

function window2d(size: number, sigma: number): Float64Array {
  const g = new Float64Array(size * size);
  const c = (size - 1) / 2;
  let s = 0;
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) {
      g[i * size + j] = Math.exp(-((i - c) ** 2 + (j - c) ** 2) / (2 * sigma * sigma));
      s += g[i * size + j]!;
    }
  }
  return g.map((v) => v / s);
}

/** Sums over 'VALID' window positions of cs and l·cs for one plane pair. */
function ssimSums(
  x: Float64Array,
  y: Float64Array,
  h: number,
  w: number,
  size: number,
  sigma: number,
  L: number,
): { cs: number; ssim: number; count: number } {
  const win = window2d(size, sigma);
  const c1 = (0.01 * L) ** 2;
  const c2 = (0.03 * L) ** 2;
  let csSum = 0;
  let ssimSum = 0;
  let count = 0;
  for (let i = 0; i + size <= h; i++) {
    for (let j = 0; j + size <= w; j++) {
      let mx = 0,
        my = 0,
        exx = 0,
        eyy = 0,
        exy = 0;
      for (let a = 0; a < size; a++) {
        for (let b = 0; b < size; b++) {
          const g = win[a * size + b]!;
          const u = x[(i + a) * w + j + b]!;
          const v = y[(i + a) * w + j + b]!;
          mx += g * u;
          my += g * v;
          exx += g * u * u;
          eyy += g * v * v;
          exy += g * u * v;
        }
      }
      const l = (2 * mx * my + c1) / (mx * mx + my * my + c1);
      const cs = (2 * (exy - mx * my) + c2) / (exx - mx * mx + eyy - my * my + c2);
      csSum += cs;
      ssimSum += l * cs;
      count++;
    }
  }
  return { cs: csSum, ssim: ssimSum, count };
}

/** TF's downsampling: symmetric pad one row/col at the end of odd dims, 2×2 mean, stride 2. */
function downPadPool(p: Float64Array, h: number, w: number): { p: Float64Array; h: number; w: number } {
  const oh = Math.ceil(h / 2);
  const ow = Math.ceil(w / 2);
  const at = (i: number, j: number): number => p[Math.min(i, h - 1) * w + Math.min(j, w - 1)]!; // symmetric pad by 1 = repeat edge
  const out = new Float64Array(oh * ow);
  for (let i = 0; i < oh; i++)
    for (let j = 0; j < ow; j++)
      out[i * ow + j] = (at(2 * i, 2 * j) + at(2 * i + 1, 2 * j) + at(2 * i, 2 * j + 1) + at(2 * i + 1, 2 * j + 1)) / 4;
  return { p: out, h: oh, w: ow };
}

/** scipy.ndimage.convolve with ones((2,2))/4, mode 'reflect' (d c b a | a b c d), then [::2, ::2]. */
function downReflectConvolve(p: Float64Array, h: number, w: number): { p: Float64Array; h: number; w: number } {
  // scipy convolve flips the even-sized kernel and shifts its origin: out[i] = (in[i] + in[i+1]) / 2 per axis
  const refl = (i: number, n: number): number => (i >= n ? 2 * n - 1 - i : i);
  const full = new Float64Array(h * w);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      full[i * w + j] =
        (p[i * w + j]! +
          p[refl(i + 1, h) * w + j]! +
          p[i * w + refl(j + 1, w)]! +
          p[refl(i + 1, h) * w + refl(j + 1, w)]!) /
        4;
    }
  }
  const oh = Math.ceil(h / 2);
  const ow = Math.ceil(w / 2);
  const out = new Float64Array(oh * ow);
  for (let i = 0; i < oh; i++) for (let j = 0; j < ow; j++) out[i * ow + j] = full[2 * i * w + 2 * j]!;
  return { p: out, h: oh, w: ow };
}

function refCompareGan(x: Img, y: Img, L: number): number {
  let total = 0;
  for (let ch = 0; ch < x.c; ch++) {
    let px = plane(x, ch),
      py = plane(y, ch),
      h = x.h,
      w = x.w;
    let ms = 1;
    for (let k = 0; k < 5; k++) {
      if (k > 0) {
        const dx = downPadPool(px, h, w);
        const dy = downPadPool(py, h, w);
        px = dx.p;
        py = dy.p;
        h = dx.h;
        w = dx.w;
      }
      const size = Math.min(11, h, w);
      const s = ssimSums(px, py, h, w, size, 1.5, L);
      const v = k < 4 ? s.cs / s.count : s.ssim / s.count;
      ms *= Math.max(v, 0) ** WEIGHTS[k]!;
    }
    total += ms;
  }
  return total / x.c;
}

function refWang(x: Img, y: Img, L: number): number {
  let pxs = Array.from({ length: x.c }, (_, ch) => plane(x, ch));
  let pys = Array.from({ length: x.c }, (_, ch) => plane(y, ch));
  let h = x.h,
    w = x.w;
  let ms = 1;
  for (let k = 0; k < 5; k++) {
    if (k > 0) {
      const nh = Math.ceil(h / 2),
        nw = Math.ceil(w / 2);
      pxs = pxs.map((p) => downReflectConvolve(p, h, w).p);
      pys = pys.map((p) => downReflectConvolve(p, h, w).p);
      h = nh;
      w = nw;
    }
    const size = Math.min(11, h, w);
    let cs = 0,
      ssim = 0,
      count = 0;
    for (let ch = 0; ch < x.c; ch++) {
      const s = ssimSums(pxs[ch]!, pys[ch]!, h, w, size, (size * 1.5) / 11, L);
      cs += s.cs;
      ssim += s.ssim;
      count += s.count;
    }
    const v = k < 4 ? cs / count : ssim / count;
    ms *= Math.max(v, 0) ** WEIGHTS[k]!;
  }
  return ms;
}

/** paper-spec §8.2(c) */
function structuredPair(h: number, w = h, scale = 1): [Img, Img] {
  const P = new Float64Array(h * w * 3);
  const Q = new Float64Array(h * w * 3);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      for (let c = 0; c < 3; c++) {
        const k = (i * w + j) * 3 + c;
        P[k] = scale * (0.5 + 0.4 * Math.sin(0.3 * i + 0.2 * j + c));
        Q[k] = scale * (0.5 + 0.3 * Math.sin(0.3 * i + 0.2 * j + c + 0.5) + 0.1 * Math.cos(0.7 * j - 0.4 * i));
      }
    }
  }
  return [
    { data: P, h, w, c: 3 },
    { data: Q, h, w, c: 3 },
  ];
}

const batchOf = (...imgs: Img[]): { data: Float64Array; shape: [number, number, number, number] } => {
  const { h, w, c } = imgs[0]!;
  const data = new Float64Array(imgs.length * h * w * c);
  imgs.forEach((im, i) => data.set(im.data, i * h * w * c));
  return { data, shape: [imgs.length, h, w, c] };
};

const constant = (v: number, h: number, w: number, c: number): Img => ({
  data: new Float64Array(h * w * c).fill(v),
  h,
  w,
  c,
});

function noiseImage(h: number, w: number, c: number, seed: number, L: number): Img {
  // smooth-ish random image: noise plus a seeded gradient, so structure exists at every scale
  const rng = createRng(seed);
  const d = new Float64Array(h * w * c);
  const fx = rng.next() * 0.5,
    fy = rng.next() * 0.5;
  for (let i = 0; i < h; i++)
    for (let j = 0; j < w; j++)
      for (let k = 0; k < c; k++) {
        d[(i * w + j) * c + k] =
          L * Math.min(1, Math.max(0, 0.5 + 0.3 * Math.sin(fx * i + fy * j + k) + 0.2 * (rng.next() - 0.5)));
      }
  return { data: d, h, w, c };
}

describe('MS-SSIM', () => {
  it('matches paper-spec §8.2(c) and the float64 compare_gan reference on the structured pair (64/32/28 px, max_val 1)', () => {
    const expected: Record<number, number> = { 64: 0.820468, 32: 0.820548, 28: 0.816404 };
    for (const size of [64, 32, 28]) {
      const [P, Q] = structuredPair(size);
      const ref = refCompareGan(P, Q, 1);
      expect(Math.abs(ref - expected[size]!)).toBeLessThan(1e-6); // the reference reproduces the published digits
      const [got] = msSsim(batchOf(P), batchOf(Q), { maxVal: 1 });
      expect(Math.abs(got! - ref)).toBeLessThan(1e-4); // float32 TF vs float64 loops
    }
  });

  it('matches paper-spec §8.2(c) and the float64 wang reference (64 px, inputs ×255)', () => {
    const [P, Q] = structuredPair(64, 64, 255);
    const ref = refWang(P, Q, 255);
    expect(Math.abs(ref - 0.820052)).toBeLessThan(1e-6);
    const [got] = msSsim(batchOf(P), batchOf(Q), { convention: 'wang' });
    expect(Math.abs(got! - ref)).toBeLessThan(1e-4);
  });

  it('matches both references on random images of odd, non-square size, batched', () => {
    const xs = [noiseImage(37, 45, 3, 1, 255), noiseImage(37, 45, 3, 2, 255), noiseImage(37, 45, 3, 3, 255)];
    const ys = [noiseImage(37, 45, 3, 4, 255), xs[1]!, noiseImage(37, 45, 3, 6, 255)];
    const cg = msSsim(batchOf(...xs), batchOf(...ys));
    const wg = msSsim(batchOf(...xs), batchOf(...ys), { convention: 'wang' });
    for (let i = 0; i < 3; i++) {
      expect(Math.abs(cg[i]! - refCompareGan(xs[i]!, ys[i]!, 255))).toBeLessThan(1e-4);
      expect(Math.abs(wg[i]! - refWang(xs[i]!, ys[i]!, 255))).toBeLessThan(1e-4);
    }
    expect(cg[1]).toBeCloseTo(1, 5); // identity inside a batch
  });

  it('identity = 1 and symmetry, both conventions', () => {
    const a = noiseImage(32, 32, 3, 11, 255);
    const b = noiseImage(32, 32, 3, 12, 255);
    for (const convention of ['compare_gan', 'wang'] as const) {
      const [ab, aa, ba] = msSsim(batchOf(a, a, b), batchOf(b, a, a), { convention });
      expect(Math.abs(aa! - 1)).toBeLessThan(1e-5);
      expect(Math.abs(ab! - ba!)).toBeLessThan(1e-6);
      expect(ab!).toBeLessThan(0.99);
    }
  });

  it("reproduces compare_gan's published check: ones, 0.7·ones, zeros at 64×64×3, max_val 255 → 0.989989", () => {
    const imgs = [constant(1, 64, 64, 3), constant(0.7, 64, 64, 3), constant(0, 64, 64, 3)];
    const xs: Img[] = [];
    const ys: Img[] = [];
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++)
        if (i !== j) {
          xs.push(imgs[i]!);
          ys.push(imgs[j]!);
        }
    const scores = msSsim(batchOf(...xs), batchOf(...ys));
    const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
    expect(Math.abs(mean - 0.989989)).toBeLessThan(0.001); // compare_gan's own tolerance
    expect(Math.abs(mean - 0.98998868)).toBeLessThan(1e-5); // §8.2(a) re-implementation
    const pair = (i: number, j: number): number => msSsim(batchOf(imgs[i]!), batchOf(imgs[j]!))[0]!;
    expect(Math.abs(pair(0, 1) - 0.998492)).toBeLessThan(1e-5);
    expect(Math.abs(pair(0, 2) - 0.981112)).toBeLessThan(1e-5);
    expect(Math.abs(pair(1, 2) - 0.990362)).toBeLessThan(1e-5);
  });

  it('constant images at 176 px follow the closed form l^0.1333 (§8.2(b))', () => {
    const cases: [number, number, number][] = [
      [0.25, 0.75, 0.934187],
      [0, 1, 0.29295],
      [0.5, 0.5, 1],
    ];
    for (const [a, b, tabled] of cases) {
      const l = (2 * a * b + 1e-4) / (a * a + b * b + 1e-4);
      const closed = l ** 0.1333;
      expect(Math.abs(closed - tabled)).toBeLessThan(1e-6);
      for (const convention of ['compare_gan', 'wang'] as const) {
        const [got] = msSsim(batchOf(constant(a, 176, 176, 1)), batchOf(constant(b, 176, 176, 1)), {
          maxVal: 1,
          convention,
        });
        expect(Math.abs(got! - closed)).toBeLessThan(1e-5);
      }
    }
  });

  it('negative structure gives 0, not NaN (§8.2(d)), in both conventions', () => {
    const n = 176;
    const r = new Float64Array(n * n);
    const m = new Float64Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        r[i * n + j] = j / 175;
        m[i * n + j] = (n - 1 - j) / 175;
      }
    const R = { data: r, h: n, w: n, c: 1 };
    const M = { data: m, h: n, w: n, c: 1 };
    for (const convention of ['compare_gan', 'wang'] as const) {
      const [got] = msSsim(batchOf(R), batchOf(M), { maxVal: 1, convention });
      expect(got).toBe(0);
    }
  });

  it('accepts tensors and nested arrays; rejects mismatched shapes and bad options by name', () => {
    const a = noiseImage(16, 16, 1, 5, 255);
    const nested = [Array.from({ length: 16 }, (_, i) => Array.from({ length: 16 }, (_, j) => [a.data[i * 16 + j]!]))];
    const t = tf.tensor4d(Float32Array.from(a.data), [1, 16, 16, 1]);
    const [fromNested] = msSsim(nested, t);
    expect(Math.abs(fromNested! - 1)).toBeLessThan(1e-5);
    expect(t.isDisposed).toBe(false); // the caller's tensor is left alone
    t.dispose();
    expect(() => msSsim(batchOf(a), batchOf(noiseImage(8, 8, 1, 5, 255)))).toThrow(
      /x and y must have the same NHWC shape.*\[1, 16, 16, 1\].*\[1, 8, 8, 1\]/,
    );
    expect(() => msSsim([[1, 2]], batchOf(a))).toThrow(
      /msSsim x: expected an NHWC image batch.*array of shape \[1, 2\]/,
    );
    expect(() => msSsim(batchOf(a), batchOf(a), { convention: 'matlab' as never })).toThrow(/options\.convention/);
  });
});

describe('sampleDiversity', () => {
  it('is 1 on identical images and equals the hand-computed mean over distinct pairs', () => {
    const img = noiseImage(32, 32, 3, 21, 2);
    const toPm1 = (im: Img): Img => ({ ...im, data: im.data.map((v) => v - 1) }); // [0,2] → [-1,1]
    const same = batchOf(...Array.from({ length: 4 }, () => toPm1(img)));
    const r1 = sampleDiversity(same, { batches: 2, batchSize: 2 });
    expect(r1.perBatch).toHaveLength(2);
    for (const v of r1.perBatch) expect(Math.abs(v - 1)).toBeLessThan(1e-5);

    // three different images in one batch: mean of the 3 unordered = 6 ordered distinct pairs, on [0, 255]
    const imgs = [noiseImage(32, 32, 3, 31, 2), noiseImage(32, 32, 3, 32, 2), noiseImage(32, 32, 3, 33, 2)].map(toPm1);
    const to255 = (im: Img): Img => ({ ...im, data: im.data.map((v) => (v + 1) * 127.5) });
    let sum = 0;
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++) if (i !== j) sum += refCompareGan(to255(imgs[i]!), to255(imgs[j]!), 255);
    const hand = sum / 6;
    const r2 = sampleDiversity(batchOf(...imgs), { batches: 1, batchSize: 3 });
    expect(Math.abs(r2.mean - hand)).toBeLessThan(1e-4);

    // the same images from a sampler: batch b gets seed + b
    const seen: number[] = [];
    const sampler = (n: number, seed: number): Tensor4D => {
      seen.push(seed);
      const b = batchOf(...imgs.slice(0, n));
      return tf.tensor4d(Float32Array.from(b.data), b.shape);
    };
    const r3 = sampleDiversity(sampler, { batches: 2, batchSize: 3, seed: 7 });
    expect(seen).toEqual([7, 8]);
    expect(Math.abs(r3.mean - hand)).toBeLessThan(1e-4);
    expect(() => sampleDiversity(batchOf(...imgs), { batches: 2, batchSize: 3 })).toThrow(
      /need 6 images; got tensor of shape \[3, 32, 32, 3\]/,
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------

describe.each(FLOAT64_BACKENDS)('inceptionScoreFromProbs on the %s float64 kernels', (backend) => {
  onFloat64Backend(backend);
  const nearOneHot = (sorted: boolean): number[][] => {
    const eps = 1e-6;
    return Array.from({ length: 100 }, (_, i) => {
      const cls = sorted ? Math.floor(i / 10) : i % 10;
      return Array.from({ length: 10 }, (_, y) => (y === cls ? 1 - 9 * eps : eps));
    });
  };

  it('reproduces the §8.1 test vectors', () => {
    const alt = Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? [0.9, 0.1] : [0.1, 0.9]));
    expect(inceptionScoreFromProbs(alt, 1).mean).toBeCloseTo(1.444935, 6);
    expect(inceptionScoreFromProbs(alt, 10).mean).toBeCloseTo(1.444935, 6);
    expect(inceptionScoreFromProbs(alt, 10).std).toBeLessThan(1e-12);
    const uniform = Array.from({ length: 100 }, () => new Array<number>(10).fill(0.1));
    expect(inceptionScoreFromProbs(uniform, 10).mean).toBeCloseTo(1, 12);
    expect(inceptionScoreFromProbs(nearOneHot(false), 10).mean).toBeCloseTo(9.998667, 6);
    expect(inceptionScoreFromProbs(nearOneHot(true), 10).mean).toBeCloseTo(1, 6);
    expect(inceptionScoreFromProbs(nearOneHot(true), 1).mean).toBeCloseTo(9.998667, 6);
  });

  it('balanced exact one-hot over C classes gives C (0·log 0 = 0, no ε)', () => {
    for (const C of [2, 7, 10]) {
      const rows = Array.from({ length: 10 * C }, (_, i) => Array.from({ length: C }, (_, y) => (y === i % C ? 1 : 0)));
      const r = inceptionScoreFromProbs(rows, 10);
      expect(r.mean).toBeCloseTo(C, 12);
      expect(r.std).toBeLessThan(1e-12);
    }
  });

  it('equals exp(H(marginal) − mean H(row)) per split, computed independently, with population std', () => {
    const rng = createRng(3);
    const n = 1003,
      c = 17,
      splits = 7;
    const data = new Float32Array(n * c);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let y = 0; y < c; y++) {
        const v = Math.exp(3 * rng.normal());
        data[i * c + y] = v;
        s += v;
      }
      for (let y = 0; y < c; y++) data[i * c + y] = data[i * c + y]! / s;
    }
    const rowsF64 = Array.from({ length: n }, (_, i) => Array.from(data.subarray(i * c, (i + 1) * c), Number));
    const scores: number[] = [];
    for (let s = 0; s < splits; s++) {
      const part = rowsF64.slice(Math.floor((s * n) / splits), Math.floor(((s + 1) * n) / splits));
      const marg = Array.from({ length: c }, (_, y) => part.reduce((a, r) => a + r[y]!, 0) / part.length);
      const H = (p: number[]): number => -p.reduce((a, v) => a + (v > 0 ? v * Math.log(v) : 0), 0);
      scores.push(Math.exp(H(marg) - part.reduce((a, r) => a + H(r), 0) / part.length));
    }
    const mean = scores.reduce((a, b) => a + b, 0) / splits;
    const std = Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / splits);
    const t = tf.tensor2d(data, [n, c]);
    const got = inceptionScoreFromProbs(t, splits);
    t.dispose();
    expect(Math.abs(got.mean - mean)).toBeLessThan(1e-10);
    expect(Math.abs(got.std - std)).toBeLessThan(1e-10);
    expect(got.perSplit).toHaveLength(splits);
  });

  it('rejects logits, too few rows and bad shapes with the argument named', () => {
    expect(() =>
      inceptionScoreFromProbs(
        [
          [2, 3],
          [1, 1],
        ],
        1,
      ),
    ).toThrow(/row 0 sums to 5/);
    expect(() => inceptionScoreFromProbs([[0.5, 0.5]], 10)).toThrow(/1 rows cannot be cut into 10 splits/);
    expect(() => inceptionScoreFromProbs([0.5, 0.5], 1)).toThrow(
      /inceptionScoreFromProbs probs: expected an N×D matrix.*array of shape \[2\]/,
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------

const toMatrix = (a: Float64Array, n: number): Matrix =>
  new Matrix(Array.from({ length: n }, (_, i) => Array.from(a.subarray(i * n, (i + 1) * n))));

/** Independent tr sqrt(Σ1 Σ2) = Σ sqrt eig(√Σ1 Σ2 √Σ1), √ via ml-matrix's symmetric eigendecomposition. */
function refTraceSqrt(s1: Matrix, s2: Matrix): number {
  const e = new EigenvalueDecomposition(s1, { assumeSymmetric: true });
  const V = e.eigenvectorMatrix;
  const r = V.mmul(Matrix.diag(e.realEigenvalues.map((v) => Math.sqrt(Math.max(v, 0))))).mmul(V.transpose());
  const ev = new EigenvalueDecomposition(r.mmul(s2).mmul(r), { assumeSymmetric: true }).realEigenvalues;
  return ev.reduce((a, v) => a + Math.sqrt(Math.max(v, 0)), 0);
}

/** n samples whose sample mean and unbiased covariance are exactly μ and Σ = A Aᵀ (whitened, then coloured). */
function samplesWithMoments(n: number, mu: number[], A: Matrix, seed: number): Matrix {
  const d = mu.length;
  const rng = createRng(seed);
  let Z = Matrix.zeros(n, d).apply(function (this: Matrix, i: number, j: number) {
    this.set(i, j, rng.normal());
  });
  const means = Z.mean('column');
  Z = Z.subRowVector(means);
  const cov = Z.transpose()
    .mmul(Z)
    .div(n - 1);
  // whiten with the inverse Cholesky factor of the sample covariance
  const L = cholesky(cov, d);
  const W = Z.mmul(inverseLower(L, d).transpose()); // sample covariance of W is I
  return W.mmul(A.transpose()).addRowVector(mu);
}

function cholesky(m: Matrix, d: number): Matrix {
  const L = Matrix.zeros(d, d);
  for (let j = 0; j < d; j++) {
    let s = m.get(j, j);
    for (let k = 0; k < j; k++) s -= L.get(j, k) ** 2;
    L.set(j, j, Math.sqrt(s));
    for (let i = j + 1; i < d; i++) {
      let t = m.get(i, j);
      for (let k = 0; k < j; k++) t -= L.get(i, k) * L.get(j, k);
      L.set(i, j, t / L.get(j, j));
    }
  }
  return L;
}

function inverseLower(L: Matrix, d: number): Matrix {
  const inv = Matrix.zeros(d, d);
  for (let c = 0; c < d; c++) {
    for (let i = 0; i < d; i++) {
      let s = i === c ? 1 : 0;
      for (let k = 0; k < i; k++) s -= L.get(i, k) * inv.get(k, c);
      inv.set(i, c, s / L.get(i, i));
    }
  }
  return inv;
}

describe.each(FLOAT64_BACKENDS)('frechetDistance on the %s float64 kernels', (backend) => {
  onFloat64Backend(backend);
  it('equals the closed form for diagonal (commuting) Gaussians, computed by hand', () => {
    const mu1 = [0, 1, -2, 0.5];
    const mu2 = [1, 1, 0, -0.5];
    const s1 = [1, 4, 0.25, 2];
    const s2 = [2, 1, 0.25, 0.5]; // variances
    let closed = 0;
    for (let i = 0; i < 4; i++) closed += (mu1[i]! - mu2[i]!) ** 2 + s1[i]! + s2[i]! - 2 * Math.sqrt(s1[i]! * s2[i]!);
    const A1 = Matrix.diag(s1.map(Math.sqrt));
    const A2 = Matrix.diag(s2.map(Math.sqrt));
    const fa = samplesWithMoments(500, mu1, A1, 1);
    const fb = samplesWithMoments(700, mu2, A2, 2);
    expect(Math.abs(frechetDistance(fa, fb) - closed)).toBeLessThan(1e-9 * Math.max(1, closed));
    expect(Math.abs(frechetDistanceFromMoments(mu1, toMatrixArray(s1), mu2, toMatrixArray(s2)) - closed)).toBeLessThan(
      1e-12,
    );
  });

  it('equals the closed form for non-commuting full covariances (ml-matrix eigendecomposition reference)', () => {
    const d = 12;
    const rng = createRng(9);
    const rand = (): Matrix =>
      Matrix.zeros(d, d).apply(function (this: Matrix, i: number, j: number) {
        this.set(i, j, rng.normal());
      });
    const A1 = rand();
    const A2 = rand();
    const mu1 = Array.from({ length: d }, () => rng.normal());
    const mu2 = Array.from({ length: d }, () => rng.normal());
    const S1 = A1.mmul(A1.transpose());
    const S2 = A2.mmul(A2.transpose());
    let closed = 0;
    for (let i = 0; i < d; i++) closed += (mu1[i]! - mu2[i]!) ** 2 + S1.get(i, i) + S2.get(i, i);
    closed -= 2 * refTraceSqrt(S1, S2);
    const got = frechetDistance(samplesWithMoments(400, mu1, A1, 3), samplesWithMoments(300, mu2, A2, 4));
    expect(Math.abs(got - closed)).toBeLessThan(1e-8 * closed);
    // a singular Σ1 (rank 3 of 12: fewer samples than features) against the same reference
    const fewRows = samplesWithMoments(400, mu1, A1, 5).subMatrix(0, 3, 0, d - 1);
    const m = featureMoments(fewRows);
    const S1s = toMatrix(m.cov, d);
    let closedS = 0;
    for (let i = 0; i < d; i++) closedS += (m.mean[i]! - mu2[i]!) ** 2 + S1s.get(i, i) + S2.get(i, i);
    closedS -= 2 * refTraceSqrt(S1s, S2);
    expect(Math.abs(frechetDistanceFromMoments(m.mean, m.cov, mu2, S2.to2DArray()) - closedS)).toBeLessThan(
      1e-6 * closedS,
    );
  });

  it('sampled Gaussians approach the closed form; identical sets give 0', () => {
    const rng = createRng(17);
    const n = 20000;
    const a = new Float64Array(n * 3);
    const b = new Float64Array(n * 3);
    for (let i = 0; i < n; i++) {
      const z = [rng.normal(), rng.normal(), rng.normal()];
      a[i * 3] = z[0]!;
      a[i * 3 + 1] = z[0]! * 0.5 + z[1]!;
      a[i * 3 + 2] = z[2]!; // Σa = [[1,.5,0],[.5,1.25,0],[0,0,1]]
      const w = [rng.normal(), rng.normal(), rng.normal()];
      b[i * 3] = 1 + 2 * w[0]!;
      b[i * 3 + 1] = w[1]!;
      b[i * 3 + 2] = -1 + w[2]! * 0.5; // diag(4, 1, .25), μ (1, 0, −1)
    }
    const Sa = new Matrix([
      [1, 0.5, 0],
      [0.5, 1.25, 0],
      [0, 0, 1],
    ]);
    const Sb = Matrix.diag([4, 1, 0.25]);
    const closed = 2 + Sa.trace() + Sb.trace() - 2 * refTraceSqrt(Sa, Sb);
    const got = frechetDistance({ data: a, shape: [n, 3] }, { data: b, shape: [n, 3] });
    expect(Math.abs(got - closed)).toBeLessThan(0.05 * closed); // sampling error at n = 20,000 is ~1%
    expect(Math.abs(frechetDistance({ data: a, shape: [n, 3] }, { data: a, shape: [n, 3] }))).toBeLessThan(1e-9);
    const t = tf.tensor2d(Float32Array.from(a.subarray(0, 300)), [100, 3]);
    expect(Math.abs(frechetDistance(t, t))).toBeLessThan(1e-9);
    t.dispose();
    expect(() => frechetDistance({ data: a, shape: [n, 3] }, [[1, 2]])).toThrow(
      /featuresA has 3 features per row but featuresB has 2/,
    );
  });
});

function toMatrixArray(diag: number[]): number[][] {
  return diag.map((v, i) => diag.map((_, j) => (i === j ? v : 0)));
}

describe.each(FLOAT64_BACKENDS)('kernelInceptionDistance on the %s float64 kernels', (backend) => {
  onFloat64Backend(backend);
  const gaussianSet = (n: number, d: number, shift: number, seed: number): Float64Array => {
    const rng = createRng(seed);
    const x = new Float64Array(n * d);
    for (let i = 0; i < n * d; i++) x[i] = rng.normal() + shift;
    return x;
  };

  it('equals a direct O(n²) unbiased MMD² when the subset is the whole set', () => {
    const n = 60,
      d = 5;
    const X = gaussianSet(n, d, 0, 1);
    const Y = gaussianSet(n, d, 0.3, 2);
    const k = (u: Float64Array, i: number, v: Float64Array, j: number): number => {
      let s = 0;
      for (let t = 0; t < d; t++) s += u[i * d + t]! * v[j * d + t]!;
      return (s / d + 1) ** 3;
    };
    let xx = 0,
      yy = 0,
      xy = 0;
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        if (i !== j) {
          xx += k(X, i, X, j);
          yy += k(Y, i, Y, j);
        }
        xy += k(X, i, Y, j);
      }
    const direct = (xx + yy) / (n * (n - 1)) - (2 * xy) / (n * n);
    const got = kernelInceptionDistance(
      { data: X, shape: [n, d] },
      { data: Y, shape: [n, d] },
      { subsets: 3, subsetSize: n },
    );
    for (const v of got.perSubset) expect(Math.abs(v - direct)).toBeLessThan(1e-12 * Math.max(1, Math.abs(direct)));
    expect(got.std).toBeLessThan(1e-12);
  });

  it('is ≈ 0 for the same distribution and clearly > 0 for a shifted one', () => {
    const d = 8;
    const A = { data: gaussianSet(400, d, 0, 3), shape: [400, d] as [number, number] };
    const B = { data: gaussianSet(400, d, 0, 4), shape: [400, d] as [number, number] };
    const C = { data: gaussianSet(400, d, 0.5, 5), shape: [400, d] as [number, number] };
    const same = kernelInceptionDistance(A, B, { subsets: 20, subsetSize: 100, seed: 1 });
    const shifted = kernelInceptionDistance(A, C, { subsets: 20, subsetSize: 100, seed: 1 });
    expect(Math.abs(same.mean)).toBeLessThan((3 * same.std) / Math.sqrt(20) + 0.02);
    expect(shifted.mean).toBeGreaterThan(10 * Math.abs(same.mean));
    expect(shifted.mean).toBeGreaterThan(0.1);
  });
});
