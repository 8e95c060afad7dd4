#!/usr/bin/python3
"""Counts the ATen operators one reference training step calls (torch.profiler on the CPU): the
figure `npm run bench:ops` sets beside imlm-native's own count of the same configuration.

    /usr/bin/python3 scripts/reference/count_ops.py --config C.json --steps S --warmup W \
        [--foreach] [--json]

Counts every event whose name starts with "aten::" (all calls), those with no "aten::" event
above them (top-level calls: what the step's own code asks the dispatcher for; the calls inside
a composite operator are its business), and those not inside a multi-tensor operator
(_foreach_/_fused_: one kernel over the list on a GPU, a loop of per-tensor calls on the CPU). Per step, averaged over S profiled steps after W
warm-up steps. --foreach: torch.optim.SGD(foreach=True) (its multi-tensor path, what it uses on
CUDA by default) instead of the per-tensor loop the parity runs use.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import config as config_lib  # noqa: E402
import state as state_lib  # noqa: E402
from moco_step import train_step  # noqa: E402


def top_level(event) -> bool:
    parent = event.cpu_parent
    while parent is not None:
        if parent.name.startswith("aten::"):
            return False
        parent = parent.cpu_parent
    return True


def outside_multi_tensor(event) -> bool:
    parent = event.cpu_parent
    while parent is not None:
        if parent.name.startswith(("aten::_foreach_", "aten::_fused_")):
            return False
        parent = parent.cpu_parent
    return True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", required=True)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--foreach", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    cfg = config_lib.validate_run_fields(config_lib.load(args.config))
    torch.set_num_threads(1)  # counts do not depend on threads; one keeps the run cheap
    device = torch.device("cpu")
    run = state_lib.new_run(cfg, int(cfg.get("seed", 0)), device)
    memory_format = torch.contiguous_format
    if cfg["channelsLast"]:
        memory_format = torch.channels_last
        run.model.to(memory_format=torch.channels_last)
    if args.foreach:
        for group in run.optimizer.param_groups:
            group["foreach"] = True
    generator = torch.Generator().manual_seed(1)
    shape = (cfg["batchSize"], cfg["inChannels"], cfg["imageSize"], cfg["imageSize"])
    q_img, k_img = (torch.rand(shape, generator=generator).contiguous(memory_format=memory_format)
                    for _ in range(2))
    for _ in range(args.warmup):
        train_step(run, q_img, k_img, rollback_on_non_finite=False)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        for _ in range(args.steps):
            train_step(run, q_img, k_img, rollback_on_non_finite=False)
    everything, top, launches = Counter(), Counter(), Counter()
    for event in prof.events():
        if not event.name.startswith("aten::"):
            continue
        everything[event.name] += 1
        if top_level(event):
            top[event.name] += 1
        if outside_multi_tensor(event):
            launches[event.name] += 1
    per_step = lambda counter: {name: count / args.steps for name, count in counter.items()}  # noqa: E731
    result = {
        "all": sum(everything.values()) / args.steps,
        "topLevel": sum(top.values()) / args.steps,
        "outsideMultiTensor": sum(launches.values()) / args.steps,
        "ops": {name: [everything[name] / args.steps, top[name] / args.steps, launches[name] / args.steps]
                for name in everything},
        "torch": torch.__version__,
        "foreach": args.foreach,
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['all']:.0f} ATen calls per step ({result['topLevel']:.0f} top-level)")
        for name, count in sorted(per_step(everything).items(), key=lambda kv: -kv[1])[:25]:
            print(f"  {name}: {count:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
