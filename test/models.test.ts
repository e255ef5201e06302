/**
 * The models' mathematics against independent calculations, their update schedules, determinism and
 * save / load. Tiny widths (8–16 channels) and batches ≤ 8 keep this fast on native TensorFlow.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Tensor, Tensor2D, Tensor4D } from '@tensorflow/tfjs-node';
import { tf } from '../src/backend/index.js';
import {
  AlphaGan,
  Age,
  Dcgan,
  WganGp,
  ageKl,
  alphaGanLosses,
  buildDiscriminator,
  createModel,
  defaultHyperparameters,
  gradientPenalty,
  matchCos,
  sigmoidCrossEntropy,
} from '../src/models/index.js';
import { snapshot, trainableVariables, normalLatent, type LayersModel } from '../src/models/common.js';
import type { ArchitectureConfig, GanModel, ModelConfig, ModelName } from '../src/models/types.js';
import { createRng } from '../src/util/rng.js';

const ARCH: ArchitectureConfig = { resolution: 28, channels: 3, zDim: 8, widthMultiplier: 0.125 };
const B = 8;

function config(model: ModelName, over: Partial<ModelConfig['hp']> = {}, seed = 7): ModelConfig {
  return { model, arch: ARCH, hp: { ...defaultHyperparameters(model), batchSize: B, ...over }, seed };
}

function realBatch(seed: number, n = B): Tensor4D {
  return tf.tidy(() => tf.tanh(tf.randomNormal([n, 28, 28, 3], 0, 1, 'float32', seed)) as Tensor4D);
}

/** largest |a−b| over two snapshots (0 ⇔ the network did not change) */
function maxChange(a: Float32Array[], b: Float32Array[]): number {
  let m = 0;
  a.forEach((w, i) => w.forEach((v, j) => (m = Math.max(m, Math.abs(v - b[i][j])))));
  return m;
}

