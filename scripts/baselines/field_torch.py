#!/usr/bin/env python3
"""PyTorch CPU baseline of the FULL field of the two-potential model (src/bench/mlp.ts), the same
computation as neqspin's MlField (src/model/field.ts) starting from the spins:

  G_i   = descriptor of site i (src/model/descriptor.ts): neighbour spins gathered through the
          layout's neighbour table (slot 0 = the site, -1 = beyond an open edge), then per feature
          S_a.S_b (kind 1), S_0.(S_a x S_b) (kind 2) or a site value (kind 0); a feature touching a
          missing site is 0 (the missing spin is a zero vector, so its Jacobian is 0 too);
  G~    = (G - mean) / std;
  (eps, phi) = MLP(G~): nn.Linear layers (weights [out, in], the names layers.{l}.weight|bias of
          src/model/weights.ts), the activation between them, last layer linear; channels 0 and 1;
  E = sum eps, Phi = sum phi, gE = dE/dS, gP = dPhi/dS by autograd (both w.r.t. the spins);
  h = -(gE - S (S.gE)) - S x gP          (a potential switched off by useE/useP drops its term).

Input: a folder written by src/bench/mlp.ts (`exportTorchField`): config.json and float64 / int32
.npy arrays nbr [N, S], features [D, 4], site_values [N, C], norm_mean [D], norm_std [D],
layers.{l}.weight [out, in], layers.{l}.bias [out], spins [B, N, 3]. config.json:
  {"mode": "check" | "field" | "train", "activation": "silu" | "tanh" | "relu", "layers": L,
   "useE": bool, "useP": bool, "threads": n, "reps": r}
Modes:
  check  float64; writes h.npy [B, N, 3] into the folder (compared with the f64 twin by
         tests/bench-torch-field.test.ts);
  field  float32 inference, no create_graph: best of `reps` timed evaluations of h for all B
         configurations after one warm-up;
  train  float32 training step: h with create_graph, loss = mean over sites of |h - t|^2 against
         fixed random targets t, backward (double backprop) to the weights, Adam step.
stdout: one JSON line {"torch": version, "threads": n, "sites": B*N, "seconds": best, "rate": sites/s}
(or {"error": ...} when torch or numpy is missing).
"""
import json
import os
import sys
import time

try:
    import numpy as np
    import torch
except ImportError as e:
    print(json.dumps({"error": f"{e.name} not installed"}))
    sys.exit(0)

FEAT_SITE, FEAT_DOT, FEAT_CHI = 0, 1, 2


class Field(torch.nn.Module):
    def __init__(self, folder, cfg, dtype):
        super().__init__()
        arr = lambda name: np.load(os.path.join(folder, f"{name}.npy"))
        nbr = torch.from_numpy(arr("nbr").astype(np.int64))
        self.N = nbr.shape[0]
        self.nbr = torch.where(nbr < 0, torch.full_like(nbr, self.N), nbr)  # row N: the zero spin
        feats = torch.from_numpy(arr("features").astype(np.int64))
        kind = feats[:, 0]
        dot, chi, site = [torch.nonzero(kind == k).flatten() for k in (FEAT_DOT, FEAT_CHI, FEAT_SITE)]
        self.dot_a, self.dot_b = feats[dot, 1], feats[dot, 2]
        self.chi_0, self.chi_a, self.chi_b = feats[chi, 1], feats[chi, 2], feats[chi, 3]
        self.site = torch.from_numpy(arr("site_values")).to(dtype)[:, feats[site, 1]]
        self.order = torch.argsort(torch.cat([dot, chi, site]))  # [dot | chi | site] -> feature order
        self.mean = torch.from_numpy(arr("norm_mean")).to(dtype)
        self.std = torch.from_numpy(arr("norm_std")).to(dtype)
        act = {"silu": torch.nn.SiLU, "tanh": torch.nn.Tanh, "relu": torch.nn.ReLU}[cfg["activation"]]
        layers = []
        for l in range(int(cfg["layers"])):
            w = torch.from_numpy(arr(f"layers.{l}.weight")).to(dtype)
            lin = torch.nn.Linear(w.shape[1], w.shape[0], dtype=dtype)
            with torch.no_grad():
                lin.weight.copy_(w)
                lin.bias.copy_(torch.from_numpy(arr(f"layers.{l}.bias")).to(dtype))
            layers += [lin, act()]
        self.net = torch.nn.Sequential(*layers[:-1])
        self.useE, self.useP = bool(cfg["useE"]), bool(cfg["useP"])

    def descriptor(self, s):
        """Normalised G~ [B, N, D] of spins s [B, N, 3]."""
        B = s.shape[0]
        padded = torch.cat([s, s.new_zeros(B, 1, 3)], dim=1)
        nb = padded[:, self.nbr]  # [B, N, S, 3]
        g_dot = (nb[:, :, self.dot_a] * nb[:, :, self.dot_b]).sum(-1)
        g_chi = (nb[:, :, self.chi_0] * torch.cross(nb[:, :, self.chi_a], nb[:, :, self.chi_b], dim=-1)).sum(-1)
        g = torch.cat([g_dot, g_chi, self.site.expand(B, -1, -1)], dim=-1)[..., self.order]
        return (g - self.mean) / self.std

    def forward(self, s, create_graph=False):
        """h [B, N, 3] of spins s [B, N, 3] (s must require grad)."""
        y = self.net(self.descriptor(s))
        used = [c for c, on in ((0, self.useE), (1, self.useP)) if on]
        grads = {}
        for k, c in enumerate(used):
            last = k == len(used) - 1
            grads[c] = torch.autograd.grad(y[..., c].sum(), s, retain_graph=create_graph or not last, create_graph=create_graph)[0]
        h = torch.zeros_like(s)
        if self.useE:
            gE = grads[0]
            h = h - (gE - s * (s * gE).sum(-1, keepdim=True))
        if self.useP:
            h = h - torch.cross(s, grads[1], dim=-1)
        return h


def main():
    folder = sys.argv[1]
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    mode = cfg["mode"]
    if mode not in ("check", "field", "train"):
        raise ValueError(f"config.mode must be check, field or train, got {mode}")
    torch.set_num_threads(int(cfg.get("threads", 2)))
    torch.manual_seed(0)
    dtype = torch.float64 if mode == "check" else torch.float32
    model = Field(folder, cfg, dtype)
    spins = torch.from_numpy(np.load(os.path.join(folder, "spins.npy"))).to(dtype)
    sites = spins.shape[0] * spins.shape[1]
    leaf = lambda: spins.clone().requires_grad_(True)

    if mode == "check":
        np.save(os.path.join(folder, "h.npy"), model(leaf()).detach().numpy())
        print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "sites": sites}))
        return

    if mode == "field":
        def step():
            return model(leaf())
    else:
        target = torch.randn_like(spins)
        opt = torch.optim.Adam(model.net.parameters(), lr=1e-6)

        def step():
            opt.zero_grad()
            loss = ((model(leaf(), create_graph=True) - target) ** 2).sum(-1).mean()
            loss.backward()
            opt.step()
            return loss

    step()  # warm-up
    best = float("inf")
    for _ in range(int(cfg.get("reps", 3))):
        t0 = time.perf_counter()
        step()
        best = min(best, time.perf_counter() - t0)
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "sites": sites, "seconds": best, "rate": sites / best}))


if __name__ == "__main__":
    main()
