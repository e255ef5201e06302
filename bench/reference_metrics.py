"""Reference timings for bench/metrics-core.ts, with NumPy/SciPy implementations on the same machine.

- MS-SSIM, compare_gan convention (window min(11, H, W) with sigma 1.5, VALID Gaussian convolution, biased
  statistics, relu, 2x2 average pooling with symmetric padding of odd sizes, mean over channels), float64,
  vectorised over the 2,016 distinct pairs of a batch of 64 images of 64x64x3 (scipy.signal.fftconvolve, as
  Google's msssim.py does);
- Inception score from probabilities (openai/improved-gan formula), 10,000 x 10 and 10,000 x 1,000, median of 7;
- FID between two 10,000 x 2,048 feature sets (pytorch-fid's calculate_frechet_distance: np.cov and
  scipy.linalg.sqrtm).

Run: .venv/bin/python bench/reference_metrics.py [--small]   (prints one JSON object on stdout)
"""
import json
import sys
import time

import numpy as np
from scipy import linalg, signal

WEIGHTS = np.array([0.0448, 0.2856, 0.3001, 0.2363, 0.1333])


def gauss(size, sigma):
    c = np.arange(size) - (size - 1) / 2.0
    g = np.exp(-(c ** 2) / (2.0 * sigma ** 2))
    g = np.outer(g, g)
    return g / g.sum()


def ssim_per_channel(x, y, max_val, size, sigma=1.5, k1=0.01, k2=0.03):
    """x, y: [n, h, w, c] float64 -> (ssim, cs) means over positions, each [n, c]."""
    win = gauss(size, sigma)[None, :, :, None]
    conv = lambda a: signal.fftconvolve(a, win, mode="valid", axes=(1, 2))
    mx, my = conv(x), conv(y)
    sxx = conv(x * x) - mx * mx
    syy = conv(y * y) - my * my
    sxy = conv(x * y) - mx * my
    c1, c2 = (k1 * max_val) ** 2, (k2 * max_val) ** 2
    lum = (2 * mx * my + c1) / (mx * mx + my * my + c1)
    cs = (2 * sxy + c2) / (sxx + syy + c2)
    return (lum * cs).mean(axis=(1, 2)), cs.mean(axis=(1, 2))


def downsample(a):
    h, w = a.shape[1:3]
    a = np.pad(a, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), mode="symmetric")
    return 0.25 * (a[:, 0::2, 0::2] + a[:, 1::2, 0::2] + a[:, 0::2, 1::2] + a[:, 1::2, 1::2])


def msssim_compare_gan(x, y, max_val=255.0):
    mcs = []
    for k in range(len(WEIGHTS)):
        if k > 0:
            x, y = downsample(x), downsample(y)
        size = min(11, x.shape[1], x.shape[2])
        ssim, cs = ssim_per_channel(x, y, max_val, size)
        mcs.append(np.maximum(cs, 0))
    mcs[-1] = np.maximum(ssim, 0)
    stacked = np.stack(mcs, axis=-1)  # [n, c, K]
    return np.prod(stacked ** WEIGHTS, axis=-1).mean(axis=-1)


def inception_score(preds, splits=10):
    scores = []
    n = preds.shape[0]
    for i in range(splits):
        part = preds[(i * n // splits):((i + 1) * n // splits), :]
        kl = part * (np.log(part) - np.log(np.expand_dims(np.mean(part, 0), 0)))
        scores.append(np.exp(np.mean(np.sum(kl, 1))))
    return np.mean(scores), np.std(scores)


def fid(a, b):
    mu1, mu2 = a.mean(0), b.mean(0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = linalg.sqrtm(s1.dot(s2))
    if isinstance(covmean, tuple):  # SciPy < 1.? returned (sqrtm, errest) with disp=False only
        covmean = covmean[0]
    if not np.isfinite(covmean).all():
        off = np.eye(s1.shape[0]) * 1e-6
        covmean = linalg.sqrtm((s1 + off).dot(s2 + off))
    covmean = covmean.real
    d = mu1 - mu2
    return d.dot(d) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean)


def main():
    small = "--small" in sys.argv
    out = {}
    rng = np.random.default_rng(1)

    # self-check against paper-spec 8.2(a) before timing
    imgs = [np.full((64, 64, 3), v) for v in (1.0, 0.7, 0.0)]
    pairs = [(i, j) for i in range(3) for j in range(3) if i != j]
    check = msssim_compare_gan(np.stack([imgs[i] for i, _ in pairs]), np.stack([imgs[j] for _, j in pairs])).mean()
    assert abs(check - 0.989989) < 1e-3, check

    batch = rng.uniform(0, 255, size=(64, 64, 64, 3))
    iu, ju = np.triu_indices(64, k=1)
    msssim_compare_gan(batch[iu[:8]], batch[ju[:8]])  # warm-up
    t0 = time.perf_counter()
    for start in range(0, len(iu), 128):  # chunks keep memory bounded, as the TS side does
        msssim_compare_gan(batch[iu[start:start + 128]], batch[ju[start:start + 128]])
    out["msssim_pairs_per_s"] = len(iu) / (time.perf_counter() - t0)

    for c in (10, 1000):
        logits = 2 * rng.standard_normal((10000, c))
        p = np.exp(logits)
        p /= p.sum(1, keepdims=True)
        inception_score(p, 10)  # warm-up, as the TS side
        times = []
        for _ in range(7):
            t0 = time.perf_counter()
            inception_score(p, 10)
            times.append((time.perf_counter() - t0) * 1000)
        out[f"is_10000x{c}_ms"] = sorted(times)[3]  # median of 7

    n, d = (2000, 512) if small else (10000, 2048)
    common = rng.standard_normal((n, 1))
    a = np.maximum(0, 0.5 * common + rng.standard_normal((n, d)))
    common = rng.standard_normal((n, 1))
    b = np.maximum(0, 0.5 * common + rng.standard_normal((n, d)) + 0.05)
    t0 = time.perf_counter()
    out["fid_value"] = float(fid(a, b))
    out["fid_total_s"] = time.perf_counter() - t0
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
