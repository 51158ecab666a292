#!/usr/bin/env python3
"""Baseline for `npm run bench`: float64 numpy RGF on a uniform real-axis energy grid, the way the
authors' data require (step <= 0.005 t), for the s-d model of SPEC §1 with wide-band leads.

rho_ii = sum_E dE/2pi [f_L(E) A_L(E) + f_R(E) A_R(E)]_ii, A_a = G Gamma_a G^dagger, on
E in [-(4+|J|) - 10 Gamma, mu + 10 T] (Lorentzian tails beyond are cut, as a grid method must).
Vectorised over energies (stacked np.linalg.inv / matmul): the fast way to write it in numpy.

stdin: JSON {Lx, Ly, periodicY, t, J, gamma, muL, muR, T, spins: [3N], dE, eta, tail (default 10: E_min = band bottom - tail*gamma)}
Requires Lx >= 2.
stdout: JSON {seconds, energies, density: [N], field: [3N]}
"""
import json, sys, time
import numpy as np

def main():
    c = json.load(sys.stdin)
    Lx, Ly, t, J, gam = c["Lx"], c["Ly"], c["t"], c["J"], c["gamma"]
    muL, muR, T, dE, eta = c["muL"], c["muR"], c["T"], c["dE"], c["eta"]
    S = np.asarray(c["spins"], float).reshape(Ly, Lx, 3)
    M = 2 * Ly
    sx = np.array([[0, 1], [1, 0]], complex); sy = np.array([[0, -1j], [1j, 0]]); sz = np.diag([1.0 + 0j, -1.0])
    Hs = np.zeros((Lx, M, M), complex)
    for x in range(Lx):
        for y in range(Ly):
            s = S[y, x]
            Hs[x, 2*y:2*y+2, 2*y:2*y+2] = -J * (s[0]*sx + s[1]*sy + s[2]*sz)
            if y + 1 < Ly or (c.get("periodicY", True) and Ly >= 3):
                yp = (y + 1) % Ly
                for sp in range(2):
                    Hs[x, 2*y+sp, 2*yp+sp] += -t; Hs[x, 2*yp+sp, 2*y+sp] += -t
    t0 = time.perf_counter()
    mu_hi = max(muL, muR)
    emin = -(4 * t + abs(J)) - c.get("tail", 10) * gam
    emax = mu_hi + 10 * max(T, 1e-3)
    E = np.arange(emin, emax, dE)
    K = len(E)
    def fermi(e, mu):
        if T == 0: return (e < mu).astype(float)
        return 0.5 * (1 - np.tanh((e - mu) / (2 * T)))
    fL, fR = fermi(E, muL), fermi(E, muR)
    I = np.eye(M)
    z = (E + 1j * eta)[:, None, None]
    sig = -0.5j * gam * I
    # left-connected g_x, right-connected gR_x
    gL = np.empty((Lx, K, M, M), complex); gR = np.empty((Lx, K, M, M), complex)
    for x in range(Lx):
        A = z * I - Hs[x] - (sig if x == 0 else 0)
        if x > 0: A = A - t * t * gL[x-1]
        gL[x] = np.linalg.inv(A)
    for x in range(Lx - 1, -1, -1):
        A = z * I - Hs[x] - (sig if x == Lx - 1 else 0)
        if x < Lx - 1: A = A - t * t * gR[x+1]
        gR[x] = np.linalg.inv(A)
    # G_{x,0} and G_{x,Lx-1} columns by forward/backward propagation, A = G Gamma G^dag
    rho = np.zeros((Lx, M, M), complex)
    # columns of G: G_{x,0} = gR_x V G_{x-1,0}, G_{x,L-1} = gL_x V G_{x+1,L-1}, V = -t; A_a = G Gamma_a G^dag
    V = -t
    G = np.linalg.inv(z * I - Hs[0] - sig - t * t * gR[1])  # G_{00}
    for x in range(Lx):
        if x > 0: G = gR[x] @ (V * G)
        rho[x] += np.einsum('k,kij->ij', fL * dE / (2 * np.pi), gam * G @ np.conj(np.swapaxes(G, 1, 2)))
    G = np.linalg.inv(z * I - Hs[Lx-1] - sig - t * t * gL[Lx-2])  # G_{L-1,L-1}
    for x in range(Lx - 1, -1, -1):
        if x < Lx - 1: G = gL[x] @ (V * G)
        rho[x] += np.einsum('k,kij->ij', fR * dE / (2 * np.pi), gam * G @ np.conj(np.swapaxes(G, 1, 2)))
    n = np.zeros((Ly, Lx)); F = np.zeros((Ly, Lx, 3))
    for x in range(Lx):
        for y in range(Ly):
            b = rho[x, 2*y:2*y+2, 2*y:2*y+2]
            n[y, x] = np.real(np.trace(b))
            F[y, x] = J * np.real([np.trace(sx @ b), np.trace(sy @ b), np.trace(sz @ b)])
    sec = time.perf_counter() - t0
    json.dump({"seconds": sec, "energies": int(K), "density": n.ravel().tolist(), "field": F.reshape(-1).tolist()}, sys.stdout)

if __name__ == "__main__":
    main()
