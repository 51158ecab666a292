#!/usr/bin/env python3
"""Least-squares fit of NEGF F-perp with eight CONSTANT nearest-bond torque coefficients.

For each dataset folder of `neqspin demo --scenario stt` (data-v{m}/, numpy only) fits
    F_perp_i ~ sum_k a_k S_i x S_{n_k(i)} + b_k (S_{n_k(i)})perp,   k = +x, -x, +y, -y
on the training trajectories and reports held-out (test split) R^2, RMSE and the net torque
tau_z = z . sum_i S_i x F_i of NEGF and of the fit. This is the constant-coefficient limit of the
bond-torque head (src/model/torque.ts); docs/demo-stt.md quotes its output.
Usage: python3 scripts/stt-bond-fit.py OUT/data-v1 OUT/data-v2 ...
"""
import json
import sys

import numpy as np


def perp(a, s):
    return a - s * np.sum(a * s, -1, keepdims=True)


def basis(S, Lx, Ly, periodic_y):
    """(B, N, 3) spins -> (B, N, 3, 8) bond vectors; open x edges (and open y) drop the bond."""
    S4 = S.reshape(S.shape[0], Ly, Lx, 3)
    out = []
    for dx, dy in [(1, 0), (-1, 0), (0, 1), (0, -1)]:
        Sn = np.roll(S4, (-dy, -dx), axis=(1, 2)).copy()
        if dx == 1:
            Sn[:, :, -1, :] = 0
        if dx == -1:
            Sn[:, :, 0, :] = 0
        if not periodic_y and dy == 1:
            Sn[:, -1, :, :] = 0
        if not periodic_y and dy == -1:
            Sn[:, 0, :, :] = 0
        Sn = Sn.reshape(S.shape)
        out += [np.cross(S, Sn), perp(Sn, S)]
    return np.stack(out, -1)[..., [0, 2, 4, 6, 1, 3, 5, 7]]  # a_+x a_-x a_+y a_-y b_+x ...


def main(dirs):
    for d in dirs:
        meta = json.load(open(f"{d}/meta.json"))
        lat = meta["lattice"]
        S = np.load(f"{d}/spins.npy").astype(np.float64)
        F = np.load(f"{d}/fieldPerp.npy").astype(np.float64)
        traj = np.load(f"{d}/trajectory.npy")
        train, test = np.isin(traj, meta["split"]["train"]), np.isin(traj, meta["split"]["test"])
        B = basis(S, lat["Lx"], lat["Ly"], lat["periodicY"])
        c, *_ = np.linalg.lstsq(B[train].reshape(-1, 8), F[train].reshape(-1), rcond=None)
        pred, y = B[test] @ c, F[test]
        r2 = 1 - np.sum((pred - y) ** 2) / np.sum((y - y.mean()) ** 2)
        tz = lambda h: np.cross(S[test], h)[..., 2].sum(-1).mean()
        print(json.dumps({"data": d, "V": meta["provenance"].get("V"), "r2": round(float(r2), 4),
                          "rmse": float(np.sqrt(np.mean((pred - y) ** 2))),
                          "a": [round(float(v), 5) for v in c[:4]], "b": [round(float(v), 5) for v in c[4:]],
                          "tau_z_negf": round(float(tz(y)), 5), "tau_z_fit": round(float(tz(pred)), 5)}))


if __name__ == "__main__":
    main(sys.argv[1:])
