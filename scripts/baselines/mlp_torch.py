#!/usr/bin/env python3
"""PyTorch CPU baseline of the per-site MLP ONLY of the two-potential model (src/bench/mlp.ts, the
"MLP-only" columns): no descriptor, no force assembly. The full field from the spins, the same
computation as neqspin's MlField, is timed by field_torch.py.

Times, on random inputs x (rows x D), the same network as neqspin (Linear layers D-hidden...-2,
activation between them, outputs (eps, phi)):
  field: forward + input gradient of both outputs, autograd.grad(..., create_graph=True) as a
         force model needs (the graph is kept for a force loss);
  train: one training step with double backprop: g = d(eps, phi)/dx (create_graph), a force-type
         loss on g (MSE against random targets), backward to the weights, Adam step.
torch.set_num_threads(THREADS). Prints one JSON line:
  {"torch": version, "threads": n, "field_rows_per_s": ..., "train_rows_per_s": ...}
Usage: mlp_torch.py '{"D": 54, "hidden": [32, 32], "act": "silu", "rows": 4096, "reps": 5, "threads": 2}'
"""
import json
import sys
import time

cfg = json.loads(sys.argv[1])
try:
    import torch
except ImportError:
    print(json.dumps({"error": "torch not installed"}))
    sys.exit(0)

torch.set_num_threads(int(cfg.get("threads", 2)))
torch.manual_seed(0)
D, hidden, rows, reps = int(cfg["D"]), list(cfg["hidden"]), int(cfg["rows"]), int(cfg.get("reps", 5))
act = {"silu": torch.nn.SiLU, "tanh": torch.nn.Tanh, "relu": torch.nn.ReLU}[cfg.get("act", "silu")]
layers = []
widths = [D] + hidden
for a, b in zip(widths[:-1], widths[1:]):
    layers += [torch.nn.Linear(a, b), act()]
layers.append(torch.nn.Linear(widths[-1], 2))
net = torch.nn.Sequential(*layers)
opt = torch.optim.Adam(net.parameters(), lr=1e-4)
x = torch.randn(rows, D)
target = torch.randn(2, rows, D)


def input_grad():
    xr = x.clone().requires_grad_(True)
    y = net(xr)
    gE = torch.autograd.grad(y[:, 0].sum(), xr, create_graph=True, retain_graph=True)[0]
    gP = torch.autograd.grad(y[:, 1].sum(), xr, create_graph=True)[0]
    return gE, gP


def field():
    gE, gP = input_grad()
    return float(gE[0, 0]) + float(gP[0, 0])


def train():
    opt.zero_grad()
    gE, gP = input_grad()
    loss = ((gE - target[0]) ** 2).mean() + ((gP - target[1]) ** 2).mean()
    loss.backward()
    opt.step()
    return float(loss)


def rate(f):
    f()  # warm-up
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t0)
    return rows / best


print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "field_rows_per_s": rate(field), "train_rows_per_s": rate(train)}))
