"""Learning-rate and key-momentum schedules of docs/formats.md.

t is always the number of optimiser steps completed *before* the current one (the state's
`step`), so the first step of a run uses t = 0. Both are computed in Python floats (IEEE double),
in exactly the order of operations written below, so that a C++ port using doubles gets the same
value bit for bit before it is handed to the float32 kernels.
"""

from __future__ import annotations

import math
from typing import Any, Dict


def learning_rate(t: int, config: Dict[str, Any]) -> float:
    """lr_t: linear warm-up, then constant / step / cosine.

    - warm-up, t < warmupSteps:  lr * (t + 1) / warmupSteps
    - constant:                  lr
    - step:                      lr * gamma ** (number of milestones <= t)   (t is absolute, not
                                 counted from the end of the warm-up)
    - cosine:                    lr * 0.5 * (1 + cos(pi * p)), p = (t - w) / (totalSteps - w)
                                 computed first and clamped to at most 1, so steps past
                                 totalSteps keep lr = 0 instead of climbing back up the cosine.
    """
    opt = config["optimizer"]
    base = float(opt["lr"])
    warmup = int(opt["warmupSteps"])
    if t < warmup:
        return base * (t + 1) / warmup
    schedule = opt["schedule"]
    if schedule == "constant":
        return base
    if schedule == "step":
        passed = sum(1 for milestone in opt["milestones"] if milestone <= t)
        return base * float(opt["gamma"]) ** passed
    if schedule == "cosine":
        total = int(config["totalSteps"])
        progress = min(1.0, (t - warmup) / (total - warmup))
        return base * 0.5 * (1.0 + math.cos(math.pi * progress))
    raise ValueError(f"unknown optimizer.schedule {schedule!r}")


def key_momentum(t: int, config: Dict[str, Any]) -> float:
    """m_t for the momentum update of the key encoder.

    - constant: m
    - cosine:   1 - (1 - m) * (cos(pi * p) + 1) / 2, p = t / totalSteps computed first and
                clamped to at most 1 (m_t rises from m at t = 0 to 1 at the end of the run and
                stays there).
    """
    m = float(config["keyMomentum"])
    if config["keyMomentumSchedule"] == "constant":
        return m
    total = int(config["totalSteps"])
    progress = min(1.0, t / total)
    return 1.0 - (1.0 - m) * (math.cos(math.pi * progress) + 1.0) / 2.0
