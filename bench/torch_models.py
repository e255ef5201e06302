"""PyTorch reference for `npm run bench`: the four ganstudy models with the same networks, losses and update
schedules as src/models/*.ts, timed per trainStep on the CPU.

Networks (src/models/networks.ts, paper-spec section 3), widths scaled by widthMultiplier (min 8):
  28x28: G dense z->4*4*4D (no bias), BN, ReLU, reshape, ConvT5 s2 ->2D (no bias), BN, ReLU, crop 8->7,
         ConvT5 s2 ->D, BN, ReLU, ConvT5 s2 ->C (bias), tanh;  D/E: Conv5 s2 D, 2D, 4D, LReLU 0.2, flatten, dense.
  64x64: G dense z->4*4*8D, BN, ReLU, reshape, ConvT4 s2 ->4D, 2D, D (BN, ReLU), ConvT4 s2 ->C, tanh;
         D/E: Conv4 s2 D, 2D, 4D, 8D, LReLU, flatten, dense.
  BN after every D/E conv but the first (off in the WGAN-GP critic); convs followed by BN have no bias;
  BN eps 1e-5, momentum 0.1 (= Keras 0.9). Code discriminator: MLP zDim->750->750->1, ReLU, no BN.
The TS side uses 'same' padding; here ConvT(k, s2, p=(k-1)//2, output_padding=1 for odd k) and Conv(k, s2,
p=(k-1)//2) give the same output sizes and the same FLOPs.

Schedules per trainStep (as the TS models; the networks that are not updated in a sub-update have
requires_grad off, because tfjs's tape prunes their weight gradients too):
  DCGAN:    nD x D (G forward without grad) then nG x G (non-saturating).
  WGAN-GP:  nD x critic with GP (autograd.grad(create_graph=True)) then nG x G.
  AGE:      nD x E then nG x G; sphere prior, L2-normalised codes, KL in the paper / code form, match_cos.
  alpha-GAN: nG x (E, G from one backward of the surrogate with a stopped-code G pass), nD x D, nD x C.
Every sub-update reads its loss with .item() (the TS side calls dataSync), Adam eps 1e-8.

Usage: python bench/torch_models.py --config '<json>'   (run.ts passes hyperparameters and architectures)
Prints one JSON object on stdout.
"""
import argparse
import json
import math
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def scaled(base, mult):
    return max(8, round(base * mult))


def base_dim(res):
    return 64 if res == 28 else 128 if res == 32 else 64


