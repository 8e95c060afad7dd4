#!/usr/bin/python3
"""Writes random view pairs for replay: `q`, `k` float32 [S, N, C, H, W], uniform in [0, 1).

    /usr/bin/python3 scripts/reference/make_batches.py --steps S --batch N --channels C \
        --size H --seed X --out B.safetensors

Both come from one torch.Generator seeded with X, q drawn first then k, so q and k differ and
the file is a pure function of the arguments.
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import safetensors_io  # noqa: E402


def make_batches(steps: int, batch: int, channels: int, size: int, seed: int):
    """Per sample and channel a random level in [0.2, 0.8] plus noise of ±0.2, in [0, 1].

    Plain i.i.d. noise images would pool (GAP) to almost the same vector for every sample, and
    a BatchNorm over the batch would then divide rounding noise by √eps: every implementation,
    and the same one with another memory layout, would disagree with itself there. Per-sample
    levels give pooled features that differ between samples, as real images do."""
    generator = torch.Generator().manual_seed(seed)
    shape = (steps, batch, channels, size, size)

    def views():
        level = 0.2 + 0.6 * torch.rand(steps, batch, channels, 1, 1, generator=generator)
        noise = 0.4 * (torch.rand(shape, generator=generator) - 0.5)
        return (level + noise).clamp_(0.0, 1.0).to(torch.float32)

    q = views()
    k = views()
    return {"q": q, "k": k}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", required=True, type=int)
    parser.add_argument("--batch", required=True, type=int)
    parser.add_argument("--channels", required=True, type=int)
    parser.add_argument("--size", required=True, type=int, help="height = width")
    parser.add_argument("--seed", required=True, type=int)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    for name in ("steps", "batch", "channels", "size"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1, received {getattr(args, name)}")
    tensors = make_batches(args.steps, args.batch, args.channels, args.size, args.seed)
    safetensors_io.save(args.out, tensors, {
        "format": "imlm-native/replay-batches", "format_version": "1", "seed": str(args.seed)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
