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
    generator = torch.Generator().manual_seed(seed)
    shape = (steps, batch, channels, size, size)
    q = torch.rand(shape, generator=generator, dtype=torch.float32)
    k = torch.rand(shape, generator=generator, dtype=torch.float32)
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