def init_weights(m):
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        nn.init.normal_(m.weight, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def bn2d(c):
    return nn.BatchNorm2d(c, eps=1e-5, momentum=0.1)


class Crop(nn.Module):
    def forward(self, x):
        return x[:, :, :-1, :-1]


def deconv(cin, cout, k, bias):
    return nn.ConvTranspose2d(cin, cout, k, stride=2, padding=(k - 1) // 2, output_padding=k % 2, bias=bias)


class Generator(nn.Module):
    def __init__(self, arch):
        super().__init__()
        res, ch, z, mult = arch["resolution"], arch["channels"], arch["zDim"], arch["widthMultiplier"]
        d = lambda k: scaled(base_dim(res) * k, mult)
        top = 4 if res in (28, 32) else 8
        k = 4 if res == 64 else 5
        self.top = d(top)
        self.fc = nn.Sequential(nn.Linear(z, 16 * d(top), bias=False), nn.BatchNorm1d(16 * d(top), eps=1e-5, momentum=0.1), nn.ReLU())
        layers = []
        if res == 28:
            layers += [deconv(d(4), d(2), 5, False), bn2d(d(2)), nn.ReLU(), Crop(),
                       deconv(d(2), d(1), 5, False), bn2d(d(1)), nn.ReLU(),
                       deconv(d(1), ch, 5, True), nn.Tanh()]
        else:
            cur = top
            while cur > 1:
                layers += [deconv(d(cur), d(cur // 2), k, False), bn2d(d(cur // 2)), nn.ReLU()]
                cur //= 2
            layers += [deconv(d(1), ch, k, True), nn.Tanh()]
        self.body = nn.Sequential(*layers)
        self.apply(init_weights)

    def forward(self, z):
        return self.body(self.fc(z).view(-1, self.top, 4, 4))


class Discriminator(nn.Module):
    """D / critic / encoder: image -> [B, outputs] linear."""

    def __init__(self, arch, batch_norm, outputs):
        super().__init__()
        res, ch, mult = arch["resolution"], arch["channels"], arch["widthMultiplier"]
        d = lambda k: scaled(base_dim(res) * k, mult)
        k = 4 if res == 64 else 5
        widths = [1, 2, 4, 8] if res == 64 else [1, 2, 4]
        layers, cin, size = [], ch, res
        for i, w in enumerate(widths):
            bn = batch_norm and i > 0
            layers.append(nn.Conv2d(cin, d(w), k, stride=2, padding=(k - 1) // 2, bias=not bn))
            if bn:
                layers.append(bn2d(d(w)))
            layers.append(nn.LeakyReLU(0.2))
            cin = d(w)
            size = math.ceil(size / 2)
        layers += [nn.Flatten(), nn.Linear(cin * size * size, outputs)]
        self.body = nn.Sequential(*layers)
        self.apply(init_weights)

    def forward(self, x):
        return self.body(x)


def code_discriminator(z_dim, units=750):
    c = nn.Sequential(nn.Linear(z_dim, units), nn.ReLU(), nn.Linear(units, units), nn.ReLU(), nn.Linear(units, 1))
    c.apply(init_weights)
    return c


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def adam(m, lr, hp):
    return torch.optim.Adam(m.parameters(), lr=lr, betas=(hp["beta1"], hp["beta2"]), eps=1e-8)


def bce(logits, target):
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, float(target)))


def l2n(x):
    return x / torch.sqrt((x * x).sum(1, keepdim=True) + 1e-12)


def age_kl(codes, form):
    m = codes.mean(0)
    v = codes.var(0, unbiased=False).clamp_min(1e-12)
    if form == "paper":
        per = (v + m * m) / 2 - 0.5 * torch.log(v) - 0.5
    else:
        per = (v * v + m * m) / 2 - torch.log(v) - 0.5
    return per.mean()


def match_cos(a, b):
    return 2 - (l2n(a) * l2n(b)).mean()


def only(trainable, *frozen):
    """requires_grad on the updated networks only (tfjs prunes the others' weight gradients the same way)."""
    for n in trainable:
        n.requires_grad_(True)
    for n in frozen:
        n.requires_grad_(False)


class Model:
    def __init__(self, name, arch, hp):
        self.name, self.arch, self.hp = name, arch, hp
        self.z_dim = arch["zDim"]
        self.G = Generator(arch)
        self.nets = {"G": self.G}
        if name == "dcgan":
            self.D = Discriminator(arch, True, 1)
            self.nets["D"] = self.D
        elif name == "wgan-gp":
            self.D = Discriminator(arch, False, 1)
            self.nets["D"] = self.D
        elif name == "age":
            self.E = Discriminator(arch, True, self.z_dim)
            self.nets["E"] = self.E
        elif name == "alpha-gan":
            self.E = Discriminator(arch, True, self.z_dim)
            self.D = Discriminator(arch, True, 1)
            self.C = code_discriminator(self.z_dim)
            self.nets.update({"E": self.E, "D": self.D, "C": self.C})
        for n in self.nets.values():
            n.train()
        self.opt = {}
        for k, n in self.nets.items():
            lr = hp["lrG"] if k in ("G", "E") and name == "alpha-gan" else hp["lrD"] if k in ("D", "C", "E") else hp["lrG"]
            self.opt[k] = adam(n, lr, hp)

    def latent(self, n, sphere=False):
        z = torch.randn(n, self.z_dim)
        return l2n(z) if sphere else z

    def step_opt(self, k, loss):
        self.opt[k].zero_grad(set_to_none=True)
        loss.backward()
        self.opt[k].step()
        return loss.item()

    def slices(self, real):
        b = self.hp["batchSize"]
        n = real.shape[0]
        if n >= 2 * b and n % b == 0:
            return [real[i * b:(i + 1) * b] for i in range(n // b)], b
        return [real], n

    def train_step(self, real):
        hp = self.hp
        parts, b = self.slices(real)
        sl = lambda i: parts[i % len(parts)]
        out = {}
        if self.name == "dcgan":
            only([self.D], self.G)
            for i in range(hp["nD"]):
                x = sl(i)
                with torch.no_grad():
                    fake = self.G(self.latent(x.shape[0]))
                out["d"] = self.step_opt("D", bce(self.D(x), 1) + bce(self.D(fake), 0))
            only([self.G], self.D)
            for _ in range(hp["nG"]):
                out["g"] = self.step_opt("G", bce(self.D(self.G(self.latent(b))), 1))
        elif self.name == "wgan-gp":
            only([self.D], self.G)
            for i in range(hp["nD"]):
                x = sl(i)
                with torch.no_grad():
                    fake = self.G(self.latent(x.shape[0]))
                eps = torch.rand(x.shape[0], 1, 1, 1)
                f_real = self.D(x).mean()
                f_fake = self.D(fake).mean()
                xh = (x + eps * (fake - x)).requires_grad_(True)
                g, = torch.autograd.grad(self.D(xh).sum(), xh, create_graph=True)
                norms = torch.sqrt((g.reshape(g.shape[0], -1) ** 2).sum(1))
                gp = ((norms - 1) ** 2).mean()
                out["critic"] = self.step_opt("D", f_fake - f_real + hp["gpLambda"] * gp)
            only([self.G], self.D)
            for _ in range(hp["nG"]):
                out["g"] = self.step_opt("G", -self.D(self.G(self.latent(b))).mean())
        elif self.name == "age":
            form = hp["ageKlForm"]
            only([self.E], self.G)
            for i in range(hp["nD"]):
                x = sl(i)
                with torch.no_grad():
                    fake = self.G(self.latent(x.shape[0], True))
                cr = l2n(self.E(x))
                cf = l2n(self.E(fake))
                rec = self.G(cr)
                loss = age_kl(cr, form) - age_kl(cf, form) + hp["ageLambda"] * (rec - x).abs().mean()
                out["e"] = self.step_opt("E", loss)
            only([self.G], self.E)
            for _ in range(hp["nG"]):
                z = self.latent(b, True)
                cf = l2n(self.E(self.G(z)))
                out["g"] = self.step_opt("G", age_kl(cf, form) + hp["ageMu"] * match_cos(cf, z))
        elif self.name == "alpha-gan":
            lam = hp["reconLambda"]
            only([self.E, self.G], self.D, self.C)
            for i in range(hp["nG"]):
                x = sl(i)
                z = self.latent(x.shape[0])
                zh = self.E(x)
                rec = self.G(zh)
                rec_d = self.G(zh.detach())
                gen = self.G(z)
                recon = lam * (x - rec).abs().mean()
                adv_e = -self.C(zh).mean()
                adv_rec = -self.D(rec_d).mean()
                adv_gen = -self.D(gen).mean()
                s = recon + adv_e + adv_rec + adv_gen
                if hp["latentLambda"] > 0:
                    s = s + hp["latentLambda"] * (z - self.E(gen)).abs().mean()
                self.opt["E"].zero_grad(set_to_none=True)
                self.opt["G"].zero_grad(set_to_none=True)
                s.backward()
                self.opt["E"].step()
                self.opt["G"].step()
                out["e"], out["g"] = (recon + adv_e).item(), (recon + adv_rec + adv_gen).item()
            only([self.D], self.E, self.G, self.C)
            for i in range(hp["nD"]):
                x = sl(i)
                with torch.no_grad():
                    rec = self.G(self.E(x))
                    gen = self.G(self.latent(x.shape[0]))
                out["d"] = self.step_opt("D", bce(self.D(x), 1) + bce(self.D(rec), 0) + bce(self.D(gen), 0))
            only([self.C], self.E, self.G, self.D)
            for i in range(hp["nD"]):
                x = sl(i)
                with torch.no_grad():
                    zh = self.E(x)
                out["c"] = self.step_opt("C", bce(self.C(self.latent(x.shape[0])), 1) + bce(self.C(zh), 0))
        return out


def median_ms(fn, warmup, reps):
    """Median wall time in ms of `reps` calls of fn, after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def time_model(name, arch, hp, rows, warmup, steps, seed, profile_steps=0):
    torch.manual_seed(seed)
    m = Model(name, arch, hp)
    r = arch["resolution"]
    real = torch.rand(rows, arch["channels"], r, r) * 2 - 1
    for _ in range(warmup):
        m.train_step(real)
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        losses = m.train_step(real)
        times.append((time.perf_counter() - t0) * 1000)
    finite = all(math.isfinite(v) for v in losses.values())
    profile = None
    if profile_steps:
        from torch.profiler import ProfilerActivity, profile as tprofile
        with tprofile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(profile_steps):
                m.train_step(real)
        ops = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)[:15]
        profile = [{"op": e.key, "ms": e.self_cpu_time_total / 1000 / profile_steps, "calls": e.count / profile_steps} for e in ops]
    return {
        "profile": profile,
        "ms_per_step": statistics.median(times),
        "ms_min": min(times),
        "times_ms": times,
        "params": {k: n_params(n) for k, n in m.nets.items()},
        "finite": finite,
    }


def time_classifier_is(n, batch, res, classes, seed):
    """IS for n images incl. the forward pass of ganstudy's dataset classifier (metrics/classifiers/
    dataset-classifier.ts: conv3x3(32,s2) ReLU, conv3x3(64,s2) ReLU, dense 128 ReLU, dense classes), softmax,
    then the Inception-score formula in float64 NumPy (openai/improved-gan)."""
    import numpy as np
    torch.manual_seed(seed)
    size = math.ceil(math.ceil(res / 2) / 2)
    net = nn.Sequential(nn.Conv2d(3, 32, 3, 2, 1), nn.ReLU(), nn.Conv2d(32, 64, 3, 2, 1), nn.ReLU(), nn.Flatten(),
                        nn.Linear(64 * size * size, 128), nn.ReLU(), nn.Linear(128, classes)).eval()
    images = torch.rand(n, 3, res, res) * 2 - 1

    def run():
        with torch.no_grad():
            probs = torch.cat([F.softmax(net(images[i:i + batch]), 1) for i in range(0, n, batch)]).double().numpy()
        scores = []
        for s in range(10):
            part = probs[s * n // 10:(s + 1) * n // 10]
            kl = part * (np.log(part) - np.log(part.mean(0, keepdims=True)))
            scores.append(np.exp(kl.sum(1).mean()))
        return float(np.mean(scores))

    run()
    t0 = time.perf_counter()
    run()
    return (time.perf_counter() - t0) * 1000


def time_critic(res, channels, warmup, steps, seed):
    """One independent-critic update (metrics/critic.ts): WGAN-GP critic without BN, Adam 1e-4 (0.5, 0.9), GP
    lambda 10, batch 64, against fixed samples (generator cost excluded on both sides)."""
    torch.manual_seed(seed)
    arch = {"resolution": res, "channels": channels, "zDim": 128, "widthMultiplier": 1}
    critic = Discriminator(arch, False, 1)
    opt = torch.optim.Adam(critic.parameters(), lr=1e-4, betas=(0.5, 0.9))
    real = torch.rand(64, channels, res, res) * 2 - 1
    fake = torch.rand(64, channels, res, res) * 2 - 1

    def step():
        eps = torch.rand(64, 1, 1, 1)
        f_real, f_fake = critic(real).mean(), critic(fake).mean()
        xh = (real + eps * (fake - real)).requires_grad_(True)
        g, = torch.autograd.grad(critic(xh).sum(), xh, create_graph=True)
        gp = (((g.reshape(64, -1) ** 2).sum(1) + 1e-12).sqrt() - 1).pow(2).mean()
        loss = f_fake - f_real + 10 * gp
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    return median_ms(step, warmup, steps)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", required=True, help="JSON: {threads, warmup, steps, seed, cases: [{model, arch, hp, rows}]}")
    args = ap.parse_args()
    cfg = json.loads(args.config)
    torch.set_num_threads(int(cfg["threads"]))
    results = []
    for c in cfg.get("cases", []):
        r = time_model(c["model"], c["arch"], c["hp"], c["rows"], cfg["warmup"], cfg["steps"], cfg.get("seed", 1), cfg.get("profileSteps", 0))
        r.update({"model": c["model"], "resolution": c["arch"]["resolution"]})
        results.append(r)
        print(f"[torch] {c['model']} {c['arch']['resolution']}x{c['arch']['resolution']}: {r['ms_per_step']:.1f} ms/step", file=sys.stderr, flush=True)
    metrics = {}
    m = cfg.get("metrics")
    if m:
        metrics["is_classifier_10000_ms"] = time_classifier_is(m["isImages"], m["isBatch"], 28, 10, 1)
        print(f"[torch] IS incl. classifier, {m['isImages']} images: {metrics['is_classifier_10000_ms']:.0f} ms", file=sys.stderr, flush=True)
        for res in m["criticResolutions"]:
            metrics[f"critic_step_{res}_ms"] = time_critic(res, 3, cfg["warmup"], m["criticSteps"], 1)
            print(f"[torch] critic step {res}x{res}: {metrics[f'critic_step_{res}_ms']:.0f} ms", file=sys.stderr, flush=True)
    print(json.dumps({
        "metrics": metrics,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "interop_threads": torch.get_num_interop_threads(),
        "mkldnn": torch.backends.mkldnn.is_available(),
        "results": results,
    }))


if __name__ == "__main__":
    main()