const tmpDirs: string[] = [];
afterAll(async () => {
  await Promise.all(tmpDirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('WGAN-GP gradient penalty', () => {
  // the real critic builder (no batch norm, twice-differentiable leaky ReLU) at 28×28×3, width 8
  const critic = buildDiscriminator(ARCH, { batchNorm: false, outputs: 1, doubleBackprop: true, seed: 11 });
  const f = (x: Tensor4D) => critic.apply(x, { training: true }) as Tensor;

  it('input-gradient norms and penalty match central finite differences', () => {
    const n = 2;
    const xHat = tf.randomUniform([n, 28, 28, 3], -1, 1, 'float32', 5) as Tensor4D;
    const { penalty, norms } = gradientPenalty(f, xHat);
    const analyticNorms = Array.from(norms.dataSync());
    // central differences: one batched forward pass over every ±h perturbation of every pixel
    const h = 1e-2;
    const d = 28 * 28 * 3;
    const base = xHat.reshape([n, d]).arraySync() as number[][];
    const fdNorms: number[] = [];
    for (let b = 0; b < n; b++) {
      let sq = 0;
      for (let start = 0; start < d; start += 588) {
        const count = Math.min(588, d - start);
        const rows: number[][] = [];
        for (let k = 0; k < count; k++) {
          for (const s of [1, -1]) {
            const r = base[b].slice();
            r[start + k] += s * h;
            rows.push(r);
          }
        }
        const out = tf.tidy(() => f(tf.tensor2d(rows).reshape([rows.length, 28, 28, 3]) as Tensor4D).dataSync());
        for (let k = 0; k < count; k++) {
          const g = (out[2 * k] - out[2 * k + 1]) / (2 * h);
          sq += g * g;
        }
      }
      fdNorms.push(Math.sqrt(sq));
    }
    const fdPenalty = fdNorms.reduce((s, v) => s + (v - 1) ** 2, 0) / n;
    // float32 forward values (~1e-7 relative) over 2h = 0.02 give ~1e-5 per partial; the critic is piecewise
    // linear, so kinks inside ±h are the only other error. 1% on the norm is far tighter than any bug.
    analyticNorms.forEach((v, i) => expect(Math.abs(v - fdNorms[i]) / fdNorms[i]).toBeLessThan(1e-2));
    expect(Math.abs(penalty.dataSync()[0] - fdPenalty)).toBeLessThan(1e-2 * Math.max(fdPenalty, 1e-3) + 1e-4);
    tf.dispose([xHat, penalty, norms]);
  });

  it('double backprop: ∂penalty/∂weights matches finite differences on the largest entries', () => {
    const xHat = tf.randomUniform([2, 28, 28, 3], -1, 1, 'float32', 6) as Tensor4D;
    const vars = trainableVariables(critic);
    const penaltyValue = () => tf.tidy(() => gradientPenalty(f, xHat).penalty.dataSync()[0]);
    const { grads } = tf.variableGrads(() => gradientPenalty(f, xHat).penalty, vars);
    // the first conv kernel (where the input gradient enters) and the last dense kernel
    for (const v of [vars[0], vars[vars.length - 2]]) {
      const g = grads[v.name].dataSync();
      let idx = 0;
      g.forEach((x, i) => (Math.abs(x) > Math.abs(g[idx]) ? (idx = i) : 0));
      const orig = v.dataSync().slice();
      const h = 1e-3;
      const at = (delta: number) => {
        const w = orig.slice();
        w[idx] += delta;
        v.assign(tf.tensor(w, v.shape));
        return penaltyValue();
      };
      const fd = (at(h) - at(-h)) / (2 * h);
      v.assign(tf.tensor(orig, v.shape));
      expect(Math.abs(g[idx]), `gradient at ${v.name}[${idx}] is non-zero`).toBeGreaterThan(1e-3);
      expect(Math.abs(fd - g[idx])).toBeLessThan(0.03 * Math.abs(g[idx]) + 1e-4);
    }
    tf.dispose([xHat, grads]);
  });
});

describe('AGE KL and match', () => {
  const paper = (m: number, v: number) => (v + m * m) / 2 - 0.5 * Math.log(v) - 0.5;
  const code = (m: number, v: number) => (v * v + m * m) / 2 - Math.log(v) - 0.5;

  it('paper-spec example m = 0, v = 1/64: code form 3.6590, true KL 1.5873 per dimension', () => {
    // two rows ±1/8 → mean 0, biased variance 1/64 in every dimension
    const codes = tf.tensor2d([
      [0.125, -0.125, 0.125],
      [-0.125, 0.125, -0.125],
    ]);
    expect(ageKl(codes, 'paper').dataSync()[0]).toBeCloseTo(paper(0, 1 / 64), 5);
    expect(ageKl(codes, 'code').dataSync()[0]).toBeCloseTo(code(0, 1 / 64), 5);
    expect(paper(0, 1 / 64)).toBeCloseTo(1.5873, 4);
    expect(code(0, 1 / 64)).toBeCloseTo(3.659, 4);
    codes.dispose();
  });

  it('matches a float64 computation on random codes (both forms)', () => {
    const rng = createRng(3);
    const [n, m] = [32, 6];
    const rows = Array.from({ length: n }, () =>
      Array.from({ length: m }, (_, j) => 0.3 * j - 0.5 + (0.2 + 0.1 * j) * rng.normal()),
    );
    const codes = tf.tensor2d(rows);
    for (const [form, fn] of [
      ['paper', paper],
      ['code', code],
    ] as const) {
      let sum = 0;
      for (let j = 0; j < m; j++) {
        const mean = rows.reduce((s, r) => s + r[j], 0) / n;
        const v = rows.reduce((s, r) => s + (r[j] - mean) ** 2, 0) / n;
        sum += fn(mean, v);
      }
      const expected = sum / m;
      expect(Math.abs(ageKl(codes, form).dataSync()[0] - expected)).toBeLessThan(
        1e-5 * Math.max(1, Math.abs(expected)),
      );
    }
    // match_cos(a, b) = 2 − mean over batch and dims of normalize(a) ⊙ normalize(b)
    const other = rows.map((r) => r.map((x, j) => x * (j % 2 ? 1 : -0.5) + 0.1));
    const norm = (r: number[]) => Math.sqrt(r.reduce((s, x) => s + x * x, 0));
    let dot = 0;
    rows.forEach((r, i) => r.forEach((x, j) => (dot += (x / norm(r)) * (other[i][j] / norm(other[i])))));
    expect(matchCos(codes, tf.tensor2d(other)).dataSync()[0]).toBeCloseTo(2 - dot / (n * m), 5);
    codes.dispose();
  });
});

describe('α-GAN losses term by term', () => {
  const sp = (x: number) => Math.log1p(Math.exp(x)); // softplus
  it('match a hand computation on fixed tensors', () => {
    const real = [0.5, -0.25, 1, 0];
    const rec = [0.25, 0.25, -1, 0.5];
    const dReal = [2, -1];
    const dRec = [0.5, -3];
    const dGen = [-0.5, 1.5];
    const cPrior = [0.25, 4];
    const cEnc = [-2, 0.75];
    const lambda = 10;
    const l = alphaGanLosses(
      {
        real: tf.tensor4d(real, [1, 2, 2, 1]),
        reconstruction: tf.tensor4d(rec, [1, 2, 2, 1]),
        dReal: tf.tensor1d(dReal),
        dRec: tf.tensor1d(dRec),
        dGen: tf.tensor1d(dGen),
        cPrior: tf.tensor1d(cPrior),
        cEnc: tf.tensor1d(cEnc),
      },
      lambda,
    );
    const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;
    // −log σ(l) = softplus(−l); −log(1 − σ(l)) = softplus(l)
    const recon = lambda * mean(real.map((x, i) => Math.abs(x - rec[i]))); // 10 · (0.25+0.5+2+0.5)/4 = 8.125
    expect(recon).toBeCloseTo(8.125, 10);
    const expected = {
      recon,
      e: recon - mean(cEnc),
      g: recon - mean(dRec) - mean(dGen),
      d: mean(dReal.map((x) => sp(-x))) + mean(dRec.map(sp)) + mean(dGen.map(sp)),
      c: mean(cPrior.map((x) => sp(-x))) + mean(cEnc.map(sp)),
    };
    for (const k of ['recon', 'e', 'g', 'd', 'c'] as const) {
      expect(Math.abs(l[k].dataSync()[0] - expected[k]), k).toBeLessThan(1e-5);
    }
    // the sigmoid cross-entropy itself at a large logit (stable form)
    expect(sigmoidCrossEntropy(tf.tensor1d([30]), 0).dataSync()[0]).toBeCloseTo(30, 4);
  });

  it('one backward pass gives ∂L_E/∂E and ∂L_G/∂G exactly as taken separately', () => {
    const model = new AlphaGan(config('alpha-gan', { latentLambda: 0 }), { codeUnits: 16 });
    const x = realBatch(21);
    const { eGrads, gGrads, dispose } = model.encoderGeneratorGradients(x, createRng(5));
    // reference: the same forward values (same latent seed; BN in training mode uses batch statistics)
    const z = normalLatent(B, ARCH.zDim, createRng(5).seed(), false);
    const terms = () => {
      const zHat = model.E.apply(x, { training: true }) as Tensor2D;
      const rec = model.G.apply(zHat, { training: true }) as Tensor4D;
      const gen = model.G.apply(z, { training: true }) as Tensor4D;
      const d = (t: Tensor4D) => model.D.apply(t, { training: true }) as Tensor;
      return alphaGanLosses(
        {
          real: x,
          reconstruction: rec,
          dReal: d(x),
          dRec: d(rec),
          dGen: d(gen),
          cPrior: model.C.apply(z) as Tensor,
          cEnc: model.C.apply(zHat) as Tensor,
        },
        model.config.hp.reconLambda,
      );
    };
    const refE = tf.variableGrads(() => terms().e, trainableVariables(model.E)).grads;
    const refG = tf.variableGrads(() => terms().g, trainableVariables(model.G)).grads;
    const compare = (a: object, b: object) => {
      const [ra, rb] = [a as Record<string, Tensor>, b as Record<string, Tensor>];
      expect(Object.keys(ra)).toEqual(Object.keys(rb));
      for (const k of Object.keys(ra)) {
        const diff = tf.max(tf.abs(tf.sub(ra[k], rb[k]))).dataSync()[0];
        const scale = tf.max(tf.abs(rb[k])).dataSync()[0];
        expect(diff, k).toBeLessThan(1e-4 * scale + 1e-7);
      }
    };
    compare(eGrads, refE);
    compare(gGrads, refG);
    dispose();
    tf.dispose([x, z, refE, refG]);
    model.dispose();
  });
});

/** one row of the schedule table: a fresh model, its networks, single sub-updates and what each may change */
interface ScheduleCase {
  name: string;
  /** optimizer updates per network in one trainStep */
  perStep: Record<string, number>;
  setup: () => {
    model: GanModel & { updateCounts(): Record<string, number> };
    nets: Record<string, LayersModel>;
    /** label, one sub-update of that phase, the networks it changes (all others must stay bit-identical) */
    phases: [string, (x: Tensor4D) => unknown, string[]][];
  };
}

const SCHEDULES: ScheduleCase[] = [
  {
    name: 'DCGAN, nD 2 nG 3: D step only D, G step only G',
    perStep: { G: 3, D: 2 },
    setup: () => {
      const m = new Dcgan(config('dcgan', { nD: 2, nG: 3 }));
      return {
        model: m,
        nets: { G: m.G, D: m.D },
        phases: [
          ['D step', (x) => m.discriminatorStep(x, createRng(1)), ['D']],
          ['G step', () => m.generatorStep(B, createRng(2)), ['G']],
        ],
      };
    },
  },
  {
    name: 'WGAN-GP defaults: critic step only the critic, G step only G, 5 critic updates per G update',
    perStep: { G: 1, D: 5 },
    setup: () => {
      const m = new WganGp(config('wgan-gp'));
      return {
        model: m,
        nets: { G: m.G, D: m.critic },
        phases: [
          ['critic step', (x) => m.criticStep(x, createRng(1)), ['D']],
          ['G step', () => m.generatorStep(B, createRng(2)), ['G']],
        ],
      };
    },
  },
  {
    name: 'AGE defaults: encoder step only E, generator step only G; 1 E-update then 2 G-updates',
    perStep: { G: 2, E: 1 },
    setup: () => {
      const m = new Age(config('age'));
      return {
        model: m,
        nets: { G: m.G, E: m.E },
        phases: [
          ['E step', (x) => m.encoderStep(x, createRng(1)), ['E']],
          ['G step', () => m.generatorStep(B, createRng(2)), ['G']],
        ],
      };
    },
  },
  {
    name: 'α-GAN, nG 2 nD 3: (E,G) phase leaves D and C; D phase only D; C phase only C',
    perStep: { E: 2, G: 2, D: 3, C: 3 },
    setup: () => {
      const m = new AlphaGan(config('alpha-gan', { nG: 2, nD: 3 }), { codeUnits: 16 });
      return {
        model: m,
        nets: { E: m.E, G: m.G, D: m.D, C: m.C },
        phases: [
          ['(E,G) step', (x) => m.encoderGeneratorStep(x, createRng(1)), ['E', 'G']],
          ['D step', (x) => m.discriminatorStep(x, createRng(2)), ['D']],
          ['C step', (x) => m.codeDiscriminatorStep(x, createRng(3)), ['C']],
        ],
      };
    },
  },
];

describe('update schedules: which networks change in which phase', () => {
  it.each(SCHEDULES)('$name', ({ perStep, setup }) => {
    const { model, nets, phases } = setup();
    const x = realBatch(1);
    const snapAll = () => Object.fromEntries(Object.entries(nets).map(([k, n]) => [k, snapshot(n)]));
    for (const [label, run, changes] of phases) {
      const before = snapAll();
      tf.tidy(() => void run(x));
      const after = snapAll();
      const changed = Object.keys(nets).filter((k) => maxChange(before[k], after[k]) > 0);
      expect(changed.sort(), label).toEqual([...changes].sort());
    }
    const before = model.updateCounts();
    model.trainStep(x);
    const after = model.updateCounts();
    expect(Object.fromEntries(Object.keys(after).map((k) => [k, after[k] - before[k]]))).toEqual(perStep);
    model.dispose();
    x.dispose();
  });

  it('WGAN-GP reports the last critic update: critic = −w_estimate + λ·gp', () => {
    const m = new WganGp(config('wgan-gp'));
    const x = realBatch(2);
    const losses = m.trainStep(x);
    expect(Object.keys(losses).sort()).toEqual(['critic', 'g', 'gp', 'w_estimate']);
    expect(losses.critic).toBeCloseTo(-losses.w_estimate + 10 * losses.gp, 4);
    m.dispose();
    x.dispose();
  });

  it('AGE: encodings lie on the unit sphere', () => {
    const m = new Age(config('age'));
    const x = realBatch(3);
    m.trainStep(x);
    const norms = tf.tidy(() => tf.norm(m.encode(x), 2, 1).dataSync());
    norms.forEach((v) => expect(v).toBeCloseTo(1, 5));
    m.dispose();
    x.dispose();
  });
});

describe('determinism and save / load', () => {
  const models: ModelName[] = ['dcgan', 'wgan-gp', 'age', 'alpha-gan'];

  it('same seed → same first losses and samples; another seed → different', () => {
    const x = realBatch(9);
    for (const name of models) {
      const hp = name === 'wgan-gp' ? { nD: 2 } : {};
      const a = createModel(config(name, hp, 42));
      const b = createModel(config(name, hp, 42));
      const c = createModel(config(name, hp, 43));
      const la = a.trainStep(x);
      const lb = b.trainStep(x);
      const lc = c.trainStep(x);
      for (const k of Object.keys(la))
        expect(Math.abs(la[k] - lb[k]), `${name} ${k}`).toBeLessThanOrEqual(1e-6 * Math.max(1, Math.abs(la[k])));
      expect(
        Object.keys(la).some((k) => Math.abs(la[k] - lc[k]) > 1e-4),
        `${name}: seed 43 differs`,
      ).toBe(true);
      const [sa, sb, sOther] = [a.sample(4, 5), b.sample(4, 5), a.sample(4, 6)];
      expect(tf.max(tf.abs(tf.sub(sa, sb))).dataSync()[0]).toBe(0);
      expect(tf.max(tf.abs(tf.sub(sa, sOther))).dataSync()[0]).toBeGreaterThan(0);
      expect(sa.shape).toEqual([4, 28, 28, 3]);
      // large n runs G in chunks; the latent prefix (and inference-mode G) make the first rows identical
      const big = a.sample(600, 5);
      expect(big.shape).toEqual([600, 28, 28, 3]);
      expect(tf.max(tf.abs(tf.sub(big.slice(0, 4), sa))).dataSync()[0]).toBeLessThan(1e-6);
      big.dispose();
      expect(tf.max(tf.abs(sa)).dataSync()[0]).toBeLessThanOrEqual(1);
      tf.dispose([sa, sb, sOther]);
      [a, b, c].forEach((m) => m.dispose());
    }
    x.dispose();
  });

  it('after save and load into a fresh model, the next steps give the same losses (1e-5)', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ganstudy-models-'));
    tmpDirs.push(dir);
    for (const name of models) {
      const hp = name === 'wgan-gp' ? { nD: 2 } : {};
      const a: GanModel = createModel(config(name, hp, 5));
      const batches = [0, 1, 2, 3].map((i) => realBatch(100 + i));
      a.trainStep(batches[0]);
      a.trainStep(batches[1]);
      const ckpt = path.join(dir, name);
      await a.save(ckpt);
      const b = createModel(config(name, hp, 5));
      await b.load(ckpt);
      for (const x of batches.slice(2)) {
        const la = a.trainStep(x);
        const lb = b.trainStep(x);
        for (const k of Object.keys(la)) {
          expect(Math.abs(la[k] - lb[k]), `${name} ${k}: ${la[k]} vs ${lb[k]}`).toBeLessThanOrEqual(
            1e-5 * Math.max(1, Math.abs(la[k])),
          );
        }
      }
      // a model that was never trained would differ: the checkpoint carried real state
      const fresh = createModel(config(name, hp, 5));
      const lf = fresh.trainStep(batches[2]);
      const la2 = createModel(config(name, hp, 5));
      await la2.load(ckpt);
      const ll = la2.trainStep(batches[2]);
      expect(Object.keys(ll).some((k) => Math.abs(ll[k] - lf[k]) > 1e-4)).toBe(true);
      [a, b, fresh, la2].forEach((m) => m.dispose());
      tf.dispose(batches);
    }
  });

  it('load rejects a checkpoint of another model or architecture, naming the file', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ganstudy-models-'));
    tmpDirs.push(dir);
    const a = createModel(config('dcgan'));
    await a.save(dir);
    const b = createModel(config('wgan-gp'));
    await expect(b.load(dir)).rejects.toThrow(/model\.json.*'dcgan'/);
    const c = createModel({ ...config('dcgan'), arch: { ...ARCH, zDim: 9 } });
    await expect(c.load(dir)).rejects.toThrow(/architecture/);
    await expect(a.load(path.join(dir, 'missing'))).rejects.toThrow(/missing.*model\.json/);
    [a, b, c].forEach((m) => m.dispose());
  });

  it('createModel validates its config and names the field', () => {
    expect(() => createModel({ ...config('dcgan'), hp: { ...config('dcgan').hp, nD: 0 } })).toThrow(/hp\.nD/);
  });
});
