#!/usr/bin/python3
"""Compares two replay outputs (docs/formats.md, "Replay files"): ours against the reference's.

    /usr/bin/python3 scripts/reference/compare.py OURS.safetensors REFERENCE.safetensors

Prints one JSON object:
  losses:  per component (loss, loss_infonce, loss_blocks), the largest element-wise relative
           error |a − b| / max(|b|, 1e-12); for logits_top1 (a fraction of the batch) the largest
           absolute difference;
  tensors: per state tensor (weights, buffers, queue, momentum buffers), the largest error
           relative to the tensor's scale: max|a − b| / max(max|b|, 1e-4), i.e. a relative
           tolerance r means |a − b| ≤ r·max|b|, or ≤ r·1e-4 absolute for tensors whose values
           all stay below 1e-4. Element-wise relative error is meaningless for weights that pass
           through zero, and tensors that are zero up to rounding (BN biases inside
           zero-initialised residual branches stay ~1e-7 after a few steps, their gradients sums
           that cancel) would otherwise turn rounding noise into "errors";
  worst_state: the name and error of the worst state tensor;
  missing / extra: state names present in only one file.
"""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import safetensors_io  # noqa: E402

LOSS_NAMES = ("loss", "loss_infonce", "loss_blocks", "logits_top1")
# Not compared: the generator state and the step counter are checked for equality separately.
EXACT_NAMES = ("step", "queue_ptr")
SKIPPED = ("rng.cpu",)


def elementwise_relative(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.double(), b.double()
    if a.numel() == 0:
        return 0.0
    return float(((a - b).abs() / b.abs().clamp_min(1e-12)).max())


SCALE_FLOOR = 1e-4


def scale_relative(a: torch.Tensor, b: torch.Tensor, floor: float = SCALE_FLOOR) -> float:
    a, b = a.double(), b.double()
    if a.numel() == 0:
        return 0.0
    return float((a - b).abs().max() / b.abs().max().clamp_min(floor))


def main(argv) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    ours, _ = safetensors_io.load(argv[0])
    ref, _ = safetensors_io.load(argv[1])
    report = {"losses": {}, "tensors": {}, "exact_mismatch": [], "missing": [], "extra": []}
    for name in LOSS_NAMES:
        if name not in ours or name not in ref:
            report["missing" if name not in ours else "extra"].append(name)
            continue
        # The block terms of loss 'none' are all zero: compare on scale there.
        if name == "logits_top1":
            # A fraction of the batch (multiples of 1/N): the absolute difference is the measure.
            report["losses"][name] = float((ours[name].double() - ref[name].double()).abs().max())
        elif float(ref[name].abs().max()) == 0.0:
            report["losses"][name] = scale_relative(ours[name], ref[name], floor=1e-12)
        else:
            report["losses"][name] = elementwise_relative(ours[name], ref[name])
    state_names = sorted((set(ours) | set(ref)) - set(LOSS_NAMES) - set(SKIPPED))
    worst = ("", 0.0)
    for name in state_names:
        if name not in ours:
            report["missing"].append(name)
            continue
        if name not in ref:
            report["extra"].append(name)
            continue
        a, b = ours[name], ref[name]
        if tuple(a.shape) != tuple(b.shape):
            report["exact_mismatch"].append(f"{name}: shape {list(a.shape)} vs {list(b.shape)}")
            continue
        if name in EXACT_NAMES or not a.is_floating_point():
            if not torch.equal(a, b):
                report["exact_mismatch"].append(f"{name}: {a.flatten()[:4].tolist()} vs {b.flatten()[:4].tolist()}")
            continue
        err = scale_relative(a, b)
        report["tensors"][name] = err
        if err >= worst[1]:
            worst = (name, err)
    report["worst_state"] = {"name": worst[0], "error": worst[1]}
    # The spec's criterion is on weights, buffers and the queue; the optimiser's momentum buffers
    # are accumulated raw gradients, which carry rounding noise undamped (weights see it times
    # the learning rate), so they are reported on their own.
    weights = {k: v for k, v in report["tensors"].items() if not k.startswith("optimizer.")}
    optimizer = {k: v for k, v in report["tensors"].items() if k.startswith("optimizer.")}
    w = max(weights.items(), key=lambda kv: kv[1], default=("", 0.0))
    o = max(optimizer.items(), key=lambda kv: kv[1], default=("", 0.0))
    report["worst_weight"] = {"name": w[0], "error": w[1]}
    report["worst_optimizer"] = {"name": o[0], "error": o[1]}
    report["state_tensors"] = len(report["tensors"])
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
