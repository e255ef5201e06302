"""The PyTorch side of bench/conv-layers.ts: forward plus input and kernel gradients of each DCGAN convolution.

Run: .venv/bin/python bench/conv_layers.py '<JSON list of cases from convLayerCases>'   (prints one JSON object)
"""
import json
import sys

import torch

from torch_models import median_ms  # bench/ is on the path: this script is run as bench/conv_layers.py


def time_case(case, reps=15):
    n, h, w, cin = case["input"]
    k, cout = case["kernel"], case["outChannels"]
    pad = (k - 1) // 2  # 'same' with stride 2: 2 for 5x5, 1 for 4x4 (the bench models use the same)
    x = torch.randn(n, cin, h, w, requires_grad=True)
    if case["transpose"]:
        wt = torch.randn(cin, cout, k, k, requires_grad=True)
        fwd = lambda: torch.nn.functional.conv_transpose2d(x, wt, stride=2, padding=pad, output_padding=k % 2)
    else:
        wt = torch.randn(cout, cin, k, k, requires_grad=True)
        fwd = lambda: torch.nn.functional.conv2d(x, wt, stride=2, padding=pad)

    def step():
        torch.autograd.grad(fwd().sum(), [x, wt])

    return median_ms(step, 3, reps)


def main():
    cases = json.loads(sys.argv[1])
    print(json.dumps({"ms": {c["name"]: time_case(c) for c in cases}}))


if __name__ == "__main__":
    main()
