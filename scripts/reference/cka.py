#!/usr/bin/env python3
"""CKA in float64 NumPy, written from docs/method.md, "Metrics in the reference" (the reference's CKA.py), for imlm-native's tests.

Linear kernel K = X Xᵀ; RBF K = exp(−D²/(2σ²)) with D² = diag(G) − G + (diag(G) − G)ᵀ, G = X Xᵀ,
σ absolute or f·sqrt(median of the non-zero D²); HSIC(K, L) = Σ (HKH)∘(HLH) with H = I − 11ᵀ/n;
CKA = HSIC(K, L) / sqrt(HSIC(K, K)·HSIC(L, L)). Every step in float64 (the reference forms G in
the features' float32; imlm-native does not).

Usage: reads JSON {"x": [[...]], "y": [[...]], "kernel": "linear"|"rbf", "sigma": null|x,
"fraction": f} on stdin, writes {"cka": value} on stdout.
"""
import json
import math
import sys

import numpy as np


def centering(k):
    n = k.shape[0]
    h = np.eye(n) - np.ones((n, n)) / n
    return h @ k @ h


def linear_kernel(x):
    return x @ x.T


def rbf_kernel(x, sigma=None, fraction=1.0):
    g = x @ x.T
    d2 = np.diag(g) - g + (np.diag(g) - g).T
    if sigma is None:
        sigma = fraction * math.sqrt(np.median(d2[d2 != 0]))
    return np.exp(d2 * (-0.5 / (sigma * sigma)))


def hsic(k, l):
    return np.sum(centering(k) * centering(l))


def cka(x, y, kernel="linear", sigma=None, fraction=1.0):
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if kernel == "linear":
        k, l = linear_kernel(x), linear_kernel(y)
    else:
        k, l = rbf_kernel(x, sigma, fraction), rbf_kernel(y, sigma, fraction)
    return hsic(k, l) / math.sqrt(hsic(k, k) * hsic(l, l))


if __name__ == "__main__":
    request = json.load(sys.stdin)
    value = cka(request["x"], request["y"], request.get("kernel", "linear"), request.get("sigma"), request.get("fraction", 1.0))
    json.dump({"cka": float(value)}, sys.stdout)
